package workflow

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"
)

// evalDecls evaluates Starlark source with a declare() that records its
// keyword arguments, as the engine's predeclared declare does.
func evalDecls(t *testing.T, src string) []Declaration {
	t.Helper()
	var decls []Declaration
	declare := starlark.NewBuiltin("declare", func(th *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var kind string
		if err := starlark.UnpackPositionalArgs("declare", args, nil, 1, &kind); err != nil {
			return nil, err
		}
		d := starlark.NewDict(len(kwargs))
		for _, kv := range kwargs {
			if err := d.SetKey(kv[0], kv[1]); err != nil {
				return nil, err
			}
		}
		decls = append(decls, Declaration{Kind: kind, Pos: th.CallFrame(1).Pos.String(), Fields: d})
		return starlark.None, nil
	})
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{}, &starlark.Thread{}, "r.star", src, starlark.StringDict{"declare": declare})
	if err != nil {
		t.Fatal(err)
	}
	return decls
}

func TestFactsFromDeclarations(t *testing.T) {
	decls := evalDecls(t, `
declare("runner", labels = ["self-hosted", "macOS", "arm64"], url = "https://github.com/octo/repo", name = "r1", count = 1)
declare("brew", prefix = "/opt/homebrew", owner = "admin", formulae = ["binutils", "messense/macos-cross-toolchains/aarch64-unknown-linux-gnu"], casks = ["gcc-aarch64-embedded"])
declare("toolchain", name = "aarch64-linux-gnu", path = "/opt/toolchain/aarch64-linux-gnu")
declare("rosetta", path = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta")
declare("fixtures", dir = "/x")
declare("workflow_job", id = "runtime-macos", needs = ["build-macos"], if_ = "github.event_name == 'push'",
    runs_on = ["self-hosted"], timeout_minutes = 30,
    concurrency = {"group": "g-${{ github.ref }}", "cancel-in-progress": False},
    env = {"A": "1", "B": "/b"},
    steps = [{"name": "Checkout", "uses": "actions/checkout@abc", "with": {"fetch-depth": 0}}, {"run": "make"}])
`)
	f, err := FactsFromDeclarations(decls)
	if err != nil {
		t.Fatal(err)
	}
	if f.Repository() != "octo/repo" || strings.Join(f.Labels, ",") != "self-hosted,macOS,arm64" || f.RunnerName != "r1" {
		t.Errorf("runner: %+v", f)
	}
	if f.ObjcopyPath != "/opt/homebrew/opt/binutils/bin/objcopy" {
		t.Errorf("objcopy %q", f.ObjcopyPath)
	}
	if !f.HasFormula("aarch64-unknown-linux-gnu") || !f.HasFormula("BINUTILS") || f.HasFormula("qemu") || !f.HasFormula("gcc-aarch64-embedded") {
		t.Errorf("formulae %v casks %v", f.Formulae, f.Casks)
	}
	j := f.Job
	if j == nil || j.ID != "runtime-macos" || j.If != "github.event_name == 'push'" || j.TimeoutMinutes != 30 ||
		j.Concurrency == nil || j.Concurrency.CancelInProgress != "false" || len(j.Env) != 2 || j.Env[0] != (KV{"A", "1"}) ||
		len(j.Steps) != 2 || j.Steps[0].With[0] != (KV{"fetch-depth", "0"}) || j.Steps[1].Run != "make" {
		t.Errorf("job: %+v", j)
	}
	if !strings.HasPrefix(j.Pos, "r.star:7:") {
		t.Errorf("job position %q", j.Pos)
	}
}

func TestFactsErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`declare("runner", labels = "self-hosted,macOS")`, ""},
		{`declare("runner", labels = [1, 2])`, "r.star:1:8: runner(labels): want a list of strings"},
		{`declare("workflow_job", id = "x", timeout_minutes = "60")`, "timeout_minutes): want a positive int"},
		{`declare("workflow_job", name = "x")`, "a workflow_job needs an id"},
		{`declare("workflow_job", id = "x", steps = [{"name": "n"}])`, "step 1: exactly one of uses and run is needed"},
		{`declare("workflow_job", id = "x", steps = [{"run": "a", "script": "b"}])`, "unknown step key"},
		{`declare("workflow_job", id = "x", concurrency = {"grp": "a"})`, `unknown key "grp"`},
		{"declare(\"workflow_job\", id = \"a\")\ndeclare(\"workflow_job\", id = \"b\")", "r.star:2:8: a second workflow_job declaration (the first is at r.star:1:8)"},
		{`declare("toolchain", name = "x")`, "a toolchain needs a path"},
	} {
		_, err := FactsFromDeclarations(evalDecls(t, tc.src))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestLoadRecipe(t *testing.T) {
	boom := errors.New("boom")
	_, err := LoadRecipe(context.Background(), "r.star", func(context.Context, string) ([]Declaration, error) { return nil, boom })
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "evaluating recipe r.star") {
		t.Errorf("error %v", err)
	}
	if _, err := LoadRecipe(context.Background(), "r.star", nil); err == nil {
		t.Errorf("a nil loader must be an error")
	}
	f, err := LoadRecipe(context.Background(), "r.star", func(context.Context, string) ([]Declaration, error) { return nil, nil })
	if err != nil || f.Source != "r.star" || f.Repository() != DefaultRepository {
		t.Errorf("facts %+v, %v", f, err)
	}
}

// TestJobBranchAndLabel: the workflow_job declaration gives the default
// branch and opt-in label when the runner declaration does not, and its
// permissions; the runner's win.
func TestJobBranchAndLabel(t *testing.T) {
	for _, tc := range []struct {
		src, branch, label, perms string
	}{
		{`declare("runner", labels = ["a"])
declare("workflow_job", id = "j", default_branch = "trunk", opt_in_label = "run-mac", permissions = {"contents": "read", "checks": "read"})`, "trunk", "run-mac", "contents=read,checks=read"},
		{`declare("runner", labels = ["a"], default_branch = "main", opt_in_label = "ci-hvf")
declare("workflow_job", id = "j", default_branch = "trunk", opt_in_label = "run-mac")`, "main", "ci-hvf", "contents=read"},
	} {
		f, err := FactsFromDeclarations(evalDecls(t, tc.src))
		if err != nil {
			t.Fatal(err)
		}
		var perms []string
		for _, kv := range f.Job.JobPermissions() {
			perms = append(perms, kv.Key+"="+kv.Value)
		}
		if f.DefaultBranch != tc.branch || f.OptInLabel != tc.label || strings.Join(perms, ",") != tc.perms {
			t.Errorf("%s: branch %q label %q permissions %v, want %q %q %q", tc.src, f.DefaultBranch, f.OptInLabel, perms, tc.branch, tc.label, tc.perms)
		}
	}
}
