package builtins

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// launchctl exit statuses with a meaning hvfctl acts on.
const (
	launchctlIOError    = 5   // catch-all; the load may still have worked
	launchctlPermission = 122 // plist ownership or permissions
	launchctlNoService  = 113 // unknown service
)

// bootoutPolls bounds the wait for an asynchronous bootout.
const (
	bootoutPolls    = 40
	bootoutInterval = 250 * time.Millisecond
)

// LaunchdJob is what `launchctl print system/LABEL` says about a job.
type LaunchdJob struct {
	// State is the value of the `state` line ("running", …).
	State    string
	PID      int  // 0 when not running
	LastExit *int // nil for "(never exited)"
	// Path is the plist the job was loaded from.
	Path string
}

// ParseLaunchctlPrint reads the top level of `launchctl print`: TAB-
// indented `key = value` lines inside `{ }`, nested blocks skipped.
// `last exit code` is `0`, `78: EX_CONFIG` or `(never exited)`.
func ParseLaunchctlPrint(out string) LaunchdJob {
	var j LaunchdJob
	depth := 0
	for _, ln := range lines(out) {
		t := strings.TrimSpace(ln)
		if strings.HasSuffix(t, "{") {
			depth++
			continue
		}
		if t == "}" {
			depth--
			continue
		}
		if depth != 1 {
			continue
		}
		k, v, ok := strings.Cut(t, " = ")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "state":
			j.State = v
		case "pid":
			j.PID, _ = strconv.Atoi(v)
		case "path":
			j.Path = v
		case "last exit code":
			num, _, _ := strings.Cut(v, ":")
			if n, err := strconv.Atoi(strings.TrimSpace(num)); err == nil {
				j.LastExit = &n
			}
		}
	}
	return j
}

// launchdState is a cached print; Loaded is false for exit 113.
type launchdState struct {
	Loaded bool
	Job    LaunchdJob
}

// printCmd is `launchctl print system/LABEL`, run as root.
func printCmd(label string) host.Command {
	return host.Command{Argv: []string{"/bin/launchctl", "print", "system/" + label}, User: host.Root}
}

// printJob runs printCmd(label) now, bypassing the cache; exit 113 gives a
// state that is not loaded.
func printJob(ctx context.Context, h host.Host, label string) (launchdState, error) {
	cmd := printCmd(label)
	res, err := h.Run(ctx, cmd)
	if err != nil {
		return launchdState{}, fmt.Errorf("launchctl print system/%s: %w", label, err)
	}
	switch res.Exit {
	case 0:
		return launchdState{Loaded: true, Job: ParseLaunchctlPrint(res.Stdout)}, nil
	case launchctlNoService:
		return launchdState{}, nil
	}
	return launchdState{}, exitError("launchctl print system/"+label, res)
}

// launchdFact is printJob(label), read once per run.
func launchdFact(s *engine.Session, label string) (launchdState, error) {
	return cached(s, "launchd:"+label, func(ctx context.Context, h host.Host) (launchdState, error) { return printJob(ctx, h, label) })
}

// ExplainLaunchctl names the meaning of a launchctl exit status.
func ExplainLaunchctl(exit int) string {
	switch exit {
	case launchctlIOError:
		return "5: Input/output error (already loaded, re-bootstrapped too soon after bootout, disabled, or bad permissions)"
	case launchctlPermission:
		return "122: the plist has bad ownership or permissions (must be root:wheel 0644)"
	case launchctlNoService:
		return "113: no such service"
	case 37:
		return "37: operation already in progress"
	case 112:
		return "112: no such domain"
	case 119:
		return "119: service is disabled"
	}
	return fmt.Sprintf("exit status %d", exit)
}

// awaitJob reads `launchctl print system/LABEL` until done accepts the
// state, at most bootoutPolls times bootoutInterval apart. It reports
// whether done accepted a reading; an error means a reading failed or ctx
// ended.
func awaitJob(ctx context.Context, h host.Host, label string, done func(launchdState) bool) (bool, error) {
	for i := 0; i < bootoutPolls; i++ {
		st, err := printJob(ctx, h, label)
		if err != nil {
			return false, err
		}
		if done(st) {
			return true, nil
		}
		if err := host.SleepOn(ctx, h, bootoutInterval); err != nil {
			return false, err
		}
	}
	return false, nil
}

// launchctlAction returns the action that runs /bin/launchctl with args
// as root and hands its result, whatever the exit status, to judge, which
// may re-read launchd on h; a judge error fails the action with
// launchctl's output.
func launchctlAction(args []string, judge func(ctx context.Context, h host.Host, res host.Result) error) *engine.Action {
	cmd := host.Command{Argv: append([]string{"/bin/launchctl"}, args...), User: host.Root}
	return &engine.Action{
		Argv: cmd.Argv,
		User: host.Root,
		Run: func(ctx context.Context, s *engine.Session) error {
			res, err := runStep(ctx, s, cmd, nil)
			if err != nil {
				return err
			}
			if err := judge(ctx, s.Host(), res); err != nil {
				return judgeError(cmd, res, err)
			}
			return nil
		},
	}
}

// explained is the error of a launchctl exit status.
func explained(exit int) error { return errors.New(ExplainLaunchctl(exit)) }

// BootstrapAction is the action that loads plistPath into the system
// domain and confirms that launchd knows label afterwards.
func BootstrapAction(plistPath, label string) *engine.Action {
	return bootstrapAction(plistPath, label)
}

// bootstrapAction loads plistPath into the system domain and confirms
// that launchd knows label afterwards.
func bootstrapAction(plistPath, label string) *engine.Action {
	a := bootstrapJudged(plistPath, label)
	run := a.Run
	a.Run = func(ctx context.Context, s *engine.Session) error {
		if err := checkDaemonPlist(ctx, s, plistPath); err != nil {
			return &engine.ActionError{Argv: a.Argv, User: a.User, Exit: -1, Err: fmt.Errorf("refusing to load it into the system domain: %w", err)}
		}
		return run(ctx, s)
	}
	return a
}

// bootstrapJudged is the bootstrap action without the plist check.
func bootstrapJudged(plistPath, label string) *engine.Action {
	return launchctlAction([]string{"bootstrap", "system", plistPath}, func(ctx context.Context, h host.Host, res host.Result) error {
		if res.Exit == launchctlPermission {
			return explained(res.Exit)
		}
		// Exit 0 and even 5 are confirmed the same way: the job must be
		// known to launchd afterwards.
		st, err := printJob(ctx, h, label)
		if err != nil {
			return err
		}
		switch {
		case st.Loaded:
			return nil
		case res.Exit != 0:
			return explained(res.Exit)
		}
		return fmt.Errorf("system/%s is not loaded after bootstrap: %w", label, engine.ErrNotConfirmed)
	})
}

// BootoutAction is the action that unloads system/LABEL and waits until
// launchd no longer knows it (hvfctl reboot stops the runners with it).
func BootoutAction(label string) *engine.Action { return bootoutAction(label) }

// bootoutAction unloads label and waits until launchd no longer knows it.
func bootoutAction(label string) *engine.Action {
	return launchctlAction([]string{"bootout", "system/" + label}, func(ctx context.Context, h host.Host, res host.Result) error {
		if res.Exit != 0 && res.Exit != launchctlNoService && res.Exit != launchctlIOError {
			return explained(res.Exit)
		}
		// bootout is asynchronous: wait until print says 113.
		gone, err := awaitJob(ctx, h, label, func(st launchdState) bool { return !st.Loaded })
		if err != nil {
			return err
		}
		if !gone {
			return fmt.Errorf("system/%s still loaded %s after bootout: %w", label, time.Duration(bootoutPolls)*bootoutInterval, engine.ErrNotConfirmed)
		}
		return nil
	})
}

// kickstartAction restarts label and waits until it is running.
func kickstartAction(label string) *engine.Action {
	return launchctlAction([]string{"kickstart", "-k", "system/" + label}, func(ctx context.Context, h host.Host, res host.Result) error {
		if res.Exit != 0 {
			return explained(res.Exit)
		}
		running, err := awaitJob(ctx, h, label, func(st launchdState) bool { return st.Loaded && st.Job.State == "running" })
		if err != nil {
			return err
		}
		if !running {
			return fmt.Errorf("system/%s is not running after kickstart: %w", label, engine.ErrNotConfirmed)
		}
		return nil
	})
}

// ParseLaunchctlLimit reads `launchctl limit NAME`: one line, the name
// then the soft and the hard limit, each a number or "unlimited" (-1).
func ParseLaunchctlLimit(out, name string) (soft, hard int64, err error) {
	for _, ln := range lines(out) {
		f := strings.Fields(ln)
		if len(f) != 3 || f[0] != name {
			continue
		}
		v := make([]int64, 2)
		for i, s := range f[1:] {
			if s == "unlimited" {
				v[i] = -1
				continue
			}
			n, perr := strconv.ParseInt(s, 10, 64)
			if perr != nil || n < 0 {
				return 0, 0, fmt.Errorf("launchctl limit %s: %q is not a limit", name, s)
			}
			v[i] = n
		}
		return v[0], v[1], nil
	}
	return 0, 0, fmt.Errorf("launchctl limit %s printed no %s line: %q", name, name, engine.Tail(out, 2))
}

// limitValue is a limit for recipes: an int, or None when unlimited.
func limitValue(n int64) starlark.Value {
	if n < 0 {
		return starlark.None
	}
	return starlark.MakeInt64(n)
}

func launchctlModule() engine.Module {
	const m = "launchctl"
	labelArg := func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
		return c.stringArg(args, kwargs, "label", checkLabel)
	}
	return engine.Module{
		Name: m,
		Doc:  "LaunchDaemons in the system domain (`launchctl`), with its exit statuses understood (113 unknown service, 122 bad plist permissions, 5 the catch-all that may hide success).",
		Builtins: []engine.Builtin{
			newBuiltin(m, "maxfiles", "", engine.KindQuery, `
Runs `+"`/bin/launchctl limit maxfiles`"+` and returns struct(soft, hard): launchd's
RLIMIT_NOFILE for the jobs it starts (a LaunchDaemon without
SoftResourceLimits/HardResourceLimits NumberOfFiles gets these), each an
int or None when unlimited. macOS's default is 256 and unlimited.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					lim, err := cached(c.s, "launchctl:maxfiles", func(ctx context.Context, h host.Host) ([2]int64, error) {
						res, err := run(ctx, h, "", "/bin/launchctl", "limit", "maxfiles")
						if err != nil {
							return [2]int64{}, err
						}
						if res.Exit != 0 {
							return [2]int64{}, exitError("launchctl limit maxfiles", res)
						}
						soft, hard, err := ParseLaunchctlLimit(res.Stdout, "maxfiles")
						return [2]int64{soft, hard}, err
					})
					if err != nil {
						return nil, c.hostError(err)
					}
					return mkstruct(map[string]starlark.Value{"soft": limitValue(lim[0]), "hard": limitValue(lim[1])}), nil
				}),
			newBuiltin(m, "print", "label", engine.KindQuery, `
Runs `+"`/bin/launchctl print system/LABEL`"+` as root and returns
`+"`struct(state, pid, last_exit, path)`"+` (pid and last_exit None when not
running / never exited), or None when launchd does not know the job (113).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					st, err := launchdFact(c.s, label)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st.Loaded {
						return starlark.None, nil
					}
					var pid, last starlark.Value = starlark.None, starlark.None
					if st.Job.PID > 0 {
						pid = starlark.MakeInt(st.Job.PID)
					}
					if st.Job.LastExit != nil {
						last = starlark.MakeInt(*st.Job.LastExit)
					}
					return mkstruct(map[string]starlark.Value{"state": starlark.String(st.Job.State), "pid": pid, "last_exit": last, "path": starlark.String(st.Job.Path)}), nil
				}),
			newBuiltin(m, "bootstrap", "plist", engine.KindAction, `
Returns the action `+"`/bin/launchctl bootstrap system PLIST`"+` (PLIST is
`+"`/Library/LaunchDaemons/LABEL.plist`"+`), run as root. Exit 122 fails at once;
otherwise (0, or 5 which can hide success) `+"`launchctl print system/LABEL`"+`
must find the job. Right before it runs, the plist must be a root-owned
regular file (one link, not writable by others) in /Library/LaunchDaemons,
and the program it starts and every directory above it must be changeable
only by root or by the job's UserName (which must not be uid 0); a job
without UserName runs as root and needs a program only root can change.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "plist")
					if err != nil {
						return nil, err
					}
					if path.Ext(p) != ".plist" {
						return nil, c.argError("plist %q must end in .plist", p)
					}
					if path.Dir(p) != daemonDir {
						return nil, c.argError("plist %q must be in %s: only root's LaunchDaemons are loaded into the system domain", p, daemonDir)
					}
					label := strings.TrimSuffix(path.Base(p), ".plist")
					if err := checkLabel(label); err != nil {
						return nil, c.wrap(err)
					}
					return bootstrapAction(p, label), nil
				}),
			newBuiltin(m, "bootout", "label", engine.KindAction, `
Returns one action, run as root: `+"`/bin/launchctl bootout system/LABEL`"+` (113,
already gone, is fine), then `+"`launchctl print system/LABEL`"+` polled until it
exits 113 (bootout is asynchronous), for at most 10 seconds.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					return bootoutAction(label), nil
				}),
			newBuiltin(m, "enable", "label", engine.KindAction, `
Returns the action `+"`/bin/launchctl enable system/LABEL`"+`, run as root.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					return engine.Exec(host.Command{Argv: []string{"/bin/launchctl", "enable", "system/" + label}, User: host.Root}, nil, nil), nil
				}),
			newBuiltin(m, "kickstart", "label", engine.KindAction, `
Returns the action `+"`/bin/launchctl kickstart -k system/LABEL`"+` (restart), run as
root, judged by `+"`launchctl print`"+` reporting state running within 10 seconds.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					return kickstartAction(label), nil
				}),
		},
	}
}
