// Package builtins holds the sandboxed builtins that recipes use to observe
// and change a Mac: one file per tool family (pmset.go, brew.go, …), each
// owning the argv it builds, the parser of the tool's output and the
// Starlark binding. Queries run at once and only read; action constructors
// return *engine.Action values that run only during apply.
//
// Every argv follows docs/host-commands.md and every parser follows the
// reference on macOS tool behaviour. No builtin takes a command string and
// no shell is ever involved.
package builtins

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// call is the context of one builtin invocation: the thread, the session
// and the qualified name used in error messages ("files.stat").
type call struct {
	t    *starlark.Thread
	s    *engine.Session
	name string
}

// implFunc is the Go body of a builtin.
type implFunc func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error)

// argError returns a positioned error naming the builtin, for bad
// arguments. Every builtin reports bad input this way, before anything
// runs.
func (c *call) argError(format string, args ...any) error {
	return engine.PosError{Pos: engine.CallerPos(c.t), Msg: c.name + ": " + fmt.Sprintf(format, args...)}
}

// wrap turns a validation error into a positioned one.
func (c *call) wrap(err error) error {
	if err == nil {
		return nil
	}
	return c.argError("%v", err)
}

// hostError reports a query whose command could not run at all.
func (c *call) hostError(err error) error {
	return engine.PosError{Pos: engine.CallerPos(c.t), Msg: c.name + ": " + err.Error()}
}

// ctx returns the run's context.
func (c *call) ctx() context.Context { return c.s.Context() }

// unpack unpacks arguments and positions any error.
func (c *call) unpack(args starlark.Tuple, kwargs []starlark.Tuple, pairs ...any) error {
	if err := starlark.UnpackArgs(c.name, args, kwargs, pairs...); err != nil {
		return engine.PosError{Pos: engine.CallerPos(c.t), Msg: err.Error()}
	}
	return nil
}

// unpackUser unpacks a builtin's single argument USER, an account name
// validated by checkUser, and positions any error.
func (c *call) unpackUser(args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	var user string
	if err := c.unpack(args, kwargs, "user", &user); err != nil {
		return "", err
	}
	if err := checkUser(user); err != nil {
		return "", c.wrap(err)
	}
	return user, nil
}

// newBuiltin describes one builtin of module mod.
func newBuiltin(mod, name, params string, kind engine.Kind, doc string, impl implFunc) engine.Builtin {
	qualified := mod + "." + name
	return engine.Builtin{
		Name:   name,
		Params: params,
		Doc:    strings.TrimSpace(doc),
		Kind:   kind,
		Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			s, err := engine.SessionOf(t)
			if err != nil {
				return nil, err
			}
			return impl(&call{t: t, s: s, name: qualified}, args, kwargs)
		},
	}
}

// run executes a query command through the session's recorded host. The
// argv is copied, so that a read-only table passed with ... never reaches
// a host that might change it.
func run(ctx context.Context, h host.Host, user string, argv ...string) (host.Result, error) {
	res, err := h.Run(ctx, host.Command{Argv: slices.Clone(argv), User: user})
	if err != nil {
		return res, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return res, nil
}

// runPaths is run for a program that looks up the files paths itself:
// they are declared on the command (host.Command.Paths), so that the
// backend refuses to hand a path another account can change to a program
// run as root.
func runPaths(ctx context.Context, h host.Host, user string, paths []string, argv ...string) (host.Result, error) {
	res, err := h.Run(ctx, host.Command{Argv: slices.Clone(argv), User: user, Paths: slices.Clone(paths)})
	if err != nil {
		return res, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return res, nil
}

// cached returns a fact family from the session cache, typed.
func cached[T any](s *engine.Session, key string, gather func(ctx context.Context, h host.Host) (T, error)) (T, error) {
	v, err := s.Fact(key, func(ctx context.Context, h host.Host) (any, error) { return gather(ctx, h) })
	if err != nil {
		var zero T
		return zero, err
	}
	t, ok := v.(T)
	if !ok {
		var zero T
		return zero, fmt.Errorf("internal error: fact %s has type %T", key, v)
	}
	return t, nil
}

// mkstruct builds a Starlark struct from name/value pairs.
func mkstruct(fields map[string]starlark.Value) starlark.Value {
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict(fields))
}

// stringList converts a Go slice to a Starlark list.
func stringList(ss []string) *starlark.List {
	l := make([]starlark.Value, len(ss))
	for i, s := range ss {
		l[i] = starlark.String(s)
	}
	return starlark.NewList(l)
}

// versionsDict converts name → versions to a Starlark dict, sorted by name.
func versionsDict(m map[string][]string) *starlark.Dict {
	d := starlark.NewDict(len(m))
	for _, k := range sortedKeys(m) {
		_ = d.SetKey(starlark.String(k), stringList(m[k]))
	}
	return d
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// unknown returns the engine's unknown value.
func unknown(format string, args ...any) starlark.Value {
	return &engine.Unknown{Reason: fmt.Sprintf(format, args...)}
}

// lines splits text into lines without the trailing empty one, removing
// carriage returns.
func lines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// judgeError builds the ActionError of a command whose result a judge
// rejected.
func judgeError(cmd host.Command, res host.Result, err error) error {
	return &engine.ActionError{Argv: cmd.Argv, User: cmd.Principal(), Exit: res.Exit, StderrTail: engine.Tail(res.Stderr+"\n"+res.Stdout, 5), Err: err}
}

// runStep runs one command of a composite action and judges its result;
// a nil judge accepts any exit status.
func runStep(ctx context.Context, s *engine.Session, cmd host.Command, judge func(host.Result) error) (host.Result, error) {
	res, err := s.Host().Run(ctx, cmd)
	if err != nil {
		return res, &engine.ActionError{Argv: cmd.Argv, User: cmd.Principal(), Exit: -1, Err: err}
	}
	if judge != nil {
		if jerr := judge(res); jerr != nil {
			return res, judgeError(cmd, res, jerr)
		}
	}
	return res, nil
}

// exitError reports a query command, named what, that exited with a
// status its caller does not accept, with the tail of its stderr.
func exitError(what string, res host.Result) error {
	return fmt.Errorf("%s exited %d: %s", what, res.Exit, engine.Tail(res.Stderr, 2))
}

// confirmed reports the outcome of the re-read that follows cmd, which
// gave res: nil when err is nil; a rejected result carrying the
// command's output when err wraps engine.ErrNotConfirmed (the change is
// not there); otherwise the re-read itself failed, reported with the
// command's exit status.
func confirmed(cmd host.Command, res host.Result, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, engine.ErrNotConfirmed):
		return judgeError(cmd, res, err)
	}
	return &engine.ActionError{Argv: cmd.Argv, User: cmd.Principal(), Exit: res.Exit, Err: err}
}

// confirmedAction returns the action that runs cmd, judges its result
// with judge (nil accepts any exit status), then re-reads the host with
// confirm, whose error confirmed reports.
func confirmedAction(cmd host.Command, judge func(host.Result) error, confirm func(ctx context.Context, h host.Host, res host.Result) error) *engine.Action {
	return &engine.Action{
		Argv: cmd.Argv,
		User: cmd.Principal(),
		Run: func(ctx context.Context, s *engine.Session) error {
			res, err := runStep(ctx, s, cmd, judge)
			if err != nil {
				return err
			}
			return confirmed(cmd, res, confirm(ctx, s.Host(), res))
		},
	}
}
