package engine

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Phase is the stage of a run a builtin is called in.
type Phase int

const (
	// PhaseEval is the evaluation of the recipe's top level.
	PhaseEval Phase = iota
	// PhaseCheck is a resource's check function.
	PhaseCheck
	// PhaseFix is a resource's fix function.
	PhaseFix
)

// Principals names the accounts actions run as.
type Principals struct {
	// BrewOwner is the administrator who owns Homebrew (SUDO_USER on the
	// Mac, "admin" on the fake unless a recipe says otherwise).
	BrewOwner string
	// Invoker is the human who ran hvfctl (SUDO_USER), empty if unknown.
	Invoker string
}

// SecretSource supplies secret values by name (environment, token file,
// terminal prompt, generated password).
type SecretSource interface {
	Lookup(ctx context.Context, name string) (string, error)
}

// DeferredSecrets is implemented by a SecretSource that creates some
// values itself, asking nobody, right when an action needs them (a runner
// token created through the GitHub API): Deferred reports whether name is
// one of them now. Such a secret is not fetched up front, and each
// purpose (WithSecretPurpose) gets its own value.
type DeferredSecrets interface {
	Deferred(name string) bool
}

// Session is the state of one run, shared by every builtin call on its
// thread: the host, the fact cache, the write allowlist, collected
// validation errors and declarations. Builtins reach it with SessionOf.
type Session struct {
	ctx        context.Context
	rec        *host.Recorder
	principals Principals
	secrets    SecretSource
	vars       map[string]string
	services   map[string]any
	readGuard  func(string) error // readRule on the path as given and as resolved
	readRule   func(string) error // the name-based read rule (secret locations, the token file)
	// resolve returns the real path of a path on the host (every
	// symlink resolved the way the kernel resolves it), or "" when it
	// cannot tell; the read rules apply to both forms.
	resolve func(string) string

	mu        sync.Mutex
	phase     Phase
	facts     map[string]factEntry
	changed   bool
	kept      map[string]any
	allow     []string
	errs      []PosError
	decls     []Declaration
	secretVal map[string]string
	log       func(string)
	resolved  []string
	refusals  int
}

type factEntry struct {
	val any
	err error
}

// PosError is a recipe error at a position in a .star file.
type PosError struct {
	Pos syntax.Position
	Msg string
}

func (e PosError) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

// Declaration is something a recipe declared for other tools to read
// (the runner's labels, the workflow job, toolchain paths …).
type Declaration struct {
	Kind   string
	Pos    syntax.Position
	Fields *starlark.Dict
}

// SessionOptions configures NewSession.
type SessionOptions struct {
	Host       host.Host
	Redactor   *host.Redactor
	Principals Principals
	Secrets    SecretSource
	Vars       map[string]string
	Log        func(string)
	// Services are backends besides the host that builtins reach by
	// name with Session.Service ("github": a *ghapi.Client).
	Services map[string]any
	// ProtectedFiles are files no query may read (the token file), on
	// top of the secret locations of SecretPathReason.
	ProtectedFiles []string
}

// NewSession starts a session on a host; the host is wrapped in a
// Recorder so that every command is kept and scrubbed.
func NewSession(ctx context.Context, o SessionOptions) *Session {
	rec, ok := o.Host.(*host.Recorder)
	if !ok {
		rec = host.NewRecorder(o.Host, o.Redactor)
	}
	resolve := realPath(ctx, rec)
	rule := readGuard(o.ProtectedFiles)
	guard := resolvingGuard(rule, resolve)
	rec.GuardReads(guard)
	log := o.Log
	if log == nil {
		log = func(string) {}
	}
	return &Session{
		ctx: ctx, rec: rec, principals: o.Principals, secrets: o.Secrets,
		vars: o.Vars, services: o.Services, readGuard: guard, readRule: rule, resolve: resolve, facts: map[string]factEntry{}, kept: map[string]any{}, secretVal: map[string]string{}, log: log,
	}
}

const sessionKey = "hvfctl.session"

// Attach makes the session reachable from builtins called on t.
func (s *Session) Attach(t *starlark.Thread) { t.SetLocal(sessionKey, s) }

// SessionOf returns the session attached to the thread.
func SessionOf(t *starlark.Thread) (*Session, error) {
	s, ok := t.Local(sessionKey).(*Session)
	if !ok || s == nil {
		return nil, fmt.Errorf("internal error: no hvfctl session on this thread")
	}
	return s, nil
}

// Context returns the run's context (cancelled on SIGINT).
func (s *Session) Context() context.Context { return s.ctx }

// CheckRead refuses a path no query may read (a secret location or the
// token file, docs/security.md); builtins that have a tool read a file
// for them call it, as every in-process read already does.
func (s *Session) CheckRead(path string) error { return s.readGuard(path) }

// Host returns the recorded host.
func (s *Session) Host() host.Host { return s.rec }

// Recorder returns the recorder wrapping the host.
func (s *Session) Recorder() *host.Recorder { return s.rec }

// Redactor returns the run's redactor.
func (s *Session) Redactor() *host.Redactor { return s.rec.Redactor() }

// Principals returns the accounts actions run as.
func (s *Session) Principals() Principals {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.principals
}

// SetPrincipals replaces the accounts actions run as (the engine applies
// a recipe's declare("brew", owner = ...) with it).
func (s *Session) SetPrincipals(p Principals) {
	s.mu.Lock()
	s.principals = p
	s.mu.Unlock()
}

// Service returns the backend registered under name (see
// SessionOptions.Services), or nil.
func (s *Session) Service(name string) any { return s.services[name] }

// Var returns a recipe variable set with --var NAME=VALUE.
func (s *Session) Var(name string) (string, bool) {
	v, ok := s.vars[name]
	return v, ok
}

// Logf writes a line to the run's log (print() output goes there too).
func (s *Session) Logf(format string, args ...any) {
	s.log(s.Redactor().Scrub(fmt.Sprintf(format, args...)))
}

// Phase returns the current phase.
func (s *Session) Phase() Phase {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.phase
}

// SetPhase changes the phase; the engine calls it around check and fix.
func (s *Session) SetPhase(p Phase) {
	s.mu.Lock()
	s.phase = p
	s.mu.Unlock()
}

// Fact returns the cached value of a fact family, gathering it with one
// call to gather the first time it is asked for in this run (or after
// ForgetFacts). Errors are cached too.
func (s *Session) Fact(key string, gather func(ctx context.Context, h host.Host) (any, error)) (any, error) {
	s.mu.Lock()
	e, ok := s.facts[key]
	s.mu.Unlock()
	if ok {
		return e.val, e.err
	}
	v, err := gather(s.ctx, s.rec)
	s.mu.Lock()
	s.facts[key] = factEntry{v, err}
	s.mu.Unlock()
	return v, err
}

// ForgetFacts empties the fact cache; the engine calls it after any action
// runs, so that every re-check reads the host afresh.
func (s *Session) ForgetFacts() {
	s.mu.Lock()
	s.facts = map[string]factEntry{}
	s.mu.Unlock()
}

// markChanged records that an action ran.
func (s *Session) markChanged() {
	s.mu.Lock()
	s.changed = true
	s.mu.Unlock()
}

// Changed reports whether an action ran in this run: a query may then wait for a change to show, such as a runner
// that was just started coming online on GitHub.
func (s *Session) Changed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// Keep returns the run-scoped value stored under key, creating it with
// init the first time. Unlike a Fact it survives ForgetFacts: builtins
// keep there what a recipe registered while it was evaluated (the paths
// files.prefetch batches) and what must hold for the whole run.
func (s *Session) Keep(key string, init func() any) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.kept[key]
	if !ok {
		v = init()
		s.kept[key] = v
	}
	return v
}

// Resolved records the argv an action actually ran when its plan showed a
// placeholder (the newest Command Line Tools label): the apply report
// shows it instead of the planned argv. Only action Run functions call it.
func (s *Session) Resolved(argv []string) {
	s.mu.Lock()
	s.resolved = append([]string(nil), argv...)
	s.mu.Unlock()
}

// takeResolved returns and clears what Resolved recorded.
func (s *Session) takeResolved() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.resolved
	s.resolved = nil
	return out
}

// IsPattern reports whether an allow_writes entry is a path.Match pattern
// rather than a prefix.
func IsPattern(entry string) bool { return strings.ContainsAny(entry, "*?[") }

// AllowWrites adds path prefixes under which actions may write, or
// path.Match patterns of single paths they may write.
func (s *Session) AllowWrites(prefixes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range prefixes {
		s.allow = append(s.allow, path.Clean(p))
	}
}

// CheckWrite reports whether an absolute path is allowed: it lies under
// a prefix of the allowlist, or it matches one of its patterns (entries
// with *, ? or [, matched with path.Match, so * never crosses a /).
func (s *Session) CheckWrite(p string) error {
	if !path.IsAbs(p) {
		return fmt.Errorf("write to %q refused: not an absolute path", p)
	}
	clean := path.Clean(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.allow {
		if IsPattern(a) {
			if ok, err := path.Match(a, clean); err == nil && ok {
				return nil
			}
			continue
		}
		if clean == a || strings.HasPrefix(clean, strings.TrimSuffix(a, "/")+"/") {
			return nil
		}
	}
	return fmt.Errorf("write to %s refused: not under the recipe's allow_writes %v", clean, s.allow)
}

// Errorf records a recipe error at pos without stopping evaluation, so
// that every error of a recipe is reported at once.
func (s *Session) Errorf(pos syntax.Position, format string, args ...any) {
	s.mu.Lock()
	s.errs = append(s.errs, PosError{Pos: pos, Msg: fmt.Sprintf(format, args...)})
	s.mu.Unlock()
}

// NoteRefusal records that a stdlib function was refused while the recipe
// was evaluated (its arguments were wrong; the errors are recorded) and
// so declared none of its resources: a later `requires` of one of them
// is a follow-on of that error, not reported again.
func (s *Session) NoteRefusal() {
	s.mu.Lock()
	s.refusals++
	s.mu.Unlock()
}

// Refusals returns how many stdlib calls were refused so far.
func (s *Session) Refusals() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusals
}

// Errors returns the recorded recipe errors.
func (s *Session) Errors() []PosError {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]PosError(nil), s.errs...)
}

// Declare records a declaration for other commands to read.
func (s *Session) Declare(d Declaration) {
	s.mu.Lock()
	s.decls = append(s.decls, d)
	s.mu.Unlock()
}

// Declarations returns the declarations of one kind, in order.
func (s *Session) Declarations(kind string) []Declaration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Declaration
	for _, d := range s.decls {
		if d.Kind == kind {
			out = append(out, d)
		}
	}
	return out
}

func (s *Session) secretValue(ctx context.Context, sec *Secret) (string, error) {
	key := sec.name
	if p := SecretPurpose(ctx); p != "" {
		key += "\x00" + p
	}
	s.mu.Lock()
	v, ok := s.secretVal[key]
	if !ok {
		// A value given for every purpose (the environment, a file, a
		// person asked up front) serves each purpose.
		v, ok = s.secretVal[sec.name]
	}
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	var err error
	switch {
	case sec.resolve != nil:
		v, err = sec.resolve(ctx)
	case s.secrets != nil:
		v, err = s.secrets.Lookup(ctx, sec.name)
	default:
		err = fmt.Errorf("no source for secret %q", sec.name)
	}
	if err != nil {
		return "", err
	}
	s.mu.Lock()
	s.secretVal[key] = v
	s.mu.Unlock()
	return v, nil
}

type purposeKey struct{}

// WithSecretPurpose tells the SecretSource what a secret is revealed for
// ("registration" or "remove" for the runner token), so that a source
// that creates tokens just in time creates the right kind. Values are
// cached per name and purpose.
func WithSecretPurpose(ctx context.Context, purpose string) context.Context {
	return context.WithValue(ctx, purposeKey{}, purpose)
}

// SecretPurpose returns the purpose set by WithSecretPurpose, or "".
func SecretPurpose(ctx context.Context) string {
	p, _ := ctx.Value(purposeKey{}).(string)
	return p
}

// CallerPos returns the position of the Starlark call that invoked the
// current builtin, for error messages.
func CallerPos(t *starlark.Thread) syntax.Position {
	if t.CallStackDepth() > 1 {
		return t.CallFrame(1).Pos
	}
	return syntax.Position{}
}
