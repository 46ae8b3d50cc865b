package darwin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// BasePath is the PATH every command starts with.
const BasePath = "/usr/bin:/bin:/usr/sbin:/sbin"

// brewProgram is the Homebrew entry point whose commands get the
// Homebrew environment (docs/host-commands.md, "Environment").
const brewProgram = "/opt/homebrew/bin/brew"

// waitDelay bounds how long Run waits for output pipes that a
// descendant still holds open after the command itself has exited or
// been killed.
const waitDelay = 2 * time.Second

// Run implements host.Host. It runs cmd.Argv as cmd's principal with an
// environment built from nothing, in cmd.Dir (default: the principal's
// home), fed cmd.Stdin, and bounded by cmd.Timeout (default:
// Options.Timeout). Timeouts and cancellation kill the whole process group.
// Every secret the command carries is scrubbed from its output.
func (h *Host) Run(ctx context.Context, c host.Command) (host.Result, error) {
	if err := validateCommand(c); err != nil {
		return host.Result{}, err
	}
	name := c.Argv[0]
	p, err := h.resolve(c.Principal())
	if err != nil {
		return host.Result{}, fmt.Errorf("run %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return host.Result{}, fmt.Errorf("run %s: not started: %w", name, err)
	}
	if res, handled, err := h.fileOp(c, p.uid); handled {
		return res, err
	}
	// The point-of-use rule: the program looks its paths up again
	// itself, so a program run as root gets only paths that root alone
	// can change (and so that nobody can change between this check and
	// the program's lookup), and a verified file must be one whoever runs
	// it. Under ToolRoot (tests) the stand-in program is not checked.
	program := name
	if h.opts.ToolRoot != "" {
		program = ""
	}
	if err := host.CheckCommand(ctx, h, c, program, p.uid); err != nil {
		return host.Result{}, fmt.Errorf("run %s: %w", name, err)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = h.opts.Timeout
	}
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	cmd := exec.CommandContext(runCtx, h.program(name))
	cmd.Args = append([]string(nil), c.Argv...)
	cmd.Env = buildEnv(p, c)
	cmd.Dir = workDir(p, c)
	var killed atomic.Bool
	cmd.Cancel = func() error {
		killed.Store(true)
		return killGroup(cmd.Process)
	}
	cmd.WaitDelay = waitDelay
	attr := &syscall.SysProcAttr{}
	if p.drop {
		attr.Credential = credential(p, maxGroups)
	}

	var stdout, stderr string
	var waitErr error
	if c.TTY {
		stdout, waitErr = h.runTTY(runCtx, cmd, attr, c)
	} else {
		stdout, stderr, waitErr = h.runPipes(cmd, attr, c)
	}
	secrets := commandSecrets(c)
	res := host.Result{Stdout: scrub(stdout, secrets), Stderr: scrub(stderr, secrets)}

	switch {
	case killed.Load() && ctx.Err() != nil:
		return res, fmt.Errorf("run %s: cancelled, process group killed: %w", name, ctx.Err())
	case killed.Load():
		return res, fmt.Errorf("run %s: timed out after %s, process group killed: %w", name, timeout, context.DeadlineExceeded)
	case cmd.ProcessState == nil && ctx.Err() != nil:
		return res, fmt.Errorf("run %s: not started: %w", name, ctx.Err())
	}
	if cmd.ProcessState == nil {
		if errors.Is(waitErr, fs.ErrNotExist) {
			return res, fmt.Errorf("run %s: program not found: %w", name, waitErr)
		}
		return res, fmt.Errorf("run %s: %w", name, waitErr)
	}
	res.Exit = exitCode(cmd.ProcessState)
	var exitErr *exec.ExitError
	if waitErr != nil && !errors.As(waitErr, &exitErr) && !errors.Is(waitErr, exec.ErrWaitDelay) {
		return res, fmt.Errorf("run %s: %w", name, waitErr)
	}
	return res, nil
}

// runPipes runs cmd with its standard streams on pipes.
func (h *Host) runPipes(cmd *exec.Cmd, attr *syscall.SysProcAttr, c host.Command) (string, string, error) {
	attr.Setpgid = true
	cmd.SysProcAttr = attr
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
	}
	out := newTailBuffer(h.opts.OutputCap)
	errOut := newTailBuffer(h.opts.OutputCap)
	cmd.Stdout = out
	cmd.Stderr = errOut
	err := cmd.Run()
	return out.String(), errOut.String(), err
}

// program maps an absolute argv[0] to the file that is executed.
func (h *Host) program(argv0 string) string {
	if h.opts.ToolRoot == "" {
		return argv0
	}
	return filepath.Join(h.opts.ToolRoot, argv0)
}

// validateCommand rejects what cannot be run safely: relative programs,
// NUL bytes, malformed variables and secrets that would show in argv.
func validateCommand(c host.Command) error {
	if len(c.Argv) == 0 {
		return errors.New("run: empty argv")
	}
	name := c.Argv[0]
	if !filepath.IsAbs(name) || filepath.Clean(name) != name {
		return fmt.Errorf("run %q: the program must be a clean absolute path (no PATH lookup)", name)
	}
	for i, a := range c.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("run %s: argument %d contains a NUL byte", name, i)
		}
	}
	if c.Dir != "" && !filepath.IsAbs(c.Dir) {
		return fmt.Errorf("run %s: working directory %q is not absolute", name, c.Dir)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("run %s: negative timeout %s", name, c.Timeout)
	}
	for _, e := range c.Env {
		if !validEnvName(e.Name) {
			return fmt.Errorf("run %s: invalid environment variable name %q", name, e.Name)
		}
		if strings.IndexByte(e.Value, 0) >= 0 {
			return fmt.Errorf("run %s: environment variable %s contains a NUL byte", name, e.Name)
		}
	}
	for _, s := range commandSecrets(c) {
		for i, a := range c.Argv {
			if strings.Contains(a, s.value) {
				return fmt.Errorf("run %s: argument %d contains the secret %s; secrets travel only through stdin or the environment", name, i, s.name)
			}
		}
	}
	return nil
}

// validEnvName reports whether s is a portable variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// buildEnv builds the whole environment of a command from nothing: the
// principal's HOME, USER and LOGNAME, PATH and LANG, the Homebrew
// settings for brew, then the command's own variables (which win).
func buildEnv(p principal, c host.Command) []string {
	type kv struct{ k, v string }
	vars := []kv{
		{"HOME", p.home},
		{"USER", p.name},
		{"LOGNAME", p.name},
		{"PATH", BasePath},
		{"LANG", "en_US.UTF-8"},
	}
	if c.Argv[0] == brewProgram {
		vars[3].v = "/opt/homebrew/bin:" + BasePath
		vars = append(vars,
			kv{"HOMEBREW_NO_AUTO_UPDATE", "1"},
			kv{"HOMEBREW_NO_INSTALL_CLEANUP", "1"},
			kv{"HOMEBREW_NO_ANALYTICS", "1"},
			kv{"NONINTERACTIVE", "1"},
		)
	}
	for _, e := range c.Env {
		replaced := false
		for i := range vars {
			if vars[i].k == e.Name {
				vars[i].v = e.Value
				replaced = true
			}
		}
		if !replaced {
			vars = append(vars, kv{e.Name, e.Value})
		}
	}
	env := make([]string, len(vars))
	for i, v := range vars {
		env[i] = v.k + "=" + v.v
	}
	return env
}

// workDir is the command's directory: cmd.Dir, else the principal's home
// when it exists, else "/".
func workDir(p principal, c host.Command) string {
	if c.Dir != "" {
		return c.Dir
	}
	if p.home != "" {
		if fi, err := os.Stat(p.home); err == nil && fi.IsDir() {
			return p.home
		}
	}
	return "/"
}

// killGroup kills the process group led by proc (every command is started
// as the leader of its own group or session).
func killGroup(proc *os.Process) error {
	if proc == nil {
		return nil
	}
	err := syscall.Kill(-proc.Pid, syscall.SIGKILL)
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill process group %d: %w", proc.Pid, err)
	}
	return nil
}

// exitCode is the command's exit status, 128+N when signal N ended it.
func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// credential is what the child switches to for principal p: its uid, gid
// and at most limit supplementary groups, the primary gid first and no id
// twice. macOS's setgroups(2) fails with EINVAL past NGROUPS (16), and an
// administrator is often in more groups than that (getgrouplist lists
// them all), so the list is cut rather than failing every command run
// as the Homebrew owner.
func credential(p principal, limit int) *syscall.Credential {
	groups := []uint32{uint32(p.gid)}
	seen := map[int]bool{p.gid: true}
	for _, g := range p.groups {
		if len(groups) >= limit {
			break
		}
		if !seen[g] {
			seen[g] = true
			groups = append(groups, uint32(g))
		}
	}
	return &syscall.Credential{Uid: uint32(p.uid), Gid: uint32(p.gid), Groups: groups}
}
