package builtins

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// processesArgv lists the processes whose real uid is user's (-U; ps
// includes those without a terminal then) with their id, parent id,
// effective uid and accounting name; the `=` after each keyword empties
// its header, and with every header empty ps prints no header line (ps(1)
// of macOS, apple-oss-distributions/adv_cmds ps/ps.1, ps/ps.c). ucomm is
// the kernel's name of the process (p_comm, ps/print.c), at most 16
// bytes, never its arguments: those can hold a secret and the process can
// rewrite them. Only the account's own processes are listed, so nothing
// of other accounts (a recording shared with others included) is read.
func processesArgv(user string) []string {
	return []string{"/bin/ps", "-U", user, "-o", "pid=,ppid=,uid=,ucomm="}
}

// maxProcesses bounds what ParsePs accepts (macOS's kern.maxproc is a
// few thousand; a longer listing is not ps's).
const maxProcesses = 100000

// Process is one line of processesArgv's output.
type Process struct {
	PID, PPID, UID int
	// Name is the accounting name (ucomm); it may contain spaces.
	Name string
}

// ParsePs reads the output of processesArgv: per line, three decimal numbers
// right-aligned in their columns, then the name, which runs to the end
// of the line (a file name may hold spaces). A line that does not have
// that shape is an error naming it.
func ParsePs(out string) ([]Process, error) {
	var procs []Process
	for _, ln := range lines(out) {
		rest := strings.TrimLeft(ln, " ")
		var nums [3]int
		for i := range nums {
			end := strings.IndexByte(rest, ' ')
			if end < 0 {
				return nil, fmt.Errorf("ps: line %q: want pid, ppid, uid and a name", engine.Tail(ln, 1))
			}
			n, err := strconv.Atoi(rest[:end])
			if err != nil || n < 0 {
				return nil, fmt.Errorf("ps: line %q: %q is not a number", engine.Tail(ln, 1), rest[:end])
			}
			nums[i] = n
			rest = strings.TrimLeft(rest[end:], " ")
		}
		if rest == "" {
			return nil, fmt.Errorf("ps: line %q: no process name", engine.Tail(ln, 1))
		}
		if len(procs) == maxProcesses {
			return nil, fmt.Errorf("ps: more than %d processes", maxProcesses)
		}
		procs = append(procs, Process{PID: nums[0], PPID: nums[1], UID: nums[2], Name: strings.TrimRight(rest, " ")})
	}
	if len(procs) == 0 {
		return nil, fmt.Errorf("ps: no process listed")
	}
	return procs, nil
}

// psFact lists user's processes once per run. ps exits 1 without
// output when no process matched (ps/ps.c: nkept == 0): the account runs
// nothing.
func psFact(s *engine.Session, user string) ([]Process, error) {
	return cached(s, "processes:"+user, func(ctx context.Context, h host.Host) ([]Process, error) {
		argv := processesArgv(user)
		res, err := run(ctx, h, host.Root, argv...)
		if err != nil {
			return nil, err
		}
		if res.Exit == 1 && strings.TrimSpace(res.Stdout) == "" && strings.TrimSpace(res.Stderr) == "" {
			return nil, nil
		}
		if res.Exit != 0 {
			return nil, exitError(strings.Join(argv, " "), res)
		}
		return ParsePs(res.Stdout)
	})
}

func psModule() engine.Module {
	return engine.Module{
		Name: "ps",
		Doc:  "An account's processes (`ps -U USER`), names only.",
		Builtins: []engine.Builtin{
			newBuiltin("ps", "processes", "user", engine.KindQuery, `
Runs `+"`/bin/ps -U USER -o pid=,ppid=,uid=,ucomm=`"+` as root (reading only) and
returns a list of struct(pid, ppid, uid, name), one per process whose real
uid is USER's: its id, its parent's id, its effective uid and its
accounting name (ucomm: the kernel's name of the executable, at most 16
bytes); an empty list when USER runs nothing. Arguments and environments
are never read: they can hold secrets. No other account's processes are
listed.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var user string
					if err := c.unpack(args, kwargs, "user", &user); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					procs, err := psFact(c.s, user)
					if err != nil {
						return nil, c.hostError(err)
					}
					out := make([]starlark.Value, len(procs))
					for i, p := range procs {
						out[i] = mkstruct(map[string]starlark.Value{
							"pid": starlark.MakeInt(p.PID), "ppid": starlark.MakeInt(p.PPID),
							"uid": starlark.MakeInt(p.UID), "name": starlark.String(p.Name),
						})
					}
					return starlark.NewList(out), nil
				}),
		},
	}
}
