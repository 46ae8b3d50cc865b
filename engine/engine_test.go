package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/engine")

func TestLoader(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		outside map[string]string // files written next to (outside) the recipe dir
		symlink [2]string         // link (in recipe dir) → target (relative to outside dir)
		wantErr string            // "" means success
	}{
		{name: "stdlib", files: map[string]string{"main.star": `load("@stdlib//helper.star", "twice")
x = twice(2)
`}},
		{name: "relative", files: map[string]string{
			"main.star":     `load("lib/util.star", "f")` + "\nx = f()\n",
			"lib/util.star": `load("more.star", "g")` + "\ndef f():\n    return g()\n",
			"lib/more.star": "def g():\n    return 1\n",
		}},
		{name: "dotdot refused", files: map[string]string{"main.star": `load("../evil.star", "x")`}, wantErr: `".." would leave the recipe's directory`},
		{name: "nested dotdot refused", files: map[string]string{"main.star": `load("lib/../../evil.star", "x")`}, wantErr: `would leave the recipe's directory`},
		{name: "absolute refused", files: map[string]string{"main.star": `load("/etc/evil.star", "x")`}, wantErr: "absolute paths are not allowed"},
		{name: "other repository refused", files: map[string]string{"main.star": `load("@evil//x.star", "x")`}, wantErr: "unknown repository"},
		{name: "stdlib escape refused", files: map[string]string{"main.star": `load("@stdlib//../main.star", "x")`}, wantErr: "not a stdlib module name"},
		{name: "not .star refused", files: map[string]string{"main.star": `load("lib/x.py", "x")`}, wantErr: "module names end in .star"},
		{name: "missing module", files: map[string]string{"main.star": `load("nope.star", "x")`}, wantErr: "nope.star does not exist"},
		{name: "missing stdlib module", files: map[string]string{"main.star": `load("@stdlib//nope.star", "x")`}, wantErr: "no such stdlib module"},
		{
			name:    "symlink out refused",
			files:   map[string]string{"main.star": `load("link.star", "x")`},
			outside: map[string]string{"evil.star": "x = 1\n"},
			symlink: [2]string{"link.star", "evil.star"},
			wantErr: "is a symlink to",
		},
		{
			name: "cycle",
			files: map[string]string{
				"main.star": `load("a.star", "a")`,
				"a.star":    `load("b.star", "b")` + "\na = 1\n",
				"b.star":    `load("a.star", "a")` + "\nb = 1\n",
			},
			wantErr: "load cycle: a.star -> b.star -> a.star",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "recipe")
			writeFiles(t, dir, tc.files)
			writeFiles(t, root, tc.outside)
			if tc.symlink[0] != "" {
				if err := os.Symlink(filepath.Join(root, tc.symlink[1]), filepath.Join(dir, tc.symlink[0])); err != nil {
					t.Fatal(err)
				}
			}
			t.Chdir(dir)
			_, err := Load(context.Background(), "main.star", Options{Host: newScriptedHost(nil), Stdlib: testStdlib})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Load error = %v, want it to contain %q", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), "main.star:1:") && tc.name != "cycle" {
				t.Errorf("error %q lacks the position of the load", err)
			}
		})
	}
}

func TestStdlibLoadedOnce(t *testing.T) {
	// Two modules load the same helper; it must execute once (its print
	// appears once).
	var logs []string
	_, err := loadRecipe(t, context.Background(), map[string]string{
		"main.star": `load("a.star", "a")` + "\n" + `load("b.star", "b")` + "\n",
		"a.star":    `load("c.star", "c")` + "\na = c\n",
		"b.star":    `load("c.star", "c")` + "\nb = c\n",
		"c.star":    "print(\"c executed\")\nc = 1\n",
	}, nil, func(o *Options) { o.Log = func(s string) { logs = append(logs, s) } })
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0] != "c executed" {
		t.Fatalf("print output = %q, want one \"c executed\"", logs)
	}
}

func TestStepLimit(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{
		"main.star": "def spin():\n    n = 0\n    for i in range(10000):\n        for j in range(10000):\n            n += j\n    return n\n\nspin()\n",
	}, nil, func(o *Options) { o.MaxSteps = 10000 })
	if err == nil || !strings.Contains(err.Error(), "step budget of 10000 exceeded") {
		t.Fatalf("err = %v, want the step budget error", err)
	}
	if !strings.Contains(err.Error(), "main.star:5:") {
		t.Errorf("err = %v, want the position of the loop", err)
	}
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	start := time.Now()
	_, err := loadRecipe(t, ctx, map[string]string{
		"main.star": "def spin():\n    n = 0\n    for i in range(1000000):\n        for j in range(1000000):\n            n += j\n    return n\n\nspin()\n",
	}, nil, func(o *Options) { o.MaxSteps = 1 << 62 })
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("cancellation took %v", d)
	}
}

func TestCancelledApplyRunsNothing(t *testing.T) {
	h := newScriptedHost(map[string]string{"a": "0"})
	ctx, cancel := context.WithCancel(context.Background())
	r, err := loadRecipe(t, ctx, map[string]string{"main.star": kvResource + `
allow_writes("/etc/kv")
kv_res("a", "a", "1")
`}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	rep := r.Apply(ctx)
	if rep.ExitCode() != 1 || h.kv["a"] != "0" {
		t.Fatalf("exit %d, kv %v: want 1 and nothing changed", rep.ExitCode(), h.kv)
	}
}

func TestErrorPositionAndBacktrace(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{
		"main.star": "load(\"lib.star\", \"f\")\n\nf()\n",
		"lib.star":  "def f():\n    g()\n\ndef g():\n    fail(\"boom\")\n",
	}, nil, nil)
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	for _, want := range []string{
		"lib.star:5:9: fail: boom",
		"Traceback (most recent call last):",
		"main.star:3:2: in <toplevel>",
		"lib.star:2:6: in f",
		"lib.star:5:9: in g",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

func TestErrorThroughLoad(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"runtime error in stdlib", map[string]string{"main.star": "load(\"@stdlib//bad.star\", \"broken\")\n"},
			[]string{"@stdlib//bad.star:2:9: fail: stdlib exploded", "main.star:1:1: in <toplevel>", "@stdlib//bad.star:4:7: in <toplevel>"}},
		{"syntax error in loaded file", map[string]string{"main.star": "x = 1\nload(\"lib.star\", \"f\")\n", "lib.star": "def f(:\n"},
			[]string{"lib.star:1:8: got ':', want ')'", "main.star:2:1: in <toplevel>"}},
		{"syntax error in recipe", map[string]string{"main.star": "x = = 1\n"}, []string{"main.star:1:5:"}},
		{"undefined names all reported", map[string]string{"main.star": "a = nope1\nb = nope2\n"},
			[]string{"main.star:1:5: undefined: nope1", "main.star:2:5: undefined: nope2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := loadRecipe(t, context.Background(), tc.files, nil, nil)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%s", w, err)
				}
			}
		})
	}
}

func TestValidationErrorsAggregated(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": kvResource + `
kv_res("a", "a", "1")
kv_res("a", "a", "2")
resource(id = "b", kind = "kv", want = {}, check = lambda: {}, colour = "red", fix = lambda h, w: None)
resource(id = "c", kind = "kv", want = [], check = lambda: {})
resource(id = "d", kind = "assert", want = {}, check = lambda: {})
resource(id = "e", kind = "kv", want = {}, check = lambda: {}, fix = lambda h, w: None, requires = ["zz"])

def fetch(**kw):
    a = args("fetch", kw, required = {"url": "string", "sha256": "sha256"}, optional = {"mode": ("mode", 0o644)})
    return a

fetch(url = "https://x", sha256 = "ABC", mod = 1)
fetch(sha256 = 5)
x = var("count", 1)
`}, nil, func(o *Options) { o.Vars = map[string]string{"count": "many", "typo": "1"} })
	if err == nil {
		t.Fatal("want errors")
	}
	var m *multierror.Error
	if !errors.As(err, &m) {
		t.Fatalf("err is %T, want a multierror", err)
	}
	want := []string{
		`main.star:13:7: resource "a": duplicate resource id (first declared at main.star:12:7)`,
		`main.star:14:9: resource "b": unknown keyword argument "colour"`,
		`main.star:15:9: resource "c": want: want a dict`,
		`main.star:16:9: resource "d": an assertion (no fix) needs a remediation`,
		`main.star:17:9: resource "e": requires "zz", which is not declared before it`,
		`main.star:23:6: fetch: unknown keyword argument "mod"`,
		`main.star:23:6: fetch: sha256: malformed SHA-256 "ABC"`,
		`main.star:24:6: fetch: sha256: want sha256, got int`,
		`main.star:24:6: fetch: missing required argument "url"`,
		`main.star:25:8: var count: "many" is not an integer`,
		`main.star: --var typo: the recipe has no var("typo")`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q in\n%s", w, err)
		}
	}
	if len(m.Errors) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(m.Errors), len(want), err)
	}
}

func TestQueryRefusedAtTopLevel(t *testing.T) {
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": "x = kv.get()\n"}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "main.star:1:11: kv.get: kv.get is a query of the host") {
		t.Fatalf("err = %v", err)
	}
}

func TestDeclarationRefusedInCheck(t *testing.T) {
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
resource(id = "a", kind = "x", want = {"v": 1}, check = lambda: {"v": var("v", 1)}, fix = lambda h, w: None)
`}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	got := rep.Resources[0]
	if got.Status != StatusFailed || !strings.Contains(got.Error, "var declares part of the recipe") {
		t.Fatalf("got %+v", got)
	}
}

func TestPlanAndApply(t *testing.T) {
	h := newScriptedHost(map[string]string{"a": "0", "c": "0", "same": "1"})
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": kvResource + `
allow_writes("/etc/kv")
kv_res("a", "a", "1")
kv_res("broken", "broken", "1")
kv_res("after-broken", "x", "1", requires = ["broken"])
kv_res("after-after", "y", "1", requires = ["after-broken"])
kv_res("same", "same", "1")
kv_res("c", "c", "2", requires = ["a"])
kv_res("sticky", "sticky", "1")
`}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	plan := r.Plan(context.Background())
	ids := []string{}
	for _, res := range plan.Resources {
		ids = append(ids, res.ID+"="+string(res.Status))
	}
	wantPlan := "a=change broken=change after-broken=change after-after=change same=ok c=change sticky=change"
	if strings.Join(ids, " ") != wantPlan {
		t.Fatalf("plan = %s\nwant   %s", strings.Join(ids, " "), wantPlan)
	}
	if plan.ExitCode() != 0 || h.kv["a"] != "0" {
		t.Fatalf("plan exit %d, host %v: a plan must change nothing", plan.ExitCode(), h.kv)
	}
	if got := plan.Resource("a").Actions[0]; got.Reason != `a: "0" → "1"` || strings.Join(got.Argv, " ") != "/usr/bin/kv set a 1" {
		t.Fatalf("action = %+v", got)
	}

	rep := r.Apply(context.Background())
	status := map[string]Status{}
	for _, res := range rep.Resources {
		status[res.ID] = res.Status
	}
	want := map[string]Status{
		"a": StatusChange, "broken": StatusFailed, "after-broken": StatusSkipped, "after-after": StatusSkipped,
		"same": StatusOK, "c": StatusChange, "sticky": StatusFailed,
	}
	for id, st := range want {
		if status[id] != st {
			t.Errorf("%s: status %s, want %s", id, status[id], st)
		}
	}
	if h.kv["a"] != "1" || h.kv["c"] != "2" {
		t.Errorf("host = %v: independent resources must be applied", h.kv)
	}
	if _, ran := h.kv["x"]; ran {
		t.Errorf("a resource depending on a failure ran")
	}
	broken := rep.Resource("broken").Error
	for _, w := range []string{"/usr/bin/kv set broken 1 (as root) exited 77", "permission denied"} {
		if !strings.Contains(broken, w) {
			t.Errorf("failure %q lacks %q", broken, w)
		}
	}
	if e := rep.Resource("after-broken").Error; e != "requires broken, which failed" {
		t.Errorf("skip reason = %q", e)
	}
	if e := rep.Resource("after-after").Error; e != "requires after-broken, which was skipped" {
		t.Errorf("skip reason = %q", e)
	}
	sticky := rep.Resource("sticky").Error
	for _, w := range []string{"did not converge", `sticky: absent, want "1"`, "last command: /usr/bin/kv set sticky 1 (as root) exited 0", "pretended to set sticky"} {
		if !strings.Contains(sticky, w) {
			t.Errorf("non-convergence %q lacks %q", sticky, w)
		}
	}
	if rep.ExitCode() != 1 || rep.Converged() {
		t.Errorf("apply exit %d converged %v, want 1 false", rep.ExitCode(), rep.Converged())
	}
	// Facts are forgotten after actions: the re-check of "a" re-read the host.
	gets := 0
	for _, e := range rep.HostCommands {
		if strings.Join(e.Argv, " ") == "/usr/bin/kv get" {
			gets++
		}
	}
	if gets < 4 {
		t.Errorf("kv get ran %d times; re-checks must read the host afresh", gets)
	}
}

func TestAllowlistRefusesWholeRun(t *testing.T) {
	h := newScriptedHost(map[string]string{"a": "0"})
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": kvResource + `
allow_writes("/etc/kv/a")
kv_res("a", "a", "1")
kv_res("b", "b", "1")
`}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Apply(context.Background())
	if rep.ExitCode() != 1 || len(rep.Errors) != 2 || !strings.Contains(rep.Errors[1], "resource b: write to /etc/kv/b refused") {
		t.Fatalf("exit %d errors %q", rep.ExitCode(), rep.Errors)
	}
	if h.kv["a"] != "0" {
		t.Fatalf("an action ran although the run was refused")
	}
}

func TestCheckStatuses(t *testing.T) {
	tests := []struct {
		name   string
		recipe string
		status Status
		exit   int
	}{
		{"ok", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: {"v": 1}, fix = lambda h, w: None)`, StatusOK, 0},
		{"change", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: {"v": 2}, fix = lambda h, w: None)`, StatusChange, 2},
		{"assert", `resource(id = "r", kind = "assert", want = {"v": 1}, check = lambda: {"v": 2}, remediation = "do it")`, StatusAssertFailed, 2},
		{"unknown", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: {"v": unknown("no FDA")}, fix = lambda h, w: None)`, StatusUnknown, 0},
		{"at_least", `resource(id = "r", kind = "k", want = {"v": at_least(10)}, check = lambda: {"v": 12}, fix = lambda h, w: None)`, StatusOK, 0},
		{"at_least fails", `resource(id = "r", kind = "k", want = {"v": at_least(10)}, check = lambda: {"v": 9.5}, fix = lambda h, w: None)`, StatusChange, 2},
		{"version", `resource(id = "r", kind = "k", want = {"v": version_at_least("15.9")}, check = lambda: {"v": "15.10.1"}, fix = lambda h, w: None)`, StatusOK, 0},
		{"version fails", `resource(id = "r", kind = "k", want = {"v": version_at_least("15.10")}, check = lambda: {"v": "15.9"}, remediation = "upgrade")`, StatusAssertFailed, 2},
		{"arm release newer", `resource(id = "r", kind = "k", want = {"v": version_at_least("14.3.rel1")}, check = lambda: {"v": "15.2.Rel1"}, fix = lambda h, w: None)`, StatusOK, 0},
		{"arm release older", `resource(id = "r", kind = "k", want = {"v": version_at_least("14.3.rel1")}, check = lambda: {"v": "14.2.rel1"}, remediation = "upgrade")`, StatusAssertFailed, 2},
		{"not a version", `resource(id = "r", kind = "k", want = {"v": version_at_least("14.3.rel1")}, check = lambda: {"v": "15.2.rel1, incomplete"}, remediation = "upgrade")`, StatusAssertFailed, 2},
		{"one_of", `resource(id = "r", kind = "k", want = {"v": one_of("on", "encrypting")}, check = lambda: {"v": "on"}, fix = lambda h, w: None)`, StatusOK, 0},
		{"check error", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: 1 // 0, fix = lambda h, w: None)`, StatusFailed, 1},
		{"check not a dict", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: [1], fix = lambda h, w: None)`, StatusFailed, 1},
		{"fix returns junk", `resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: {"v": 2}, fix = lambda h, w: "oops")`, StatusFailed, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": tc.recipe + "\n"}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep := r.Check(context.Background())
			if got := rep.Resources[0].Status; got != tc.status {
				t.Errorf("status %s, want %s (%s)", got, tc.status, rep.Resources[0].Error)
			}
			if rep.ExitCode() != tc.exit {
				t.Errorf("exit %d, want %d", rep.ExitCode(), tc.exit)
			}
		})
	}
}

// TestInstalledVersions: a check lists the version every resource that
// wants a "version" property reported, ok or not, in its text (under
// "installed versions:") and its JSON ("version"); a plan's text does
// not, and a resource that wants no version has none.
func TestInstalledVersions(t *testing.T) {
	src := `resource(id = "tool", kind = "k", want = {"version": version_at_least("1.2")}, check = lambda: {"version": "1.10"}, fix = lambda h, w: None)
resource(id = "old", kind = "k", want = {"version": "2.0"}, check = lambda: {"version": "1.9"}, fix = lambda h, w: None)
resource(id = "other", kind = "k", want = {"v": 1}, check = lambda: {"v": 1, "version": "3.0"}, fix = lambda h, w: None)
`
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": src}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Check(context.Background())
	var text, js strings.Builder
	if err := rep.WriteText(&text, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "installed versions:\n  tool 1.10\n  old 1.9\n\n") {
		t.Errorf("check text lacks the installed versions:\n%s", text.String())
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Resources []struct{ ID, Version string } `json:"resources"`
	}
	if err := json.Unmarshal([]byte(js.String()), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"tool": "1.10", "old": "1.9", "other": ""}
	for _, res := range got.Resources {
		if res.Version != want[res.ID] {
			t.Errorf("JSON version of %s is %q, want %q", res.ID, res.Version, want[res.ID])
		}
	}
	plan := r.Plan(context.Background())
	var pt strings.Builder
	if err := plan.WriteText(&pt, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(pt.String(), "installed versions") {
		t.Errorf("a plan lists installed versions:\n%s", pt.String())
	}
}

func TestSecretRedaction(t *testing.T) {
	const token = "SECRETTOKENVALUE0123456789ABC"
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
tok = secret("runner_token")
print("token is", tok)
resource(
    id = "login", kind = "runner",
    want = {"registered": True},
    check = lambda: {"registered": False},
    fix = lambda have, want: kv.login(tok),
)
`}, nil, func(o *Options) { o.Secrets = mapSecrets{"runner_token": token} })
	if err != nil {
		t.Fatal(err)
	}
	plan := r.Plan(context.Background())
	var pj bytes.Buffer
	if err := plan.WriteJSON(&pj); err != nil {
		t.Fatal(err)
	}
	rep := r.Apply(context.Background())
	var text, js bytes.Buffer
	if err := rep.WriteText(&text, TextOptions{Commands: true}); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "json": js.String(), "plan json": pj.String()} {
		if strings.Contains(out, token) {
			t.Errorf("%s report leaks the token:\n%s", name, out)
		}
	}
	if !strings.Contains(text.String(), "login: bad token <secret runner_token>") {
		t.Errorf("text lacks the scrubbed stderr:\n%s", text.String())
	}
	if rep.Resource("login").Status != StatusFailed {
		t.Errorf("status %s", rep.Resource("login").Status)
	}
	for _, e := range rep.HostCommands {
		if strings.Contains(e.Stderr, token) {
			t.Errorf("transcript leaks the token: %q", e.Stderr)
		}
	}
}

func TestSecretStringAndMisuse(t *testing.T) {
	var logs []string
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
s = secret("runner_token")
print(s, repr(s), str([s]))
x = "a" + s
`}, nil, func(o *Options) { o.Log = func(s string) { logs = append(logs, s) } })
	if err == nil || !strings.Contains(err.Error(), "main.star:4:9: unknown binary op: string + secret") {
		t.Fatalf("err = %v", err)
	}
	if len(logs) != 1 || logs[0] != "<secret runner_token> <secret runner_token> [<secret runner_token>]" {
		t.Fatalf("print = %q", logs)
	}
}

func TestRandomPassword(t *testing.T) {
	p, err := randomPassword(bytes.NewReader(bytes.Repeat([]byte{0, 61, 250, 62}, 64)), 24)
	if err != nil {
		t.Fatal(err)
	}
	if p != strings.Repeat("A9A", 8) {
		t.Fatalf("password %q", p)
	}
	if _, err := randomPassword(bytes.NewReader(nil), 24); err == nil {
		t.Fatal("want an error when randomness runs out")
	}
}

func TestBrewOwnerDeclaration(t *testing.T) {
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `declare("brew", owner = "alice")` + "\n"}, nil,
		func(o *Options) { o.Principals = Principals{BrewOwner: "admin"} })
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Session().Principals().BrewOwner; got != "alice" {
		t.Fatalf("BrewOwner = %q", got)
	}
}

func TestVars(t *testing.T) {
	var logs []string
	_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
print(var("n", 1) + 1, var("s", "x"), var("b", False), var("l", []), var("unset", 7))
`}, nil, func(o *Options) {
		o.Vars = map[string]string{"n": "4", "s": "hello", "b": "true", "l": "a, b"}
		o.Log = func(s string) { logs = append(logs, s) }
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) != 1 || logs[0] != `5 hello True ["a", "b"] 7` {
		t.Fatalf("print = %q", logs)
	}
}

// goldenRecipe exercises every part of the report formats.
const goldenRecipe = kvResource + `
allow_writes("/etc/kv")
kv_res("a", "a", "1")
kv_res("same", "same", "1")
resource(
    id = "motd", kind = "file",
    want = {"content": "line 1\nline 2 new\nline 3\n", "mode": 0o644},
    check = lambda: {"content": "line 1\nline 2\nline 3\n", "mode": 0o600},
    fix = lambda have, want: kv.set("motd", "x").because("rewrite the motd"),
)
resource(
    id = "filevault", kind = "assert",
    want = {"state": "off"},
    check = lambda: {"state": "on"},
    remediation = "Turn FileVault off:\nSystem Settings > Privacy & Security.",
)
resource(
    id = "tcc", kind = "privacy",
    want = {"grants": ["kTCCServiceSystemPolicyAllFiles"]},
    check = lambda: {"grants": unknown("TCC.db unreadable without Full Disk Access")},
    fix = lambda have, want: None,
)
`

func TestReportGolden(t *testing.T) {
	h := newScriptedHost(map[string]string{"a": "0", "same": "1"})
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": goldenRecipe}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	var js, text, color bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(&text, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteText(&color, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	golden(t, "plan.json", js.Bytes())
	golden(t, "plan.txt", text.Bytes())
	if strings.Contains(text.String(), "\x1b[") {
		t.Error("plain text contains colour codes")
	}
	if !strings.Contains(color.String(), "\x1b[33m~ ") {
		t.Error("coloured text lacks colour codes")
	}
	// The JSON contract: exactly these keys (DESIGN.md's, plus the ones
	// added since: a resource's effect, doc and remediation; the summary's
	// split of "change" by effect).
	var obj map[string]any
	if err := json.Unmarshal(js.Bytes(), &obj); err != nil {
		t.Fatal(err)
	}
	if keys(obj) != "host_commands resources summary" {
		t.Errorf("top-level keys %s", keys(obj))
	}
	if got := keys(obj["summary"].(map[string]any)); got != "assert_failed change create destroy failed ok replace skipped total unknown update" {
		t.Errorf("summary keys %s", got)
	}
	res := obj["resources"].([]any)[0].(map[string]any)
	if keys(res) != "actions changes effect id kind status" {
		t.Errorf("resource keys %s", keys(res))
	}
	byID := map[string]map[string]any{}
	for _, r := range obj["resources"].([]any) {
		m := r.(map[string]any)
		byID[m["id"].(string)] = m
	}
	if got := keys(byID["filevault"]); got != "actions changes id kind remediation status" {
		t.Errorf("assertion keys %s", got)
	}
	act := res["actions"].([]any)[0].(map[string]any)
	if keys(act) != "argv reason user" {
		t.Errorf("action keys %s", keys(act))
	}
	ch := res["changes"].([]any)[0].(map[string]any)
	if keys(ch) != "after before property" {
		t.Errorf("change keys %s", keys(ch))
	}
	cmd := obj["host_commands"].([]any)[0].(map[string]any)
	if keys(cmd) != "argv user" {
		t.Errorf("host command keys %s", keys(cmd))
	}
}

func keys(m map[string]any) string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sortStrings(ks)
	return strings.Join(ks, " ")
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join(goldenDir(t), name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test ./engine -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./engine -update to accept):\n%s", name, UnifiedDiff(string(want), string(got), 3))
	}
}

var goldenRoot string

func goldenDir(t *testing.T) string {
	t.Helper()
	return goldenRoot
}

func TestMain(m *testing.M) {
	flag.Parse()
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	goldenRoot = filepath.Join(wd, "..", "testdata", "engine")
	os.Exit(m.Run())
}

func TestUnifiedDiff(t *testing.T) {
	a := "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n"
	b := "1\n2\n3\n4\nfive\n6\n7\n8\n9\n10\n"
	want := "@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n"
	if got := UnifiedDiff(a, b, 3); got != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", got, want)
	}
	if UnifiedDiff(a, a, 3) != "" {
		t.Fatal("equal texts must give no diff")
	}
	// A new file: the empty old range starts at line 0, as in diff -u.
	if got, want := UnifiedDiff("", "x\ny\n", 3), "@@ -0,0 +1,2 @@\n+x\n+y\n"; got != want {
		t.Fatalf("diff of a new file:\n%s\nwant:\n%s", got, want)
	}
}

func TestEveryPredeclaredBuiltinIsDocumented(t *testing.T) {
	missing, err := MissingDocs([]Module{kvModule()}, testStdlib)
	if err != nil {
		t.Fatal(err)
	}
	// bad.star's broken() has no docstring; everything else is documented.
	if len(missing) != 1 || !strings.HasPrefix(missing[0], "broken (@stdlib//bad.star:1:1)") {
		t.Fatalf("missing docs: %q", missing)
	}
	undocumented := Module{Name: "x", Doc: "X.", Builtins: []Builtin{{Name: "nodoc"}}}
	missing, err = MissingDocs([]Module{undocumented}, nil)
	if err != nil || len(missing) != 1 || missing[0] != "x.nodoc" {
		t.Fatalf("missing = %q, %v", missing, err)
	}
	var b bytes.Buffer
	if err := Reference(&b, []Module{kvModule()}, testStdlib); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"### `resource(id, kind, want", "## Module `kv`", "### `kv.set(key, value)` (action)", "### `twice(x)`", "Doubles x."} {
		if !strings.Contains(b.String(), w) {
			t.Errorf("reference lacks %q", w)
		}
	}
}

func TestErrorsRecordedDuringFixFailTheResource(t *testing.T) {
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
def fix(have, want):
    args("fixer", {"bogus": 1})
    return None

resource(id = "r", kind = "k", want = {"v": 1}, check = lambda: {"v": 2}, fix = fix)
`}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	if got := rep.Resources[0]; got.Status != StatusFailed || !strings.Contains(got.Error, `fixer: unknown keyword argument "bogus"`) {
		t.Fatalf("got %+v", got)
	}
	if rep.ExitCode() != 1 {
		t.Fatalf("exit %d", rep.ExitCode())
	}
}
