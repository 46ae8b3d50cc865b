package engine

import (
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// Matcher is a wanted value that accepts a range of current values
// (at_least, version_at_least, one_of) instead of one exact value.
type Matcher interface {
	starlark.Value
	// Match reports whether the current value satisfies the matcher.
	Match(have starlark.Value) bool
}

// Unknown is a current value a query could not read. A resource whose
// only differences are unknown values is reported as "verify manually".
type Unknown struct {
	Reason string
}

// String implements starlark.Value.
func (u *Unknown) String() string { return "unknown(" + strconv.Quote(u.Reason) + ")" }

// Type implements starlark.Value.
func (u *Unknown) Type() string { return "unknown" }

// Freeze implements starlark.Value.
func (u *Unknown) Freeze() {}

// Truth implements starlark.Value: an unknown value is false.
func (u *Unknown) Truth() starlark.Bool { return starlark.False }

// Hash implements starlark.Value.
func (u *Unknown) Hash() (uint32, error) { return starlark.String(u.Reason).Hash() }

// AttrNames implements starlark.HasAttrs.
func (u *Unknown) AttrNames() []string { return []string{"reason"} }

// Attr implements starlark.HasAttrs.
func (u *Unknown) Attr(name string) (starlark.Value, error) {
	if name == "reason" {
		return starlark.String(u.Reason), nil
	}
	return nil, nil
}

// matcher implements the three matcher constructors.
type matcher struct {
	kind  string // at_least | version_at_least | one_of
	args  starlark.Tuple
	match func(have starlark.Value) bool
}

func (m *matcher) String() string {
	parts := make([]string, len(m.args))
	for i, a := range m.args {
		parts[i] = a.String()
	}
	return m.kind + "(" + strings.Join(parts, ", ") + ")"
}

// describe is the matcher in plain words, for reports.
func (m *matcher) describe() string {
	parts := make([]string, len(m.args))
	for i, a := range m.args {
		parts[i] = Display(a)
	}
	switch m.kind {
	case "at_least":
		return "at least " + parts[0]
	case "version_at_least":
		return parts[0] + " or later"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

func (m *matcher) Type() string                   { return "matcher" }
func (m *matcher) Freeze()                        { m.args.Freeze() }
func (m *matcher) Truth() starlark.Bool           { return starlark.True }
func (m *matcher) Hash() (uint32, error)          { return 0, fmt.Errorf("unhashable type: matcher") }
func (m *matcher) Match(have starlark.Value) bool { return m.match(have) }

// atLeast accepts numbers ≥ n.
func atLeast(n starlark.Value) (*matcher, error) {
	switch n.(type) {
	case starlark.Int, starlark.Float:
	default:
		return nil, fmt.Errorf("at_least: want a number, got %s", n.Type())
	}
	return &matcher{kind: "at_least", args: starlark.Tuple{n}, match: func(have starlark.Value) bool {
		switch have.(type) {
		case starlark.Int, starlark.Float:
		default:
			return false
		}
		ok, err := starlark.Compare(syntax.GE, have, n)
		return err == nil && ok
	}}, nil
}

// versionAtLeast accepts dotted version strings ≥ min, compared
// component by component as numbers ("15.10" > "15.9"; "14.3.rel1" >
// "13.2.Rel1").
func versionAtLeast(min string) (*matcher, error) {
	want, err := parseVersion(min)
	if err != nil {
		return nil, fmt.Errorf("version_at_least: %w", err)
	}
	return &matcher{kind: "version_at_least", args: starlark.Tuple{starlark.String(min)}, match: func(have starlark.Value) bool {
		s, ok := starlark.AsString(have)
		if !ok {
			return false
		}
		got, err := parseVersion(s)
		if err != nil {
			return false
		}
		return CompareVersions(got, want) >= 0
	}}, nil
}

func parseVersion(s string) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty version")
	}
	parts := strings.Split(s, ".")
	out := make([]int, len(parts))
	for i, p := range parts {
		// A part "relN" in any case counts as N: Arm GNU Toolchain
		// releases are 14.3.rel1 (13.2.Rel1 for one of them).
		if len(p) > 3 && strings.EqualFold(p[:3], "rel") {
			p = p[3:]
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p[0] == '+' || p[0] == '-' {
			return nil, fmt.Errorf("malformed version %q: want dotted numbers such as 15.0 (a part relN counts as N, as in 14.3.rel1)", s)
		}
		out[i] = n
	}
	return out, nil
}

// CompareVersions orders two dotted versions given as their numeric
// components, a missing component counting as 0 (15 == 15.0): -1, 0 or 1.
func CompareVersions(a, b []int) int {
	for i := 0; i < len(a) || i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return 0
}

// oneOf accepts any of the given values.
func oneOf(choices starlark.Tuple) (*matcher, error) {
	if len(choices) == 0 {
		return nil, fmt.Errorf("one_of: want at least one value")
	}
	return &matcher{kind: "one_of", args: choices, match: func(have starlark.Value) bool {
		for _, c := range choices {
			if eq, err := starlark.Equal(c, have); err == nil && eq {
				return true
			}
		}
		return false
	}}, nil
}

// satisfied reports whether have satisfies want: a matcher's rule, or
// equality.
func satisfied(want, have starlark.Value) bool {
	if m, ok := want.(Matcher); ok {
		return m.Match(have)
	}
	eq, err := starlark.Equal(want, have)
	return err == nil && eq
}
