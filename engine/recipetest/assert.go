package recipetest

import (
	"errors"
	"fmt"
	"regexp"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/sysprog21/hvfctl/engine"
)

// AssertionError is a failed assertion at the position of the assert
// call in a test file.
type AssertionError struct {
	Pos syntax.Position
	Msg string
}

func (e *AssertionError) Error() string { return fmt.Sprintf("%s: %s", e.Pos, e.Msg) }

func failAt(t *starlark.Thread, format string, args ...any) error {
	return &AssertionError{Pos: engine.CallerPos(t), Msg: fmt.Sprintf(format, args...)}
}

// AssertModule returns the `assert` module of recipe tests.
func AssertModule() *starlarkstruct.Module {
	return &starlarkstruct.Module{Name: "assert", Members: starlark.StringDict{
		"eq":       starlark.NewBuiltin("assert.eq", assertEq),
		"ne":       starlark.NewBuiltin("assert.ne", assertNe),
		"true":     starlark.NewBuiltin("assert.true", assertTrue),
		"contains": starlark.NewBuiltin("assert.contains", assertContains),
		"fails":    starlark.NewBuiltin("assert.fails", assertFails),
	}}
}

// AssertDocs documents the assert module for the generated reference.
func AssertDocs() engine.Module {
	return engine.Module{Name: "assert", Doc: "Assertions of recipe tests (`*_test.star`). A failed assertion fails the test with the file:line:col of the call.", Builtins: []engine.Builtin{
		{Name: "eq", Params: "got, want, msg=None", Kind: engine.KindUtil, Doc: "Fails unless got == want."},
		{Name: "ne", Params: "got, unwanted, msg=None", Kind: engine.KindUtil, Doc: "Fails if got == unwanted."},
		{Name: "true", Params: "cond, msg=None", Kind: engine.KindUtil, Doc: "Fails unless cond is truthy."},
		{Name: "contains", Params: "container, item, msg=None", Kind: engine.KindUtil, Doc: "Fails unless `item in container`."},
		{Name: "fails", Params: "fn, pattern", Kind: engine.KindUtil, Doc: "Calls fn() and fails unless it fails with an error matching the regular expression pattern; returns the error message."},
	}}
}

func withMsg(msg starlark.Value, s string) string {
	if m, ok := starlark.AsString(msg); ok && m != "" {
		return m + ": " + s
	}
	return s
}

func assertEq(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, want starlark.Value
	var msg starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "got", &got, "want", &want, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, want)
	if err != nil {
		return nil, failAt(t, "%s: %v", fn.Name(), err)
	}
	if !eq {
		return nil, failAt(t, "%s", withMsg(msg, fmt.Sprintf("%s: got %s, want %s", fn.Name(), got, want)))
	}
	return starlark.None, nil
}

func assertNe(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var got, unwanted starlark.Value
	var msg starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "got", &got, "unwanted", &unwanted, "msg?", &msg); err != nil {
		return nil, err
	}
	eq, err := starlark.Equal(got, unwanted)
	if err != nil {
		return nil, failAt(t, "%s: %v", fn.Name(), err)
	}
	if eq {
		return nil, failAt(t, "%s", withMsg(msg, fmt.Sprintf("%s: got %s, want anything else", fn.Name(), got)))
	}
	return starlark.None, nil
}

func assertTrue(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var cond starlark.Value
	var msg starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "cond", &cond, "msg?", &msg); err != nil {
		return nil, err
	}
	if !cond.Truth() {
		return nil, failAt(t, "%s", withMsg(msg, fmt.Sprintf("%s: got %s", fn.Name(), cond)))
	}
	return starlark.None, nil
}

func assertContains(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var container, item starlark.Value
	var msg starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "container", &container, "item", &item, "msg?", &msg); err != nil {
		return nil, err
	}
	in, err := starlark.Binary(syntax.IN, item, container)
	if err != nil {
		return nil, failAt(t, "%s: %v", fn.Name(), err)
	}
	if !in.Truth() {
		return nil, failAt(t, "%s", withMsg(msg, fmt.Sprintf("%s: %s not in %s", fn.Name(), item, container)))
	}
	return starlark.None, nil
}

func assertFails(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var f starlark.Callable
	var pattern string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "fn", &f, "pattern", &pattern); err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, failAt(t, "%s: bad pattern %q: %v", fn.Name(), pattern, err)
	}
	_, callErr := starlark.Call(t, f, nil, nil)
	if callErr == nil {
		return nil, failAt(t, "%s: %s did not fail (want an error matching %q)", fn.Name(), f.Name(), pattern)
	}
	var ae *AssertionError
	if errors.As(callErr, &ae) {
		// An assertion inside fn is a failure of the test, not the
		// expected error.
		return nil, callErr
	}
	msg := callErr.Error()
	var ee *starlark.EvalError
	if errors.As(callErr, &ee) {
		msg = ee.Msg
	}
	if !re.MatchString(msg) {
		return nil, failAt(t, "%s: error %q does not match %q", fn.Name(), msg, pattern)
	}
	return starlark.String(msg), nil
}
