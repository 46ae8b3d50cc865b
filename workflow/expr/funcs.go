package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrHashFiles is returned by hashFiles() when Options.HashFiles is nil:
// the files it hashes only exist on the runner, so an audit cannot know
// its value.
var ErrHashFiles = errors.New("hashFiles() cannot be evaluated without a workspace")

// function is one built-in function.
type function struct {
	name     string // canonical spelling
	min, max int    // argument count bounds; max < 0 means unbounded
	odd      bool   // the argument count must be odd (case)
	call     func(ev *evaluator, args []*node, depth int) (any, error)
}

// checkArity validates the number of arguments at parse time.
func (f *function) checkArity(n int) error {
	switch {
	case n < f.min:
		//lint:ignore ST1005 GitHub's own error message, kept verbatim.
		return errors.New("Too few parameters supplied")
	case f.max >= 0 && n > f.max:
		//lint:ignore ST1005 GitHub's own error message, kept verbatim.
		return errors.New("Too many parameters supplied")
	case f.odd && n%2 == 0:
		//lint:ignore ST1005 GitHub's own error message, kept verbatim.
		return errors.New("Even number of parameters supplied, requires an odd number of parameters")
	}
	return nil
}

// statusFunctions are the job-status checks; one of them in an `if:`
// disables the implicit success() &&.
var statusFunctions = map[string]bool{"success": true, "always": true, "failure": true, "cancelled": true}

// lookupFunction finds a built-in by case-insensitive name.
func lookupFunction(name string) (*function, bool) {
	switch strings.ToLower(name) {
	case "contains":
		return &function{name: "contains", min: 2, max: 2, call: eager(fnContains)}, true
	case "startswith":
		return &function{name: "startsWith", min: 2, max: 2, call: eager(fnStartsWith)}, true
	case "endswith":
		return &function{name: "endsWith", min: 2, max: 2, call: eager(fnEndsWith)}, true
	case "format":
		return &function{name: "format", min: 1, max: -1, call: eager(fnFormat)}, true
	case "join":
		return &function{name: "join", min: 1, max: 2, call: eager(fnJoin)}, true
	case "tojson":
		return &function{name: "toJSON", min: 1, max: 1, call: eager(fnToJSON)}, true
	case "fromjson":
		return &function{name: "fromJSON", min: 1, max: 1, call: eager(fnFromJSON)}, true
	case "hashfiles":
		return &function{name: "hashFiles", min: 1, max: -1, call: fnHashFiles}, true
	case "success":
		return &function{name: "success", max: 0, call: status(func(s Status) bool { return s == StatusSuccess })}, true
	case "failure":
		return &function{name: "failure", max: 0, call: status(func(s Status) bool { return s == StatusFailure })}, true
	case "cancelled":
		return &function{name: "cancelled", max: 0, call: status(func(s Status) bool { return s == StatusCancelled })}, true
	case "always":
		return &function{name: "always", max: 0, call: status(func(Status) bool { return true })}, true
	case "case":
		return &function{name: "case", min: 3, max: -1, odd: true, call: fnCase}, true
	}
	return nil, false
}

// eager adapts a function of evaluated arguments.
func eager(f func(ev *evaluator, args []any) (any, error)) func(*evaluator, []*node, int) (any, error) {
	return func(ev *evaluator, nodes []*node, depth int) (any, error) {
		args := make([]any, len(nodes))
		for i, n := range nodes {
			v, err := ev.eval(n, depth+1)
			if err != nil {
				return nil, err
			}
			args[i] = v
		}
		return f(ev, args)
	}
}

func status(f func(Status) bool) func(*evaluator, []*node, int) (any, error) {
	return func(ev *evaluator, _ []*node, _ int) (any, error) {
		return f(ev.opts.Status), nil
	}
}

func fnContains(_ *evaluator, a []any) (any, error) {
	if IsUnknown(a[0]) || IsUnknown(a[1]) {
		return Unknown{}, nil
	}
	if arr, ok := asArray(a[0]); ok {
		unknown := false
		for _, el := range arr {
			if LooseEqual(el, a[1]) {
				return true, nil
			}
			unknown = unknown || IsUnknown(el)
		}
		if unknown {
			return Unknown{}, nil
		}
		return false, nil
	}
	if !isPrimitive(a[0]) || !isPrimitive(a[1]) {
		return false, nil
	}
	return strings.Contains(foldCase(ToString(a[0])), foldCase(ToString(a[1]))), nil
}

func fnStartsWith(_ *evaluator, a []any) (any, error) {
	if IsUnknown(a[0]) || IsUnknown(a[1]) {
		return Unknown{}, nil
	}
	if !isPrimitive(a[0]) || !isPrimitive(a[1]) {
		return false, nil
	}
	return strings.HasPrefix(foldCase(ToString(a[0])), foldCase(ToString(a[1]))), nil
}

func fnEndsWith(_ *evaluator, a []any) (any, error) {
	if IsUnknown(a[0]) || IsUnknown(a[1]) {
		return Unknown{}, nil
	}
	if !isPrimitive(a[0]) || !isPrimitive(a[1]) {
		return false, nil
	}
	return strings.HasSuffix(foldCase(ToString(a[0])), foldCase(ToString(a[1]))), nil
}

// fnFormat implements format(): {N} is replaced by argument N, {{ and }}
// stand for literal braces, and anything else with a brace is invalid.
func fnFormat(_ *evaluator, a []any) (any, error) {
	if IsUnknown(a[0]) {
		return Unknown{}, nil
	}
	f := ToString(a[0])
	unknown := false
	args := a[1:]
	//lint:ignore ST1005 GitHub's own error message, kept verbatim.
	invalid := fmt.Errorf("The following format string is invalid: %s", f)
	var b strings.Builder
	for i := 0; i < len(f); {
		c := f[i]
		switch {
		case c == '{' && i+1 < len(f) && f[i+1] == '{':
			b.WriteByte('{')
			i += 2
		case c == '{':
			j := i + 1
			for j < len(f) && f[j] >= '0' && f[j] <= '9' {
				j++
			}
			if j == i+1 || j >= len(f) || f[j] != '}' {
				return nil, invalid
			}
			n, err := strconv.Atoi(f[i+1 : j])
			if err != nil {
				return nil, invalid
			}
			if n >= len(args) {
				//lint:ignore ST1005 GitHub's own error message, kept verbatim.
				return nil, fmt.Errorf("The following format string references more arguments than were supplied: %s", f)
			}
			unknown = unknown || IsUnknown(args[n])
			b.WriteString(ToString(args[n]))
			i = j + 1
		case c == '}' && i+1 < len(f) && f[i+1] == '}':
			b.WriteByte('}')
			i += 2
		case c == '}':
			return nil, invalid
		default:
			b.WriteByte(c)
			i++
		}
	}
	if unknown {
		return Unknown{}, nil
	}
	return b.String(), nil
}

func fnJoin(_ *evaluator, a []any) (any, error) {
	if HasUnknown(a[0]) || (len(a) > 1 && IsUnknown(a[1])) {
		return Unknown{}, nil
	}
	sep := ","
	if len(a) > 1 && isPrimitive(a[1]) {
		sep = ToString(a[1])
	}
	if arr, ok := asArray(a[0]); ok {
		parts := make([]string, len(arr))
		for i, el := range arr {
			parts[i] = ToString(el)
		}
		return strings.Join(parts, sep), nil
	}
	if isPrimitive(a[0]) {
		return ToString(a[0]), nil
	}
	return "", nil
}

func fnToJSON(_ *evaluator, a []any) (any, error) {
	if HasUnknown(a[0]) {
		return Unknown{}, nil
	}
	return ToJSON(a[0]), nil
}

func fnFromJSON(_ *evaluator, a []any) (any, error) {
	if IsUnknown(a[0]) {
		// Whatever JSON the unknown text holds.
		return Unknown{}, nil
	}
	s := ToString(a[0])
	v, err := FromJSON([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("fromJSON: %w", err)
	}
	return v, nil
}

func fnHashFiles(ev *evaluator, nodes []*node, depth int) (any, error) {
	patterns := make([]string, len(nodes))
	for i, n := range nodes {
		v, err := ev.eval(n, depth+1)
		if err != nil {
			return nil, err
		}
		patterns[i] = ToString(v)
	}
	if ev.opts.UnknownHashFiles {
		return Unknown{}, nil
	}
	if ev.opts.HashFiles == nil {
		return nil, ErrHashFiles
	}
	h, err := ev.opts.HashFiles(patterns)
	if err != nil {
		return nil, fmt.Errorf("hashFiles: %w", err)
	}
	return h, nil
}

// fnCase evaluates case(pred1, val1, ..., default) lazily: the first true
// predicate selects its value; every predicate must be a boolean.
func fnCase(ev *evaluator, nodes []*node, depth int) (any, error) {
	for i := 0; i+1 < len(nodes); i += 2 {
		p, err := ev.eval(nodes[i], depth+1)
		if err != nil {
			return nil, err
		}
		if IsUnknown(p) {
			// Either this value or a later one: which is unknown.
			return Unknown{}, nil
		}
		b, ok := p.(bool)
		if !ok {
			return nil, errors.New("case predicate must evaluate to a boolean value")
		}
		if b {
			return ev.eval(nodes[i+1], depth+1)
		}
	}
	return ev.eval(nodes[len(nodes)-1], depth+1)
}
