package expr

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// prEvent builds a github context for a pull_request run.
func prEvent(head, base string, labels ...string) map[string]any {
	ls := make([]any, len(labels))
	for i, l := range labels {
		ls[i] = map[string]any{"name": l}
	}
	return map[string]any{
		"event_name": "pull_request",
		"repository": base,
		"ref":        "refs/pull/7/merge",
		"event": map[string]any{
			"pull_request": map[string]any{
				"head":   map[string]any{"repo": map[string]any{"full_name": head}},
				"base":   map[string]any{"repo": map[string]any{"full_name": base}},
				"labels": ls,
			},
		},
	}
}

// pushEvent builds a github context for a push run (no pull_request).
func pushEvent(ref string) map[string]any {
	return map[string]any{
		"event_name": "push",
		"repository": "sysprog21/elfuse",
		"ref":        ref,
		"event":      map[string]any{"ref": ref},
	}
}

func TestEvalAuditSemantics(t *testing.T) {
	push := MapContext{"github": pushEvent("refs/heads/main")}
	fork := MapContext{"github": prEvent("evil/elfuse", "sysprog21/elfuse", "ci-hvf")}
	same := MapContext{"github": prEvent("sysprog21/elfuse", "sysprog21/elfuse")}
	tests := []struct {
		name string
		src  string
		ctx  MapContext
		want any
	}{
		{"head equals base when both are null (push)", "github.event.pull_request.head.repo.full_name == github.event.pull_request.base.repo.full_name", push, true},
		{"head equals base on a fork PR is false", "github.event.pull_request.head.repo.full_name == github.event.pull_request.base.repo.full_name", fork, false},
		{"head equals repository on a same-repo PR", "github.event.pull_request.head.repo.full_name == github.repository", same, true},
		{"'0' == null", "'0' == null", nil, true},
		{"'' == null", "'' == null", nil, true},
		{"null == null", "null == null", nil, true},
		{"missing == ''", "github.event.nothing == ''", push, true},
		{"null.x is null", "github.event.pull_request.head", push, nil},
		{"labels of null filter to empty array", "github.event.pull_request.labels.*.name", push, []any{}},
		{"labels of a PR", "github.event.pull_request.labels.*.name", fork, []any{"ci-hvf"}},
		{"contains on an array is element equality", "contains(github.event.pull_request.labels.*.name, 'CI-HVF')", fork, true},
		{"contains on an array is not substring", "contains(github.event.pull_request.labels.*.name, 'ci')", fork, false},
		{"contains on a string is substring", "contains(github.ref, 'PULL')", fork, true},
		{"contains on null labels", "contains(github.event.pull_request.labels.*.name, 'ci-hvf')", push, false},
		{"&& returns the deciding operand", "github.event_name == 'push' && github.ref", push, "refs/heads/main"},
		{"&& returns the first falsy operand", "github.event.pull_request && 'x'", push, nil},
		{"|| returns the first truthy operand", "github.event.pull_request.title || 'untitled'", push, "untitled"},
		{"|| returns the last operand when all are falsy", "0 || '' || null", nil, nil},
		{"string compare is case-insensitive", "github.event_name == 'PUSH'", push, true},
		{"case-insensitive function names", "STARTSWITH(github.ref, 'refs/heads/')", push, true},
		{"case-insensitive context names", "GitHub.Event_Name", push, "push"},
		{"format with escapes", "format('{{{0}}}-{1}', 'a', 2)", nil, "{a}-2"},
		{"join labels", "join(github.event.pull_request.labels.*.name, '+')", fork, "ci-hvf"},
		{"toJSON is indented", "toJSON(fromJSON('{\"a\":[1,true]}'))", nil, "{\n  \"a\": [\n    1,\n    true\n  ]\n}"},
		{"NaN is falsy", "!NaN", nil, true},
		{"empty array is truthy", "!fromJSON('[]')", nil, false},
		{"negative zero formats as 0", "format('{0}', -0)", nil, "0"},
		{"design guard D on push", "github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))", push, true},
		{"design guard D on a fork PR with the label", "github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))", fork, false},
		{"negative guard G on push", "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository", push, true},
		{"negative guard G on a fork PR", "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository", fork, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse(tt.src)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.src, err)
			}
			got, err := e.Eval(tt.ctx)
			if err != nil {
				t.Fatalf("Eval(%q): %v", tt.src, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Eval(%q) = %#v, want %#v", tt.src, got, tt.want)
			}
		})
	}
}

func TestCoercions(t *testing.T) {
	tests := []struct {
		v      any
		truthy bool
		num    float64
		str    string
	}{
		{nil, false, 0, ""},
		{false, false, 0, "false"},
		{true, true, 1, "true"},
		{0.0, false, 0, "0"},
		{math.Copysign(0, -1), false, 0, "0"},
		{math.NaN(), false, math.NaN(), "NaN"},
		{math.Inf(-1), true, math.Inf(-1), "-Infinity"},
		{1.5, true, 1.5, "1.5"},
		{1e21, true, 1e21, "1E+21"},
		{0.00001, true, 0.00001, "1E-05"},
		{0.84551240822557006, true, 0.84551240822557006, "0.84551240822557"},
		{"", false, 0, ""},
		{" 0x1F ", true, 31, " 0x1F "},
		{"0o17", true, 15, "0o17"},
		{"abc", true, math.NaN(), "abc"},
		{[]any{}, true, math.NaN(), "Array"},
		{NewObject(), true, math.NaN(), "Object"},
	}
	for _, tt := range tests {
		if got := Truthy(tt.v); got != tt.truthy {
			t.Errorf("Truthy(%#v) = %v, want %v", tt.v, got, tt.truthy)
		}
		if got := ToNumber(tt.v); !(got == tt.num || math.IsNaN(got) && math.IsNaN(tt.num)) {
			t.Errorf("ToNumber(%#v) = %v, want %v", tt.v, got, tt.num)
		}
		if got := ToString(tt.v); got != tt.str {
			t.Errorf("ToString(%#v) = %q, want %q", tt.v, got, tt.str)
		}
	}
}

func TestLooseEqual(t *testing.T) {
	arr := []any{"a"}
	obj := NewObject()
	tests := []struct {
		a, b any
		want bool
	}{
		{nil, nil, true},
		{"0", nil, true},
		{"", nil, true},
		{"null", nil, false},
		{true, 1.0, true},
		{true, "1", true},
		{false, "", true},
		{"ABC", "abc", true},
		{"ς", "Σ", true},
		{"ı", "I", false},
		{math.NaN(), math.NaN(), false},
		{arr, arr, true},
		{arr, []any{"a"}, false},
		{obj, obj, true},
		{obj, NewObject(), false},
		{arr, "Array", false},
		{obj, nil, false},
	}
	for _, tt := range tests {
		if got := LooseEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("LooseEqual(%#v, %#v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
		if got := LooseEqual(tt.b, tt.a); got != tt.want {
			t.Errorf("LooseEqual(%#v, %#v) = %v, want %v (reversed)", tt.b, tt.a, got, tt.want)
		}
	}
}

func TestObject(t *testing.T) {
	o := NewObject()
	o.Set("Full_Name", "a")
	o.Set("b", 1.0)
	o.Set("FULL_NAME", "c")
	if got := o.Keys(); !reflect.DeepEqual(got, []string{"Full_Name", "b"}) {
		t.Errorf("Keys() = %v", got)
	}
	if v, ok := o.Get("full_name"); !ok || v != "c" {
		t.Errorf("Get(full_name) = %v, %v; want c, true", v, ok)
	}
	if _, ok := o.Get("missing"); ok {
		t.Error("Get(missing) found a value")
	}
	var nilObj *Object
	if _, ok := nilObj.Get("x"); ok || nilObj.Len() != 0 || nilObj.Keys() != nil {
		t.Error("nil *Object is not empty")
	}
}

func TestNormalize(t *testing.T) {
	got := Normalize(map[string]any{"b": 1, "a": []string{"x"}, "c": map[string]string{"k": "v"}, "d": struct{}{}, "e": []map[string]any{{"name": "ci-hvf"}}})
	o, ok := got.(*Object)
	if !ok {
		t.Fatalf("Normalize(map) = %T, want *Object", got)
	}
	if want := "{\n  \"a\": [\n    \"x\"\n  ],\n  \"b\": 1,\n  \"c\": {\n    \"k\": \"v\"\n  },\n  \"d\": null,\n  \"e\": [\n    {\n      \"name\": \"ci-hvf\"\n    }\n  ]\n}"; ToJSON(o) != want {
		t.Errorf("ToJSON(Normalize(...)) = %q, want %q", ToJSON(o), want)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		src string
		col int
		msg string
	}{
		{"github.ref == ", 12, "Unexpected end of expression: '=='"},
		{"github.ref = 'x'", 12, "Unexpected symbol: '='"},
		{"'unterminated", 1, "Unexpected symbol: ''unterminated'"},
		{"github.\"ref\"", 8, "Unexpected symbol: '\"ref\"'"},
		{"nosuch(1)", 1, "Unrecognized function: 'nosuch'"},
		{"contains('a')", 1, "Too few parameters supplied: 'contains'"},
		{"success(1)", 1, "Too many parameters supplied: 'success'"},
		{"a\nb", 3, "Unexpected symbol: 'b'"},
		{"'é' é", 5, "Unexpected symbol: 'é'"},
		{strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), 0, "Exceeded max expression depth 50"},
		{strings.Repeat("!", 60) + "true", 0, "Exceeded max expression depth 50"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.src)
		var syn *SyntaxError
		if !errors.As(err, &syn) {
			t.Errorf("Parse(%q) error = %v, want *SyntaxError", tt.src, err)
			continue
		}
		if syn.Msg != tt.msg || (tt.col != 0 && syn.Col != tt.col) {
			t.Errorf("Parse(%q) = %q at %d, want %q at %d", tt.src, syn.Msg, syn.Col, tt.msg, tt.col)
		}
	}
}

func TestParseNamed(t *testing.T) {
	if _, err := ParseNamed("github.ref == 'x' && Inputs.ref", "github", "inputs"); err != nil {
		t.Errorf("allowed names rejected: %v", err)
	}
	_, err := ParseNamed("github.ref == 'x' && env.X", "github", "inputs")
	var syn *SyntaxError
	if !errors.As(err, &syn) || syn.Col != 22 || !strings.Contains(syn.Msg, "'env'") {
		t.Errorf("ParseNamed with env = %v, want unrecognized named-value at 22", err)
	}
}

func TestEvalErrors(t *testing.T) {
	tests := []struct {
		src  string
		opts Options
		want string
	}{
		{"false && vars.X", Options{}, "Unrecognized named-value: 'vars'"},
		{"hashFiles('**/go.sum')", Options{}, ErrHashFiles.Error()},
		{"format('{1}', 'a')", Options{}, "references more arguments"},
		{"fromJSON('{')", Options{}, "fromJSON"},
		{"case(1, 'a', 'b')", Options{}, "case predicate must evaluate to a boolean value"},
		{"format('{0}{0}{0}{0}', github.ref)", Options{MaxMemory: 100}, ErrMemory.Error()},
	}
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		_, err = e.EvalWith(MapContext{"github": pushEvent("refs/heads/main")}, tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Eval(%q) error = %v, want %q", tt.src, err, tt.want)
		}
	}
}

func TestStatusAndHashFiles(t *testing.T) {
	tests := []struct {
		src    string
		status Status
		want   any
	}{
		{"success()", StatusSuccess, true},
		{"success()", StatusFailure, false},
		{"failure()", StatusFailure, true},
		{"cancelled()", StatusCancelled, true},
		{"Always()", StatusCancelled, true},
		{"!cancelled() && failure()", StatusFailure, true},
		{"hashFiles('a', 'b')", StatusSuccess, "a|b"},
	}
	hash := func(p []string) (string, error) { return strings.Join(p, "|"), nil }
	for _, tt := range tests {
		e, err := Parse(tt.src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.src, err)
		}
		got, err := e.EvalWith(nil, Options{Status: tt.status, HashFiles: hash})
		if err != nil || got != tt.want {
			t.Errorf("Eval(%q, %v) = %v, %v; want %v", tt.src, tt.status, got, err, tt.want)
		}
	}
}

func TestHasStatusFunction(t *testing.T) {
	tests := map[string]bool{
		"github.ref == 'x'":          false,
		"always()":                   true,
		"ALWAYS() && github.ref":     true,
		"!cancelled()":               true,
		"contains('failure()', 'x')": false,
		"":                           false,
	}
	for src, want := range tests {
		e, err := Parse(src)
		if err != nil {
			t.Fatalf("Parse(%q): %v", src, err)
		}
		if got := e.HasStatusFunction(); got != want {
			t.Errorf("HasStatusFunction(%q) = %v, want %v", src, got, want)
		}
	}
}

func TestTrace(t *testing.T) {
	src := "github.event_name == 'push' || (github.event_name == 'pull_request' && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))"
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	v, steps, err := e.Trace(MapContext{"github": pushEvent("refs/heads/main")})
	if err != nil || v != true {
		t.Fatalf("Trace = %v, %v", v, err)
	}
	var got []string
	for _, s := range steps {
		if src[s.Start:s.End] != s.Src {
			t.Errorf("step %q is not the source slice [%d:%d]", s.Src, s.Start, s.End)
		}
		got = append(got, strings.Repeat(" ", s.Depth)+s.Src+" => "+ToJSON(s.Value))
	}
	want := []string{
		"   github => " + ToJSON(Normalize(pushEvent("refs/heads/main"))),
		"  github.event_name => \"push\"",
		"  'push' => \"push\"",
		" github.event_name == 'push' => true",
		src + " => true",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Trace steps:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	_, steps, err = e.Trace(MapContext{"github": prEvent("a/b", "a/b", "ci-hvf")})
	if err != nil {
		t.Fatal(err)
	}
	last := steps[len(steps)-2]
	if last.Src != "(github.event_name == 'pull_request' && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))" || last.Value != true {
		t.Errorf("the step that decided is %q = %v", last.Src, last.Value)
	}
}

func TestReferences(t *testing.T) {
	src := "github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf')) || vars.ALLOW == 'true' || contains(fromJSON('[\"a\",\"b\"]'), inputs.ref) || startsWith(needs.build.outputs.ok, 'y') || secrets[format('{0}', matrix.k)] || Secrets['X'] || 3 > github.run_attempt"
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	want := []Ref{
		{Path: "github.event_name", Literals: []any{"push", "pull_request"}},
		{Path: "github.event.pull_request.head.repo.full_name", Peers: []string{"github.repository"}},
		{Path: "github.repository", Peers: []string{"github.event.pull_request.head.repo.full_name"}},
		{Path: "github.event.pull_request.labels.*.name", Literals: []any{"ci-hvf"}},
		{Path: "vars.ALLOW", Literals: []any{"true"}},
		{Path: "inputs.ref", Literals: []any{"a", "b"}},
		{Path: "needs.build.outputs.ok", Literals: []any{"y"}},
		{Path: "secrets", Dynamic: true},
		{Path: "matrix.k"},
		{Path: "secrets.X"},
		{Path: "github.run_attempt", Literals: []any{3.0}},
	}
	got := e.References()
	if len(got) != len(want) {
		t.Fatalf("References() = %d refs %+v, want %d", len(got), got, len(want))
	}
	for i, w := range want {
		w.Segments = strings.Split(w.Path, ".")
		if !reflect.DeepEqual(got[i], w) {
			t.Errorf("ref %d = %+v, want %+v", i, got[i], w)
		}
	}
}

func TestSplitFences(t *testing.T) {
	tests := []struct {
		in   string
		want []Part
		err  bool
	}{
		{"plain", []Part{{Text: "plain", Start: 0, End: 5}}, false},
		{"${{ a }}", []Part{{Expr: true, Text: " a ", Start: 0, End: 8}}, false},
		{"x-${{ a }}-${{ 'b}}' }}", []Part{
			{Text: "x-", Start: 0, End: 2},
			{Expr: true, Text: " a ", Start: 2, End: 10},
			{Text: "-", Start: 10, End: 11},
			{Expr: true, Text: " 'b}}' ", Start: 11, End: 23},
		}, false},
		{"${{ 'it''s}}' }}\n", []Part{{Expr: true, Text: " 'it''s}}' ", Start: 0, End: 16}, {Text: "\n", Start: 16, End: 17}}, false},
		{"", nil, false},
		{"a ${{ b", nil, true},
	}
	for _, tt := range tests {
		got, err := SplitFences(tt.in)
		if (err != nil) != tt.err {
			t.Errorf("SplitFences(%q) error = %v, want error %v", tt.in, err, tt.err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("SplitFences(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	_, err := SplitFences("ab ${{ x")
	var syn *SyntaxError
	if !errors.As(err, &syn) || syn.Col != 4 {
		t.Errorf("unclosed fence error = %v, want column 4", err)
	}
}

func TestParseIf(t *testing.T) {
	push := MapContext{"github": pushEvent("refs/heads/main")}
	fork := MapContext{"github": prEvent("evil/x", "a/b")}
	tests := []struct {
		value    string
		literal  bool
		implicit bool
		ctx      MapContext
		status   Status
		want     bool
	}{
		{"github.event_name == 'push'", false, true, push, StatusSuccess, true},
		{"${{ github.event_name == 'push' }}", false, true, fork, StatusSuccess, false},
		{"${{ github.event_name == 'push' }}\n", true, false, fork, StatusSuccess, true},
		{"${{ false }} || ${{ false }}", true, false, fork, StatusSuccess, true},
		{"github.event_name == 'push'", false, true, push, StatusFailure, false},
		{"always() && github.event_name == 'push'", false, false, push, StatusFailure, true},
		{"success() || github.event_name == 'x'", false, false, fork, StatusSuccess, true},
	}
	for _, tt := range tests {
		c, err := ParseIf(tt.value)
		if err != nil {
			t.Fatalf("ParseIf(%q): %v", tt.value, err)
		}
		if c.Literal != tt.literal || c.Implicit != tt.implicit {
			t.Errorf("ParseIf(%q) = literal %v implicit %v, want %v %v", tt.value, c.Literal, c.Implicit, tt.literal, tt.implicit)
		}
		got, err := c.Eval(tt.ctx, Options{Status: tt.status})
		if err != nil || got != tt.want {
			t.Errorf("ParseIf(%q).Eval = %v, %v; want %v", tt.value, got, err, tt.want)
		}
	}
	if _, err := ParseIf("${{ env.X }}", "github", "needs", "vars", "inputs"); err == nil {
		t.Error("ParseIf accepted env where only github, needs, vars, inputs are allowed")
	}
}
