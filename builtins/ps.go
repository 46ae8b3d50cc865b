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

// ucommWidth is the width ps prints the ucomm column in: MAXCOMLEN (16),
// left-aligned and padded with spaces (`printf("%-*s", 16, p_comm)`,
// ps/print.c ucomm; the keyword has no dynamic width, ps/keyword.c), and
// p_comm holds at most MAXCOMLEN bytes, so a record's name is exactly 16
// bytes.
const ucommWidth = 16

// ParsePs reads the output of processesArgv: per line, three decimal
// numbers right-aligned in their columns, one space, then the name in
// exactly ucommWidth bytes (a file name may hold spaces). ps prints p_comm
// as it is (no escaping, unlike the command column), and p_comm is the
// file name of the program, which the process chose: a name that holds a
// line break would split its record into lines that look like records of
// their own (`x\n5001 412 502 y` forges a process 5001 whose parent is a
// runner). Such a name leaves a fragment shorter than the column on every
// line it spans, since the line break takes one of the 16 bytes and the
// padding comes only after the whole name, so a line whose name is not
// exactly 16 bytes is an error naming it, as is a pid listed twice or a
// line that does not have the shape.
func ParsePs(out string) ([]Process, error) {
	var procs []Process
	seen := map[int]bool{}
	out = strings.TrimSuffix(out, "\n")
	if out == "" {
		return nil, fmt.Errorf("ps: no process listed")
	}
	for _, ln := range strings.Split(out, "\n") {
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
			if i < len(nums)-1 {
				rest = strings.TrimLeft(rest[end:], " ")
			} else {
				rest = rest[end+1:]
			}
		}
		if len(rest) != ucommWidth {
			return nil, fmt.Errorf("ps: line %q: the name column is %d bytes, not ps's %d: a process's name (the file name of its program, which the process chose) holds a line break or the line is not ps's; list the account's processes with `sudo ps -U USER -o pid,ppid,comm` and look at them", engine.Tail(ln, 1), len(rest), ucommWidth)
		}
		name := strings.TrimRight(rest, " ")
		if name == "" {
			return nil, fmt.Errorf("ps: line %q: no process name", engine.Tail(ln, 1))
		}
		if seen[nums[0]] {
			return nil, fmt.Errorf("ps: pid %d is listed twice: a process's name forged a line", nums[0])
		}
		seen[nums[0]] = true
		if len(procs) == maxProcesses {
			return nil, fmt.Errorf("ps: more than %d processes", maxProcesses)
		}
		procs = append(procs, Process{PID: nums[0], PPID: nums[1], UID: nums[2], Name: name})
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
					user, err := c.unpackUser(args, kwargs)
					if err != nil {
						return nil, err
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
