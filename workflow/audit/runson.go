package audit

import (
	"fmt"
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
		if expr.HasUnknown(v) {
			b.WriteString(anyValue)
			continue
		}
		b.WriteString(expr.ToString(v))
	}
	return b.String(), nil
}

// str evaluates the template to a string; an unknown value is anyValue.
func (t *template) str(ctx map[string]any) (string, error) {
	v, err := t.value(ctx)
	if err != nil {
		return "", err
	}
	if expr.HasUnknown(v) {
		return anyValue, nil
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

// resolve evaluates runs-on in a context. labels are the labels the job
// asks for, where anyValue stands for any text (a label that is wholly or
// partly unknown); group is the runner group, empty when none, anyValue
// when unknown. runs-on may evaluate to a label, a list of labels, or an
// object with group and labels (from YAML or from an expression such as
// fromJSON or a matrix value).
func (ro *runsOn) resolve(ctx map[string]any) (labels []string, group string, err error) {
	var add func(v any, top bool)
	label := func(v any) string {
		if expr.HasUnknown(v) {
			return anyValue
		}
		return expr.ToString(v)
	}
	add = func(v any, top bool) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				labels = append(labels, label(e))
			}
		case *expr.Object:
			if !top {
				labels = append(labels, anyValue)
				return
			}
			if g, ok := x.Get("group"); ok && g != nil {
				group = label(g)
			}
			if l, ok := x.Get("labels"); ok {
				add(l, false)
			}
		case expr.Unknown:
			// Anything: a label, a list or a group.
			labels = append(labels, anyValue)
		case nil:
		default:
			labels = append(labels, label(x))
		}
	}
	for _, t := range ro.labels {
		v, err := t.value(ctx)
		if err != nil {
			return nil, "", err
		}
		add(expr.Normalize(v), false)
	}
	if ro.expr != nil {
		v, err := ro.expr.value(ctx)
		if err != nil {
			return nil, "", err
		}
		add(expr.Normalize(v), true)
	}
	if ro.group != nil {
		v, err := ro.group.value(ctx)
		if err != nil {
			return nil, "", err
		}
		if v != nil {
			group = label(v)
		}
	}
	return labels, group, nil
}

// landsOn reports whether a job with these labels can be given to a
// runner with the runner's labels: every job label is one of the
// runner's, compared case-insensitively, in any order; a label with
// anyValue parts matches a runner label of that shape (mac-<any> matches
// mac-m4). A job that names only a runner group is assumed to land (the
// group may hold the runner).
func landsOn(job []string, group string, runner []string) bool {
	if len(job) == 0 {
		return group != ""
	}
	for _, l := range job {
		l = strings.TrimSpace(l)
		ok := false
		for _, r := range runner {
			if labelMatches(l, r) {
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

// labelMatches compares a job label, where anyValue is any text, with a
// runner label, case-insensitively.
func labelMatches(pattern, label string) bool {
	if !strings.Contains(pattern, anyValue) {
		return strings.EqualFold(pattern, label)
	}
	return groupRegexp(pattern).MatchString(label)
}
