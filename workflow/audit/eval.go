package audit

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unsafe"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// anyValue stands, inside a string the audit builds (a runs-on label, a
// concurrency group), for text it cannot know (a variable, an input, a
// name chosen by a pull request's author): mac-<any> is any label that
// starts with mac-.
const anyValue = "<any>"

// maxAssignments bounds the unknown-value combinations tried per run.
const maxAssignments = 4096

// contextNames are the named values an expression may use; those the
// scenario does not fix are unknown.
var contextNames = []string{"github", "env", "vars", "inputs", "needs", "secrets", "matrix", "steps", "runner", "job", "strategy"}

// cond is a parsed `if:` condition.
type cond struct {
	src  string
	line int
	// always, when set, says why the condition is true whatever the run
	// (a string that is not exactly one ${{ }} fence).
	always string
	e      *expr.Expr
	// status is true when the condition calls a status function itself;
	// otherwise GitHub evaluates success() && (expr).
	status bool
}

// parseCond parses an `if:` value. A nil or empty value gives nil.
func parseCond(s *actionlint.String) (*cond, error) {
	if s == nil || strings.TrimSpace(s.Value) == "" {
		return nil, nil
	}
	c := &cond{src: s.Value, line: posLine(s.Pos)}
	src := s.Value
	if strings.Contains(src, "${{") {
		parts, err := expr.SplitFences(src)
		if err != nil {
			return nil, exprError(s, err)
		}
		if len(parts) != 1 || !parts[0].Expr {
			c.always = "the value is not exactly one ${{ }} fence (text or a line break around it, or several fences), so it is a non-empty string: always true"
			// Still parse every fence, so that syntax errors are reported.
			for _, p := range parts {
				if p.Expr {
					if _, err := expr.Parse(p.Text); err != nil {
						return nil, exprError(s, err)
					}
				}
			}
			return c, nil
		}
		src = parts[0].Text
	}
	e, err := expr.Parse(src)
	if err != nil {
		return nil, exprError(s, err)
	}
	c.e = e
	c.status = e.HasStatusFunction()
	return c, nil
}

func posLine(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Line
}

func exprError(s *actionlint.String, err error) error {
	line, col := 0, 0
	if s.Pos != nil {
		line, col = s.Pos.Line, s.Pos.Col
	}
	return &InputError{Line: line, Col: col, Msg: fmt.Sprintf("expression %q: %v", s.Value, err)}
}

// unknownRef is one context path the scenario does not fix, with the
// values to try for it.
type unknownRef struct {
	path  []string
	cands []any
	peers [][]string
}

// refs collects the context paths of expressions with their literals.
type refSet struct {
	paths map[string]*unknownRef
	order []string
}

func newRefSet(es ...*expr.Expr) *refSet {
	rs := &refSet{paths: map[string]*unknownRef{}}
	for _, e := range es {
		if e != nil {
			rs.add(e)
		}
	}
	return rs
}

func (rs *refSet) add(e *expr.Expr) {
	for _, r := range e.References() {
		path := make([]string, len(r.Segments))
		for i, p := range r.Segments {
			path[i] = strings.ToLower(p)
		}
		if len(path) == 0 {
			continue
		}
		key := strings.Join(path, ".")
		u := rs.paths[key]
		if u == nil {
			u = &unknownRef{path: path}
			rs.paths[key] = u
			rs.order = append(rs.order, key)
		}
		for _, l := range r.Literals {
			if !hasValue(u.cands, l) {
				u.cands = append(u.cands, l)
			}
		}
		for _, p := range r.Peers {
			u.peers = append(u.peers, strings.Split(strings.ToLower(p), "."))
		}
	}
}

func hasValue(xs []any, v any) bool {
	for _, x := range xs {
		if x == v {
			return true
		}
	}
	return false
}

// reads reports whether some expression reads the context path (dotted,
// lower case), a property under it, or a value it is part of (reading
// github.event reads github.event.action).
func (rs *refSet) reads(p string) bool {
	want := strings.Split(p, ".")
	for _, k := range rs.order {
		have := rs.paths[k].path
		n := min(len(have), len(want))
		same := true
		for i := 0; i < n; i++ {
			if have[i] != want[i] && have[i] != "*" {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	return false
}

// baseRefPaths are the paths that hold a pull request's base branch.
var baseRefPaths = map[string]bool{
	"github.ref": true, "github.base_ref": true, "github.ref_name": true,
	"github.event.pull_request.base.ref": true,
}

// literals gathers, over every file of the session, what the variants
// need: the other label names and base branch names the expressions
// compare with, and whether any reads a pull request's head or base.
func (s *session) literals() variantOpts {
	rs := newRefSet()
	for _, key := range s.order {
		f := s.files[key]
		for _, j := range f.w.Jobs {
			for _, str := range []*actionlint.String{j.If} {
				if c, err := parseCond(str); err == nil && c != nil && c.e != nil {
					rs.add(c.e)
				}
			}
			if ro, err := parseRunsOn(j.RunsOn); err == nil && ro != nil {
				for _, t := range ro.templates() {
					for _, e := range t.exprs {
						rs.add(e)
					}
				}
			}
			for _, st := range j.Steps {
				if c, err := parseCond(st.If); err == nil && c != nil && c.e != nil {
					rs.add(c.e)
				}
			}
		}
	}
	vo := variantOpts{
		readsHead: rs.reads("github.event.pull_request.head") || rs.reads("github.head_ref"),
		readsBase: rs.reads("github.base_ref") || rs.reads("github.ref") || rs.reads("github.ref_name") || rs.reads("github.event.pull_request.base"),
	}
	for _, k := range rs.order {
		u := rs.paths[k]
		for _, c := range u.cands {
			str, ok := c.(string)
			if !ok {
				continue
			}
			switch {
			case strings.Contains(k, "label"):
				if !strings.EqualFold(str, s.pol.label) && !containsStr(vo.otherLabels, str) {
					vo.otherLabels = append(vo.otherLabels, str)
				}
			case baseRefPaths[k]:
				b := strings.TrimPrefix(str, "refs/heads/")
				if strings.HasSuffix(b, "/") {
					b += "x"
				}
				if b != "" && !strings.HasPrefix(b, "refs/") && !containsStr(vo.bases, b) {
					vo.bases = append(vo.bases, b)
				}
			}
		}
	}
	sort.Strings(vo.otherLabels)
	sort.Strings(vo.bases)
	return vo
}

// unknowns returns the referenced paths a variant leaves open.
func (rs *refSet) unknowns(ctx map[string]any) []unknownRef {
	var out []unknownRef
	for _, k := range rs.order {
		u := rs.paths[k]
		if _, found := lookup(ctx, u.path); found {
			continue
		}
		cands := append([]any{}, u.cands...)
		for _, p := range u.peers {
			if v, found := lookup(ctx, p); found && !hasValue(cands, v) {
				switch v.(type) {
				case string, float64, bool:
					cands = append(cands, v)
				}
			}
		}
		for _, extra := range []any{nil, "", expr.Unknown{}} {
			if !hasValue(cands, extra) {
				cands = append(cands, extra)
			}
		}
		out = append(out, unknownRef{path: u.path, cands: cands})
	}
	return out
}

// runContext is the context of one run with one matrix combination: the
// variant's values, every other named value (empty: its keys unknown),
// the matrix (unknown for a nil combination) and the conversion memo
// (nil: none).
func runContext(ctx map[string]any, cb combo, memo *convMemo) map[string]any {
	base := completeContext(shallow(ctx))
	if memo != nil {
		base[memoKey] = memo
	}
	if cb != nil {
		base["matrix"] = deepCopy(map[string]any(cb))
	} else {
		base["matrix"] = expr.Unknown{}
	}
	return base
}

// completeContext adds an empty map for every named value the variant
// does not define, so that any of them can be referenced.
func completeContext(ctx map[string]any) map[string]any {
	for _, n := range contextNames {
		if _, ok := ctx[n]; !ok {
			ctx[n] = map[string]any{}
		}
	}
	return ctx
}

// assignment is one choice of values for the unknowns.
type assignment struct {
	ctx   map[string]any
	notes []string
}

// assignments enumerates the unknown values over their candidates (the
// literals they are compared with, null, ” and any other value). ok is
// false when there were more combinations than limit (at most
// maxAssignments); the returned ones are then a prefix.
func assignments(base map[string]any, us []unknownRef, limit int) ([]assignment, bool) {
	n, at, ok := assignmentSeq(base, us, limit)
	as := make([]assignment, 0, n)
	for i := 0; i < n; i++ {
		as = append(as, at(i))
	}
	return as, ok
}

// assignmentSeq is assignments built one at a time: at(i) for i < n
// builds the i-th combination of the lexicographic order (the first
// unknown varies slowest), so that a caller that stops early builds only
// what it used and holds one context at a time (building them all made a
// guard of many unknowns cost minutes and gigabytes).
func assignmentSeq(base map[string]any, us []unknownRef, limit int) (int, func(int) assignment, bool) {
	if limit > maxAssignments {
		limit = maxAssignments
	}
	if limit < 1 {
		limit = 1
	}
	n, ok := 1, true
	for _, u := range us {
		n *= len(u.cands)
		if n > limit {
			n, ok = limit, false
		}
	}
	at := func(i int) assignment {
		if len(us) == 0 {
			return assignment{ctx: base}
		}
		picks := make([]int, len(us))
		for k := len(us) - 1; k >= 0 && i > 0; k-- {
			r := len(us[k].cands)
			picks[k], i = i%r, i/r
		}
		ctx := shallow(base)
		owned := map[string]map[string]string{"": foldIndex(ctx)}
		notes := make([]string, 0, len(us))
		for k, u := range us {
			v := u.cands[picks[k]]
			setOwned(ctx, u.path, v, owned)
			notes = append(notes, strings.Join(u.path, ".")+" = "+describe(v))
		}
		return assignment{ctx: ctx, notes: notes}
	}
	return n, at, ok
}

// setOwned sets path to v in ctx in place unless a value is already
// there; the first missing key on the way receives a nested value (an
// array for a "*" segment). Keys compare case-insensitively (an exact
// match first). Each map on the path is copied the first time, so that
// the maps ctx shares with other contexts are never changed: owned maps
// the path of each map already copied (ctx itself is "") to its keys by
// lower case.
func setOwned(ctx map[string]any, path []string, v any, owned map[string]map[string]string) {
	cur, idx := ctx, owned[""]
	prefix := ""
	for i, seg := range path {
		if seg == "*" {
			return
		}
		low := strings.ToLower(seg)
		key := seg
		if _, exact := cur[seg]; !exact {
			k, ok := idx[low]
			if !ok {
				cur[seg] = nested(path[i+1:], v)
				idx[low] = seg
				return
			}
			key = k
		}
		m, isMap := cur[key].(map[string]any)
		if !isMap || i == len(path)-1 {
			return
		}
		prefix += "\x00" + low
		sub, done := owned[prefix]
		if !done {
			m = shallow(m)
			cur[key] = m
			sub = foldIndex(m)
			owned[prefix] = sub
		}
		cur, idx = m, sub
	}
}

// foldIndex maps the lower case of each key of m to the key.
func foldIndex(m map[string]any) map[string]string {
	idx := make(map[string]string, len(m))
	for k := range m {
		idx[strings.ToLower(k)] = k
	}
	return idx
}

// shallow copies a map's top level.
func shallow(m map[string]any) map[string]any {
	n := make(map[string]any, len(m)+1)
	for k, v := range m {
		n[k] = v
	}
	return n
}

// keyFold returns the key of m equal to k ignoring case (k if none).
func keyFold(m map[string]any, k string) string {
	if _, ok := m[k]; ok {
		return k
	}
	for kk := range m {
		if strings.EqualFold(kk, k) {
			return kk
		}
	}
	return k
}

func nested(path []string, v any) any {
	if len(path) == 0 {
		return v
	}
	if path[0] == "*" {
		return []any{nested(path[1:], v)}
	}
	return map[string]any{path[0]: nested(path[1:], v)}
}

var allStatuses = []expr.Status{expr.StatusSuccess, expr.StatusFailure, expr.StatusCancelled}

// evalCond decides whether a condition (a step's if:) can be true in any
// of the runs; an evaluation error at run time makes the step fail
// rather than run. It spends budget on the assignments it tries; when
// the budget runs out, the condition may be true.
func evalCond(c *cond, vs []variant, rs *refSet, budget *int) (bool, error) {
	if c == nil || c.always != "" {
		return true, nil
	}
	statuses := allStatuses[:1]
	if c.status {
		statuses = allStatuses
	}
	for _, v := range vs {
		if *budget <= 0 {
			return true, nil
		}
		us := rs.unknowns(v.ctx)
		n, at, ok := assignmentSeq(completeContext(shallow(v.ctx)), us, *budget)
		*budget -= n * (1 + len(us)/unknownsPerEval)
		if *budget <= 0 {
			return true, nil
		}
		if !ok {
			return true, nil
		}
		for i := 0; i < n; i++ {
			a := at(i)
			for _, st := range statuses {
				val, err := c.e.EvalWith(exprCtx(a.ctx), exprOpts(st))
				if err != nil {
					if runtimeError(err) {
						continue
					}
					return false, fmt.Errorf("line %d: evaluating %q: %w", c.line, c.src, err)
				}
				if expr.Truthy(val) {
					return true, nil
				}
			}
		}
	}
	return false, nil
}

// truthyAtoms returns the outermost evaluated sub-expressions without
// && or || that were true: the conditions that let the run through.
func truthyAtoms(src string, steps []expr.Step) []string {
	type span struct{ s, e int }
	var kept []span
	type atom struct {
		start int
		text  string
	}
	var found []atom
	// Steps come children first; visit the widest spans first.
	idx := make([]int, len(steps))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		return steps[idx[a]].End-steps[idx[a]].Start > steps[idx[b]].End-steps[idx[b]].Start
	})
	for _, i := range idx {
		st := steps[i]
		if hasLogicalOp(st.Src) {
			continue
		}
		inside := false
		for _, k := range kept {
			if st.Start >= k.s && st.End <= k.e {
				inside = true
				break
			}
		}
		if inside {
			continue
		}
		kept = append(kept, span{st.Start, st.End})
		if expr.Truthy(st.Value) {
			found = append(found, atom{st.Start, fmt.Sprintf("%s → %s", strings.TrimSpace(st.Src), expr.ToJSON(st.Value))})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].start < found[j].start })
	var out []string
	for _, a := range found {
		out = append(out, a.text)
	}
	if len(out) == 0 && len(steps) > 0 {
		out = append(out, strings.TrimSpace(src))
	}
	return out
}

// hasLogicalOp reports whether an expression source has && or || outside
// string literals.
func hasLogicalOp(s string) bool {
	inStr := false
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inStr = !inStr
		case !inStr && i+1 < len(s) && (s[i:i+2] == "&&" || s[i:i+2] == "||"):
			return true
		}
	}
	return false
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func exprCtx(m map[string]any) expr.Context {
	return lazyCtx(m)
}

// memoKey holds, in a context tree's top level, the *convMemo its
// conversions share.
const memoKey = "\x00memo"

// convMemo remembers the expression object made from each context map.
// Context maps are never changed once built (updates copy the maps on
// their path), so a map converts to the same object every time; the map
// is kept so that its address is not reused.
type convMemo struct {
	objs map[unsafe.Pointer]memoEntry
	// keys counts the keys of the maps held, which bound the memory.
	keys int
}

type memoEntry struct {
	m map[string]any
	o *expr.Object
}

// maxMemo and maxMemoKeys bound the memo (maps held, and their keys
// together: a context of a thousand variables per assignment filled
// gigabytes when only the maps were counted); it starts over when full.
const (
	maxMemo     = 20_000
	maxMemoKeys = 400_000
)

func newConvMemo() *convMemo { return &convMemo{objs: map[unsafe.Pointer]memoEntry{}} }

// lazyCtx is a Context over an audit context tree: a named value is
// converted to expression values only when an expression reads it, and
// closedKey markers are left out.
type lazyCtx map[string]any

// Lookup implements expr.Context.
func (c lazyCtx) Lookup(name string) (any, bool) {
	v, ok := getFold(c, name)
	if !ok {
		return nil, false
	}
	memo, _ := c[memoKey].(*convMemo)
	return toExpr(v, memo), true
}

// toExpr converts a context tree into expression values (maps become
// objects with sorted keys) without closedKey markers.
func toExpr(v any, memo *convMemo) any {
	switch x := v.(type) {
	case map[string]any:
		var p unsafe.Pointer
		if memo != nil {
			p = reflect.ValueOf(x).UnsafePointer()
			if e, ok := memo.objs[p]; ok {
				return e.o
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			if k != closedKey && k != memoKey {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		o := expr.NewObject()
		for _, k := range keys {
			o.Set(k, toExpr(x[k], memo))
		}
		if memo != nil {
			if len(memo.objs) >= maxMemo || memo.keys+len(keys) > maxMemoKeys {
				clear(memo.objs)
				memo.keys = 0
			}
			memo.objs[p] = memoEntry{m: x, o: o}
			memo.keys += len(keys)
		}
		return o
	case []any:
		out := make([]any, len(x), len(x)+1)
		for i, e := range x {
			out[i] = toExpr(e, memo)
		}
		return out
	}
	return expr.Normalize(v)
}

func exprOpts(st expr.Status) expr.Options {
	return expr.Options{Status: st, UnknownHashFiles: true}
}

func truthy(v any) bool { return expr.Truthy(v) }
