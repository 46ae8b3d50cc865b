package render

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
)

// verify proves an edit safe before anyone sees it: out must parse as
// YAML, read back everything outside job id exactly as before (the
// decoded values, so aliases are followed) and hold the job exactly as
// want. before is the decoded original.
func verify(before any, out []byte, id string, want any) error {
	var after any
	if err := yaml.Unmarshal(out, &after); err != nil {
		return fmt.Errorf("the result would not be valid YAML (%v, a line of the result); the file was not changed", err)
	}
	bRest, bJobs, _ := without(before, "jobs")
	aRest, aJobs, ok := without(after, "jobs")
	if !ok || !equal(bRest, aRest) {
		return errors.New("the edit would change the workflow outside its jobs: mapping; the file was not changed")
	}
	bOthers, _, _ := without(bJobs, id)
	aOthers, got, ok := without(aJobs, id)
	if !ok {
		return errors.New("the result would not hold the job; the file was not changed")
	}
	if !equal(bOthers, aOthers) {
		return errors.New("the edit would change other jobs; the file was not changed")
	}
	if !equal(got, want) {
		return errors.New("the result would not read back as the job the recipe declares; the file was not changed")
	}
	return nil
}

// without returns the decoded mapping m without its string key k, the
// value of k and whether m is a mapping holding k.
func without(m any, k string) (rest, val any, ok bool) {
	switch m := m.(type) {
	case map[string]any:
		r := make(map[string]any, len(m))
		for mk, mv := range m {
			if mk == k {
				val, ok = mv, true
				continue
			}
			r[mk] = mv
		}
		return r, val, ok
	case map[any]any:
		r := make(map[any]any, len(m))
		for mk, mv := range m {
			if s, isStr := mk.(string); isStr && s == k {
				val, ok = mv, true
				continue
			}
			r[mk] = mv
		}
		return r, val, ok
	}
	return m, nil, false
}

// equal compares decoded YAML values; NaN equals NaN (".nan" reads back
// as itself).
func equal(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case map[any]any:
		b, ok := b.(map[any]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !equal(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !equal(a[i], b[i]) {
				return false
			}
		}
		return true
	case float64:
		if b, ok := b.(float64); ok && math.IsNaN(a) && math.IsNaN(b) {
			return true
		}
	}
	return reflect.DeepEqual(a, b)
}

// declared is the job as the recipe declares it, in the form a YAML
// decoder reads the rendered job back: what renderJob must produce.
func declared(j *workflow.JobSpec) any {
	m := map[string]any{}
	if j.Name != "" {
		m["name"] = j.Name
	}
	switch len(j.Needs) {
	case 0:
	case 1:
		m["needs"] = j.Needs[0]
	default:
		m["needs"] = strs(j.Needs)
	}
	for _, k := range securityKeys {
		if v, ok := keyValue(j, k); ok {
			m[k] = v
		}
	}
	if len(j.Env) > 0 {
		m["env"] = kvs(j.Env)
	}
	if len(j.Steps) > 0 {
		steps := make([]any, len(j.Steps))
		for i, s := range j.Steps {
			sm := map[string]any{}
			for _, f := range []struct{ key, val string }{{"name", s.Name}, {"id", s.ID}, {"shell", s.Shell}} {
				if f.val != "" {
					sm[f.key] = f.val
				}
			}
			if s.If != "" {
				sm["if"] = normalizeExpr(s.If)
			}
			if s.Uses != "" {
				u := s.Uses
				if i := strings.Index(u, " #"); i > 0 {
					u = strings.TrimSpace(u[:i])
				}
				sm["uses"] = u
			}
			if s.Run != "" {
				if strings.Contains(s.Run, "\n") {
					// A literal block keeps one final line break.
					sm["run"] = strings.TrimRight(s.Run, "\n") + "\n"
				} else {
					sm["run"] = s.Run
				}
			}
			if len(s.With) > 0 {
				sm["with"] = kvs(s.With)
			}
			if len(s.Env) > 0 {
				sm["env"] = kvs(s.Env)
			}
			var step any = sm
			if len(sm) == 0 {
				step = nil
			}
			steps[i] = step
		}
		m["steps"] = steps
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func strs(xs []string) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

func kvs(kv []workflow.KV) map[string]any {
	out := make(map[string]any, len(kv))
	for _, e := range kv {
		out[e.Key] = kvValue(e.Value)
	}
	return out
}
