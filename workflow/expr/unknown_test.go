package expr

import "testing"

// TestUnknown: an Unknown propagates through every operation that depends
// on it, and operators keep what is decided without it.
func TestUnknown(t *testing.T) {
	ctx := MapContext{"vars": map[string]any{"x": Unknown{}, "s": "abc"}, "github": map[string]any{"event_name": "push"}}
	for _, tc := range []struct {
		src  string
		want any // Unknown{} or a known value
	}{
		{"vars.x", Unknown{}},
		{"vars.x.y.z", Unknown{}},
		{"vars.x[0]", Unknown{}},
		{"vars.s[vars.x]", Unknown{}},
		{"vars.x.*.name", Unknown{}},
		{"fromJSON(vars.x)", Unknown{}},
		{"fromJSON(vars.x).runs-on", Unknown{}},
		{"toJSON(vars.x)", Unknown{}},
		{"vars.x == 'a'", Unknown{}},
		{"vars.x != 'a'", Unknown{}},
		{"vars.x < 1", Unknown{}},
		{"!vars.x", Unknown{}},
		{"!!vars.x", Unknown{}},
		{"false && vars.x", false},
		{"vars.x && false", false},
		{"vars.x && ''", ""},
		{"vars.x && false && true", false},
		{"vars.x && 'a'", Unknown{}},
		{"true || vars.x", true},
		{"vars.x || 'b'", Unknown{}},
		{"vars.x || ''", Unknown{}},
		{"vars.x && 'hosted' || 'self-hosted'", Unknown{}},
		{"github.event_name == 'pull_request' && vars.x", false},
		{"github.event_name == 'push' && vars.x", Unknown{}},
		{"contains(vars.x, 'a')", Unknown{}},
		{"contains(fromJSON('[\"a\"]'), vars.x)", Unknown{}},
		{"startsWith(vars.x, 'refs/heads/')", Unknown{}},
		{"endsWith('abc', vars.x)", Unknown{}},
		{"format('mac-{0}', vars.x)", Unknown{}},
		{"format('mac-{0}', vars.s)", "mac-abc"},
		{"join(vars.x)", Unknown{}},
		{"case(vars.x, 'a', 'b')", Unknown{}},
		{"case(false, vars.x, 'b')", "b"},
		{"hashFiles('x')", Unknown{}},
	} {
		e, err := Parse(tc.src)
		if err != nil {
			t.Fatalf("%s: %v", tc.src, err)
		}
		got, err := e.EvalWith(ctx, Options{UnknownHashFiles: true})
		if err != nil {
			t.Errorf("%s: %v", tc.src, err)
			continue
		}
		if IsUnknown(tc.want) != IsUnknown(got) || (!IsUnknown(got) && got != tc.want) {
			t.Errorf("%s = %#v, want %#v", tc.src, got, tc.want)
		}
	}
}

// TestUnknownFilterElement: contains over an array decides true when a
// known element matches and is unknown when only an unknown one could.
func TestUnknownFilterElement(t *testing.T) {
	labels := []any{map[string]any{"name": "a"}, Unknown{}}
	ctx := MapContext{"l": labels}
	for src, want := range map[string]any{
		"contains(l.*.name, 'a')": true,
		"contains(l.*.name, 'b')": Unknown{},
	} {
		e, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(ctx)
		if err != nil || IsUnknown(got) != IsUnknown(want) || (!IsUnknown(got) && got != want) {
			t.Errorf("%s = %#v, %v; want %#v", src, got, err, want)
		}
	}
}

// TestUnknownSound: an Unknown stands for every value, so for each
// expression the result with x unknown must admit the result with x set
// to any concrete value: if some value makes the expression truthy, the
// unknown result is not decided falsy, and the other way round.
func TestUnknownSound(t *testing.T) {
	values := []any{nil, true, false, 0.0, 1.0, "", "a", "true", "false", "0", "refs/heads/main",
		[]any{"a"}, map[string]any{"a": "b", "runs-on": "self-hosted"}}
	exprs := []string{
		"x", "!x", "x == 'a'", "x != 'a'", "x < 1", "x && 'y'", "x || 'y'", "!x && true", "x && !x",
		"contains(x, 'a')", "contains('abc', x)", "startsWith(x, 'refs/')", "endsWith(x, 'main')",
		"x.a == 'b'", "x['runs-on']", "x.*", "format('{0}', x) == 'a'", "join(x) == 'a'",
		"toJSON(x) == '\"a\"'", "case(x == 'a', 'p', 'q') == 'p'", "(x || 'z') == 'z'", "(x && 'z') == 'z'",
		"fromJSON(toJSON(x)) == 'a'", "x == x", "x && x.a", "!(x == 'a') || x == 'a'",
	}
	for _, src := range exprs {
		e, err := Parse(src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		u, err := e.Eval(MapContext{"x": Unknown{}})
		if err != nil {
			t.Errorf("%s with x unknown: %v", src, err)
			continue
		}
		for _, v := range values {
			got, err := e.Eval(MapContext{"x": v})
			if err != nil {
				continue // the job fails instead of running
			}
			switch {
			case IsUnknown(u):
			case Truthy(got) != Truthy(u):
				t.Errorf("%s: x=%#v gives %#v, but x unknown gives %#v", src, v, got, u)
			}
		}
	}
}
