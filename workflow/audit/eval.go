package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// anyValue stands for "some value the audit cannot know" (a variable, an
// input, a name chosen by a pull request's author). It is a non-empty
// string equal to no literal; as a runner label it matches every label.
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

// labelLiterals returns the label names, other than ci-hvf, that the
// expressions compare label paths with.
func (rs *refSet) labelLiterals() []string {
	var out []string
	for _, k := range rs.order {
		if !strings.Contains(k, "label") {
			continue
		}
		for _, c := range rs.paths[k].cands {
			if s, ok := c.(string); ok && !strings.EqualFold(s, optLabel) && !containsStr(out, s) {
				out = append(out, s)
			}
		}
	}
	sort.Strings(out)
	return out
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
		for _, extra := range []any{nil, "", anyValue} {
			if !hasValue(cands, extra) {
				cands = append(cands, extra)
			}
		}
		out = append(out, unknownRef{path: u.path, cands: cands})
	}
	return out
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
// false when there were more combinations than maxAssignments; the
// returned ones are then a prefix.
func assignments(base map[string]any, us []unknownRef) ([]assignment, bool) {
	out := []assignment{{ctx: base}}
	ok := true
	for _, u := range us {
		var next []assignment
		for _, a := range out {
			for _, c := range u.cands {
				if len(next) >= maxAssignments {
					ok = false
					break
				}
				next = append(next, assignment{
					ctx:   setPath(a.ctx, u.path, c),
					notes: append(append([]string(nil), a.notes...), strings.Join(u.path, ".")+" = "+describe(c)),
				})
			}
		}
		out = next
	}
	return out, ok
}

// setPath returns a copy of ctx with path set to v; the first missing key
// on the way receives a nested value (an array for a "*" segment).
func setPath(ctx map[string]any, path []string, v any) map[string]any {
	out := deepCopy(ctx).(map[string]any)
	var cur any = out
	for i, seg := range path {
		m, isMap := cur.(map[string]any)
		if !isMap || seg == "*" {
			return out
		}
		next, ok := getFold(m, seg)
		if !ok {
			m[seg] = nested(path[i+1:], v)
			return out
		}
		cur = next
	}
	return out
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

// outcome is the result of evaluating a condition over one scenario.
type outcome struct {
	reachable bool
	// undecided is set when the enumeration was cut short and nothing
	// true was found; the row is then treated as reachable.
	undecided bool
	witness   string
	// value is the evaluated value of the first true evaluation (for
	// strings such as runs-on and concurrency groups).
	value any
}

var allStatuses = []expr.Status{expr.StatusSuccess, expr.StatusFailure, expr.StatusCancelled}

// evalCond decides whether a condition can be true in any of the runs.
func evalCond(c *cond, vs []variant, rs *refSet) (outcome, error) {
	if c == nil {
		return outcome{reachable: true, witness: "no if: condition"}, nil
	}
	if c.always != "" {
		return outcome{reachable: true, witness: "if: " + oneLine(c.src) + " — " + c.always}, nil
	}
	statuses := allStatuses[:1]
	if c.status {
		statuses = allStatuses
	}
	cut := false
	for _, v := range vs {
		as, ok := assignments(completeContext(deepCopy(v.ctx).(map[string]any)), rs.unknowns(v.ctx))
		cut = cut || !ok
		for _, a := range as {
			for _, st := range statuses {
				val, steps, err := c.e.TraceWith(exprCtx(a.ctx), exprOpts(st))
				if err != nil {
					return outcome{}, fmt.Errorf("line %d: evaluating %q: %w", c.line, c.src, err)
				}
				if !expr.Truthy(val) {
					continue
				}
				return outcome{reachable: true, value: val, witness: witness(v, a, st, c, steps)}, nil
			}
		}
	}
	if cut {
		return outcome{reachable: true, undecided: true, witness: fmt.Sprintf("too many unknown values to enumerate (more than %d combinations): assumed reachable", maxAssignments)}, nil
	}
	return outcome{}, nil
}

func witness(v variant, a assignment, st expr.Status, c *cond, steps []expr.Step) string {
	var parts []string
	if v.desc != "" {
		parts = append(parts, "["+v.desc+"]")
	}
	if len(a.notes) > 0 {
		parts = append(parts, "with "+strings.Join(a.notes, ", "))
	}
	if st != expr.StatusSuccess {
		parts = append(parts, "after a "+map[expr.Status]string{expr.StatusFailure: "failed", expr.StatusCancelled: "cancelled"}[st]+" dependency")
	}
	atoms := truthyAtoms(c.e.Source(), steps)
	if len(atoms) > 0 {
		parts = append(parts, "true: "+strings.Join(atoms, " ; "))
	}
	return strings.Join(parts, " ")
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

func exprCtx(m map[string]any) expr.MapContext {
	return expr.MapContext(stripClosed(m).(map[string]any))
}

func exprOpts(st expr.Status) expr.Options { return expr.Options{Status: st} }

func truthy(v any) bool { return expr.Truthy(v) }
