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
	launchctlNoProcess  = 3   // ESRCH: bootout of a service that is not loaded
	launchctlIOError    = 5   // catch-all; the load may still have worked
	launchctlPermission = 122 // plist ownership or permissions
	launchctlNoDomain   = 112 // no such domain (gui/UID without a GUI login)
	launchctlNoService  = 113 // unknown service
	// launchctlDomainNoAction is "Domain does not support specified
	// action", what a gui/UID target answers on a Mac without a GUI
	// login of UID (nix-community/home-manager#9628, duh17/oppi#38).
	launchctlDomainNoAction = 125
)

// agentLabelPrefix starts the label of every runner service svc.sh
// installs (actions/runner, src/Misc/layoutbin/darwin.svc.sh.template:
// SVC_NAME actions.runner.OWNER-REPO.NAME).
const agentLabelPrefix = "actions.runner."

// checkAgentLabel validates the label of an svc.sh LaunchAgent taken from
// a file the runner account controls: the runner prefix, then only
// letters, digits, '.', '_' and '-' (no path separator, no "..").
func checkAgentLabel(label string) error {
	if err := checkLabel(label); err != nil {
		return err
	}
	if !strings.HasPrefix(label, agentLabelPrefix) || len(label) == len(agentLabelPrefix) {
		return fmt.Errorf("launchd label %q is not a runner service label (%sOWNER-REPO.NAME)", label, agentLabelPrefix)
	}
	if strings.Contains(label, "..") {
		return fmt.Errorf("launchd label %q contains \"..\"", label)
	}
	return nil
}

// AgentLabelOf returns the label of the svc.sh LaunchAgent that a
// runner's .service file names, or "" when text is not exactly one line
// HOME/Library/LaunchAgents/LABEL.plist with a valid runner label
// (checkAgentLabel). svc.sh writes the agent's plist path there
// (darwin.svc.sh.template, CONFIG_PATH=.service). The file is the runner
// account's, so nothing else is accepted: no other directory, no
// relative or dotted path, no second line.
func AgentLabelOf(text, home string) string {
	p := strings.TrimSuffix(text, "\n")
	if strings.ContainsAny(p, "\n\r\x00") {
		return ""
	}
	dir := home + "/Library/LaunchAgents/"
	name, ok := strings.CutPrefix(p, dir)
	if !ok || !strings.HasSuffix(name, ".plist") {
		return ""
	}
	label := strings.TrimSuffix(name, ".plist")
	if checkAgentLabel(label) != nil {
		return ""
	}
	return label
}

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

// printJob runs `launchctl print system/LABEL` as root now, bypassing the
// cache; exit 113 gives a state that is not loaded.
func printJob(ctx context.Context, h host.Host, label string) (launchdState, error) {
	return printTarget(ctx, h, "system/"+label)
}

// printTarget runs `launchctl print TARGET` as root now, bypassing the
// cache. Exit 113 (unknown service) gives a state that is not loaded; so
// do 112 and 125 for a gui/ target, whose domain exists only while its
// user is logged in at the console.
func printTarget(ctx context.Context, h host.Host, target string) (launchdState, error) {
	res, err := h.Run(ctx, host.Command{Argv: []string{"/bin/launchctl", "print", target}, User: host.Root})
	if err != nil {
		return launchdState{}, fmt.Errorf("launchctl print %s: %w", target, err)
	}
	switch {
	case res.Exit == 0:
		return launchdState{Loaded: true, Job: ParseLaunchctlPrint(res.Stdout)}, nil
	case res.Exit == launchctlNoService:
		return launchdState{}, nil
	case strings.HasPrefix(target, "gui/") && (res.Exit == launchctlNoDomain || res.Exit == launchctlDomainNoAction):
		return launchdState{}, nil
	}
	return launchdState{}, exitError("launchctl print "+target, res)
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
	case launchctlNoProcess:
		return "3: no such process (the service is not loaded)"
	case launchctlDomainNoAction:
		return "125: domain does not support specified action"
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
	return awaitTarget(ctx, h, "system/"+label, done)
}

// awaitTarget is awaitJob for any service target (system/LABEL,
// gui/UID/LABEL).
func awaitTarget(ctx context.Context, h host.Host, target string, done func(launchdState) bool) (bool, error) {
	for i := 0; i < bootoutPolls; i++ {
		st, err := printTarget(ctx, h, target)
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
func launchctlAction(args, paths []string, judge func(ctx context.Context, h host.Host, res host.Result) error) *engine.Action {
	cmd := host.Command{Argv: append([]string{"/bin/launchctl"}, args...), User: host.Root, Paths: paths}
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
	return launchctlAction([]string{"bootstrap", "system", plistPath}, []string{plistPath}, func(ctx context.Context, h host.Host, res host.Result) error {
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
	return launchctlAction([]string{"bootout", "system/" + label}, nil, func(ctx context.Context, h host.Host, res host.Result) error {
		switch res.Exit {
		case 0, launchctlNoProcess, launchctlNoService, launchctlIOError:
		default:
			return explained(res.Exit)
		}
		return awaitGone(ctx, h, "system/"+label)
	})
}

// awaitGone waits until launchd no longer knows target (bootout is
// asynchronous: print must say 113, or for gui/ that the domain is gone).
func awaitGone(ctx context.Context, h host.Host, target string) error {
	gone, err := awaitTarget(ctx, h, target, func(st launchdState) bool { return !st.Loaded })
	if err != nil {
		return err
	}
	if !gone {
		return fmt.Errorf("%s still loaded %s after bootout: %w", target, time.Duration(bootoutPolls)*bootoutInterval, engine.ErrNotConfirmed)
	}
	return nil
}

// AgentBootoutAction is the action that boots the LaunchAgent label out of
// the GUI login session of uid (`launchctl bootout gui/UID/LABEL`, as
// root) and waits until launchd no longer knows it. Nothing loaded (3,
// 113) and no GUI login (112, 125: the gui domain exists only while the
// user is logged in at the console) mean there is nothing to stop; any
// other failure is an error.
func AgentBootoutAction(uid int, label string) *engine.Action {
	target := fmt.Sprintf("gui/%d/%s", uid, label)
	return launchctlAction([]string{"bootout", target}, nil, func(ctx context.Context, h host.Host, res host.Result) error {
		switch res.Exit {
		case 0:
			return awaitGone(ctx, h, target)
		case launchctlNoProcess, launchctlNoService, launchctlNoDomain, launchctlDomainNoAction:
			return nil
		}
		return explained(res.Exit)
	})
}

// kickstartAction restarts label and waits until it is running.
func kickstartAction(label string) *engine.Action {
	return launchctlAction([]string{"kickstart", "-k", "system/" + label}, nil, func(ctx context.Context, h host.Host, res host.Result) error {
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
	// scoped makes an action that changes the system job LABEL write
	// /Library/LaunchDaemons/LABEL.plist as far as allow_writes is
	// concerned: a recipe changes only the jobs whose plists it may
	// write, never another daemon of the Mac (sshd, a security agent).
	scoped := func(a *engine.Action, label string) *engine.Action {
		a.Writes = []string{daemonPlist(label)}
		return a
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
					return scoped(bootstrapAction(p, label), label), nil
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
					return scoped(bootoutAction(label), label), nil
				}),
			newBuiltin(m, "bootout_agent", "uid, label", engine.KindAction, `
Returns one action, run as root: `+"`/bin/launchctl bootout gui/UID/LABEL`"+`, which
stops a LaunchAgent loaded in the GUI login session of UID (svc.sh's runner
agent keeps running there until logout even after its plist is removed),
then `+"`launchctl print gui/UID/LABEL`"+` polled until the agent is gone. Exit 3
or 113 (not loaded) and 112 or 125 (no GUI login: the gui domain exists only
while the user is logged in at the console) mean nothing to stop. UID must
be above 0; LABEL must be a runner service label, `+"`actions.runner.`"+` then
only letters, digits, '.', '_' and '-'.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var uid int
					var label string
					if err := c.unpack(args, kwargs, "uid", &uid, "label", &label); err != nil {
						return nil, err
					}
					if uid <= 0 {
						return nil, c.argError("uid %d: only a user's GUI session (uid above 0) holds svc.sh's agent", uid)
					}
					if err := checkAgentLabel(label); err != nil {
						return nil, c.wrap(err)
					}
					return AgentBootoutAction(uid, label), nil
				}),
			newBuiltin(m, "agent_label", "text, home", engine.KindUtil, `
Returns the label of the svc.sh LaunchAgent that the text of a runner's
`+"`.service`"+` file names (svc.sh writes the agent's plist path there), or None
unless text is exactly HOME/Library/LaunchAgents/LABEL.plist (one line) with
LABEL a runner service label (`+"`actions.runner.`"+` then letters, digits,
'.', '_', '-'). The file is the runner account's: its text is never used as
a path.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var text, home string
					if err := c.unpack(args, kwargs, "text", &text, "home", &home); err != nil {
						return nil, err
					}
					if l := AgentLabelOf(text, home); l != "" {
						return starlark.String(l), nil
					}
					return starlark.None, nil
				}),
			newBuiltin(m, "enable", "label", engine.KindAction, `
Returns the action `+"`/bin/launchctl enable system/LABEL`"+`, run as root.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					return scoped(engine.Exec(host.Command{Argv: []string{"/bin/launchctl", "enable", "system/" + label}, User: host.Root}, nil, nil), label), nil
				}),
			newBuiltin(m, "kickstart", "label", engine.KindAction, `
Returns the action `+"`/bin/launchctl kickstart -k system/LABEL`"+` (restart), run as
root, judged by `+"`launchctl print`"+` reporting state running within 10 seconds.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					label, err := labelArg(c, args, kwargs)
					if err != nil {
						return nil, err
					}
					return scoped(kickstartAction(label), label), nil
				}),
		},
	}
}

// daemonPlist is the plist path of the system job label, the file whose
// allow_writes entry lets a recipe change that job.
func daemonPlist(label string) string { return daemonDir + "/" + label + ".plist" }
