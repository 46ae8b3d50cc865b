package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/ghapi/fakegh"
)

// convergedRepo is sysprog21/elfuse with the GitHub side as m4.star
// wants it, and its runner online.
func convergedRepo() *fakegh.Repo {
	r := fakegh.DefaultRepo()
	r.ApprovalPolicy = "all_external_contributors"
	r.SHAPinningRequired = true
	r.Labels = []*fakegh.Label{{ID: 7, Name: "ci-hvf", Color: "0e8a16", Description: "lets a PR reach the Mac"}}
	r.Runners = []*fakegh.Runner{{ID: 42, Name: "macmini-m4-hvf", OS: "macOS", Status: "online", GroupID: 1, Labels: []*fakegh.RunnerLabel{
		{ID: 1, Name: "self-hosted", Type: "read-only"}, {ID: 2, Name: "macOS", Type: "read-only"}, {ID: 3, Name: "ARM64", Type: "read-only"},
		{ID: 4, Name: "m4", Type: "custom"}, {ID: 5, Name: "hvf", Type: "custom"}}}}
	r.Rules = map[string][]fakegh.Rule{"main": {{Type: "pull_request", RulesetID: 9, Parameters: map[string]any{"require_code_owner_review": true}}}}
	return r
}

func fakeGitHub(t *testing.T, repo *fakegh.Repo, mod func(*fakegh.State)) *fakegh.Server {
	t.Helper()
	st := &fakegh.State{Repos: map[string]*fakegh.Repo{"sysprog21/elfuse": repo}}
	if mod != nil {
		mod(st)
	}
	srv := fakegh.New(st)
	t.Cleanup(srv.Close)
	return srv
}

func ghEnv(srv *fakegh.Server, token string) map[string]string {
	m := map[string]string{"HVFCTL_GITHUB_API": srv.API()}
	if token != "" {
		m["GH_TOKEN"] = token
	}
	return m
}

func TestGitHubCheck(t *testing.T) {
	locked := func(st *fakegh.State) {
		st.Tokens = map[string]*fakegh.TokenInfo{"ghp_reader0000": {Login: "reader", Permissions: map[string]string{"issues": "read", "metadata": "read"}}}
	}
	drifted := convergedRepo()
	drifted.ApprovalPolicy = "first_time_contributors"
	drifted.Runners[0].Status = "offline"
	drifted.Runners[0].Labels = drifted.Runners[0].Labels[:4]
	for _, tc := range []struct {
		name  string
		repo  *fakegh.Repo
		mod   func(*fakegh.State)
		token string
		args  []string
		code  int
		want  []string
	}{
		{"converged recipe", convergedRepo(), nil, "ghp_x1", []string{"--recipe", relRecipe}, 0, []string{"github:runner:macmini-m4-hvf:labels"}},
		{"drifted recipe", drifted, nil, "ghp_x1", []string{"--recipe", relRecipe}, 2, []string{"first_time_contributors", "offline", "PUT /repos/sysprog21/elfuse/actions/runners/42/labels"}},
		{"fresh repo", fakegh.DefaultRepo(), nil, "ghp_x1", []string{"--repo", "sysprog21/elfuse"}, 2, []string{`POST /repos/sysprog21/elfuse/labels '{"name":"ci-hvf"`, "as github:maintainer"}},
		{"no credential", convergedRepo(), nil, "", []string{"--repo", "sysprog21/elfuse"}, 1, []string{"no GitHub credential"}},
		{"no permission", convergedRepo(), locked, "ghp_reader0000", []string{"--repo", "sysprog21/elfuse"}, 1, []string{"needs Administration: read on sysprog21/elfuse"}},
		{"bad credential", convergedRepo(), locked, "ghp_wrong0000", []string{"--repo", "sysprog21/elfuse"}, 1, []string{"401 Bad credentials"}},
		{"repo: every runner online", convergedRepo(), nil, "ghp_x1", []string{"--repo", "sysprog21/elfuse"}, 0, []string{"github:runners:online"}},
		{"repo: an offline runner", drifted, nil, "ghp_x1", []string{"--repo", "sysprog21/elfuse"}, 2, []string{`offline: ["macmini-m4-hvf"] → []`}},
		{"advisories unreadable", convergedRepo(), func(st *fakegh.State) {
			st.Faults = []fakegh.Fault{{Method: "GET", Path: "/repos/sysprog21/elfuse/actions/permissions", Status: 500}, {PathPrefix: "/repos/sysprog21/elfuse/rules/", Status: 404}, {PathPrefix: "/repos/sysprog21/elfuse/branches/", Status: 500}}
		}, "ghp_x1", []string{"--recipe", relRecipe}, 0, []string{"could not read"}},
		{"server error", convergedRepo(), func(st *fakegh.State) {
			st.Faults = []fakegh.Fault{{PathPrefix: "/repos/sysprog21/elfuse/actions/permissions/workflow", Status: 502}}
		}, "ghp_x1", []string{"--repo", "sysprog21/elfuse"}, 1, []string{"GitHub answered 502"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeGitHub(t, tc.repo, tc.mod)
			r := relCLI(t, relOpts{environ: ghEnv(srv, tc.token)}, append([]string{"github", "check"}, tc.args...)...)
			relNoCrash(t, tc.name, r)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.all())
			}
			for _, w := range tc.want {
				if !strings.Contains(r.all(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.all())
				}
			}
			if tc.token != "" && strings.Contains(r.all(), tc.token) {
				t.Errorf("output shows the token")
			}
			for _, q := range srv.Requests() {
				if q.Method != "GET" {
					t.Errorf("github check changed something: %s %s", q.Method, q.Path)
				}
			}
		})
	}
}

func TestGitHubCheckJSONAdvisoriesNeverDrift(t *testing.T) {
	repo := convergedRepo()
	repo.SHAPinningRequired = false
	repo.Rules = nil
	srv := fakeGitHub(t, repo, nil)
	r := relCLI(t, relOpts{environ: ghEnv(srv, "ghp_x1")}, "github", "check", "--json", "--recipe", relRecipe)
	if r.code != 0 {
		t.Fatalf("exit %d: advisories must not affect it\n%s", r.code, r.all())
	}
	var rep struct {
		Resources []struct{ ID, Status string }
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, x := range rep.Resources {
		got[x.ID] = x.Status
	}
	want := map[string]string{
		"github:fork-pr-approval": "ok", "github:workflow-permissions": "ok", "github:label:ci-hvf": "ok",
		"github:runner:macmini-m4-hvf": "ok", "github:runner:macmini-m4-hvf:labels": "ok",
		"github:advisory:sha-pinning": "unknown", "github:advisory:workflows-code-owner": "unknown",
	}
	for id, st := range want {
		if got[id] != st {
			t.Errorf("%s: status %q, want %q", id, got[id], st)
		}
	}
}

func TestRunFixesGitHubAndCreatesTokenJustInTime(t *testing.T) {
	repo := convergedRepo()
	repo.ApprovalPolicy = "first_time_contributors"
	repo.WorkflowPermissions = "write"
	repo.CanApprovePRReviews = true
	repo.Labels = nil
	repo.Runners[0].Labels = repo.Runners[0].Labels[:3] // lost m4 and hvf
	srv := fakeGitHub(t, repo, nil)
	save := filepath.Join(t.TempDir(), "mac.json")
	env := ghEnv(srv, "ghp_x1")
	r := relCLI(t, relOpts{environ: env}, append([]string{"run", "--target", "fake", "--yes", "--save", save}, append(relVars, relRecipe)...)...)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.all())
	}
	got := srv.Repo("sysprog21/elfuse")
	if got.ApprovalPolicy != "all_external_contributors" || got.WorkflowPermissions != "read" || got.CanApprovePRReviews || len(got.Labels) != 1 {
		t.Errorf("GitHub not fixed: %+v", got)
	}
	var names []string
	for _, l := range got.Runners[0].Labels {
		names = append(names, l.Name)
	}
	if strings.Join(names, ",") != "self-hosted,macOS,ARM64,m4,hvf" {
		t.Errorf("runner labels %v", names)
	}
	if len(got.IssuedTokens) != 1 || got.IssuedTokens[0].Kind != "registration" {
		t.Fatalf("tokens issued: %+v", got.IssuedTokens)
	}
	tok := got.IssuedTokens[0].Token
	if strings.Contains(r.all(), tok) || strings.Contains(r.all(), "ghp_x1") {
		t.Errorf("run output shows a token:\n%s", r.all())
	}
	if !strings.Contains(r.stderr, "created a runner registration token") {
		t.Errorf("run does not say it created the token:\n%s", r.stderr)
	}
	st := relState(t, save)
	if b, _ := json.Marshal(st); strings.Contains(string(b), tok) {
		t.Errorf("the saved host state holds the registration token")
	}
	// A second run changes nothing on GitHub.
	before := len(srv.Requests())
	r = relCLI(t, relOpts{environ: env}, append([]string{"check", "--target", "fake:" + save}, append(relVars, relRecipe)...)...)
	if r.code != 0 {
		t.Fatalf("check after run: exit %d\n%s", r.code, r.all())
	}
	for _, q := range srv.Requests()[before:] {
		if q.Method != "GET" {
			t.Errorf("check changed GitHub: %s %s", q.Method, q.Path)
		}
	}
}

func TestGitHubRuns(t *testing.T) {
	now := time.Now().UTC()
	job := func(id int64, runner string) []*fakegh.Job {
		return []*fakegh.Job{{ID: id, Name: "runtime-macos", Status: "completed", Conclusion: "success", Labels: []string{"self-hosted", "macOS", "arm64", "m4", "hvf"}, RunnerID: 42, RunnerName: runner}}
	}
	trusted := &fakegh.Run{ID: 11, Name: "CI", Event: "push", HeadBranch: "main", Status: "completed", Actor: "jserv", CreatedAt: now.Add(-48 * time.Hour), Jobs: job(101, "macmini-m4-hvf")}
	fork := &fakegh.Run{ID: 12, Name: "CI", Event: "pull_request", HeadBranch: "fix-foo", HeadRepo: "contributor/elfuse", Status: "completed", Actor: "contributor", TriggeringActor: "maintainer", CreatedAt: now.Add(-24 * time.Hour), Jobs: job(102, "macmini-m4-hvf")}
	elsewhere := &fakegh.Run{ID: 13, Name: "CI", Event: "pull_request", HeadRepo: "contributor/elfuse", CreatedAt: now.Add(-24 * time.Hour), Jobs: job(103, "ubuntu-runner")}
	old := &fakegh.Run{ID: 14, Name: "CI", Event: "pull_request_target", CreatedAt: now.Add(-60 * 24 * time.Hour), Jobs: job(104, "macmini-m4-hvf")}
	for _, tc := range []struct {
		name string
		runs []*fakegh.Run
		mod  func(*fakegh.State)
		args []string
		code int
		want []string
	}{
		{"trusted only", []*fakegh.Run{trusted, elsewhere, old}, nil, []string{"--recipe", relRecipe}, 0, []string{"trusted", "https://github.com/sysprog21/elfuse/actions/runs/11", "No untrusted run"}},
		{"fork reached the Mac", []*fakegh.Run{trusted, fork}, nil, []string{"--repo", "sysprog21/elfuse", "--runner", "macmini-m4-hvf"}, 1, []string{"untrusted", "https://github.com/sysprog21/elfuse/actions/runs/12", "contributor/elfuse"}},
		{"older than since", []*fakegh.Run{old}, nil, []string{"--recipe", relRecipe, "--since", "90d"}, 1, []string{"forbidden", "runs/14"}},
		{"bad since", nil, nil, []string{"--recipe", relRecipe, "--since", "yesterday"}, 2, []string{"--since"}},
		{"no runners", nil, nil, []string{"--repo", "sysprog21/elfuse"}, 2, []string{"--runner"}},
		{"API error", []*fakegh.Run{trusted}, func(st *fakegh.State) {
			st.Faults = []fakegh.Fault{{PathPrefix: "/repos/sysprog21/elfuse/actions/runs", Status: 500}}
		}, []string{"--recipe", relRecipe}, 2, []string{"500"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := convergedRepo()
			repo.Runs = tc.runs
			srv := fakeGitHub(t, repo, tc.mod)
			r := relCLI(t, relOpts{environ: ghEnv(srv, "")}, append([]string{"github", "runs"}, tc.args...)...)
			relNoCrash(t, tc.name, r)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", r.code, tc.code, r.all())
			}
			for _, w := range tc.want {
				if !strings.Contains(r.all(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.all())
				}
			}
		})
	}
}

func TestGitHubRunsSplitsLongPeriods(t *testing.T) {
	now := time.Now().UTC()
	repo := convergedRepo()
	for i := 0; i < 1300; i++ {
		r := &fakegh.Run{ID: int64(10000 + i), Name: "CI", Event: "push", HeadBranch: "main", CreatedAt: now.Add(-time.Duration(i) * 30 * time.Minute)}
		if i == 1200 {
			r.Event, r.HeadRepo = "pull_request", "mallory/elfuse"
			r.Jobs = []*fakegh.Job{{ID: 9, Name: "runtime-macos", RunnerID: 42, RunnerName: "macmini-m4-hvf"}}
		}
		repo.Runs = append(repo.Runs, r)
	}
	srv := fakeGitHub(t, repo, nil)
	r := relCLI(t, relOpts{environ: ghEnv(srv, "")}, "github", "runs", "--json", "--since", "30d", "--repo", "sysprog21/elfuse", "--runner", "macmini-m4-hvf")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1 (the fork run past the first 1,000)\n%s", r.code, r.stderr)
	}
	var rep struct {
		RunsSeen int `json:"runs_seen"`
		Jobs     []struct {
			RunID    int64 `json:"run_id"`
			RunnerID int64 `json:"runner_id"`
			Fork     bool  `json:"fork"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.RunsSeen != 1300 || len(rep.Jobs) != 1 || rep.Jobs[0].RunID != 11200 || !rep.Jobs[0].Fork || rep.Jobs[0].RunnerID != 42 {
		t.Fatalf("report: %+v", rep)
	}
	for _, q := range srv.Requests() {
		if q.Path == "/repos/sysprog21/elfuse/actions/runs" && !strings.Contains(q.Query, "created=") {
			t.Errorf("unfiltered run search: %s", q.Query)
		}
	}
}

func TestGitHubBinaryAgainstFake(t *testing.T) {
	bin := relBuild(t)
	srv := fakeGitHub(t, convergedRepo(), nil)
	r := relExec(t, bin, map[string]string{"GH_TOKEN": "ghp_bin1"}, "github", "check", "--github-api", srv.API(), "--recipe", relRecipe)
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.all())
	}
	if strings.Contains(r.all(), "ghp_bin1") {
		t.Errorf("output shows the token")
	}
	for _, q := range srv.Requests() {
		if q.APIVersion != "2022-11-28" || q.Auth == "" {
			t.Errorf("%s %s: version %q auth %q", q.Method, q.Path, q.APIVersion, q.Auth)
		}
	}
}

func TestChecklist(t *testing.T) {
	wf := workflowDir(t, "testdata/workflows/render/elfuse-runtime.yml")
	bad := workflowDir(t, "testdata/workflows/no-guard.yml")
	host := "fake:" + relRoot + "/testdata/hosts/converged.json"
	drifted := convergedRepo()
	drifted.Labels = nil
	for _, tc := range []struct {
		name    string
		repo    *fakegh.Repo
		token   string
		args    []string
		checked []string
		open    []string
	}{
		{"converged GitHub", convergedRepo(), "ghp_x1", []string{"--workflows", wf},
			[]string{"Require approval for all outside collaborators", "Label `ci-hvf` created", "appears Idle", "`runtime-macos` job added"},
			[]string{"`ghrunner` macOS account"}},
		{"label missing, bad workflow", drifted, "ghp_x1", []string{"--workflows", bad},
			[]string{"Require approval"},
			[]string{"Label `ci-hvf` created", "`runtime-macos` job added"}},
		{"no credential, no workflows", convergedRepo(), "", nil,
			[]string{"Runner installed as a LaunchDaemon"},
			[]string{"Require approval", "Label `ci-hvf`", "`runtime-macos` job added"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := fakeGitHub(t, tc.repo, nil)
			args := append([]string{"checklist", "--target", host, "--recipe", relRecipe, "--var", "brew_owner=admin"}, tc.args...)
			r := relCLI(t, relOpts{environ: ghEnv(srv, tc.token)}, args...)
			relNoCrash(t, tc.name, r)
			if r.code != 2 {
				t.Fatalf("exit %d, want 2 (the fake's login keychain is never known)\n%s", r.code, r.all())
			}
			lines := strings.Split(r.stdout, "\n")
			state := func(text string) string {
				for i, l := range lines {
					if strings.Contains(l, text) {
						if strings.HasPrefix(l, "- [x] ") {
							return "checked"
						}
						if strings.HasPrefix(l, "- [ ] ") {
							if i+1 < len(lines) && strings.HasPrefix(lines[i+1], "  - ") {
								return "open"
							}
							return "open without a reason"
						}
					}
				}
				return "missing"
			}
			for _, c := range tc.checked {
				if s := state(c); s != "checked" {
					t.Errorf("%q: %s, want checked\n%s", c, s, r.stdout)
				}
			}
			for _, o := range tc.open {
				if s := state(o); s != "open" {
					t.Errorf("%q: %s, want open with a reason\n%s", o, s, r.stdout)
				}
			}
			for _, q := range srv.Requests() {
				if q.Method != "GET" {
					t.Errorf("checklist changed GitHub: %s %s", q.Method, q.Path)
				}
			}
		})
	}
}

// TestRunJITWithoutRunnerOnGitHub is a fresh Mac registered with a token
// the run creates, against a GitHub that does not list the runner
// afterwards (the fake Mac's config.sh does not talk to the fake GitHub):
// the run converges, the runner's GitHub state is left to the next check.
func TestRunJITWithoutRunnerOnGitHub(t *testing.T) {
	repo := convergedRepo()
	repo.Runners = nil
	srv := fakeGitHub(t, repo, nil)
	save := filepath.Join(t.TempDir(), "mac.json")
	env := ghEnv(srv, "ghp_x1")
	r := relCLI(t, relOpts{environ: env}, append([]string{"run", "--target", "fake", "--yes", "--save", save}, append(relVars, relRecipe)...)...)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.all())
	}
	if got := srv.Repo("sysprog21/elfuse").IssuedTokens; len(got) != 1 || got[0].Kind != "registration" {
		t.Fatalf("tokens issued: %+v", got)
	}
	if !regexp.MustCompile(`verify\s+github:runner:macmini-m4-hvf\b`).MatchString(r.stdout) {
		t.Errorf("the apply report does not leave the runner to the next check:\n%s", r.stdout)
	}
	r = relCLI(t, relOpts{environ: env}, append([]string{"check", "--target", "fake:" + save}, append(relVars, relRecipe)...)...)
	if r.code != 2 || !strings.Contains(r.stdout, "github:runner:macmini-m4-hvf") {
		t.Fatalf("check after run: exit %d, want 2 (GitHub does not list the runner)\n%s", r.code, r.all())
	}
}

// TestRunJITRemoveThenRegister is a runner registered by hand after the
// setup document: the run removes it with a removal token and registers it
// again with a registration token, each created just before its config.sh.
func TestRunJITRemoveThenRegister(t *testing.T) {
	srv := fakeGitHub(t, convergedRepo(), nil)
	host := "fake:" + relRoot + "/testdata/hosts/seed-manual.json"
	r := relCLI(t, relOpts{environ: ghEnv(srv, "ghp_x1")}, append([]string{"run", "--target", host, "--yes", "--allow-destroy"}, append(relVars, relRecipe)...)...)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.all())
	}
	var kinds []string
	for _, tok := range srv.Repo("sysprog21/elfuse").IssuedTokens {
		kinds = append(kinds, tok.Kind)
		if strings.Contains(r.all(), tok.Token) {
			t.Errorf("the output shows a %s token", tok.Kind)
		}
	}
	if strings.Join(kinds, ",") != "remove,registration" {
		t.Fatalf("tokens created: %v, want remove then registration\n%s", kinds, r.stderr)
	}
}

func TestGitHubRunsSkipsRunsThatNeverStarted(t *testing.T) {
	now := time.Now().UTC()
	repo := convergedRepo()
	onMac := []*fakegh.Job{{ID: 5, Name: "runtime-macos", RunnerID: 42, RunnerName: "macmini-m4-hvf"}}
	repo.Runs = []*fakegh.Run{
		{ID: 1, Event: "pull_request", HeadRepo: "x/elfuse", Status: "completed", Conclusion: "action_required", RunAttempt: 1, CreatedAt: now.Add(-time.Hour)},
		// A re-run waiting for approval: its first attempt ran on the Mac.
		{ID: 2, Event: "pull_request", HeadRepo: "x/elfuse", Status: "waiting", RunAttempt: 2, CreatedAt: now.Add(-time.Hour), Jobs: []*fakegh.Job{{ID: 6, RunAttempt: 1, Name: "runtime-macos", RunnerID: 42, RunnerName: "macmini-m4-hvf"}}},
		{ID: 3, Event: "push", HeadBranch: "main", Status: "completed", Conclusion: "success", CreatedAt: now.Add(-time.Hour), Jobs: onMac},
	}
	srv := fakeGitHub(t, repo, nil)
	r := relCLI(t, relOpts{environ: ghEnv(srv, "")}, "github", "runs", "--repo", "sysprog21/elfuse", "--runner", "macmini-m4-hvf")
	if r.code != 1 || !strings.Contains(r.stdout, "actions/runs/2") {
		t.Fatalf("exit %d, want 1 with run 2's first attempt\n%s", r.code, r.all())
	}
	for _, q := range srv.Requests() {
		if strings.HasSuffix(q.Path, "/runs/1/jobs") {
			t.Errorf("jobs of a run held for approval were read")
		}
	}
}

func TestGitHubRunsSameRepoPullRequestLabels(t *testing.T) {
	now := time.Now().UTC()
	repo := convergedRepo()
	onMac := func(id int64) []*fakegh.Job {
		return []*fakegh.Job{{ID: id, Name: "runtime-macos", RunnerID: 42, RunnerName: "macmini-m4-hvf"}}
	}
	repo.Runs = []*fakegh.Run{
		{ID: 1, Event: "pull_request", HeadBranch: "a", PullRequests: []int{7}, CreatedAt: now.Add(-time.Hour), Jobs: onMac(11)},
		{ID: 2, Event: "pull_request", HeadBranch: "b", PullRequests: []int{8}, CreatedAt: now.Add(-time.Hour), Jobs: onMac(12)},
		{ID: 3, Event: "pull_request", HeadBranch: "c", PullRequests: []int{9}, CreatedAt: now.Add(-time.Hour), Jobs: onMac(13)},
	}
	repo.PullLabels = map[int][]string{7: {"ci-hvf", "bug"}, 8: {"bug"}}
	srv := fakeGitHub(t, repo, nil)
	r := relCLI(t, relOpts{environ: ghEnv(srv, "")}, "github", "runs", "--json", "--recipe", relRecipe)
	if r.code != 0 {
		t.Fatalf("exit %d: same-repository pull requests are not untrusted\n%s", r.code, r.all())
	}
	var rep struct {
		Jobs []struct {
			RunID    int64    `json:"run_id"`
			Scenario string   `json:"scenario"`
			Trust    string   `json:"trust"`
			PRLabels []string `json:"pr_labels"`
		}
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, j := range rep.Jobs {
		got[j.RunID] = fmt.Sprintf("%s %s %v", j.Scenario, j.Trust, j.PRLabels)
	}
	want := map[int64]string{1: "pr-same-label trusted [ci-hvf bug]", 2: "pr-same-nolabel not-allowed [bug]", 3: "pr-same-nolabel not-allowed []"}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("run %d: %q, want %q", id, got[id], w)
		}
	}
}
