package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"sort"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// DefaultMaxSteps is the default execution-step budget of one run: far
// more than any recipe needs, small enough to stop a runaway loop in
// seconds.
const DefaultMaxSteps = 100_000_000

// Options configures Load.
type Options struct {
	// Host is the Mac the recipe is checked against and applied to. It is
	// wrapped in a host.Recorder unless it already is one.
	Host host.Host
	// Redactor collects the run's secret values; nil means a new one.
	// The CLI registers every secret it can know (the runner token) in it
	// before calling Load, so that output is scrubbed from the start.
	Redactor *host.Redactor
	// ProtectedFiles are files no query may read besides the secret
	// locations of SecretPathReason (the --token-file).
	ProtectedFiles []string
	// Modules are the builtin modules (builtins.Modules()).
	Modules []Module
	// Stdlib serves "@stdlib//NAME.star" loads (stdlib.FS).
	Stdlib fs.FS
	// Vars are recipe variables (--var NAME=VALUE), read with var().
	Vars map[string]string
	// CheckDeclaration, when set, checks each declare(KIND, ...) while the
	// recipe is evaluated (the workflow job's fields); its error is
	// reported at the declare call with the recipe's other errors.
	CheckDeclaration func(kind string, fields *starlark.Dict) error
	// StickyVars makes the recipe use the vars the last `run` recorded on
	// the host (VarsFile) for every var not given in Vars.
	StickyVars bool
	// Secrets supplies secret() values when an action needs them.
	Secrets SecretSource
	// Principals are the accounts actions run as. A recipe may override
	// BrewOwner with declare("brew", owner = NAME).
	Principals Principals
	// MaxSteps bounds Starlark execution (0 means DefaultMaxSteps).
	MaxSteps uint64
	// Log receives print() output, already scrubbed.
	Log func(string)
	// Progress receives a line before each action of an apply runs,
	// already scrubbed (the CLI shows them on stderr); nil discards them.
	Progress func(string)
	// Rand is the randomness of random_password (nil means crypto/rand).
	Rand io.Reader
	// Limits bound the recipe's heap growth, the process's stack and the
	// recipe thread's evaluation time while it is evaluated, checked and
	// fixed (see memguard.go); past them the thread is cancelled, and
	// OnHardLimit is called when cancelling cannot stop it in time.
	Limits
	// Services are backends besides the host (Session.Service).
	Services map[string]any
	// Source is the recipe's text when it is not a file (a recipe hvfctl
	// builds itself); nil means read path.
	Source []byte
	// LocalTrust, when set (hvfctl runs as root), refuses the recipe and
	// every module it loads when an account other than root and the
	// invoking user could have written it or a directory above it
	// (host.LocalTrust): root would run that account's code.
	LocalTrust *host.LocalTrust
	// Programs caches the compiled recipe and stdlib modules across
	// Loads; nil compiles them at each Load.
	Programs *Programs
}

// Recipe is an evaluated recipe: its resources in declaration order and
// the session they run in. A Recipe is used by one goroutine at a time.
type Recipe struct {
	path      string
	sess      *Session
	thread    *starlark.Thread
	resources []*Resource
	globals   starlark.StringDict
	stop      func() bool
	stopGuard func()
	progress  func(string)

	usedVars     map[string]bool
	givenVars    map[string]string
	recordedVars map[string]string
	sticky       bool
	// reported is set once a report was made: the first report also
	// lists the commands Load ran (reading the recorded vars), from
	// loadMark on.
	reported bool
	loadMark int
}

// Path returns the recipe file as given to Load.
func (r *Recipe) Path() string { return r.path }

// Session returns the recipe's session (host, facts, declarations).
func (r *Recipe) Session() *Session { return r.sess }

// Resources returns the declared resources in order.
func (r *Recipe) Resources() []*Resource { return append([]*Resource(nil), r.resources...) }

// Globals returns the recipe's top-level names.
func (r *Recipe) Globals() starlark.StringDict { return r.globals }

// Thread returns the recipe's Starlark thread (for callers that call
// recipe functions, such as the recipe-test runner).
func (r *Recipe) Thread() *starlark.Thread { return r.thread }

// Close releases the recipe's cancellation watcher.
func (r *Recipe) Close() {
	if r.stop != nil {
		r.stop()
	}
	if r.stopGuard != nil {
		r.stopGuard()
	}
}

// evaluator is the per-evaluation state behind the predeclared builtins.
type evaluator struct {
	sess      *Session
	opts      Options
	resources []*Resource
	byID      map[string]*Resource
	// refused are the ids of resources whose declaration was refused.
	refused  map[string]bool
	secrets  map[string]*Secret
	usedVars map[string]bool
}

// Load evaluates the recipe at path once, in a sandboxed thread, and
// returns its resources. All recipe errors (syntax, evaluation, schema,
// duplicate ids …) come back together as one *multierror.Error whose
// entries are positioned ("file:line:col: message"). ctx cancels the
// evaluation and every later check, fix and action of the recipe.
func Load(ctx context.Context, path string, o Options) (*Recipe, error) {
	if o.Host == nil {
		return nil, fmt.Errorf("loading %s: no host", path)
	}
	rec, ok := o.Host.(*host.Recorder)
	if !ok {
		rec = host.NewRecorder(o.Host, o.Redactor)
	}
	loadMark := len(rec.Transcript())
	recorded := map[string]string{}
	if o.StickyVars {
		vr, err := readVarsRecord(ctx, rec)
		if err != nil {
			return nil, err
		}
		if m := vr.Recipes[recipeKey(path)]; m != nil {
			recorded = m
		}
	}
	sess := NewSession(ctx, SessionOptions{
		Host: rec, Principals: o.Principals,
		Secrets: o.Secrets, Vars: mergeVars(recorded, o.Vars), Log: o.Log, Services: o.Services,
		ProtectedFiles: o.ProtectedFiles,
	})
	ev := &evaluator{
		sess: sess, opts: o, byID: map[string]*Resource{}, refused: map[string]bool{},
		secrets: map[string]*Secret{}, usedVars: map[string]bool{},
	}
	predeclared, err := ev.predeclared()
	if err != nil {
		return nil, err
	}
	ld, err := newLoader(path, o.Stdlib, predeclared, o.LocalTrust, o.Programs)
	if err != nil {
		return nil, err
	}
	thread := NewThread("recipe "+path, sess, o.MaxSteps)
	thread.Load = ld.load
	stop := context.AfterFunc(ctx, func() { thread.Cancel("interrupted") })
	r := &Recipe{path: path, sess: sess, thread: thread, stop: stop, stopGuard: guardThread(thread, o.Limits), progress: o.Progress,
		usedVars: ev.usedVars, givenVars: o.Vars, recordedVars: recorded, sticky: o.StickyVars, loadMark: loadMark}

	if err := ctx.Err(); err != nil {
		r.Close()
		return nil, fmt.Errorf("loading %s: %w", path, err)
	}
	var globals starlark.StringDict
	var execErr error
	if o.Source != nil {
		globals, execErr = ld.exec(thread, path, o.Source)
	} else {
		globals, execErr = ld.execTop(thread, path)
	}
	// The recorded errors come first: they were found before the error
	// that stopped the evaluation, so the list reads in execution order.
	var errs []error
	for _, e := range sess.Errors() {
		errs = append(errs, e)
	}
	if execErr != nil {
		errs = append(errs, starlarkErrors(execErr)...)
	}
	if execErr == nil {
		var unused []string
		for name := range o.Vars {
			if !ev.usedVars[name] {
				unused = append(unused, name)
			}
		}
		sort.Strings(unused)
		for _, name := range unused {
			errs = append(errs, fmt.Errorf("%s: --var %s: the recipe has no var(%q)", path, name, name))
		}
	}
	if len(errs) > 0 {
		r.Close()
		return nil, joinErrors(errs)
	}
	r.resources = ev.resources
	r.globals = globals
	return r, nil
}

// NewThread returns a sandboxed Starlark thread bound to sess: print()
// goes to the session log, execution is bounded by maxSteps (0 means
// DefaultMaxSteps) and builtins reach sess through SessionOf.
func NewThread(name string, sess *Session, maxSteps uint64) *starlark.Thread {
	if maxSteps == 0 {
		maxSteps = DefaultMaxSteps
	}
	t := &starlark.Thread{
		Name:  name,
		Print: func(_ *starlark.Thread, msg string) { sess.Logf("%s", msg) },
		OnMaxSteps: func(t *starlark.Thread) {
			t.Cancel(fmt.Sprintf("execution step budget of %d exceeded (raise it with --max-steps)", maxSteps))
		},
	}
	t.SetMaxExecutionSteps(maxSteps)
	sess.Attach(t)
	return t
}

// predeclared builds the names every recipe and stdlib module sees.
func (ev *evaluator) predeclared() (starlark.StringDict, error) {
	d := sizeGuards()
	d["struct"] = starlark.NewBuiltin("struct", starlarkstruct.Make)
	d["json"] = boundedJSON()
	for name, v := range boundedFormatters() {
		d[name] = v
	}
	for _, b := range ev.engineBuiltins() {
		if b.Fn == nil {
			continue // documented here, provided by go.starlark.net
		}
		d[b.Name] = Wrap(b.Name, b)
	}
	for _, m := range ev.opts.Modules {
		if _, dup := d[m.Name]; dup {
			return nil, fmt.Errorf("builtin module %q clashes with another predeclared name", m.Name)
		}
		members := starlark.StringDict{}
		for _, b := range m.Builtins {
			if _, dup := members[b.Name]; dup {
				return nil, fmt.Errorf("builtin %s.%s is registered twice", m.Name, b.Name)
			}
			members[b.Name] = Wrap(m.Name+"."+b.Name, b)
		}
		d[m.Name] = &starlarkstruct.Module{Name: m.Name, Members: members}
	}
	return d, nil
}

// Wrap turns a Builtin into its Starlark value, with the hook every
// builtin call goes through: it stops at once when the run is cancelled,
// refuses queries outside a resource's check or fix, and refuses
// declarations inside them. The time a query waits for the host is not
// evaluation time (evalClock).
func Wrap(qualified string, b Builtin) *starlark.Builtin {
	return starlark.NewBuiltin(qualified, func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		s, err := SessionOf(t)
		if err != nil {
			return nil, err
		}
		if err := s.Context().Err(); err != nil {
			return nil, fmt.Errorf("%s: interrupted: %w", qualified, err)
		}
		switch phase := s.Phase(); {
		case b.Kind == KindQuery && phase == PhaseEval:
			return nil, fmt.Errorf("%s is a query of the host: call it only inside a resource's check or fix function, not while the recipe is evaluated", qualified)
		case b.Kind == KindDecl && phase != PhaseEval:
			return nil, fmt.Errorf("%s declares part of the recipe: call it while the recipe is evaluated, not inside a check or fix function", qualified)
		}
		if b.Kind == KindQuery {
			defer pauseEval(t)()
		}
		return b.Fn(t, fn, args, kwargs)
	})
}

// randomPassword returns n characters drawn uniformly from letters and
// digits.
func randomPassword(r io.Reader, n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	if r == nil {
		r = rand.Reader
	}
	out := make([]byte, 0, n)
	buf := make([]byte, 64)
	for len(out) < n {
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("generating a password: %w", err)
		}
		for _, c := range buf {
			// 248 = 4*62: reject the tail to keep the draw uniform.
			if c < 248 && len(out) < n {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out), nil
}

// ExecFile evaluates a Starlark file that is not a recipe (a recipe test)
// on thread, with the recipe dialect and load rules: "@stdlib//" modules
// and files under the file's own directory, each executed once, cycles
// and escapes refused. Errors are positioned as by PositionedError.
// programs caches the compiled modules (nil compiles each).
func ExecFile(thread *starlark.Thread, file string, predeclared starlark.StringDict, stdlib fs.FS, programs *Programs) (starlark.StringDict, error) {
	ld, err := newLoader(file, stdlib, predeclared, nil, programs)
	if err != nil {
		return nil, err
	}
	thread.Load = ld.load
	g, err := ld.execTop(thread, file)
	if err != nil {
		return g, PositionedError(err)
	}
	return g, nil
}

// PositionedError turns an error of Starlark evaluation into what people
// see: "file:line:col: message" followed by the backtrace through every
// load() and call, one entry per syntax or resolve error.
func PositionedError(err error) error {
	if err == nil {
		return nil
	}
	return joinErrors(starlarkErrors(err))
}
