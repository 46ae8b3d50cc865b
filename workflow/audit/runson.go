package audit

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// template is a YAML string value that may hold ${{ }} fences.
type template struct {
	src   string
	line  int
	parts []expr.Part
	exprs []*expr.Expr // one per expression part, in order
}

// parseTemplate parses the fences of a string value.
func parseTemplate(s *actionlint.String) (*template, error) {
	if s == nil {
		return nil, nil
	}
	t := &template{src: s.Value, line: posLine(s.Pos)}
	parts, err := expr.SplitFences(s.Value)
	if err != nil {
		return nil, exprError(s, err)
	}
	t.parts = parts
	for _, p := range parts {
		if !p.Expr {
			continue
		}
		e, err := expr.Parse(p.Text)
		if err != nil {
			return nil, exprError(s, err)
		}
		t.exprs = append(t.exprs, e)
	}
	return t, nil
}

// value evaluates the template: a single fence gives the expression's
// value (an array stays an array), anything else the joined string.
func (t *template) value(ctx map[string]any) (any, error) {
	if t == nil {
		return nil, nil
	}
	if len(t.parts) == 1 && t.parts[0].Expr {
		v, err := t.exprs[0].Eval(exprCtx(ctx))
		if err != nil {
			return nil, fmt.Errorf("line %d: evaluating %q: %w", t.line, t.src, err)
		}
		return v, nil
	}
	var b strings.Builder
	i := 0
	for _, p := range t.parts {
		if !p.Expr {
			b.WriteString(p.Text)
			continue
		}
		v, err := t.exprs[i].Eval(exprCtx(ctx))
		if err != nil {
			return nil, fmt.Errorf("line %d: evaluating %q: %w", t.line, t.src, err)
		}
		i++
		b.WriteString(expr.ToString(v))
	}
	return b.String(), nil
}

// str evaluates the template to a string.
func (t *template) str(ctx map[string]any) (string, error) {
	v, err := t.value(ctx)
	if err != nil {
		return "", err
	}
	return expr.ToString(v), nil
}

// runsOn is a job's parsed runs-on.
type runsOn struct {
	labels []*template
	expr   *template
	group  *template
}

func parseRunsOn(r *actionlint.Runner) (*runsOn, error) {
	if r == nil {
		return nil, nil
	}
	ro := &runsOn{}
	var err error
	for _, l := range r.Labels {
		t, err := parseTemplate(l)
		if err != nil {
			return nil, err
		}
		ro.labels = append(ro.labels, t)
	}
	if ro.expr, err = parseTemplate(r.LabelsExpr); err != nil {
		return nil, err
	}
	if ro.group, err = parseTemplate(r.Group); err != nil {
		return nil, err
	}
	return ro, nil
}

func (ro *runsOn) templates() []*template {
	out := append([]*template(nil), ro.labels...)
	if ro.expr != nil {
		out = append(out, ro.expr)
	}
	if ro.group != nil {
		out = append(out, ro.group)
	}
	return out
}

// resolve evaluates the labels in a context. group is the runner group
// name, empty when none.
func (ro *runsOn) resolve(ctx map[string]any) (labels []string, group string, err error) {
	add := func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				labels = append(labels, expr.ToString(e))
			}
		case nil:
		default:
			labels = append(labels, expr.ToString(x))
		}
	}
	for _, t := range ro.labels {
		v, err := t.value(ctx)
		if err != nil {
			return nil, "", err
		}
		add(v)
	}
	if ro.expr != nil {
		v, err := ro.expr.value(ctx)
		if err != nil {
			return nil, "", err
		}
		add(v)
	}
	if ro.group != nil {
		if group, err = ro.group.str(ctx); err != nil {
			return nil, "", err
		}
	}
	return labels, group, nil
}

// landsOn reports whether a job with these labels can be given to a
// runner with the runner's labels: every job label is one of the
// runner's, compared case-insensitively, in any order. A job that names
// only a runner group is assumed to land (the group may hold the runner).
func landsOn(job []string, group string, runner []string) bool {
	if len(job) == 0 {
		return group != ""
	}
	for _, l := range job {
		if l == anyValue {
			continue
		}
		ok := false
		for _, r := range runner {
			if strings.EqualFold(strings.TrimSpace(l), r) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// matrixCombos expands a job's strategy.matrix into its combinations
// (rows, then exclude, then include). A matrix given by an expression
// gives one combination whose values are unknown (nil map). A job without
// a matrix gives one empty combination.
func matrixCombos(j *actionlint.Job) []map[string]any {
	if j.Strategy == nil || j.Strategy.Matrix == nil {
		return []map[string]any{{}}
	}
	m := j.Strategy.Matrix
	if m.Expression != nil {
		return []map[string]any{nil}
	}
	keys := make([]string, 0, len(m.Rows))
	for k := range m.Rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	combos := []map[string]any{{}}
	for _, k := range keys {
		row := m.Rows[k]
		var vals []any
		if row.Expression != nil {
			vals = []any{anyValue}
		} else {
			for _, v := range row.Values {
				vals = append(vals, rawValue(v))
			}
		}
		var next []map[string]any
		for _, c := range combos {
			for _, v := range vals {
				n := copyMap(c)
				n[k] = v
				next = append(next, n)
			}
		}
		combos = next
	}
	if len(keys) == 0 {
		combos = nil
	}
	if m.Exclude != nil && m.Exclude.Expression == nil {
		for _, ex := range m.Exclude.Combinations {
			if ex.Expression != nil {
				continue
			}
			var kept []map[string]any
			for _, c := range combos {
				if !matchesAssigns(c, ex.Assigns) {
					kept = append(kept, c)
				}
			}
			combos = kept
		}
	}
	if m.Include != nil {
		if m.Include.Expression != nil {
			combos = append(combos, nil)
		} else {
			for _, inc := range m.Include.Combinations {
				if inc.Expression != nil {
					combos = append(combos, nil)
					continue
				}
				combos = include(combos, inc.Assigns, m.Rows)
			}
		}
	}
	if len(combos) == 0 {
		return []map[string]any{{}}
	}
	return combos
}

// include applies one include entry: it extends every combination whose
// original values it does not overwrite, or becomes a new combination.
func include(combos []map[string]any, as map[string]*actionlint.MatrixAssign, rows map[string]*actionlint.MatrixRow) []map[string]any {
	added := false
	for _, c := range combos {
		if c == nil {
			continue
		}
		ok := true
		for k, a := range as {
			if _, orig := rows[k]; orig {
				if !looseEqualValue(c[k], rawValue(a.Value)) {
					ok = false
					break
				}
			}
		}
		if !ok {
			continue
		}
		for k, a := range as {
			if _, orig := rows[k]; !orig {
				c[k] = rawValue(a.Value)
			}
		}
		added = true
	}
	if !added {
		n := map[string]any{}
		for k, a := range as {
			n[k] = rawValue(a.Value)
		}
		combos = append(combos, n)
	}
	return combos
}

func matchesAssigns(c map[string]any, as map[string]*actionlint.MatrixAssign) bool {
	for k, a := range as {
		if !looseEqualValue(c[k], rawValue(a.Value)) {
			return false
		}
	}
	return true
}

func looseEqualValue(a, b any) bool {
	return expr.ToJSON(expr.Normalize(a)) == expr.ToJSON(expr.Normalize(b))
}

func copyMap(m map[string]any) map[string]any {
	n := make(map[string]any, len(m))
	for k, v := range m {
		n[k] = v
	}
	return n
}

// rawValue converts a matrix value from the actionlint AST.
func rawValue(v actionlint.RawYAMLValue) any {
	switch x := v.(type) {
	case *actionlint.RawYAMLString:
		if strings.Contains(x.Value, "${{") {
			return anyValue
		}
		return x.Value
	case *actionlint.RawYAMLArray:
		out := []any{}
		for _, e := range x.Elems {
			out = append(out, rawValue(e))
		}
		return out
	case *actionlint.RawYAMLObject:
		out := map[string]any{}
		for k, e := range x.Props {
			out[k] = rawValue(e)
		}
		return out
	}
	return nil
}

// describeCombo renders a matrix combination for a witness.
func describeCombo(c map[string]any) string {
	if c == nil {
		return "matrix=<from an expression>"
	}
	if len(c) == 0 {
		return ""
	}
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		// Encode without HTML escaping: the witness is text, and "<any>"
		// must read as such.
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		v := fmt.Sprint(c[k])
		if err := enc.Encode(c[k]); err == nil {
			v = strings.TrimSuffix(b.String(), "\n")
		}
		parts = append(parts, k+"="+v)
	}
	return "matrix{" + strings.Join(parts, ",") + "}"
}
