// Package reboot implements `hvfctl reboot`: a planned restart of the
// runner Mac (after a macOS update) that interrupts no job and brings the
// runners back without anyone at the screen.
//
// It finds every runner started by a LaunchDaemon
// (/Library/LaunchDaemons/actions.runner.*.plist), waits until none runs
// a job — from the runner's own console log, and from GitHub's `busy`
// flag when the GitHub side is configured — stops them, and restarts:
// with `fdesetup authrestart` when FileVault is on, so that the data
// volume is unlocked at the next boot and the LaunchDaemons start, else
// with `shutdown -r now`. The FileVault credential is asked for before
// anything stops, and travels only on fdesetup's stdin.
package reboot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// Method is how the Mac is restarted.
type Method string

// The restart methods.
const (
	// AuthRestart is `fdesetup authrestart -inputplist` (FileVault on).
	AuthRestart Method = "fdesetup authrestart"
	// Shutdown is `shutdown -r now` (FileVault off).
	Shutdown Method = "shutdown -r now"
)

// Options configures Run.
type Options struct {
	// DryRun reports what would happen (runners, their activity, the
	// restart method) and changes nothing; it waits for nothing and asks
	// for no credential.
	DryRun bool
	// Timeout bounds the wait for idle runners; past it Run fails and
	// changes nothing.
	Timeout time.Duration
	// Poll is the time between two looks at a busy runner.
	Poll time.Duration
	// Credential returns the FileVault credential (a FileVault user's
	// password or the personal recovery key) from a hidden prompt or
	// stdin. It is called once, only when an authrestart will run, before
	// any runner is stopped.
	Credential func() (string, error)
	// GitHubBusy says whether GitHub reports the runner NAME of the
	// repository at URL as busy; known is false when GitHub cannot tell
	// (no such runner). nil when the GitHub side is not configured.
	GitHubBusy func(ctx context.Context, url, name string) (busy, known bool, err error)
	// Sleep waits d (nil: a timer); tests advance the fake with it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Log receives progress lines.
	Log func(string)
}

// Runner is one runner and what it is doing.
type Runner struct {
	builtins.RunnerDaemon
	// Activity is what its console log says.
	Activity builtins.RunnerActivity
	// GitHub is "busy", "idle" or "" (not asked or unknown).
	GitHub string
}

// Busy reports whether the runner runs a job, by its log or GitHub.
func (r Runner) Busy() bool { return r.Activity.Busy || r.GitHub == "busy" }

func (r Runner) String() string {
	name := r.Name
	if name == "" {
		name = r.Label
	}
	switch {
	case r.Activity.Busy:
		return fmt.Sprintf("%s runs job %q (its log %s)", name, r.Activity.Job, r.StdoutPath)
	case r.GitHub == "busy":
		return fmt.Sprintf("%s is busy on GitHub", name)
	}
	return name + " is idle"
}

// Outcome is what Run did or, with DryRun, would do.
type Outcome struct {
	Runners   []Runner
	FileVault string
	Method    Method
	// Stopped lists the labels booted out.
	Stopped []string
}

// ErrTimeout is wrapped when runners stay busy past Options.Timeout.
var ErrTimeout = errors.New("runners still busy")

// Run performs (or, with DryRun, plans) the restart on the host of s.
func Run(ctx context.Context, s *engine.Session, o Options) (Outcome, error) {
	var out Outcome
	log := o.Log
	if log == nil {
		log = func(string) {}
	}
	sleep := o.Sleep
	if sleep == nil {
		sleep = host.Sleep
	}
	h := s.Host()
	daemons, err := builtins.RunnerDaemons(s)
	if err != nil {
		return out, fmt.Errorf("finding the runners: %w", err)
	}
	fv, err := builtins.FileVaultState(ctx, h)
	if err != nil {
		return out, fmt.Errorf("reading FileVault's state: %w", err)
	}
	out.FileVault = fv.State
	switch fv.State {
	case "off":
		out.Method = Shutdown
	case "on", "encrypting", "decrypting":
		ok, err := builtins.SupportsAuthRestart(ctx, h)
		if err != nil {
			return out, fmt.Errorf("asking whether this Mac supports authenticated restart: %w", err)
		}
		if !ok {
			return out, fmt.Errorf("FileVault is %s and this Mac does not support fdesetup authrestart: a restart would stop at the unlock screen with the runners offline; restart it by hand and unlock it at the screen", fv.State)
		}
		out.Method = AuthRestart
	default:
		return out, fmt.Errorf("FileVault's state is %s: hvfctl does not know whether the Mac would stop at the unlock screen; restart it by hand", fv.State)
	}

	deadline := time.Now().Add(o.Timeout)
	for {
		out.Runners, err = look(ctx, s, daemons, o)
		if err != nil {
			return out, err
		}
		busy := busyOnes(out.Runners)
		if len(busy) == 0 || o.DryRun {
			break
		}
		if !time.Now().Before(deadline) {
			return out, fmt.Errorf("%w after %s, nothing was stopped or restarted: %s", ErrTimeout, o.Timeout, strings.Join(busy, "; "))
		}
		log("waiting for the runners to be idle: " + strings.Join(busy, "; "))
		if err := sleep(ctx, o.Poll); err != nil {
			return out, fmt.Errorf("interrupted while waiting, nothing was stopped or restarted: %w", err)
		}
	}
	if o.DryRun {
		return out, nil
	}

	var cmd host.Command
	judge := builtins.JudgeShutdown
	if out.Method == AuthRestart {
		if o.Credential == nil {
			return out, fmt.Errorf("FileVault is on: the restart needs a FileVault user's password or the recovery key (a hidden prompt on a terminal, or --password-stdin)")
		}
		cred, err := o.Credential()
		if err != nil {
			return out, fmt.Errorf("nothing was stopped or restarted: %w", err)
		}
		if cred = strings.TrimRight(cred, "\r\n"); cred == "" {
			return out, fmt.Errorf("nothing was stopped or restarted: no FileVault credential given")
		}
		s.Redactor().Add("filevault_credential", cred)
		if cmd, err = builtins.AuthRestartCommand(cred); err != nil {
			return out, err
		}
		judge = builtins.JudgeAuthRestart
	} else {
		cmd = builtins.RestartCommand()
	}

	for _, r := range out.Runners {
		log("stopping " + r.Label)
		if err := builtins.BootoutAction(r.Label).Run(ctx, s); err != nil {
			restart(ctx, s, out.Stopped, log)
			return out, fmt.Errorf("stopping %s (the runners stopped so far were started again): %w", r.Label, err)
		}
		out.Stopped = append(out.Stopped, r.Label)
	}
	log("restarting with " + string(out.Method))
	res, err := h.Run(ctx, cmd)
	if err == nil {
		err = judge(res)
	}
	if err != nil {
		restart(ctx, s, out.Stopped, log)
		return out, fmt.Errorf("the restart failed (the runners were started again): %s", s.Redactor().Scrub(err.Error()))
	}
	return out, nil
}

// look reads what every runner is doing.
func look(ctx context.Context, s *engine.Session, daemons []builtins.RunnerDaemon, o Options) ([]Runner, error) {
	var out []Runner
	for _, d := range daemons {
		r := Runner{RunnerDaemon: d}
		if d.StdoutPath != "" && d.User != "" && d.User != host.Root {
			res, err := s.Host().Run(ctx, builtins.RunnerLogCommand(d))
			switch {
			case err != nil:
				return nil, fmt.Errorf("reading the log of %s: %w", d.Label, err)
			case res.Exit == 0:
				r.Activity = builtins.ParseRunnerLog(res.Stdout)
			case !strings.Contains(res.Stderr, "No such file"):
				return nil, fmt.Errorf("reading the log of %s: tail exited %d: %s", d.Label, res.Exit, strings.TrimSpace(res.Stderr))
			}
			// No log yet: the runner never started, so it runs no job.
		}
		if o.GitHubBusy != nil && d.URL != "" && d.Name != "" {
			busy, known, err := o.GitHubBusy(ctx, d.URL, d.Name)
			if err != nil {
				return nil, fmt.Errorf("asking GitHub whether %s is busy: %w", d.Name, err)
			}
			if known {
				r.GitHub = map[bool]string{true: "busy", false: "idle"}[busy]
			}
		}
		out = append(out, r)
	}
	return out, nil
}

func busyOnes(rs []Runner) []string {
	var out []string
	for _, r := range rs {
		if r.Busy() {
			out = append(out, r.String())
		}
	}
	return out
}

// restart loads again the runners stopped before a failure.
func restart(ctx context.Context, s *engine.Session, labels []string, log func(string)) {
	for _, l := range labels {
		if err := builtins.BootstrapAction("/Library/LaunchDaemons/"+l+".plist", l).Run(ctx, s); err != nil {
			log(fmt.Sprintf("could not start %s again: %v", l, err))
		}
	}
}
