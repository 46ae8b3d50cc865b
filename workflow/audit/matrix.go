package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// maxMatrixJobs is GitHub's limit on the jobs one matrix generates per
// run; a larger matrix does not run, and the audit refuses it.
const maxMatrixJobs = 256

// combo is one matrix combination. A nil combo is a matrix whose values
// are unknown altogether (given by an expression): matrix is an Unknown.
type combo map[string]any

// matrixCombos expands a job's strategy.matrix the way GitHub does: the
// cross product of the rows, minus the exclude entries, then each include
// entry extends every original combination whose original values it does
// not change (overwriting values earlier includes added), or becomes a
// combination of its own when it extends none. Values keep their YAML
// types (true is a boolean, 3 a number). A part given by an expression is
// unknown. A job without a matrix has one empty combination. More than
// maxMatrixJobs combinations is an *InputError.
func matrixCombos(j *actionlint.Job, ys *yamlScan) ([]combo, error) {
	if j.Strategy == nil || j.Strategy.Matrix == nil {
		return []combo{{}}, nil
	}
	m := j.Strategy.Matrix
	if m.Expression != nil {
		return []combo{nil}, nil
	}
	tooMany := func(n string) error {
		return &InputError{Line: posLine(m.Pos), Col: posCol(m.Pos),
			Msg: fmt.Sprintf("job %s: the matrix expands to %s jobs, more than GitHub's limit of %d per matrix; GitHub does not run it, and the audit refuses it", j.ID.Value, n, maxMatrixJobs)}
	}
	keys := make([]string, 0, len(m.Rows))
	for k := range m.Rows {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// The cross product's size, checked before it is built.
	size := 1
	for _, k := range keys {
		n := 1
		if m.Rows[k].Expression == nil {
			n = len(m.Rows[k].Values)
		}
		size *= n
		if size > maxMatrixJobs*maxMatrixJobs {
			return nil, tooMany(fmt.Sprintf("more than %d", maxMatrixJobs*maxMatrixJobs))
		}
	}
	var base []combo
	if len(keys) > 0 && size > 0 {
		base = []combo{{}}
		for _, k := range keys {
			row := m.Rows[k]
			var vals []any
			if row.Expression != nil {
				vals = []any{expr.Unknown{}}
			} else {
				for _, v := range row.Values {
					vals = append(vals, ys.raw(v))
				}
			}
			next := make([]combo, 0, len(base)*len(vals))
			for _, c := range base {
				for _, v := range vals {
					n := copyCombo(c)
					n[k] = v
					next = append(next, n)
				}
			}
			base = next
		}
	}
	if m.Exclude != nil && m.Exclude.Expression == nil {
		for _, ex := range m.Exclude.Combinations {
			if ex.Expression != nil {
				continue // unknown exclusions exclude nothing for sure
			}
			kept := base[:0:0]
			for _, c := range base {
				if !excludes(c, ex.Assigns, ys) {
					kept = append(kept, c)
				}
			}
			base = kept
		}
	}
	orig := len(base)
	combos := base
	if m.Include != nil {
		if m.Include.Expression != nil {
			combos = append(combos, nil)
		} else {
			for _, inc := range m.Include.Combinations {
				if inc.Expression != nil {
					combos = append(combos, nil)
					continue
				}
				combos = applyInclude(combos, orig, inc.Assigns, m.Rows, ys)
				if len(combos) > maxMatrixJobs {
					return nil, tooMany(fmt.Sprintf("more than %d", maxMatrixJobs))
				}
			}
		}
	}
	if len(combos) > maxMatrixJobs {
		return nil, tooMany(fmt.Sprint(len(combos)))
	}
	if len(combos) == 0 {
		// GitHub runs no job for an empty matrix; the audit still looks
		// at the job once, with no matrix values.
		return []combo{{}}, nil
	}
	return combos, nil
}

func posCol(p *actionlint.Pos) int {
	if p == nil {
		return 0
	}
	return p.Col
}

func copyCombo(c combo) combo {
	n := make(combo, len(c)+1)
	for k, v := range c {
		n[k] = v
	}
	return n
}

// excludes reports whether an exclude entry removes a combination: every
// key it names has an equal value (a value the audit cannot know is not
// removed).
func excludes(c combo, as map[string]*actionlint.MatrixAssign, ys *yamlScan) bool {
	for k, a := range as {
		if sameValue(c[k], ys.raw(a.Value)) != yes {
			return false
		}
	}
	return true
}

// applyInclude applies one include entry to the combinations, of which
// the first orig are the original ones (the cross product).
func applyInclude(combos []combo, orig int, as map[string]*actionlint.MatrixAssign, rows map[string]*actionlint.MatrixRow, ys *yamlScan) []combo {
	extend := func(c combo) combo {
		n := copyCombo(c)
		for k, a := range as {
			if _, isRow := rows[k]; !isRow {
				n[k] = ys.raw(a.Value)
			}
		}
		return n
	}
	added := false
	var extra []combo
	for i := 0; i < orig; i++ {
		c := combos[i]
		match := yes
		for k, a := range as {
			if _, isRow := rows[k]; isRow {
				match = min3(match, sameValue(c[k], ys.raw(a.Value)))
			}
		}
		switch match {
		case yes:
			combos[i] = extend(c)
			added = true
		case maybe:
			// An unknown original value: the entry may or may not
			// extend this combination; keep both.
			extra = append(extra, extend(c))
		}
	}
	combos = append(combos, extra...)
	if !added {
		n := combo{}
		for k, a := range as {
			n[k] = ys.raw(a.Value)
		}
		combos = append(combos, n)
	}
	return combos
}

type answer int

const (
	no answer = iota
	maybe
	yes
)

func min3(a, b answer) answer {
	if b < a {
		return b
	}
	return a
}

// sameValue compares two matrix values as GitHub's matrix expansion does
// (deep equality; strings exactly); an unknown value may be anything.
func sameValue(a, b any) answer {
	if expr.HasUnknown(expr.Normalize(a)) || expr.HasUnknown(expr.Normalize(b)) {
		return maybe
	}
	if expr.ToJSON(expr.Normalize(a)) == expr.ToJSON(expr.Normalize(b)) && expr.Kind(expr.Normalize(a)) == expr.Kind(expr.Normalize(b)) {
		return yes
	}
	return no
}

// raw converts a matrix value from the actionlint AST with its YAML
// type. A string with a ${{ }} fence is unknown.
func (s *yamlScan) raw(v actionlint.RawYAMLValue) any {
	switch x := v.(type) {
	case *actionlint.RawYAMLString:
		if strings.Contains(x.Value, "${{") {
			return expr.Unknown{}
		}
		if p := x.Pos(); p != nil {
			return s.typed(p.Line, p.Col, x.Value)
		}
		return x.Value
	case *actionlint.RawYAMLArray:
		out := []any{}
		for _, e := range x.Elems {
			out = append(out, s.raw(e))
		}
		return out
	case *actionlint.RawYAMLObject:
		out := map[string]any{}
		for k, e := range x.Props {
			out[k] = s.raw(e)
		}
		return out
	}
	return nil
}

// describeCombo renders the matrix values a witness needs: only the keys
// in keys (all when keys is nil).
func describeCombo(c combo, keys map[string]bool) string {
	if c == nil {
		return "matrix=<from an expression>"
	}
	var names []string
	for k := range c {
		if keys == nil || keys[strings.ToLower(k)] {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return ""
	}
	sort.Strings(names)
	var parts []string
	for _, k := range names {
		parts = append(parts, k+"="+describeValue(c[k]))
	}
	return "matrix{" + strings.Join(parts, ",") + "}"
}

// describeValue renders a value compactly for a witness.
func describeValue(v any) string {
	v = expr.Normalize(v)
	switch x := v.(type) {
	case expr.Unknown:
		return "<any>"
	case string:
		return fmt.Sprintf("%q", x)
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, describeValue(e))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case *expr.Object:
		var parts []string
		for _, k := range x.Keys() {
			e, _ := x.Get(k)
			parts = append(parts, fmt.Sprintf("%q:%s", k, describeValue(e)))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	return expr.ToJSON(v)
}
