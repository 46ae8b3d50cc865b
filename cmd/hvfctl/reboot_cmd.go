package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/cmd/hvfctl/internal/reboot"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
)

// rebootCmd is `hvfctl reboot`.
type rebootCmd struct {
	Target        string        `default:"local" placeholder:"T" help:"The Mac to restart: local (this Mac; macOS only), fake or fake:FILE."`
	DryRun        bool          `name:"dry-run" help:"Show the runners, what they are doing and how the Mac would restart; change nothing."`
	Timeout       time.Duration `default:"2h" help:"How long to wait for running jobs to finish; past it nothing is stopped and the exit status is 1."`
	Poll          time.Duration `default:"30s" help:"Time between two looks at a busy runner."`
	PasswordStdin bool          `name:"password-stdin" help:"Read the FileVault credential (a FileVault user's password or the personal recovery key) from the first line of stdin instead of a hidden prompt."`
	Save          string        `placeholder:"FILE" help:"With a fake target, write the resulting fake host state to FILE."`
	gitHubFlags
}

// Help implements kong.HelpProvider.
func (c *rebootCmd) Help() string {
	return `Restarts the runner Mac without interrupting a job and without leaving the runners offline. It finds every runner started by /Library/LaunchDaemons/actions.runner.*.plist and waits until none runs a job: the runner's console log (its LaunchDaemon's StandardOutPath) says "Running job: NAME" when a job starts and "Job NAME completed with result: …" when it ends, and, with a GitHub credential (GH_TOKEN, GITHUB_TOKEN or gh auth login), GitHub's runner "busy" flag must be false too. Then it stops the runners (launchctl bootout) and restarts: with FileVault on, "fdesetup authrestart -inputplist", which unlocks the disk once at the next boot so the LaunchDaemons start with nobody at the screen; the credential (a FileVault user's password or the personal recovery key) comes from a hidden prompt or --password-stdin, is asked for before anything stops, and reaches fdesetup only on its stdin. With FileVault off, "shutdown -r now". If the restart fails, the runners are started again.

Exit status: 0 restarted (or, with --dry-run, planned); 1 on errors, when the runners stay busy past --timeout (nothing is stopped), or when the restart fails.

Example:
  sudo hvfctl reboot --dry-run
  sudo hvfctl reboot --timeout 3h`
}

// Run implements `hvfctl reboot`.
func (c *rebootCmd) Run(e *env) error {
	tgt, err := openTargetEnv(c.Target, e)
	if err != nil {
		return exit(1, err)
	}
	if c.Save != "" && tgt.save == nil {
		return exit(1, fmt.Errorf("--save works only with --target fake or fake:FILE"))
	}
	if tgt.local && !c.DryRun && e.local == nil && os.Geteuid() != 0 {
		return exit(1, fmt.Errorf("reboot stops LaunchDaemons and restarts the Mac: run it with sudo (or try --dry-run)"))
	}
	red := host.NewRedactor()
	sess := engine.NewSession(e.ctx, engine.SessionOptions{Host: tgt.host, Redactor: red, Principals: tgt.principals})
	o := reboot.Options{
		DryRun: c.DryRun, Timeout: c.Timeout, Poll: c.Poll, Sleep: e.sleep,
		Log: func(s string) { fmt.Fprintln(e.stderr, red.Scrub(s)) },
	}
	if !c.DryRun {
		o.Credential = c.credential(e)
	}
	if busy, err := c.gitHubBusy(e, tgt, red); err != nil {
		return exit(1, err)
	} else if busy != nil {
		o.GitHubBusy = busy
	}
	out, err := reboot.Run(e.ctx, sess, o)
	c.report(e, out, err == nil)
	if serr := saveFake(e, tgt, c.Save); serr != nil {
		return serr
	}
	if err != nil {
		return exit(1, errors.New(red.Scrub(err.Error())))
	}
	return nil
}

// report prints the runners and what was (or would be) done.
func (c *rebootCmd) report(e *env, out reboot.Outcome, ok bool) {
	verb := "restarted"
	if c.DryRun {
		verb = "would restart"
	}
	fmt.Fprintf(e.stdout, "reboot %s\n", c.Target)
	if len(out.Runners) == 0 {
		fmt.Fprintln(e.stdout, "  no runner LaunchDaemon found")
	}
	for _, r := range out.Runners {
		fmt.Fprintf(e.stdout, "  runner %s (%s): %s\n", r.Label, r.Root, r)
	}
	if out.FileVault != "" {
		fmt.Fprintf(e.stdout, "  FileVault: %s\n", out.FileVault)
	}
	for _, l := range out.Stopped {
		fmt.Fprintf(e.stdout, "  stopped %s\n", l)
	}
	switch {
	case out.Method == "":
	case c.DryRun && out.Method == reboot.AuthRestart:
		fmt.Fprintf(e.stdout, "would stop every runner, then run /usr/bin/fdesetup authrestart -inputplist (the credential asked for first, on its stdin)\n")
	case c.DryRun:
		fmt.Fprintf(e.stdout, "would stop every runner, then run /sbin/shutdown -r now\n")
	case ok:
		fmt.Fprintf(e.stdout, "%s with %s\n", verb, out.Method)
	}
}

// credential returns the FileVault credential source: the first line of
// stdin with --password-stdin, else a hidden prompt on a terminal.
func (c *rebootCmd) credential(e *env) func() (string, error) {
	if c.PasswordStdin {
		return func() (string, error) {
			line, err := bufio.NewReader(io.LimitReader(e.stdin, 4096)).ReadString('\n')
			if err != nil && err != io.EOF {
				return "", fmt.Errorf("reading the FileVault credential from stdin: %w", err)
			}
			return strings.TrimRight(line, "\r\n"), nil
		}
	}
	prompt := terminalPrompt(e.stdin, e.stderr)
	if prompt == nil {
		return func() (string, error) {
			return "", fmt.Errorf("FileVault is on: give a FileVault user's password or the recovery key on a terminal, or with --password-stdin")
		}
	}
	return func() (string, error) { return prompt("FileVault password or recovery key") }
}

// gitHubBusy returns GitHub's view of a runner when hvfctl has a GitHub
// credential (none for a fake Mac unless a GitHub API was named), else
// nil.
func (c *rebootCmd) gitHubBusy(e *env, tgt *target, red *host.Redactor) (func(ctx context.Context, url, name string) (bool, bool, error), error) {
	gh, err := c.recipeGitHub(e, tgt, red)
	if err != nil || gh == nil || !gh.Credential().OK() {
		return nil, err
	}
	return func(ctx context.Context, url, name string) (bool, bool, error) {
		repo, err := ghapi.ParseRepo(url)
		if err != nil {
			return false, false, nil
		}
		rs, err := gh.Runners(ctx, repo, name)
		if err != nil {
			return false, false, err
		}
		for _, r := range rs {
			if r.Name == name {
				return r.Busy, true, nil
			}
		}
		return false, false, nil
	}, nil
}
