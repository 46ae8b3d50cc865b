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

// processTableArgv lists every process (-A: other users' processes too, with or
// without a terminal) with its id, parent id, effective uid and
// accounting name; the `=` after each keyword empties its header, and
// with every header empty ps prints no header line (ps(1) of macOS,
// apple-oss-distributions/adv_cmds ps/ps.1). ucomm is the kernel's name
// of the process (p_comm, ps/print.c), at most 16 bytes, never its
// arguments: those can hold a secret and the process can rewrite them.
var processTableArgv = []string{"/bin/ps", "-A", "-o", "pid=,ppid=,uid=,ucomm="}

// maxProcesses bounds what ParsePs accepts (macOS's kern.maxproc is a
// few thousand; a longer listing is not ps's).
const maxProcesses = 100000

// Process is one line of processTableArgv's output.
type Process struct {
	PID, PPID, UID int
	// Name is the accounting name (ucomm); it may contain spaces.
	Name string
}

// ParsePs reads the output of processTableArgv: per line, three decimal numbers
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

func psFact(s *engine.Session) ([]Process, error) {
	return cached(s, "process-table", func(ctx context.Context, h host.Host) ([]Process, error) {
		res, err := run(ctx, h, host.Root, processTableArgv...)
		if err != nil {
			return nil, err
		}
		if res.Exit != 0 {
			return nil, exitError(strings.Join(processTableArgv, " "), res)
		}
		return ParsePs(res.Stdout)
	})
}

func psModule() engine.Module {
	return engine.Module{
		Name: "ps",
		Doc:  "The process table (`ps -A`), names only.",
		Builtins: []engine.Builtin{
			newBuiltin("ps", "processes", "", engine.KindQuery, `
Runs `+"`/bin/ps -A -o pid=,ppid=,uid=,ucomm=`"+` as root (reading only) and returns
a list of struct(pid, ppid, uid, name), one per process: its id, its
parent's id, its effective uid and its accounting name (ucomm: the kernel's
name of the executable, at most 16 bytes). Arguments and environments are
never read: they can hold secrets.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					procs, err := psFact(c.s)
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
