package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBadInput runs the built hvfctl on malformed recipes, fixtures and
// workflows and requires exit 1 or 2, every error at once with its
// file:line, and never a panic or Go stack trace.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := relRecipe
	cases := []struct {
		name string
		args []string
		code int
		// want are regular expressions that must all match stderr.
		want []string
	}{
		{"syntax error", []string{"plan", "--target", "fake", write("syntax.star", "def f(:\n    pass\n")}, 1,
			[]string{`syntax\.star:1:\d+: got ':', want '\)'`}},
		{"undefined names, all at once", []string{"plan", "--target", "fake", write("undefined.star", "x = undefined_one\ny = 1\nz = undefined_two\n")}, 1,
			[]string{`2 errors`, `undefined\.star:1:\d+: undefined: undefined_one`, `undefined\.star:3:\d+: undefined: undefined_two`}},
		{"unknown keyword arguments", []string{"plan", "--target", "fake", write("kwargs.star", "resource(id = \"a\", kind = \"x\", wnat = {\"a\": 1}, check = lambda: {})\nresource(id = \"b\", kind = \"x\", want = {\"a\": 1}, chek = lambda: {})\nallow_writes(42)\n")}, 1,
			[]string{`kwargs\.star:1:\d+: .*unknown keyword argument "wnat"`, `kwargs\.star:2:\d+: .*unknown keyword argument "chek"`, `kwargs\.star:3:\d+: allow_writes`}},
		{"wrong types", []string{"plan", "--target", "fake", write("types.star", "resource(id = 1, kind = \"x\", want = {\"a\": 1}, check = lambda: {\"a\": 1})\nresource(id = \"b\", kind = 2, want = [1], check = \"nope\")\n")}, 1,
			[]string{`types\.star:1:\d+: resource: id: want a string`, `types\.star:2:\d+: .*kind: want a string`, `types\.star:2:\d+: .*check: want a function`}},
		{"duplicate ids", []string{"plan", "--target", "fake", write("dup.star", strings.Repeat("resource(id = \"a\", kind = \"assert\", want = {\"a\": 1}, check = lambda: {\"a\": 1}, remediation = \"x\")\n", 2)+strings.Repeat("resource(id = \"b\", kind = \"assert\", want = {\"a\": 1}, check = lambda: {\"a\": 1}, remediation = \"x\")\n", 2))}, 1,
			[]string{`2 errors`, `dup\.star:2:\d+: .*duplicate resource id.*dup\.star:1:`, `dup\.star:4:\d+: .*duplicate resource id.*dup\.star:3:`}},
		{"bad builtin arguments in a check", []string{"check", "--target", "fake", write("badcheck.star", "def _c():\n    return {\"x\": pmset.get(42)}\n\nresource(id = \"c\", kind = \"assert\", want = {\"x\": 1}, check = _c, remediation = \"x\")\n")}, 1,
			[]string{`badcheck\.star:2:\d+: pmset\.get`}},
		{"missing recipe", []string{"plan", "--target", "fake", filepath.Join(dir, "nope.star")}, 1,
			[]string{`nope\.star`}},
		{"malformed fixture JSON", []string{"plan", "--target", "fake:" + write("badfix.json", "{\n  \"base\": \"fresh-m4\",\n  \"users\": {,}\n}\n"), good}, 1,
			[]string{`badfix\.json:3: invalid JSON`}},
		{"unknown fixture key", []string{"check", "--target", "fake:" + write("unkfix.json", "{\n  \"base\": \"fresh-m4\",\n  \"userz\": {}\n}\n"), good}, 1,
			[]string{`unkfix\.json:3: unknown key "userz"`}},
		{"fixture of the wrong type", []string{"plan", "--target", "fake:" + write("arrfix.json", "[1, 2]\n"), good}, 1,
			[]string{`arrfix\.json:1: a fixture must be a JSON object`}},
		{"unknown preset", []string{"plan", "--target", "fake:" + write("preset.json", "{\n  \"base\": \"m9-ultra\"\n}\n"), good}, 1,
			[]string{`preset\.json:2: `}},
		{"malformed workflow YAML", []string{"workflow", "audit", write("bad.yml", "on: push\njobs:\n  a:\n    runs-on: [self-hosted\n    steps: - run: x\n")}, 2,
			[]string{`bad\.yml:\d+:\d+: .*YAML`}},
		{"workflow that is not a mapping", []string{"workflow", "audit", write("list.yml", "- a\n- b\n")}, 2,
			[]string{`list\.yml:1`}},
		{"malformed recipe test", []string{"test", write("broken_test.star", "def test_x(t):\n    assert.eq(1,\n")}, 1,
			[]string{`broken_test\.star:\d+:\d+: `}},
		{"unknown flag", []string{"plan", "--no-such-flag", good}, 2,
			[]string{`no-such-flag`}},
	}
	bin := relBuild(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := relExec(t, bin, nil, c.args...)
			relNoCrash(t, c.name, r)
			if r.code != c.code {
				t.Errorf("exit %d, want %d\n%s", r.code, c.code, r.all())
			}
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(r.all()) {
					t.Errorf("output does not match %q:\n%s", w, r.all())
				}
			}
		})
	}
}

// TestMistakesFailPlan: pmset keys and value types, formula names and
// workflow-job fields are checked while the recipe is evaluated, so plan
// fails with one error per mistake, at the recipe line, each with its
// fix, and nothing follows from a refused call.
func TestMistakesFailPlan(t *testing.T) {
	code, out, errOut := hvfctl(t, nil, "plan", "--target", "fake", cliData+"mistakes.star")
	if code != 1 || out != "" {
		t.Fatalf("plan: exit %d, stdout %q", code, out)
	}
	for _, want := range []string{
		"mistakes.star:6:6: power: sleep takes a number, not the string \"0\": write sleep: 0",
		"mistakes.star:6:6: power: \"slep\" is not a pmset setting (did you mean \"sleep\"?)",
		"mistakes.star:6:6: power: womp is 0 (off) or 1 (on), not 2",
		"mistakes.star:8:9: homebrew: formula \"Python 3\" is not a Homebrew name",
		"mistakes.star:8:9: homebrew: formula \"--force\" is not a Homebrew name",
		"mistakes.star:14:8: declare(\"workflow_job\"): timeout_minutes: want a positive int, got \"60\"",
		"mistakes.star:22:8: declare(\"workflow_job\"): unknown field \"timout_minutes\"",
	} {
		if strings.Count(errOut, want) != 1 {
			t.Errorf("errors do not say once %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "not declared") || strings.Contains(errOut, "developer") {
		t.Errorf("a follow-on error is reported:\n%s", errOut)
	}
}
