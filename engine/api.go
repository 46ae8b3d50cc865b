package engine

// This file holds the contract between the engine and the builtins:
// how a builtin module is described, what an Action is, what a Secret is,
// and what a builtin may ask of the Session it runs in.

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Kind says what a builtin is allowed to do.
type Kind int

const (
	// KindQuery builtins read the host. They run at once, only inside a
	// resource's check or fix function, and never change anything.
	KindQuery Kind = iota
	// KindAction builtins return *Action values. They run nothing.
	KindAction
	// KindDecl builtins declare resources, secrets or settings while the
	// recipe is evaluated.
	KindDecl
	// KindUtil builtins are pure helpers (formatting, validation, plists).
	KindUtil
)

// String names the kind for the generated reference.
func (k Kind) String() string {
	switch k {
	case KindQuery:
		return "query"
	case KindAction:
		return "action"
	case KindDecl:
		return "declaration"
	default:
		return "helper"
	}
}

// BuiltinFunc is the Go implementation of a builtin.
type BuiltinFunc func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// Builtin describes one function a module exposes to recipes. The same
// value drives the Starlark binding and `hvfctl doc`, so a builtin cannot
// exist without its documentation.
type Builtin struct {
	// Name is the function name inside its module ("set" in pmset.set).
	Name string
	// Params is the signature shown in the reference, e.g.
	// `source, settings` or `path, *, mode, owner, group`.
	Params string
	// Doc is Markdown: what it does, what it returns, which host command
	// it runs (for queries and actions) and as which principal.
	Doc string
	// Kind restricts where it may be called.
	Kind Kind
	// Fn implements it.
	Fn BuiltinFunc
}

// Module is a named group of builtins, exposed to recipes as a struct-like
// value (pmset, brew, files, …). Each tool family under builtins/ returns
// one Module.
type Module struct {
	Name     string
	Doc      string
	Builtins []Builtin
}

// Action is one change that apply would make. Action constructors build
// it while a fix function runs; nothing executes until apply calls Run.
type Action struct {
	// Argv is what the plan shows. For command actions it is exactly the
	// argv that runs; for primitives it is the pseudo argv of package host
	// (<write>, <download>, …). It never contains a secret.
	Argv []string
	// User is the principal that runs it ("root", the Homebrew owner, the
	// runner account).
	User string
	// Reason says why the action is needed; when empty the engine fills it
	// from the resource's changes.
	Reason string
	// Writes lists the absolute paths the action creates or modifies. The
	// engine refuses an action that writes outside the recipe's allowlist
	// before anything runs.
	Writes []string
	// Destroys names what the action removes from the host for good (a
	// runner registration, a LaunchDaemon, a file), in plain words; empty
	// for an action that creates or changes. A plan with destroying
	// actions is marked "-" or "-/+" and `run` refuses it without
	// --allow-destroy.
	Destroys string
	// Secrets are the secrets the action reveals when it runs; the plan
	// says they will be needed and `run` asks for them before anything
	// changes.
	Secrets []*Secret
	// Replaces says the action replaces or removes the final entry of
	// each path in Writes itself (an atomic rename, unlink, ln -sfh, or
	// chown -h / chmod -h on a symlink), never opening or changing the
	// object it names: a symlink, FIFO or hard link there is harmless.
	// Otherwise such an entry is refused when the action runs as root.
	Replaces bool
	// Recursive says the action walks the whole tree under each path in
	// Writes (chown -R, rm -r): before a root action runs, the tree is
	// walked without following links and refused when it holds a
	// hard-linked file or a device node, which the walk would change
	// outside the tree.
	Recursive bool
	// Follows lists paths that later writes will reach through what the
	// action creates (a symlink's target): each is resolved, following
	// every link, and must be allowed like a write.
	Follows []string
	// Run performs the action. It must judge the result itself (several
	// macOS tools exit 0 on failure) and return an *ActionError on failure.
	// An action whose argv holds a placeholder resolved only when it runs
	// (the newest Command Line Tools label) reports what actually ran with
	// Session.Resolved.
	Run func(ctx context.Context, s *Session) error
}

// ActionError is a failed action: the command, its exit status and the
// tail of its stderr, secrets already scrubbed.
type ActionError struct {
	Argv       []string
	User       string
	Exit       int
	StderrTail string
	Err        error
}

func (e *ActionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (as %s)", strings.Join(e.Argv, " "), e.User)
	if e.Exit != 0 {
		fmt.Fprintf(&b, " exited %d", e.Exit)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if t := strings.TrimSpace(e.StderrTail); t != "" {
		fmt.Fprintf(&b, "\nstderr: %s", t)
	}
	return b.String()
}

func (e *ActionError) Unwrap() error { return e.Err }

// ErrNotConfirmed is returned by a result judge whose command exited 0 but
// did not do what it was asked (sysadminctl, launchctl's error 5 …).
var ErrNotConfirmed = errors.New("command reported success but the change is not there")

// Tail returns at most the last n lines of s, trimmed.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// ExitZero is the default result judge: success means exit status 0.
func ExitZero(res host.Result) error {
	if res.Exit != 0 {
		return fmt.Errorf("exit status %d", res.Exit)
	}
	return nil
}

// Exec builds an Action that runs one command and judges its result with
// judge (ExitZero when nil). The shown argv is cmd.Argv; cmd may carry
// secrets in Env or Stdin, which are never shown.
func Exec(cmd host.Command, writes []string, judge func(host.Result) error) *Action {
	if judge == nil {
		judge = ExitZero
	}
	argv := append([]string(nil), cmd.Argv...)
	return &Action{
		Argv:   argv,
		User:   cmd.Principal(),
		Writes: writes,
		Run: func(ctx context.Context, s *Session) error {
			res, err := s.Host().Run(ctx, cmd)
			if err != nil {
				return &ActionError{Argv: argv, User: cmd.Principal(), Exit: -1, Err: err}
			}
			if jerr := judge(res); jerr != nil {
				return &ActionError{Argv: argv, User: cmd.Principal(), Exit: res.Exit, StderrTail: Tail(res.Stderr+"\n"+res.Stdout, 5), Err: jerr}
			}
			return nil
		},
	}
}

// Secret is a value a recipe may pass to an action constructor but never
// see: its str() and repr() are "<secret NAME>", it has no attributes, and
// its value is fetched only when an action that needs it runs. Every value
// revealed is registered with the run's redactor.
type Secret struct {
	name    string
	doc     string
	resolve func(ctx context.Context) (string, error)
}

// NewSecret returns a secret whose value resolve supplies on first use.
func NewSecret(name string, resolve func(ctx context.Context) (string, error)) *Secret {
	return &Secret{name: name, resolve: resolve}
}

// Name returns the secret's name.
func (s *Secret) Name() string { return s.name }

// Doc returns what the recipe says about the secret (where it comes
// from, how long it is valid).
func (s *Secret) Doc() string { return s.doc }

// Supplied reports whether a person must supply the value (environment,
// file or prompt), as opposed to one generated by hvfctl.
func (s *Secret) Supplied() bool { return s.resolve == nil }

// Reveal returns the value and registers it with the session's redactor.
// Only action Run functions may call it, to put the value into a
// host.EnvVar{Secret: true} or a secret Stdin.
func (s *Secret) Reveal(ctx context.Context, sess *Session) (string, error) {
	v, err := sess.secretValue(ctx, s)
	if err != nil {
		return "", fmt.Errorf("secret %s: %w", s.name, err)
	}
	sess.Redactor().Add(s.name, v)
	return v, nil
}

// String implements starlark.Value.
func (s *Secret) String() string { return "<secret " + s.name + ">" }

// Type implements starlark.Value.
func (s *Secret) Type() string { return "secret" }

// Freeze implements starlark.Value.
func (s *Secret) Freeze() {}

// Truth implements starlark.Value.
func (s *Secret) Truth() starlark.Bool { return starlark.True }

// Hash implements starlark.Value.
func (s *Secret) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: secret") }
