package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const workflowsDir = "../../testdata/workflows"

func TestWorkflowAuditExitCodes(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"design-guard.yml"}, 0, "verdict: PASS", ""},
		{[]string{"no-guard.yml"}, 1, "verdict: FAIL", ""},
		{[]string{"design-guard.yml", "no-guard.yml"}, 1, "Require approval for all outside collaborators", ""},
		{[]string{"bad-yaml.yml"}, 2, "", "bad-yaml.yml:3:13: could not parse as YAML"},
		{[]string{"bad-expr.yml"}, 2, "", "bad-expr.yml:6:9: expression"},
		{[]string{"missing.yml"}, 2, "", "missing.yml"},
		{[]string{"--labels", "self-hosted,linux", "no-guard.yml"}, 0, "does not land on the runner", ""},
		{[]string{"--recipe", "recipes/runner.star", "host-mismatch.yml"}, 1, "host-labels", ""},
		{[]string{"--recipe", "recipes/runner.star", "host-ok.yml"}, 0, "verdict: PASS", ""},
	} {
		args := []string{"workflow", "audit"}
		for _, a := range tc.args {
			if strings.HasSuffix(a, ".yml") || strings.HasSuffix(a, ".star") {
				a = filepath.Join(workflowsDir, a)
			}
			args = append(args, a)
		}
		code, out, errOut := runCLI(t, args...)
		if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.args, code, tc.code, out, errOut)
		}
	}
}

func TestWorkflowAuditJSON(t *testing.T) {
	code, out, _ := runCLI(t, "workflow", "audit", "--json", filepath.Join(workflowsDir, "label-only.yml"))
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	var rep struct {
		Verdict string `json:"verdict"`
		Jobs    []struct {
			File          string `json:"file"`
			ID            string `json:"id"`
			LandsOnRunner bool   `json:"lands_on_runner"`
			Verdict       string `json:"verdict"`
			Scenarios     []struct {
				ID                           string
				Admitted, Reachable, Trusted bool
			} `json:"scenarios"`
			Findings []struct{ Rule, Level, Message, Witness string } `json:"findings"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	j := rep.Jobs[0]
	if rep.Verdict != "fail" || j.ID != "runtime-macos" || !j.LandsOnRunner || j.Verdict != "fail" || len(j.Findings) != 1 ||
		j.Findings[0].Rule != "untrusted-run" || !strings.Contains(j.Findings[0].Witness, "pr-fork-label") {
		t.Errorf("report %+v", rep)
	}
	for _, s := range j.Scenarios {
		if s.ID == "pr-fork-label" && !(s.Admitted && s.Reachable && !s.Trusted) {
			t.Errorf("pr-fork-label row %+v", s)
		}
	}
}

func TestWorkflowRenderThenAudit(t *testing.T) {
	dir := t.TempDir()
	wf := filepath.Join(dir, "main.yml")
	src := "name: CI\non:\n  push:\n    branches: [main]\n  pull_request:\npermissions:\n  contents: read\njobs:\n  build-macos:\n    runs-on: macos-15\n    steps:\n      - run: make elfuse # build\n"
	if err := os.WriteFile(wf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := filepath.Join(workflowsDir, "recipes/runner.star")

	code, out, errOut := runCLI(t, "workflow", "render", "--recipe", recipe, wf)
	if code != 0 || !strings.Contains(out, "+  runtime-macos:") || !strings.HasPrefix(out, "--- a/") {
		t.Fatalf("render: exit %d\n%s\n%s", code, out, errOut)
	}
	if got, _ := os.ReadFile(wf); string(got) != src {
		t.Fatalf("render without --write changed the file")
	}
	if code, _, errOut := runCLI(t, "workflow", "render", "--write", "--recipe", recipe, wf); code != 0 {
		t.Fatalf("render --write: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(wf)
	if err != nil || !strings.HasPrefix(string(got), src) {
		t.Fatalf("the original bytes were not kept:\n%s", got)
	}
	if code, out, _ := runCLI(t, "workflow", "render", "--recipe", recipe, wf); code != 0 || out != "" {
		t.Errorf("second render: exit %d, diff:\n%s", code, out)
	}
	if code, out, errOut := runCLI(t, "workflow", "audit", "--recipe", recipe, wf); code != 0 {
		t.Errorf("audit of the rendered file: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "workflow", "render", "--recipe", recipe, filepath.Join(workflowsDir, "bad-yaml.yml")); code != 2 || !strings.Contains(errOut, "bad-yaml.yml") {
		t.Errorf("render of bad YAML: exit %d: %s", code, errOut)
	}
}

// TestWorkflowRenderElfuse renders the real recipe's job into a workflow
// modelled on elfuse's main.yml (lint, build-macos, tidy-macos,
// scan-macos, comments, workflow-level concurrency): the diff only adds
// lines after the last job, the original bytes stay, a second render
// changes nothing, and the result passes the audit with the recipe.
func TestWorkflowRenderElfuse(t *testing.T) {
	recipe := "../../recipes/m4.star"
	orig, err := os.ReadFile(filepath.Join(workflowsDir, "render/elfuse-main.yml"))
	if err != nil {
		t.Fatal(err)
	}
	wf := filepath.Join(t.TempDir(), "main.yml")
	if err := os.WriteFile(wf, orig, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "workflow", "render", "--recipe", recipe, wf)
	if code != 0 {
		t.Fatalf("render: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---") {
			t.Errorf("the diff removes a line: %q", l)
		}
	}
	for _, want := range []string{"+  runtime-macos:", "+    needs: build-macos", "+    runs-on: [self-hosted, macOS, arm64, m4, hvf]", "+        run: bash tests/test-matrix.sh all"} {
		if !strings.Contains(out, want) {
			t.Errorf("the diff lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runCLI(t, "workflow", "render", "--write", "--recipe", recipe, wf); code != 0 {
		t.Fatalf("render --write: exit %d: %s", code, errOut)
	}
	got, err := os.ReadFile(wf)
	if err != nil || !strings.HasPrefix(string(got), string(orig)) {
		t.Fatalf("the original bytes were not kept:\n%s", got)
	}
	for i := 0; i < 2; i++ {
		if code, out, errOut := runCLI(t, "workflow", "render", "--write", "--recipe", recipe, wf); code != 0 || out != "" {
			t.Errorf("render %d again: exit %d, diff:\n%s%s", i+2, code, out, errOut)
		}
	}
	if again, _ := os.ReadFile(wf); string(again) != string(got) {
		t.Errorf("rendering again changed the file")
	}
	code, out, errOut = runCLI(t, "workflow", "audit", "--recipe", recipe, wf)
	if code != 0 || !strings.Contains(out, "job runtime-macos lands on the runner") || !strings.Contains(out, "verdict: PASS") {
		t.Errorf("audit of the rendered file: exit %d\n%s\n%s", code, out, errOut)
	}
}

// TestWorkflowRenderExitCodes: 1 when the file is well formed but cannot
// be edited safely (the file is left alone), 2 on bad input with
// file:line.
func TestWorkflowRenderExitCodes(t *testing.T) {
	recipe := "../../recipes/m4.star"
	for _, tc := range []struct {
		src    string
		code   int
		stderr string
	}{
		{"on: push\njobs: {lint: {runs-on: ubuntu-24.04, steps: [{run: make}]}}\n", 1, "cannot render the job safely: line 2: a flow-style jobs:"},
		{"on: push\njobs:\n  runtime-macos: &j\n    runs-on: [self-hosted]\n    steps: [{run: x}]\n  other: *j\n", 1, "cannot render the job safely"},
		{"on: push\njobs:\n  lint:\n    runs-on: [a\n", 2, "main.yml:3:13: could not parse as YAML"},
		{"on: push\njobs:\n  lint:\n    if: github.x ==\n    runs-on: a\n    steps: [{run: x}]\n", 2, "main.yml:4:"},
	} {
		wf := filepath.Join(t.TempDir(), "main.yml")
		if err := os.WriteFile(wf, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "workflow", "render", "--write", "--recipe", recipe, wf)
		if code != tc.code || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%q: exit %d, want %d; stderr %q, want it to contain %q", tc.src, code, tc.code, errOut, tc.stderr)
		}
		if got, _ := os.ReadFile(wf); string(got) != tc.src {
			t.Errorf("%q: the file was changed:\n%s", tc.src, got)
		}
	}
}

// TestWorkflowAuditJSONKeys holds the report to the JSON shape,
// with exact key names (encoding/json's case-insensitive decoding would
// accept "Verdict").
func TestWorkflowAuditJSONKeys(t *testing.T) {
	_, out, _ := runCLI(t, "workflow", "audit", "--json", filepath.Join(workflowsDir, "label-only.yml"))
	var rep map[string]any
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	has := func(where string, m any, keys ...string) map[string]any {
		obj, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("%s is %T, want an object", where, m)
		}
		for _, k := range keys {
			if _, ok := obj[k]; !ok {
				t.Errorf("%s lacks %q: %v", where, k, obj)
			}
		}
		return obj
	}
	first := func(where string, v any) any {
		a, ok := v.([]any)
		if !ok || len(a) == 0 {
			t.Fatalf("%s is %v, want a non-empty array", where, v)
		}
		return a[0]
	}
	has("report", rep, "verdict", "jobs")
	if v := rep["verdict"]; v != "fail" {
		t.Errorf("verdict %v, want fail", v)
	}
	job := has("jobs[0]", first("jobs", rep["jobs"]), "file", "id", "lands_on_runner", "verdict", "scenarios", "findings")
	has("scenarios[0]", first("scenarios", job["scenarios"]), "id", "admitted", "reachable", "trusted")
	has("findings[0]", first("findings", job["findings"]), "rule", "level", "message", "witness")
}

// TestWorkflowAuditManyFiles: a bad file does not hide the others' reports;
// the worst exit code wins; a directory stands for its .yml and .yaml
// files.
func TestWorkflowAuditManyFiles(t *testing.T) {
	wf := func(n string) string { return filepath.Join(workflowsDir, n) }
	code, out, errOut := runCLI(t, "workflow", "audit", wf("design-guard.yml"), wf("bad-yaml.yml"), wf("no-guard.yml"))
	if code != 2 || !strings.Contains(out, "job runtime-macos lands on the runner") || !strings.Contains(out, "no-guard.yml") ||
		!strings.Contains(out, "not audited (bad input)") || !strings.Contains(errOut, "bad-yaml.yml:3:13") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	code, out, _ = runCLI(t, "workflow", "audit", "--json", wf("design-guard.yml"), wf("bad-yaml.yml"))
	var rep struct {
		Verdict string
		Jobs    []struct{ File string }
		Errors  []struct {
			File    string
			Line    int
			Message string
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 2 || rep.Verdict != "fail" || len(rep.Jobs) == 0 || len(rep.Errors) != 1 || rep.Errors[0].Line != 3 {
		t.Errorf("exit %d, %v: %+v\n%s", code, err, rep, out)
	}

	dir := t.TempDir()
	for name, src := range map[string]string{
		"a.yml":    "on: push\npermissions:\n  contents: read\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n",
		"b.yaml":   "on: pull_request\npermissions:\n  contents: read\njobs:\n  y:\n    runs-on: [self-hosted, m4]\n    steps:\n      - run: make\n",
		"notes.md": "not a workflow",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut = runCLI(t, "workflow", "audit", dir)
	if code != 1 || !strings.Contains(out, "a.yml: job x: does not land") || !strings.Contains(out, "b.yaml:5: job y lands") || strings.Contains(out+errOut, "notes.md") {
		t.Errorf("directory: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "workflow", "audit", t.TempDir()); code != 2 || !strings.Contains(errOut, "no .yml or .yaml workflow") {
		t.Errorf("empty directory: exit %d, %s", code, errOut)
	}
}

// TestWorkflowAuditPolicyFlags: --repo, --default-branch, --label and
// --trust-callee reach the audit; a malformed --repo is bad input.
func TestWorkflowAuditPolicyFlags(t *testing.T) {
	wf := func(n string) string { return filepath.Join(workflowsDir, n) }
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{wf("repo-and-label-options.yml")}, 0},
		{[]string{"--repo", "acme/widgets", "--label", "run-on-mac", wf("repo-and-label-options.yml")}, 0},
		{[]string{wf("default-branch-master.yml")}, 0},
		{[]string{"--default-branch", "master", wf("prt-ref-not-default.yml")}, 1},
		{[]string{wf("call-remote-trusted.yml")}, 1},
		{[]string{"--trust-callee", "tooling-org/ci-templates/*", wf("call-remote-trusted.yml")}, 0},
		{[]string{"--repo", "not-a-repo", wf("design-guard.yml")}, 2},
	} {
		code, out, errOut := runCLI(t, append([]string{"workflow", "audit"}, tc.args...)...)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d\n%s\n%s", tc.args, code, tc.code, out, errOut)
		}
	}
	_, out, _ := runCLI(t, "workflow", "audit", "--repo", "acme/widgets", "--label", "run-on-mac", "--json", wf("repo-and-label-options.yml"))
	if !strings.Contains(out, `"pr-same-label"`) || !strings.Contains(out, `"reachable": true`) {
		t.Errorf("the opt-in label did not reach the audit:\n%s", out)
	}
}

// TestWorkflowAuditFIFO: a workflow argument that is a FIFO (a pull
// request's author controls what the audit reads) is refused at once as
// bad input, without hanging, and the other files are still audited.
func TestWorkflowAuditFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	code, out, errOut := runCLI(t, "workflow", "audit", fifo, filepath.Join(workflowsDir, "design-guard.yml"))
	if code != 2 || !strings.Contains(errOut, "fifo.yml") || !strings.Contains(errOut, "not a regular file") || !strings.Contains(out, "job runtime-macos lands on the runner") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
}
