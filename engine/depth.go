package engine

// This file bounds the shape of values that hvfctl converts or renders
// with recursive Go code (go.starlark.net's json, str and repr, the
// report's rendering and JSON conversion): a value nested deeper than
// MaxValueDepth is refused with an error where it enters (the json
// builtins, str/repr/print, resource(want=...), a check's result), so no
// recursion of hvfctl's or Starlark's ever runs deep enough to overflow
// the Go stack, and rendering stays linear. The checks themselves are
// iterative.

import (
	"fmt"
	"strings"

	"go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
)

// MaxValueDepth is how deeply lists, tuples, dicts, sets and structs may
// nest in a value hvfctl converts or shows: far more than any recipe
// needs.
const MaxValueDepth = 100

// maxValueNodes bounds how many elements CheckValueDepth visits (a
// value that shares one list many times is visited once per use).
const maxValueNodes = 1 << 22

// CheckValueDepth returns an error when v nests containers deeper than
// MaxValueDepth, or holds more than a few million elements counted with
// repetition. what names the value in the message.
func CheckValueDepth(v starlark.Value, what string) error {
	type item struct {
		v     starlark.Value
		depth int
	}
	stack := []item{{v, 0}}
	visited := 0
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		visited++
		if visited > maxValueNodes {
			return fmt.Errorf("%s holds more than %d nested elements", what, maxValueNodes)
		}
		var kids []starlark.Value
		switch x := it.v.(type) {
		case *starlark.List:
			for i := range x.Len() {
				kids = append(kids, x.Index(i))
			}
		case starlark.Tuple:
			kids = x
		case *starlark.Dict:
			for _, kv := range x.Items() {
				kids = append(kids, kv[0], kv[1])
			}
		case *starlark.Set:
			iter := x.Iterate()
			var e starlark.Value
			for iter.Next(&e) {
				kids = append(kids, e)
			}
			iter.Done()
		case *starlarkstruct.Struct:
			for _, name := range x.AttrNames() {
				if a, err := x.Attr(name); err == nil && a != nil {
					kids = append(kids, a)
				}
			}
		}
		if len(kids) == 0 {
			continue
		}
		if it.depth+1 > MaxValueDepth {
			return fmt.Errorf("%s is nested deeper than %d levels", what, MaxValueDepth)
		}
		for _, k := range kids {
			stack = append(stack, item{k, it.depth + 1})
		}
	}
	return nil
}

// checkJSONDepth refuses JSON text whose arrays and objects nest deeper
// than MaxValueDepth, before any recursive decoder sees it.
func checkJSONDepth(s string) error {
	depth, inString, escaped := 0, false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			depth++
			if depth > MaxValueDepth {
				return fmt.Errorf("JSON nested deeper than %d levels (at byte %d)", MaxValueDepth, i)
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return nil
}

// boundedJSON is the json module with every entry point bounded.
func boundedJSON() *starlarkstruct.Module {
	members := starlark.StringDict{}
	for name, v := range json.Module.Members {
		orig := v.(*starlark.Builtin)
		full := "json." + name
		members[name] = starlark.NewBuiltin(full, func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			for _, a := range args {
				if s, ok := a.(starlark.String); ok && (name == "decode" || name == "indent") {
					if err := checkJSONDepth(string(s)); err != nil {
						return nil, fmt.Errorf("%s: %w", full, err)
					}
					continue
				}
				if err := CheckValueDepth(a, "the value"); err != nil {
					return nil, fmt.Errorf("%s: %w", full, err)
				}
			}
			return orig.CallInternal(t, args, kwargs)
		})
	}
	return &starlarkstruct.Module{Name: "json", Members: members}
}

// boundedFormatters returns str, repr, print and fail refusing values nested
// deeper than MaxValueDepth (go.starlark.net formats recursively, with a
// cycle check that makes a deep value quadratic).
func boundedFormatters() starlark.StringDict {
	d := starlark.StringDict{}
	for _, name := range []string{"str", "repr", "print", "fail"} {
		orig := starlark.Universe[name].(*starlark.Builtin)
		d[name] = starlark.NewBuiltin(name, func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			for i, a := range args {
				if err := CheckValueDepth(a, fmt.Sprintf("argument %d", i+1)); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			for _, kv := range kwargs {
				if err := CheckValueDepth(kv[1], strings.TrimSpace(kv[0].String())); err != nil {
					return nil, fmt.Errorf("%s: %w", name, err)
				}
			}
			return orig.CallInternal(t, args, kwargs)
		})
	}
	return d
}
