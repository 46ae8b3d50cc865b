package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/audit"
)

var update = flag.Bool("update", false, "rewrite testdata/workflows/*.expect.json from the current results")

// dir holds the workflow corpus.
const dir = "../../testdata/workflows"

// expectation is NAME.expect.json: the inputs beyond the file (labels,
// recipe) and the expected outcome.
type expectation struct {
	// Labels, Recipe, Repo, DefaultBranch, Label and TrustCallee are
	// inputs: --labels, --recipe, --repo, --default-branch, --label and
	// --trust-callee; With are more files (in this directory) audited in
	// the same run.
	Labels        []string `json:"labels,omitempty"`
	Recipe        string   `json:"recipe,omitempty"`
	Repo          string   `json:"repo,omitempty"`
	DefaultBranch string   `json:"default_branch,omitempty"`
	Label         string   `json:"label,omitempty"`
	TrustCallee   []string `json:"trust_callee,omitempty"`
	With          []string `json:"with,omitempty"`
	// Exit is what `hvfctl workflow audit` exits with.
	Exit int `json:"exit"`
	// Error is a substring of the bad-input error (file:line: ...).
	Error string         `json:"error,omitempty"`
	Jobs  []expectedJob  `json:"jobs,omitempty"`
	Notes map[string]any `json:"notes,omitempty"`
}

type expectedJob struct {
	// File is the file of a job reported from another file of the run
	// (a callee); empty for the case's own file.
	File string `json:"file,omitempty"`
	// CalledBy is the job's caller (FILE:JOB, base names), for a callee.
	CalledBy string `json:"called_by,omitempty"`
	// Environment is the job's environment: name, when it has one.
	Environment string `json:"environment,omitempty"`
	ID          string `json:"id"`
	Lands       bool   `json:"lands"`
	Verdict     string `json:"verdict"`
	// Reachable lists exactly the reachable rows.
	Reachable []string          `json:"reachable"`
	Findings  []expectedFinding `json:"findings"`
}

type expectedFinding struct {
	Rule  string `json:"rule"`
	Level string `json:"level"`
	// Witness must be a substring of the finding's witness.
	Witness string `json:"witness"`
}

// loadStar evaluates a small recipe with a declare() builtin, as the
// engine's predeclared declare does.
func loadStar(_ context.Context, path string) ([]workflow.Declaration, error) {
	var decls []workflow.Declaration
	declare := starlark.NewBuiltin("declare", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
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
		decls = append(decls, workflow.Declaration{Kind: kind, Pos: t.CallFrame(1).Pos.String(), Fields: d})
		return starlark.None, nil
	})
	th := &starlark.Thread{Name: path}
	_, err := starlark.ExecFileOptions(&syntax.FileOptions{}, th, path, nil, starlark.StringDict{"declare": declare})
	return decls, err
}

func TestCorpus(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	yamls, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	files = append(files, yamls...)
	if err != nil || len(files) < 30 {
		t.Fatalf("want at least 30 workflows in %s, found %d (%v)", dir, len(files), err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".yml"), ".yaml")
		t.Run(name, func(t *testing.T) {
			expFile := filepath.Join(dir, name+".expect.json")
			var want expectation
			raw, err := os.ReadFile(expFile)
			switch {
			case err == nil:
				if err := json.Unmarshal(raw, &want); err != nil {
					t.Fatalf("%s: %v", expFile, err)
				}
			case !*update:
				t.Fatalf("missing %s (run go test -update)", expFile)
			}
			got := runAudit(t, f, want)
			if *update {
				got.Labels, got.Recipe, got.Notes = want.Labels, want.Recipe, want.Notes
				got.Repo, got.DefaultBranch, got.Label, got.TrustCallee, got.With = want.Repo, want.DefaultBranch, want.Label, want.TrustCallee, want.With
				writeExpectation(t, expFile, got)
				return
			}
			compare(t, want, got)
		})
	}
}

// runAudit audits one file with the expectation's inputs and reduces the
// report to an expectation.
func runAudit(t *testing.T, file string, in expectation) expectation {
	t.Helper()
	o := audit.Options{Labels: in.Labels, Repo: in.Repo, DefaultBranch: in.DefaultBranch, OptInLabel: in.Label, TrustCallee: in.TrustCallee}
	if in.Recipe != "" {
		f, err := workflow.LoadRecipe(context.Background(), filepath.Join(dir, in.Recipe), loadStar)
		if err != nil {
			t.Fatalf("recipe: %v", err)
		}
		o.Recipe = f
	}
	files := []string{file}
	for _, w := range in.With {
		files = append(files, filepath.Join(dir, w))
	}
	rep, err := audit.Files(context.Background(), files, o)
	var out expectation
	if err != nil {
		var ie *audit.InputError
		if !errors.As(err, &ie) {
			t.Fatalf("want an *audit.InputError, got %T: %v", err, err)
		}
		out.Exit = 2
		msg := err.Error()
		out.Error = msg[strings.Index(msg, filepath.Base(file)):]
		return out
	}
	if rep.Failed() {
		out.Exit = 1
	}
	for _, j := range rep.Jobs {
		ej := expectedJob{ID: j.ID, Lands: j.LandsOnRunner, Verdict: j.Verdict, Reachable: []string{}, Findings: []expectedFinding{}, Environment: j.Environment}
		if j.File != file {
			ej.File = filepath.Base(j.File)
		}
		if j.CalledBy != "" {
			ej.CalledBy = filepath.Base(j.CalledBy)
		}
		for _, s := range j.Scenarios {
			if s.Reachable {
				ej.Reachable = append(ej.Reachable, s.ID)
			}
		}
		for _, f := range j.Findings {
			ej.Findings = append(ej.Findings, expectedFinding{Rule: f.Rule, Level: f.Level, Witness: f.Witness})
		}
		out.Jobs = append(out.Jobs, ej)
	}
	return out
}

func compare(t *testing.T, want, got expectation) {
	t.Helper()
	if got.Exit != want.Exit {
		t.Errorf("exit %d, want %d", got.Exit, want.Exit)
	}
	if want.Error != "" && !strings.Contains(got.Error, want.Error) {
		t.Errorf("error %q, want it to contain %q", got.Error, want.Error)
	}
	if len(got.Jobs) != len(want.Jobs) {
		t.Fatalf("%d jobs, want %d", len(got.Jobs), len(want.Jobs))
	}
	for i, wj := range want.Jobs {
		gj := got.Jobs[i]
		if gj.File != wj.File || gj.CalledBy != wj.CalledBy || gj.Environment != wj.Environment {
			t.Errorf("job %s: file %q called by %q environment %q, want file %q called by %q environment %q", gj.ID, gj.File, gj.CalledBy, gj.Environment, wj.File, wj.CalledBy, wj.Environment)
		}
		if gj.ID != wj.ID || gj.Lands != wj.Lands || gj.Verdict != wj.Verdict {
			t.Errorf("job %s: lands=%v verdict=%s, want job %s lands=%v verdict=%s", gj.ID, gj.Lands, gj.Verdict, wj.ID, wj.Lands, wj.Verdict)
		}
		if strings.Join(gj.Reachable, ",") != strings.Join(wj.Reachable, ",") {
			t.Errorf("job %s: reachable %v, want %v", wj.ID, gj.Reachable, wj.Reachable)
		}
		used := make([]bool, len(gj.Findings))
		for _, wf := range wj.Findings {
			found := false
			for k, gf := range gj.Findings {
				if !used[k] && gf.Rule == wf.Rule && gf.Level == wf.Level && strings.Contains(gf.Witness, wf.Witness) {
					used[k], found = true, true
					break
				}
			}
			if !found {
				t.Errorf("job %s: missing finding %+v; got %+v", wj.ID, wf, gj.Findings)
			}
		}
		for k, u := range used {
			if !u {
				t.Errorf("job %s: unexpected finding %+v", wj.ID, gj.Findings[k])
			}
		}
	}
}

func writeExpectation(t *testing.T, path string, e expectation) {
	t.Helper()
	for i := range e.Jobs {
		sort.SliceStable(e.Jobs[i].Findings, func(a, b int) bool { return e.Jobs[i].Findings[a].Rule < e.Jobs[i].Findings[b].Rule })
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInputErrorText(t *testing.T) {
	for _, tc := range []struct {
		err  audit.InputError
		want string
	}{
		{audit.InputError{File: "a.yml", Line: 3, Col: 7, Msg: "bad"}, "a.yml:3:7: bad"},
		{audit.InputError{File: "a.yml", Line: 3, Msg: "bad"}, "a.yml:3: bad"},
		{audit.InputError{File: "a.yml", Msg: "reading workflow: gone"}, "a.yml: reading workflow: gone"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v: got %q, want %q", tc.err, got, tc.want)
		}
	}
	_, err := audit.Files(context.Background(), []string{filepath.Join(t.TempDir(), "missing.yml")}, audit.Options{})
	var ie *audit.InputError
	if !errors.As(err, &ie) || strings.Contains(err.Error(), ":0:") {
		t.Errorf("missing file: got %v, want an InputError without a line 0", err)
	}
}

// TestWriteText: the text report has the legend once, the environment
// note, the caller of a callee's job and the needs-gated witness wording.
func TestWriteText(t *testing.T) {
	var files []string
	for _, n := range []string{"environment-reviewers.yml", "call-local-runner.yml", "needs-gate-always.yml", "matrix-include-only-first.yml"} {
		files = append(files, filepath.Join(dir, n))
	}
	rep, err := audit.Files(context.Background(), files, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"(columns: admitted = ",
		`NOTE the job uses the environment "mac-runner": if that environment requires reviewers`,
		"job work (called by " + filepath.Join(dir, "call-local-runner.yml") + ":dispatch) lands on the runner",
		"after a skipped dependency true: always()",
		`matrix{host=["self-hosted","macOS","arm64"]}]`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "(columns: ") != 1 {
		t.Errorf("the legend is not printed exactly once")
	}
	for _, bad := range []string{"leg=", "scrub="} {
		if strings.Contains(out, bad) {
			t.Errorf("a witness shows the matrix key %q that runs-on and if: do not read:\n%s", bad, out)
		}
	}
}
