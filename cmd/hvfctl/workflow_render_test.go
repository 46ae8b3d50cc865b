package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// renderCase is one workflow render case under testdata/workflows/render:
// the command's exit code, stdout (the diff) and stderr (the guard diff,
// notes, what it wrote) are compared with <name>.golden (go test -update
// rewrites them).
type renderCase struct {
	name string
	// file is the workflow under testdata/workflows/render.
	file string
	args []string
	code int
	// auditCode is the exit code of the audit of the written file (a
	// render that succeeds); 0 means it must PASS.
	auditCode int
}

func TestWorkflowRenderCases(t *testing.T) {
	const recipe = "../../recipes/m4.star"
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []renderCase{
		// elfuse's runtime job admits pushes and dispatch on main; the
		// recipe's guard admits labelled same-repository pull requests
		// instead: a widening, refused.
		{name: "elfuse-widen", file: "elfuse-runtime.yml", code: 1},
		// Accepted with --allow-widen: only the guard, labels, cancel
		// policy and checkout credentials change; matrix, timeouts per
		// leg, concurrency per leg, steps, caches and comments stay.
		{name: "elfuse-allow-widen", file: "elfuse-runtime.yml", args: []string{"--allow-widen"}},
		// With dispatch on the default branch opted in, the recipe still
		// admits labelled pull requests the job did not: refused.
		{name: "elfuse-dispatch", file: "elfuse-runtime.yml", args: []string{"--var", "dispatch_on_default_branch=true"}, code: 1},
		// An existing job with a matrix, caches and comments whose guard
		// the recipe keeps: runs-on, timeout, permissions, one env
		// variable and persist-credentials set; nothing widened.
		{name: "matrix-kept", file: "matrix-kept.yml"},
		// The recipe's guard drops unlabelled same-repository pull
		// requests: newly refused, not a widening.
		{name: "narrower", file: "narrower.yml"},
		// A new job is written in full: folded if:, permissions,
		// persist-credentials: false as a boolean.
		{name: "new-job", file: "elfuse-main.yml"},
		// The job ran on a hosted runner: moving it onto the Mac newly
		// admits every run its guard lets through.
		{name: "hosted-to-runner", file: "hosted-to-runner.yml", code: 1},
		// needs: build-macos names a job the file does not have.
		{name: "needs-missing", file: "needs-missing.yml", code: 1},
		// The recipe's concurrency group would make matrix legs cancel
		// each other.
		{name: "shared-group", file: "shared-group.yml", code: 1},
		// Another job on the runner fails the audit: render succeeds
		// and says so.
		{name: "other-jobs", file: "other-jobs.yml", auditCode: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig, err := os.ReadFile(filepath.Join(workflowsDir, "render", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			wf := filepath.Join(dir, "main.yml")
			if err := os.WriteFile(wf, orig, 0o644); err != nil {
				t.Fatal(err)
			}
			args := append(append([]string{"workflow", "render", "--recipe", recipe}, tc.args...), wf)
			code, out, errOut := runCLI(t, args...)
			clean := func(s string) string {
				s = strings.ReplaceAll(s, dir, "$DIR")
				return strings.ReplaceAll(s, repo, "$REPO")
			}
			got := "$ hvfctl workflow render --recipe recipes/m4.star " + strings.Join(append(tc.args, "main.yml"), " ") + "\n" +
				"exit " + strconv.Itoa(code) + "\n--- stdout\n" + clean(out) + "--- stderr\n" + clean(errOut)
			golden := filepath.Join(workflowsDir, "render", tc.name+".golden")
			if *updateGolden {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test -update writes it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (go test -update rewrites it):\n%s", golden, got)
			}
			if code != tc.code {
				t.Fatalf("exit %d, want %d", code, tc.code)
			}
			if code != 0 {
				if after, _ := os.ReadFile(wf); string(after) != string(orig) {
					t.Errorf("a refused render changed the file")
				}
				return
			}
			assertRenderWrites(t, recipe, wf, orig, tc)
		})
	}
}

// assertRenderWrites renders with --write and checks the written file:
// every step of the original is still there, a second render changes
// nothing and the audit gives tc.auditCode.
func assertRenderWrites(t *testing.T, recipe, wf string, orig []byte, tc renderCase) {
	t.Helper()
	args := append(append([]string{"workflow", "render", "--write", "--recipe", recipe}, tc.args...), wf)
	code, _, errOut := runCLI(t, args...)
	if code != 0 || !strings.Contains(errOut, "wrote "+wf+": ") {
		t.Fatalf("render --write: exit %d, stderr:\n%s", code, errOut)
	}
	written, err := os.ReadFile(wf)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range regexp.MustCompile(`(?m)^\s*- (name|run|uses): .*$`).FindAllString(string(orig), -1) {
		if !strings.Contains(string(written), l+"\n") {
			t.Errorf("the written file lost the step line %q", l)
		}
	}
	for _, l := range regexp.MustCompile(`(?m)^\s*#.*$`).FindAllString(string(orig), -1) {
		if !strings.Contains(string(written), l+"\n") {
			t.Errorf("the written file lost the comment %q", l)
		}
	}
	if code, out, errOut := runCLI(t, args...); code != 0 || out != "" || !strings.Contains(errOut, "nothing to change") {
		t.Errorf("second render: exit %d, diff:\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "workflow", "audit", "--recipe", recipe, wf)
	if code != tc.auditCode {
		t.Errorf("audit of the written file: exit %d, want %d\n%s\n%s", code, tc.auditCode, out, errOut)
	}
	if !strings.Contains(out, "job runtime-macos lands on the runner") || !strings.Contains(out, "job runtime-macos lands on the runner (runs-on [self-hosted, macOS, arm64, m4, hvf]) — PASS") {
		t.Errorf("the rendered job does not pass the audit:\n%s", out)
	}
}
