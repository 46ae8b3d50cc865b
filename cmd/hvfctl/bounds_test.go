package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBoundsInsideOneOperation runs the built hvfctl on recipes and
// recipe tests whose single operations run inside go.starlark.net's own
// recursion, where no step is counted and no cancellation is seen: a
// deeply nested value hashed, formatted or frozen (Go's stack would
// overflow, a fatal error with a stack trace), or formatted with a
// cycle check that makes it quadratic (a step that runs for hours). In
// every command that evaluates recipe code (plan, check, run, destroy,
// test) hvfctl must stop with exit 1 and a message naming what it ran,
// and never print a Go stack trace; a long loop cancelled by the time
// limit keeps its positioned error. Small limits keep each case fast.
func TestBoundsInsideOneOperation(t *testing.T) {
	t.Parallel() // a subprocess of the built binary: overlaps the in-process tests
	dir := t.TempDir()
	bin := relBuild(t)
	files := map[string]string{
		// A tuple nested 300000 deep: hashing it uses ~12 MiB of stack.
		"hash.star": "def deep(n):\n    t = ()\n    for _ in range(n):\n        t = ((((((((((t,),),),),),),),),),)\n    return t\n\nx = {deep(30000): 1}\n",
		"check_format.star": "def deep(n):\n    t = ()\n    for _ in range(n):\n        t = ((((((((((t,),),),),),),),),),)\n    return t\n\n" +
			"def check():\n    return {\"v\": \"%s\" % (deep(30000),)}\n\n" +
			"resource(id = \"deep\", kind = \"x\", want = {\"v\": \"x\"}, check = check, fix = lambda have, want: [])\n",
		// A list nested 200000 deep, built in 20000 steps (fast enough
		// for the time limit even under load): formatting it checks
		// each level against every enclosing one, some 2e10 comparisons,
		// far past the limit and its grace on any machine.
		"check_quadratic.star": "def deep(n):\n    t = []\n    for _ in range(n):\n        t = [[[[[[[[[[t]]]]]]]]]]\n    return t\n\n" +
			"def check():\n    return {\"v\": \"{}\".format(deep(20000))}\n\n" +
			"resource(id = \"deep\", kind = \"x\", want = {\"v\": \"x\"}, check = check, fix = lambda have, want: [])\n",
		"check_loop.star": "def check():\n    n = 0\n    for i in range(1 << 24):\n        n += i\n    return {\"v\": n}\n\n" +
			"resource(id = \"loop\", kind = \"x\", want = {\"v\": 1}, check = check, fix = lambda have, want: [])\n",
		"hash_test.star":      "def test_deep(t):\n    x = ()\n    for _ in range(30000):\n        x = ((((((((((x,),),),),),),),),),)\n    y = {x: 1}\n",
		"quadratic_test.star": "def test_deep(t):\n    x = []\n    for _ in range(20000):\n        x = [[[[[[[[[[x]]]]]]]]]]\n    y = \"%s\" % [x]\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	stack := []string{"--max-stack", "8"}
	quick := []string{"--max-eval-time", "300ms"}
	tests := []struct {
		name string
		args []string
		want string // in stderr or stdout
	}{
		{"plan, top level", append([]string{"plan", "--target", "fake", p("hash.star")}, stack...), `stopped in the top level of .*hash\.star: one operation recursed through \d+ MiB of Go stack, past the limit of 8 MiB \(--max-stack\)`},
		{"check, check function", append([]string{"check", "--target", "fake", p("check_format.star")}, stack...), `stopped in function check \(.*check_format\.star:7:1\): one operation recursed`},
		{"run", append([]string{"run", "--yes", "--target", "fake", p("check_format.star")}, stack...), `stopped in function check .*--max-stack`},
		{"destroy", append([]string{"destroy", "--allow-destroy", "--target", "fake", p("hash.star")}, stack...), `stopped in the top level of .*hash\.star: .*--max-stack`},
		{"test, stack", append([]string{"test", p("hash_test.star")}, stack...), `stopped in function test_deep \(.*hash_test\.star:1:1\): one operation recursed`},
		{"check, quadratic", append([]string{"check", "--target", "fake", p("check_quadratic.star")}, quick...), `stopped in function check \(.*check_quadratic\.star:7:1\): one operation was still running .* after the evaluation time limit of 300ms \(--max-eval-time\) cancelled it`},
		{"test, quadratic", append([]string{"test", p("quadratic_test.star")}, quick...), `stopped in function test_deep .*evaluation time limit of 300ms`},
		// A loop is cancelled between two steps: Starlark's own error,
		// at the loop's line, with its traceback.
		{"check, loop", append([]string{"check", "--target", "fake", "--max-steps", "1000000000", p("check_loop.star")}, quick...), `check_loop\.star:[34]:\d+: Starlark computation cancelled: evaluation time limit of 300ms exceeded \(raise it with --max-eval-time\)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := relExec(t, bin, nil, tt.args...)
			relNoCrash(t, tt.name, r)
			if r.code != 1 {
				t.Errorf("exit %d, want 1:\n%s", r.code, r.all())
			}
			if !regexp.MustCompile(tt.want).MatchString(r.all()) {
				t.Errorf("output does not match %q:\n%s", tt.want, r.all())
			}
			for _, frame := range []string{"goroutine ", "fatal error", "runtime."} {
				if strings.Contains(r.stderr, frame) {
					t.Errorf("stderr shows %q:\n%s", frame, r.stderr)
				}
			}
		})
	}
}
