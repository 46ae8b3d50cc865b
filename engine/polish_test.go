package engine

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"
)

// argsLib is a stdlib-like module whose functions validate their keywords
// with args() and then use the fields in ways that would crash on None.
const argsLib = `
def directory(**kwargs):
    a = args("directory", kwargs, required = {"path": "path", "mode": "mode"}, optional = {"owner": ("string", "root"), "note": "string"})
    if not a.ok:
        return None
    resource("dir:" + a.path, "dir", {"mode": a.mode, "owner": a.owner}, lambda: {"mode": a.mode, "owner": a.owner}, fix = lambda have, want: None)
    return "dir:" + a.path

def fields(**kwargs):
    return args("fields", kwargs, required = {"path": "path", "count": "int"}, optional = {"owner": ("string", "root"), "note": "string", "mode": ("mode", 0o644)})
`

func TestArgsEveryFieldPresent(t *testing.T) {
	tests := []struct {
		name, call, want string
	}{
		{"valid", `fields(path = "/x", count = 2)`, `struct(count = 2, mode = 420, note = None, ok = True, owner = "root", path = "/x")`},
		{"wrong required type", `fields(path = 5, count = 2)`, `struct(count = 2, mode = 420, note = None, ok = False, owner = "root", path = None)`},
		{"missing required", `fields(count = 2)`, `struct(count = 2, mode = 420, note = None, ok = False, owner = "root", path = None)`},
		{"wrong optional type", `fields(path = "/x", count = 2, mode = 0o17777)`, `struct(count = 2, mode = None, note = None, ok = False, owner = "root", path = "/x")`},
		{"unknown keyword", `fields(path = "/x", count = 2, colour = "red")`, `struct(count = 2, mode = 420, note = None, ok = False, owner = "root", path = "/x")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newScriptedHost(nil)
			dir := t.TempDir()
			writeFiles(t, dir, map[string]string{"lib.star": argsLib, "main.star": "load(\"lib.star\", \"fields\")\nprint(" + tc.call + ")\n"})
			t.Chdir(dir)
			var logged []string
			_, _ = Load(context.Background(), "main.star", Options{Host: h, Modules: []Module{kvModule()}, Stdlib: testStdlib, Log: func(s string) { logged = append(logged, s) }})
			if len(logged) != 1 || logged[0] != tc.want {
				t.Fatalf("args() gave %q, want %s", logged, tc.want)
			}
		})
	}
}

func TestArgsErrorsOfThreeCallsReportedTogether(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{
		"lib.star": argsLib,
		"main.star": `load("lib.star", "directory")

directory(path = "relative", mode = 0o755)
directory(path = "/ok", mode = 0o755)
directory(path = 7, mode = "755")
directory(mode = 0o755, colour = "red")
`,
	}, nil, nil)
	if err == nil {
		t.Fatal("want errors")
	}
	var m *multierror.Error
	if !errors.As(err, &m) {
		t.Fatalf("err is %T, want a multierror: %v", err, err)
	}
	want := []string{
		`main.star:3:10: directory: path: "relative" is not an absolute path`,
		`main.star:5:10: directory: path: want path, got int`,
		`main.star:5:10: directory: mode: want mode, got string`,
		`main.star:6:10: directory: unknown keyword argument "colour"`,
		`main.star:6:10: directory: missing required argument "path"`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q in\n%s", w, err)
		}
	}
	if len(m.Errors) != len(want) {
		t.Errorf("got %d errors, want %d (no crash of the stdlib function after a refused argument):\n%s", len(m.Errors), len(want), err)
	}
}

func TestArgsReservedName(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
def f(**kw):
    return args("f", kw, required = {"ok": "bool"})

f(ok = True)
`}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `args("f"): "ok" is reserved`) {
		t.Fatalf("err = %v", err)
	}
}

func TestPrincipals(t *testing.T) {
	tests := []struct {
		name string
		p    Principals
		src  string
		want string
	}{
		{"fake", Principals{BrewOwner: "admin", Invoker: "admin"}, "", `struct(brew_owner = "admin", invoker = "admin")`},
		{"nobody", Principals{}, "", `struct(brew_owner = None, invoker = None)`},
		{"declared owner", Principals{BrewOwner: "admin", Invoker: "bob"}, "declare(\"brew\", owner = \"alice\")\n", `struct(brew_owner = "alice", invoker = "bob")`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logged []string
			r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": tc.src + "print(principals())\n"}, nil, func(o *Options) {
				o.Principals = tc.p
				o.Log = func(s string) { logged = append(logged, s) }
			})
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if len(logged) != 1 || logged[0] != tc.want {
				t.Fatalf("principals() = %q, want %s", logged, tc.want)
			}
		})
	}
}

func TestBrewOwnerRootRefused(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `declare("brew", owner = "root")` + "\n"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `main.star:1:8: declare("brew"): owner root refused`) {
		t.Fatalf("err = %v", err)
	}
}

func TestAllowWritesPatterns(t *testing.T) {
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
allow_writes("/opt/toolchain", "/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.*.plist")
`}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	tests := []struct {
		path string
		ok   bool
	}{
		{"/opt/toolchain/x/y", true},
		{"/opt/toolchain", true},
		{"/opt/toolchainx", false},
		{"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist", true},
		{"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.x/y.plist", false},
		{"/Library/LaunchDaemons/actions.runner.other-repo.mini-1.plist", false},
		{"/Library/LaunchDaemons/com.apple.x.plist", false},
		{"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist.bak", false},
	}
	for _, tc := range tests {
		if err := r.Session().CheckWrite(tc.path); (err == nil) != tc.ok {
			t.Errorf("CheckWrite(%s) = %v, want allowed=%v", tc.path, err, tc.ok)
		}
	}

	_, err = loadRecipe(t, context.Background(), map[string]string{"main.star": `
allow_writes("/Library/LaunchDaemons/*")
allow_writes("/Library/*/x.plist")
allow_writes("/tmp/[")
`}, nil, nil)
	for _, w := range []string{
		`main.star:2:13: allow_writes: pattern "/Library/LaunchDaemons/*": the last element must start with a literal name`,
		`main.star:3:13: allow_writes: pattern "/Library/*/x.plist": only the last path element may hold wildcards`,
		`main.star:4:13: allow_writes: pattern "/tmp/[": malformed pattern`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q in\n%v", w, err)
		}
	}
}

func TestKeepSurvivesForgetFacts(t *testing.T) {
	s := NewSession(context.Background(), SessionOptions{Host: newScriptedHost(nil)})
	n := 0
	get := func() *int { return s.Keep("k", func() any { n++; return &n }).(*int) }
	first := get()
	s.ForgetFacts()
	if second := get(); second != first || n != 1 {
		t.Fatalf("Keep made a new value after ForgetFacts (%d inits)", n)
	}
}
