package audit

import (
	"strings"
	"testing"
)

// TestWorkedExamples checks the three guards of the specification's
// worked example row by row (T = reachable).
func TestWorkedExamples(t *testing.T) {
	const on = `on:
  push:
  pull_request:
  pull_request_target:
  pull_request_review:
  issue_comment:
  workflow_run:
    workflows: [CI]
  workflow_dispatch:
permissions:
  contents: read
jobs:
  runtime-macos:
    runs-on: [self-hosted, macOS, arm64, hvf]
    if: %s
    steps:
      - run: gmake check
`
	guards := map[string]string{
		"D": `github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))`,
		"R": `github.repository == 'sysprog21/elfuse' && ((github.event_name == 'push' && github.ref == 'refs/heads/main') || (github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main'))`,
		"G": `github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository`,
	}
	rows := []struct {
		id      string
		d, r, g bool
	}{
		{"push-main", true, true, true},
		{"push-branch", true, false, true},
		{"pr-same-nolabel", false, false, true},
		{"pr-same-label", true, false, true},
		{"pr-fork-nolabel", false, false, false},
		{"pr-fork-label", false, false, false},
		{"prt-same", false, false, true},
		{"prt-fork", false, false, true},
		{"issue-comment", false, false, true},
		{"workflow-run", false, false, true},
		{"pr-review-fork", false, false, true},
		{"pr-review-same", false, false, true},
		{"dispatch-main", false, true, true},
	}
	for name, guard := range guards {
		src := strings.Replace(on, "%s", "\""+guard+"\"", 1)
		jobs, err := Source(name+".yml", []byte(src), Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := map[string]bool{}
		for _, s := range jobs[0].Scenarios {
			got[s.ID] = s.Reachable
		}
		for _, r := range rows {
			want := map[string]bool{"D": r.d, "R": r.r, "G": r.g}[name]
			if got[r.id] != want {
				t.Errorf("guard %s, %s: reachable %v, want %v", name, r.id, got[r.id], want)
			}
		}
		wantVerdict := map[string]string{"D": "pass", "R": "pass", "G": "fail"}[name]
		if jobs[0].Verdict != wantVerdict {
			t.Errorf("guard %s: verdict %s, want %s (%+v)", name, jobs[0].Verdict, wantVerdict, jobs[0].Findings)
		}
	}
}

func TestFilters(t *testing.T) {
	for _, tc := range []struct {
		pats []string
		name string
		want bool
	}{
		{[]string{"main"}, "main", true},
		{[]string{"main"}, "mainline", false},
		{[]string{"release/*"}, "release/v1", true},
		{[]string{"release/*"}, "release/v1/x", false},
		{[]string{"release/**"}, "release/v1/x", true},
		{[]string{"**", "!main"}, "main", false},
		{[]string{"**", "!main"}, "dev", true},
		{[]string{"v[12].*"}, "v1.0", true},
		{[]string{"v[12].*"}, "v3.0", false},
		{[]string{"feat+ure"}, "featttture", true},
		{[]string{"colou?r"}, "color", true},
	} {
		f, err := compileFilter(tc.pats)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.matches(tc.name); got != tc.want {
			t.Errorf("%v matches %q = %v, want %v", tc.pats, tc.name, got, tc.want)
		}
	}
	if _, err := compileFilter([]string{"release/[ab"}); err == nil {
		t.Errorf("an unterminated class must be an error")
	}
}

func TestLandsOn(t *testing.T) {
	runner := []string{"self-hosted", "macOS", "arm64", "m4", "hvf"}
	for _, tc := range []struct {
		labels []string
		group  string
		want   bool
	}{
		{[]string{"self-hosted", "macOS", "arm64", "hvf"}, "", true},
		{[]string{"macOS", "ARM64"}, "", true},
		{[]string{"HVF", "SELF-HOSTED"}, "", true},
		{[]string{"self-hosted", "linux"}, "", false},
		{[]string{"ubuntu-latest"}, "", false},
		{[]string{anyValue}, "", true},
		{nil, "mac-runners", true},
		{nil, "", false},
		{[]string{"m4", "m5"}, "", false},
	} {
		if got := landsOn(tc.labels, tc.group, runner); got != tc.want {
			t.Errorf("landsOn(%v, %q) = %v, want %v", tc.labels, tc.group, got, tc.want)
		}
	}
}

func TestReportOutputs(t *testing.T) {
	src := []byte("on: pull_request\npermissions: {}\njobs:\n  j:\n    runs-on: [self-hosted]\n    steps:\n      - run: x\n")
	jobs, err := Source("w.yml", src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &Report{Verdict: "fail", Jobs: jobs, ResidualRisk: ResidualRisk}
	var text, js strings.Builder
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pr-fork-label", "<-- FAIL", "Require approval for all outside collaborators", "verdict: FAIL"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	for _, want := range []string{`"verdict": "fail"`, `"lands_on_runner": true`, `"scenarios"`, `"admitted"`, `"reachable"`, `"trusted"`, `"findings"`, `"rule": "untrusted-run"`, `"witness"`} {
		if !strings.Contains(js.String(), want) {
			t.Errorf("JSON report lacks %s", want)
		}
	}
}
