package recipetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
)

// kvHost is a minimal host: `/usr/bin/kv get` lists key=value lines,
// `/usr/bin/kv set K V` sets one.
type kvHost struct{ kv map[string]string }

func (h *kvHost) Name() string    { return "kv" }
func (h *kvHost) Invoker() string { return "admin" }
func (h *kvHost) Run(_ context.Context, c host.Command) (host.Result, error) {
	switch {
	case len(c.Argv) == 2 && c.Argv[1] == "get":
		var b strings.Builder
		for _, k := range []string{"a", "b"} {
			if v, ok := h.kv[k]; ok {
				fmt.Fprintf(&b, "%s=%s\n", k, v)
			}
		}
		return host.Result{Stdout: b.String()}, nil
	case len(c.Argv) == 4 && c.Argv[1] == "set":
		h.kv[c.Argv[2]] = c.Argv[3]
		return host.Result{}, nil
	}
	return host.Result{}, host.ErrUnsupported
}
func (h *kvHost) ReadFile(context.Context, string, int64) ([]byte, error) { return nil, os.ErrNotExist }
func (h *kvHost) WriteFile(context.Context, host.WriteRequest) error      { return host.ErrUnsupported }
func (h *kvHost) Download(context.Context, host.DownloadRequest) error    { return host.ErrUnsupported }
func (h *kvHost) Hash(context.Context, string) (string, int64, error) {
	return "", 0, host.ErrUnsupported
}
func (h *kvHost) ListArchive(context.Context, string) ([]tarcheck.Entry, error) {
	return nil, host.ErrUnsupported
}
func (h *kvHost) ExtractArchive(context.Context, host.ExtractRequest) error {
	return host.ErrUnsupported
}

type factory struct{}

func (factory) Preset(name string) (host.Host, error) {
	switch name {
	case "empty":
		return &kvHost{kv: map[string]string{}}, nil
	case "half":
		return &kvHost{kv: map[string]string{"a": "1"}}, nil
	}
	return nil, fmt.Errorf("no preset %q", name)
}

func (factory) Fixture(path string) (host.Host, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, v, _ := strings.Cut(strings.TrimSpace(string(b)), "=")
	return &kvHost{kv: map[string]string{k: v}}, nil
}

func kvModule() engine.Module {
	get := func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		s, err := engine.SessionOf(t)
		if err != nil {
			return nil, err
		}
		res, err := s.Host().Run(s.Context(), host.Command{Argv: []string{"/usr/bin/kv", "get"}})
		if err != nil {
			return nil, err
		}
		d := starlark.NewDict(2)
		for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
			if k, v, ok := strings.Cut(l, "="); ok {
				_ = d.SetKey(starlark.String(k), starlark.String(v))
			}
		}
		return d, nil
	}
	set := func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var k, v string
		if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 2, &k, &v); err != nil {
			return nil, err
		}
		return engine.Exec(host.Command{Argv: []string{"/usr/bin/kv", "set", k, v}}, nil, nil), nil
	}
	return engine.Module{Name: "kv", Doc: "kv", Builtins: []engine.Builtin{
		{Name: "get", Kind: engine.KindQuery, Doc: "get", Fn: get},
		{Name: "set", Kind: engine.KindAction, Doc: "set", Fn: set},
	}}
}

const recipe = `
load("@stdlib//lib.star", "kv_res")
kv_res("a", var("a", "1"))
kv_res("b", "2")
`

const lib = `
def kv_res(key, value):
    resource(
        id = key, kind = "kv", want = {key: value},
        check = lambda: {key: kv.get().get(key)},
        fix = lambda have, want: kv.set(key, value),
    )
`

const tests = `
def test_fresh_converges(t):
    h = t.host("empty")
    p = t.plan("r.star", host = h)
    assert.eq(p.summary.change, 2)
    assert.eq(p.resource("a").actions[0].argv, ["/usr/bin/kv", "set", "a", "1"])
    r = t.apply("r.star", host = h)
    assert.true(r.converged)
    c = t.check("r.star", host = h)
    assert.eq(c.exit, 0)
    assert.contains([e.argv for e in t.transcript(h)], ["/usr/bin/kv", "set", "b", "2"])

def test_default_host_and_vars(t):
    p = t.plan("r.star", vars = {"a": "9"})
    assert.eq(p.resource("a").changes[0].after, "9")
    assert.eq(len(t.transcript()), 2)

def test_fixture(t):
    c = t.check("r.star", host = t.host(fixture = "b.txt"))
    assert.eq(c.exit, 2)
    assert.eq([r.status for r in c.resources], ["change", "ok"])

def test_fails(t):
    msg = assert.fails(lambda: t.plan("missing.star"), "missing.star")
    assert.ne(msg, "")
    assert.fails(lambda: 1 // 0, "division by zero")

def test_failing_assertion(t):
    p = t.plan("r.star", host = t.host("half"))
    print("about to fail")
    assert.eq(p.summary.change, 2)

def test_runtime_error(t):
    x = {}["nope"]

def helper_not_a_test(t):
    fail("not run")
`

func TestRun(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"r.star": recipe, "r_test.star": tests, "b.txt": "b=2\n", "sub/x_test.star": "def test_x(t):\n    assert.true(True)\n", "notes.star": "", "testdata/bad_test.star": "def test_bad(t):\n    assert.true(False)\n", ".hidden/h_test.star": "def test_h(t):\n    assert.true(False)\n"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Find([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 2 {
		t.Fatalf("found %q (a walk must skip testdata and hidden directories)", files)
	}
	if named, err := Find([]string{filepath.Join(dir, "testdata")}); err != nil || len(named) != 1 {
		t.Fatalf("a testdata directory named as a path must be searched: %q, %v", named, err)
	}
	var out bytes.Buffer
	sum := Run(context.Background(), files, Options{
		Modules: []engine.Module{kvModule()}, Stdlib: fstest.MapFS{"lib.star": {Data: []byte(lib)}},
		Hosts: factory{}, DefaultPreset: "empty", Out: &out,
	})
	got := out.String()
	if sum.Passed != 5 || sum.Failed != 2 {
		t.Errorf("summary %+v, want 5 passed 2 failed:\n%s", sum, got)
	}
	rt := filepath.Join(dir, "r_test.star")
	for _, w := range []string{
		"PASS " + rt + ": test_fresh_converges",
		"PASS " + rt + ": test_default_host_and_vars",
		"PASS " + rt + ": test_fixture",
		"PASS " + rt + ": test_fails",
		"FAIL " + rt + ": test_failing_assertion",
		"    about to fail\n    " + rt + ":31:14: assert.eq: got 1, want 2",
		"FAIL " + rt + ": test_runtime_error",
		rt + ":34:11: key \"nope\" not in dict",
		"5 passed, 2 failed\n",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("output lacks %q:\n%s", w, got)
		}
	}
	if strings.Contains(got, "helper_not_a_test") {
		t.Error("a non-test function ran")
	}
	// Declaration order.
	if strings.Index(got, "test_fresh_converges") > strings.Index(got, "test_runtime_error") {
		t.Error("tests did not run in declaration order")
	}
}

func TestFindRefusesNonTestFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.star")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Find([]string{p}); err == nil {
		t.Fatal("want an error for a file not named *_test.star")
	}
	if _, err := Find([]string{filepath.Join(dir, "missing")}); err == nil {
		t.Fatal("want an error for a missing path")
	}
}

func TestBrokenTestFileCountsAsFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "bad_test.star")
	if err := os.WriteFile(p, []byte("def test_x(t)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum := Run(context.Background(), []string{p}, Options{Hosts: factory{}, Out: &out})
	if sum.Failed != 1 || !strings.Contains(out.String(), p+":2:1: got newline") {
		t.Fatalf("summary %+v output:\n%s", sum, out.String())
	}
}

// TestAssertions runs each assertion in a passing and a failing use: a
// failure must fail the test with the file:line:col of the assert call
// and say what went wrong; an assertion failing inside assert.fails's
// function is a failure, not the expected error.
func TestAssertions(t *testing.T) {
	tests := []struct {
		name string
		body string // the test function's one statement
		want string // "" for a pass, else the failure text after file:
	}{
		{"eq passes", `assert.eq([1, "a"], [1, "a"])`, ""},
		{"eq fails", `assert.eq(1 + 1, 3)`, `2:14: assert.eq: got 2, want 3`},
		{"eq with msg", `assert.eq("x", "y", "names")`, `2:14: names: assert.eq: got "x", want "y"`},
		{"ne passes", `assert.ne(1, 2)`, ""},
		{"ne fails", `assert.ne("a", "a")`, `2:14: assert.ne: got "a", want anything else`},
		{"true passes", `assert.true([0])`, ""},
		{"true fails", `assert.true({})`, `2:16: assert.true: got {}`},
		{"contains passes", `assert.contains({"k": 1}, "k")`, ""},
		{"contains fails", `assert.contains(["a"], "b")`, `2:20: assert.contains: "b" not in ["a"]`},
		{"contains on a non-container", `assert.contains(1, 1)`, `2:20: assert.contains: unknown binary op: int in int`},
		{"fails passes", `assert.fails(lambda: fail("boom 42"), "boom [0-9]+")`, ""},
		{"fails when fn succeeds", `assert.fails(lambda: 1, "boom")`, `2:17: assert.fails: lambda did not fail (want an error matching "boom")`},
		{"fails with another error", `assert.fails(lambda: {}["k"], "boom")`, `2:17: assert.fails: error "key \"k\" not in dict" does not match "boom"`},
		{"fails with a bad pattern", `assert.fails(lambda: fail("x"), "(")`, `2:17: assert.fails: bad pattern "("`},
		{"assertion inside fails", `assert.fails(lambda: assert.eq(1, 2), ".*")`, `2:35: assert.eq: got 1, want 2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "a_test.star")
			if err := os.WriteFile(p, []byte("def test_it(t):\n    "+tt.body+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			sum := Run(context.Background(), []string{p}, Options{Hosts: factory{}, DefaultPreset: "empty", Out: &out})
			if tt.want == "" {
				if sum.Passed != 1 || sum.Failed != 0 || !strings.Contains(out.String(), "1 passed, 0 failed\n") {
					t.Fatalf("want a pass:\n%s", out.String())
				}
				return
			}
			if sum.Passed != 0 || sum.Failed != 1 || !strings.Contains(out.String(), "0 passed, 1 failed\n") {
				t.Fatalf("want a failure:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "FAIL "+p+": test_it") || !strings.Contains(out.String(), p+":"+tt.want) {
				t.Errorf("output lacks %q:\n%s", p+":"+tt.want, out.String())
			}
		})
	}
}
