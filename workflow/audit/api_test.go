package audit_test

import (
	"testing"

	"github.com/sysprog21/hvfctl/workflow/audit"
)

// TestJobScenarios: the rows a job's guard admits, for a job that lands
// and for one that does not (a guard diff needs both).
func TestJobScenarios(t *testing.T) {
	const src = `on: [push, pull_request, workflow_dispatch]
permissions:
  contents: read
jobs:
  mac:
    if: github.event_name == 'push' && github.ref == 'refs/heads/main'
    runs-on: [self-hosted, macOS]
    steps:
      - run: make
  linux:
    if: github.event_name != 'push'
    runs-on: ubuntu-latest
    steps:
      - run: make
`
	for _, tc := range []struct {
		job       string
		runs      []string
		reachable []string
	}{
		{"mac", []string{"push-main"}, []string{"push-main"}},
		{"linux", []string{"pr-same-nolabel", "pr-same-label", "pr-fork-nolabel", "pr-fork-label", "dispatch-main", "dispatch-branch"}, nil},
	} {
		rows, err := audit.JobScenarios("w.yml", []byte(src), tc.job, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var runs, reach []string
		for _, r := range rows {
			if r.Runs {
				runs = append(runs, r.ID)
			}
			if r.Reachable {
				reach = append(reach, r.ID)
			}
			if r.Runs && !r.Admitted {
				t.Errorf("%s: %s runs but is not admitted", tc.job, r.ID)
			}
		}
		if len(rows) < 17 || join(runs) != join(tc.runs) || join(reach) != join(tc.reachable) {
			t.Errorf("%s: %d rows, runs %v, reachable %v; want runs %v, reachable %v", tc.job, len(rows), runs, reach, tc.runs, tc.reachable)
		}
	}
	if _, err := audit.JobScenarios("w.yml", []byte(src), "nope", audit.Options{}); err == nil {
		t.Error("an unknown job: no error")
	}
}

func join(xs []string) string {
	s := ""
	for _, x := range xs {
		s += x + ","
	}
	return s
}

// TestClassifyRun: the trust policy applied to runs GitHub reports.
func TestClassifyRun(t *testing.T) {
	o := audit.Options{DefaultBranch: "master", OptInLabel: "run-mac"}
	for _, tc := range []struct {
		run   audit.Run
		id    string
		trust audit.Trust
	}{
		{audit.Run{Event: "push", Repo: "a/b", HeadBranch: "master"}, "push-main", audit.Trusted},
		{audit.Run{Event: "push", Repo: "a/b", HeadBranch: "main"}, "push-branch", audit.Allowed},
		{audit.Run{Event: "push", Repo: "a/b", HeadBranch: "v1", Tag: true}, "push-tag", audit.Allowed},
		{audit.Run{Event: "pull_request", Repo: "a/b", HeadRepo: "a/b", Labels: []string{"RUN-MAC"}}, "pr-same-label", audit.Trusted},
		{audit.Run{Event: "pull_request", Repo: "a/b", HeadRepo: "a/b", Labels: []string{"ci-hvf"}}, "pr-same-nolabel", audit.NotAllowed},
		{audit.Run{Event: "pull_request", Repo: "a/b", HeadRepo: "x/b", Labels: []string{"run-mac"}}, "pr-fork-label", audit.Untrusted},
		{audit.Run{Event: "pull_request_target", Repo: "a/b", HeadRepo: "a/b"}, "prt-same", audit.Forbidden},
		{audit.Run{Event: "workflow_run", Repo: "a/b"}, "workflow-run", audit.Forbidden},
		{audit.Run{Event: "workflow_dispatch", Repo: "a/b", HeadBranch: "master"}, "dispatch-main", audit.Trusted},
		{audit.Run{Event: "schedule", Repo: "a/b", HeadBranch: "master"}, "schedule", audit.Trusted},
		{audit.Run{Event: "release", Repo: "a/b"}, "event-release", audit.Allowed},
		{audit.Run{Event: "discussion", Repo: "a/b"}, "event-discussion", audit.Untrusted},
	} {
		id, trust := audit.ClassifyRun(tc.run, o)
		if id != tc.id || trust != tc.trust {
			t.Errorf("%+v: %s %s, want %s %s", tc.run, id, trust, tc.id, tc.trust)
		}
	}
}
