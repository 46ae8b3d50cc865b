package engine

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/go-multierror"
	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// StarlarkError is a Starlark evaluation error as people see it: the
// position of the failing call, the message, and the backtrace through
// every load() and function call that led there.
type StarlarkError struct {
	Pos       syntax.Position
	Msg       string
	Backtrace string
	cause     error
}

func (e *StarlarkError) Error() string {
	var b strings.Builder
	if e.Pos.IsValid() {
		fmt.Fprintf(&b, "%s: ", e.Pos)
	}
	b.WriteString(e.Msg)
	if e.Backtrace != "" {
		b.WriteString("\n")
		b.WriteString(strings.TrimRight(e.Backtrace, "\n"))
	}
	return b.String()
}

// Unwrap returns the underlying Starlark error.
func (e *StarlarkError) Unwrap() error { return e.cause }

// starlarkErrors converts an error of ExecFile or Call into positioned
// errors: one per syntax/resolve error, or one StarlarkError with its
// backtrace.
func starlarkErrors(err error) []error {
	var deepest *starlark.EvalError
	for e := err; e != nil; e = errors.Unwrap(e) {
		if ee, ok := e.(*starlark.EvalError); ok {
			deepest = ee
		}
	}
	// Syntax and resolve errors carry their own positions.
	var head []error
	var se syntax.Error
	var rl resolve.ErrorList
	switch {
	case errors.As(err, &rl):
		for _, r := range rl {
			head = append(head, PosError{Pos: r.Pos, Msg: r.Msg})
		}
	case errors.As(err, &se):
		head = append(head, PosError{Pos: se.Pos, Msg: se.Msg})
	}
	if deepest == nil {
		if len(head) > 0 {
			return head
		}
		return []error{err}
	}
	trace := traceback(deepest.CallStack)
	if len(head) > 0 {
		// A loaded module does not parse: show where it was loaded from.
		for i, h := range head {
			pe := h.(PosError)
			head[i] = &StarlarkError{Pos: pe.Pos, Msg: pe.Msg, Backtrace: trace, cause: err}
		}
		return head
	}
	msg := deepest.Msg
	// A builtin that reported a positioned error already said where: keep
	// its message, not the position a second time.
	var pe PosError
	if errors.As(deepest.Unwrap(), &pe) {
		msg = pe.Msg
	}
	stack := deepest.CallStack
	if n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>" {
		msg = stack[n-1].Name + ": " + strings.TrimPrefix(msg, stack[n-1].Name+": ")
		stack = stack[:n-1]
	}
	var pos syntax.Position
	if n := len(stack); n > 0 {
		pos = stack[n-1].Pos
	}
	return []error{&StarlarkError{Pos: pos, Msg: msg, Backtrace: traceback(stack), cause: err}}
}

// traceback renders a call stack, outermost first, without a trailing
// built-in frame.
func traceback(stack starlark.CallStack) string {
	if n := len(stack); n > 0 && stack[n-1].Pos.Filename() == "<builtin>" {
		stack = stack[:n-1]
	}
	if len(stack) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Traceback (most recent call last):\n")
	for _, fr := range stack {
		fmt.Fprintf(&b, "  %s: in %s\n", fr.Pos, fr.Name)
	}
	return b.String()
}

// joinErrors aggregates recipe errors into one multierror that lists each
// on its own line(s), or returns the only one.
func joinErrors(errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	var m *multierror.Error
	for _, e := range errs {
		m = multierror.Append(m, e)
	}
	m.ErrorFormat = formatErrors
	return m
}

func formatErrors(errs []error) string {
	if len(errs) == 1 {
		return errs[0].Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d errors:", len(errs))
	for _, e := range errs {
		b.WriteString("\n")
		b.WriteString(e.Error())
	}
	return b.String()
}
