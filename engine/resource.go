package engine

import (
	"fmt"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Resource is one declared piece of the wanted host state.
type Resource struct {
	// ID is unique within a recipe ("user.ghrunner", "power.ac").
	ID string
	// Kind groups resources for people ("user", "power", "assert").
	Kind string
	// Want maps property names to wanted values or matchers.
	Want *starlark.Dict
	// Check reads the current properties (queries only).
	Check starlark.Callable
	// Fix returns the actions that bring the host to Want; nil for an
	// assertion.
	Fix starlark.Callable
	// Remediation tells a person what to do when an assertion fails.
	Remediation string
	// Requires lists the ids of resources that must hold first.
	Requires []string
	// Doc describes the resource.
	Doc string
	// Destroy returns the actions that remove what the resource created
	// (`hvfctl destroy`), given the current properties; none when nothing
	// is left. nil means destroy keeps the resource (shared software,
	// settings whose earlier values are unknown, assertions).
	Destroy starlark.Callable
	// KeepReason says why `hvfctl destroy` keeps a resource that has no
	// Destroy function (destroy = "why" in the recipe).
	KeepReason string
	// DestroyWithAll restricts Destroy to `hvfctl destroy --all` (the
	// account, caches).
	DestroyWithAll bool
	// Pos is where the resource was declared.
	Pos syntax.Position
}

// IsAssertion reports whether the resource only checks (no fix).
func (r *Resource) IsAssertion() bool { return r.Fix == nil }

var resourceParams = map[string]bool{
	"id": true, "kind": true, "want": true, "check": true, "fix": true,
	"remediation": true, "requires": true, "doc": true,
	"destroy": true, "destroy_with_all": true,
}

var resourcePositional = []string{"id", "kind", "want", "check", "fix", "remediation", "requires", "doc"}

// declareResource implements resource(...). Every problem with the call
// is recorded on the session (so that all of a recipe's errors are
// reported at once) and the call returns None.
func (ev *evaluator) declareResource(t *starlark.Thread, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	pos := declPos(t)
	refusedCalls := ev.sess.Refusals()
	var deferred []string
	bad := func(format string, a ...any) { deferred = append(deferred, fmt.Sprintf(format, a...)) }
	vals := map[string]starlark.Value{}
	if len(args) > len(resourcePositional) {
		bad("takes at most %d positional arguments, got %d", len(resourcePositional), len(args))
	}
	for i, a := range args {
		if i < len(resourcePositional) {
			vals[resourcePositional[i]] = a
		}
	}
	for _, kv := range kwargs {
		k := string(kv[0].(starlark.String))
		if !resourceParams[k] {
			bad("unknown keyword argument %q (want one of id, kind, want, check, fix, remediation, requires, doc, destroy, destroy_with_all)", k)
			continue
		}
		if _, dup := vals[k]; dup {
			bad("argument %q given twice", k)
			continue
		}
		vals[k] = kv[1]
	}
	r := &Resource{Pos: pos}
	ok := len(deferred) == 0
	str := func(name string, required bool) string {
		v, present := vals[name]
		if !present || v == starlark.None {
			if required {
				bad("missing required argument %q", name)
				ok = false
			}
			return ""
		}
		s, isStr := starlark.AsString(v)
		if !isStr {
			bad("%s: want a string, got %s", name, v.Type())
			ok = false
			return ""
		}
		if required && s == "" {
			bad("%s must not be empty", name)
			ok = false
		}
		return s
	}
	r.ID = str("id", true)
	r.Kind = str("kind", true)
	r.Remediation = str("remediation", false)
	r.Doc = str("doc", false)
	label := "resource"
	if r.ID != "" {
		label = fmt.Sprintf("resource %q", r.ID)
	}
	for _, msg := range deferred {
		ev.sess.Errorf(pos, "%s: %s", label, msg)
	}
	bad = func(format string, a ...any) { ev.sess.Errorf(pos, label+": "+format, a...) }

	switch w := vals["want"].(type) {
	case nil:
		bad("missing required argument \"want\"")
		ok = false
	case *starlark.Dict:
		for _, k := range w.Keys() {
			if _, isStr := k.(starlark.String); !isStr {
				bad("want: property names are strings, got %s", k.Type())
				ok = false
			}
		}
		if err := CheckValueDepth(w, "want"); err != nil {
			bad("%v", err)
			ok = false
		}
		r.Want = w
	default:
		bad("want: want a dict of property → value, got %s", vals["want"].Type())
		ok = false
	}
	switch c := vals["check"].(type) {
	case nil:
		bad("missing required argument \"check\"")
		ok = false
	case starlark.Callable:
		r.Check = c
	default:
		bad("check: want a function, got %s", vals["check"].Type())
		ok = false
	}
	switch f := vals["fix"].(type) {
	case nil:
	case starlark.NoneType:
	case starlark.Callable:
		r.Fix = f
	default:
		bad("fix: want a function or None, got %s", vals["fix"].Type())
		ok = false
	}
	switch d := vals["destroy"].(type) {
	case nil, starlark.NoneType:
	case starlark.Callable:
		r.Destroy = d
	case starlark.String:
		r.KeepReason = string(d)
	default:
		bad("destroy: want a function, a string (why destroy keeps it) or None, got %s", vals["destroy"].Type())
		ok = false
	}
	switch w := vals["destroy_with_all"].(type) {
	case nil:
	case starlark.Bool:
		r.DestroyWithAll = bool(w)
	default:
		bad("destroy_with_all: want a bool, got %s", vals["destroy_with_all"].Type())
		ok = false
	}
	if r.DestroyWithAll && r.Destroy == nil && ok {
		bad("destroy_with_all = True needs a destroy function")
		ok = false
	}
	if r.Fix == nil && r.Remediation == "" && ok {
		bad("an assertion (no fix) needs a remediation text saying what a person must do")
		ok = false
	}
	switch rq := vals["requires"].(type) {
	case nil, starlark.NoneType:
	case starlark.String:
		r.Requires = []string{string(rq)}
	case starlark.Indexable:
		for i := 0; i < rq.Len(); i++ {
			s, isStr := starlark.AsString(rq.Index(i))
			if !isStr {
				bad("requires: want resource ids (strings), got %s", rq.Index(i).Type())
				ok = false
				continue
			}
			r.Requires = append(r.Requires, s)
		}
	default:
		bad("requires: want a list of resource ids, got %s", vals["requires"].Type())
		ok = false
	}
	if r.ID != "" {
		if prev, dup := ev.byID[r.ID]; dup {
			bad("duplicate resource id (first declared at %s)", prev.Pos)
			ok = false
		}
	}
	for _, dep := range r.Requires {
		if dep == r.ID {
			bad("requires itself")
			ok = false
		} else if _, known := ev.byID[dep]; !known {
			// One error per mistake: a resource refused above, or one a
			// stdlib function did not declare because its arguments were
			// refused (an error already reported), is not reported again
			// as missing; the resource is still left out.
			if !ev.refused[dep] && refusedCalls == 0 {
				bad("requires %q, which is not declared before it", dep)
			}
			ok = false
		}
	}
	if ok {
		ev.byID[r.ID] = r
		ev.resources = append(ev.resources, r)
	} else if r.ID != "" {
		ev.refused[r.ID] = true
	}
	return starlark.None, nil
}

// declPos is the position a declaration is reported at: the line of the
// top-level file whose evaluation led to it, so that a resource declared
// by a helper function points at the recipe line that called the helper.
func declPos(t *starlark.Thread) syntax.Position {
	if t.CallStackDepth() > 1 {
		return t.CallFrame(t.CallStackDepth() - 1).Pos
	}
	return CallerPos(t)
}
