package expr

import (
	"errors"
	"math"
	"strings"
)

// Context supplies the top-level named values of an expression (github,
// env, vars, inputs, needs, secrets, matrix, steps, runner, job, strategy,
// ...). Lookup receives the name as written; implementations should match
// it case-insensitively. A name Lookup does not know is an error, as in
// GitHub, where each workflow key allows only some contexts. Returned
// values are passed through Normalize.
type Context interface {
	Lookup(name string) (any, bool)
}

// MapContext is a Context backed by a map; names match case-insensitively.
type MapContext map[string]any

// Lookup implements Context.
func (m MapContext) Lookup(name string) (any, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}

// Status is the job status the status functions report.
type Status int

const (
	// StatusSuccess: all previous steps or jobs succeeded; success() is true.
	StatusSuccess Status = iota
	// StatusFailure: a previous step or job failed; failure() is true.
	StatusFailure
	// StatusCancelled: the run was cancelled; cancelled() is true.
	StatusCancelled
	// StatusSkipped: a job this one needs was skipped; success(),
	// failure() and cancelled() are all false (always() is true).
	StatusSkipped
)

// DefaultMaxMemory is GitHub's bound on the memory an evaluation may hold
// in intermediate results (1 MiB, strings counted as UTF-16).
const DefaultMaxMemory = 1 << 20

// Options tunes evaluation.
type Options struct {
	// Status drives success(), failure() and cancelled(); always() is
	// always true. The zero value is StatusSuccess.
	Status Status
	// HashFiles computes hashFiles(patterns...). When nil, hashFiles()
	// fails with ErrHashFiles.
	HashFiles func(patterns []string) (string, error)
	// UnknownHashFiles makes hashFiles() an Unknown (an audit, which has
	// no workspace) instead of an error.
	UnknownHashFiles bool
	// MaxMemory overrides DefaultMaxMemory when positive.
	MaxMemory int
}

// Step is one evaluated sub-expression, recorded by Trace in evaluation
// order (children before their parent).
type Step struct {
	// Src is the exact slice Source()[Start:End] of the sub-expression;
	// Start and End are byte offsets into Source().
	Src        string
	Start, End int
	// Value is the sub-expression's value.
	Value any
	// Depth is 0 for the whole expression, 1 for its operands, and so on.
	Depth int
}

// ErrMemory is returned when an evaluation exceeds its memory bound; the
// text is GitHub's own message.
//
//lint:ignore ST1005 GitHub's own error message, kept verbatim.
var ErrMemory = errors.New("The maximum allowed memory size was exceeded")

// Eval evaluates the expression with default Options (status success,
// hashFiles unavailable). The empty expression evaluates to null.
func (e *Expr) Eval(ctx Context) (any, error) {
	return e.EvalWith(ctx, Options{})
}

// EvalWith evaluates the expression with the given Options.
func (e *Expr) EvalWith(ctx Context, opts Options) (any, error) {
	v, _, err := e.run(ctx, opts, false)
	return v, err
}

// Trace evaluates like Eval and also returns every evaluated
// sub-expression with its value. Short-circuited operands are absent.
func (e *Expr) Trace(ctx Context) (any, []Step, error) {
	return e.run(ctx, Options{}, true)
}

// TraceWith is Trace with Options.
func (e *Expr) TraceWith(ctx Context, opts Options) (any, []Step, error) {
	return e.run(ctx, opts, true)
}

func (e *Expr) run(ctx Context, opts Options, trace bool) (any, []Step, error) {
	if e == nil || e.root == nil {
		return nil, nil, nil
	}
	ev := &evaluator{src: e.src, opts: opts, named: map[string]any{}, trace: trace}
	if ev.opts.MaxMemory <= 0 {
		ev.opts.MaxMemory = DefaultMaxMemory
	}
	// Like GitHub, an unknown named value is an error even where
	// short-circuiting would skip it.
	var missing *node
	walk(e.root, func(n *node) {
		if n.kind != nNamed || missing != nil {
			return
		}
		key := strings.ToLower(n.name)
		if _, done := ev.named[key]; done {
			return
		}
		var v any
		ok := false
		if ctx != nil {
			v, ok = ctx.Lookup(n.name)
		}
		if !ok {
			missing = n
			return
		}
		ev.named[key] = Normalize(v)
	})
	if missing != nil {
		return nil, nil, syntaxErrorAt(e.src, missing.start, "Unrecognized named-value: '%s'", missing.name)
	}
	v, err := ev.eval(e.root, 0)
	if err != nil {
		return nil, nil, err
	}
	return plain(v), ev.steps, nil
}

// walk visits n and its descendants in source order (pre-order).
func walk(n *node, f func(*node)) {
	f(n)
	for _, a := range n.args {
		walk(a, f)
	}
}

type evaluator struct {
	src   string
	opts  Options
	named map[string]any
	trace bool
	steps []Step
	mem   []int // bytes held per depth
}

// account charges the memory of a result at depth d; results of deeper,
// finished sub-expressions are released.
func (ev *evaluator) account(v any, d int) error {
	for len(ev.mem) <= d {
		ev.mem = append(ev.mem, 0)
	}
	for i := d + 1; i < len(ev.mem); i++ {
		ev.mem[i] = 0
	}
	ev.mem[d] += sizeOf(v)
	total := 0
	for _, m := range ev.mem[:d+1] {
		total += m
	}
	if total > ev.opts.MaxMemory {
		return ErrMemory
	}
	return nil
}

// sizeOf estimates the memory a freshly produced value holds: strings as
// UTF-16 plus object overhead; containers are references to existing data.
func sizeOf(v any) int {
	const overhead = 24
	if s, ok := v.(string); ok {
		return overhead + 2*len(s)
	}
	return overhead
}

func (ev *evaluator) eval(n *node, d int) (any, error) {
	v, err := ev.evalNode(n, d)
	if err != nil {
		return nil, err
	}
	if err := ev.account(v, d); err != nil {
		return nil, err
	}
	if ev.trace {
		ev.steps = append(ev.steps, Step{Src: ev.src[n.start:n.end], Start: n.start, End: n.end, Value: plain(v), Depth: d})
	}
	return v, nil
}

func (ev *evaluator) evalNode(n *node, d int) (any, error) {
	switch n.kind {
	case nLiteral:
		return n.val, nil
	case nNamed:
		return ev.named[strings.ToLower(n.name)], nil
	case nProp:
		recv, err := ev.eval(n.args[0], d+1)
		if err != nil {
			return nil, err
		}
		return property(recv, n.name), nil
	case nIndex:
		recv, err := ev.eval(n.args[0], d+1)
		if err != nil {
			return nil, err
		}
		idx, err := ev.eval(n.args[1], d+1)
		if err != nil {
			return nil, err
		}
		return index(recv, plain(idx)), nil
	case nStar:
		recv, err := ev.eval(n.args[0], d+1)
		if err != nil {
			return nil, err
		}
		return star(recv), nil
	case nNot:
		x, err := ev.eval(n.args[0], d+1)
		if err != nil {
			return nil, err
		}
		switch truth(x) {
		case triMaybe:
			return Unknown{}, nil
		case triTrue:
			return false, nil
		}
		return true, nil
	case nBinary:
		return ev.binary(n, d)
	case nCall:
		return n.fn.call(ev, n.args, d)
	}
	return nil, errors.New("internal error: unknown expression node")
}

func (ev *evaluator) binary(n *node, d int) (any, error) {
	l, err := ev.eval(n.args[0], d+1)
	if err != nil {
		return nil, err
	}
	if n.op == tkAnd || n.op == tkOr {
		// JavaScript-like: the first operand that decides, else the last.
		// An Unknown operand may or may not decide: the result is then
		// the next operand when that one is falsy (&&) and Unknown
		// otherwise, which keeps false && Unknown false and
		// Unknown || 'x' possibly truthy.
		decides := triTrue
		if n.op == tkAnd {
			decides = triFalse
		}
		maybe := false
		for _, a := range n.args[1:] {
			switch truth(l) {
			case decides:
				if maybe && n.op == tkOr {
					return Unknown{}, nil
				}
				return l, nil
			case triMaybe:
				maybe = true
			}
			if l, err = ev.eval(a, d+1); err != nil {
				return nil, err
			}
		}
		if maybe && (n.op == tkOr || truth(l) != triFalse) {
			return Unknown{}, nil
		}
		return l, nil
	}
	r, err := ev.eval(n.args[1], d+1)
	if err != nil {
		return nil, err
	}
	l, r = plain(l), plain(r)
	if IsUnknown(l) || IsUnknown(r) {
		return Unknown{}, nil
	}
	switch n.op {
	case tkEq:
		return LooseEqual(l, r), nil
	case tkNe:
		return !LooseEqual(l, r), nil
	}
	c, ok := compare(l, r)
	if !ok {
		return false, nil
	}
	switch n.op {
	case tkLt:
		return c < 0, nil
	case tkLe:
		return c <= 0, nil
	case tkGt:
		return c > 0, nil
	default:
		return c >= 0, nil
	}
}

// property is receiver.name: an object's key (case-insensitive), mapped
// over a filter result, null otherwise.
func property(recv any, name string) any {
	if IsUnknown(recv) {
		return Unknown{}
	}
	if f, ok := recv.(filtered); ok {
		out := newFiltered()
		for _, el := range f {
			if IsUnknown(el) {
				out = append(out, Unknown{})
				continue
			}
			if o, ok := el.(*Object); ok {
				if v, found := o.Get(name); found {
					out = append(out, v)
				}
			}
		}
		return out
	}
	if o, ok := recv.(*Object); ok {
		v, _ := o.Get(name)
		return v
	}
	return nil
}

// index is receiver[idx]. Objects are indexed by the string form of a
// primitive index, arrays by its number form (whole, in range).
func index(recv, idx any) any {
	if IsUnknown(recv) || IsUnknown(idx) {
		return Unknown{}
	}
	if f, ok := recv.(filtered); ok {
		out := newFiltered()
		for _, el := range f {
			if IsUnknown(el) {
				out = append(out, Unknown{})
				continue
			}
			if v, found := lookupIndex(el, idx); found {
				out = append(out, v)
			}
		}
		return out
	}
	v, _ := lookupIndex(recv, idx)
	return v
}

func lookupIndex(recv, idx any) (any, bool) {
	if !isPrimitive(idx) {
		return nil, false
	}
	switch x := recv.(type) {
	case *Object:
		return x.Get(ToString(idx))
	case []any:
		f := ToNumber(idx)
		if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
			return nil, false
		}
		i := math.Trunc(f)
		if i >= float64(len(x)) {
			return nil, false
		}
		return x[int(i)], true
	}
	return nil, false
}

// star is receiver.*: an object's values or an array's elements as a
// filter result; over a filter result, it flattens one level.
func star(recv any) any {
	if IsUnknown(recv) {
		return Unknown{}
	}
	if f, ok := recv.(filtered); ok {
		out := newFiltered()
		for _, el := range f {
			if IsUnknown(el) {
				// The elements of an unknown value are unknown, and so
				// is how many there are.
				return Unknown{}
			}
			out = append(out, starItems(el)...)
		}
		return out
	}
	return append(newFiltered(), starItems(recv)...)
}

// newFiltered allocates an empty filter result with its own backing array,
// so that two results are never the same instance for ==.
func newFiltered() filtered {
	return make(filtered, 0, 1)
}

func starItems(v any) []any {
	switch x := v.(type) {
	case *Object:
		return x.Values()
	case []any:
		return x
	}
	return nil
}
