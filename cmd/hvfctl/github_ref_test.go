package main

// The built hvfctl against a hand-written GitHub that answers exactly as
// the shared reference (github-api.md) shows, not through fakegh: the
// exit codes of `github check` (0/2/1), `github runs` (0/1/2) and
// `checklist`, and that the token never appears in any output.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// refGHToken is the token of these tests.
const refGHToken = "ghp_refE2Etoken0123456789ABCDEFabcdef"

// refGH is the state of the hand-written GitHub.
type refGH struct {
	mu        sync.Mutex
	approval  string
	wfPerms   string
	labels    map[string]bool
	runner    string // the runner object, §4 shape
	runs      []refGHRun
	fault     func(w http.ResponseWriter, r *http.Request) bool
	unauth    int
	puts      []string
	posts     []string
	issued    []string // registration and remove tokens handed out
	requests  int
	noVersion int
}

// refGHRun is a run (§6 JSON) with its creation time and jobs JSON.
type refGHRun struct {
	created time.Time
	json    string
	jobs    string
}

func refGHError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"message": %q, "documentation_url": "https://docs.github.com/rest", "status": "%d"}`, msg, status)
}

func refGHJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// refGHRunner is §4's runner with the recipe's labels.
func refGHRunner(status string, custom ...string) string {
	labels := []string{`{"id": 1, "name": "self-hosted", "type": "read-only"}`, `{"id": 0, "name": "macOS", "type": "read-only"}`, `{"id": 3, "name": "ARM64", "type": "read-only"}`}
	for i, c := range custom {
		labels = append(labels, fmt.Sprintf(`{"id": %d, "name": %q, "type": "custom"}`, 10+i, c))
	}
	return fmt.Sprintf(`{"id": 42, "name": "macmini-m4-hvf", "os": "macos", "status": %q, "busy": false, "ephemeral": false, "runner_group_id": 1, "labels": [%s]}`, status, strings.Join(labels, ", "))
}

func (g *refGH) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.requests++
	if r.Header.Get("X-GitHub-Api-Version") != "2022-11-28" || r.Header.Get("User-Agent") == "" {
		g.noVersion++
		refGHError(w, 400, "Bad Request")
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+refGHToken {
		g.unauth++
		refGHError(w, 401, "Bad credentials")
		return
	}
	if g.fault != nil && g.fault(w, r) {
		return
	}
	body, _ := io.ReadAll(r.Body)
	const repo = "/repos/sysprog21/elfuse"
	p := r.URL.Path
	switch {
	case p == "/user":
		refGHJSON(w, 200, `{"login": "maintainer", "id": 1002, "type": "User"}`)
	case p == repo+"/actions/permissions/fork-pr-contributor-approval" && r.Method == "GET":
		refGHJSON(w, 200, fmt.Sprintf(`{"approval_policy": %q}`, g.approval))
	case p == repo+"/actions/permissions/workflow" && r.Method == "GET":
		refGHJSON(w, 200, g.wfPerms)
	case p == repo+"/actions/permissions" && r.Method == "GET":
		refGHJSON(w, 200, `{"enabled": true, "allowed_actions": "selected", "selected_actions_url": "https://api.github.com/repositories/42/actions/permissions/selected-actions", "sha_pinning_required": true}`)
	case r.Method == "PUT" && strings.HasPrefix(p, repo+"/actions/"):
		g.puts = append(g.puts, p+" "+string(body))
		switch p {
		case repo + "/actions/permissions/fork-pr-contributor-approval":
			var b struct {
				Policy string `json:"approval_policy"`
			}
			if json.Unmarshal(body, &b) != nil || b.Policy == "" {
				refGHError(w, 422, "Validation Failed")
				return
			}
			g.approval = b.Policy
		case repo + "/actions/permissions/workflow":
			g.wfPerms = string(body)
		case repo + "/actions/runners/42/labels":
			var b struct {
				Labels []string `json:"labels"`
			}
			if json.Unmarshal(body, &b) != nil || b.Labels == nil {
				refGHError(w, 422, "Validation Failed")
				return
			}
			status := "online"
			if strings.Contains(g.runner, `"offline"`) {
				status = "offline"
			}
			g.runner = refGHRunner(status, b.Labels...)
			var l struct {
				Labels []json.RawMessage `json:"labels"`
			}
			_ = json.Unmarshal([]byte(g.runner), &l)
			refGHJSON(w, 200, fmt.Sprintf(`{"total_count": %d, "labels": %s}`, len(l.Labels), mustJSON(l.Labels)))
			return
		default:
			refGHError(w, 404, "Not Found")
			return
		}
		w.WriteHeader(204)
	case r.Method == "POST" && p == repo+"/labels":
		var b struct {
			Name, Color, Description string
		}
		if json.Unmarshal(body, &b) != nil || b.Name == "" || len(b.Color) != 6 || len(b.Description) > 100 {
			refGHJSON(w, 422, `{"message":"Validation Failed","errors":[{"resource":"Label","field":"color","code":"invalid"}],"status":"422"}`)
			return
		}
		if g.labels[b.Name] {
			refGHJSON(w, 422, `{"message":"Validation Failed","errors":[{"resource":"Label","field":"name","code":"already_exists"}],"documentation_url":"https://docs.github.com/rest/issues/labels#create-a-label","status":"422"}`)
			return
		}
		g.labels[b.Name] = true
		g.posts = append(g.posts, p+" "+string(body))
		refGHJSON(w, 201, fmt.Sprintf(`{"id": 208045946, "name": %q, "color": %q, "description": %q, "default": false}`, b.Name, b.Color, b.Description))
	case r.Method == "POST" && (p == repo+"/actions/runners/registration-token" || p == repo+"/actions/runners/remove-token"):
		tok := fmt.Sprintf("LLBF3JGZDX3P5PMEXLND6TS%06d", 100000+len(g.issued))
		g.issued = append(g.issued, tok)
		g.posts = append(g.posts, p)
		refGHJSON(w, 201, fmt.Sprintf(`{"token": %q, "expires_at": %q}`, tok, time.Now().Add(time.Hour).In(time.FixedZone("", -8*3600)).Format("2006-01-02T15:04:05.000-07:00")))
	case strings.HasPrefix(r.URL.EscapedPath(), repo+"/labels/") && r.Method == "GET":
		name := strings.TrimPrefix(p, repo+"/labels/")
		if !g.labels[name] {
			refGHError(w, 404, "Not Found")
			return
		}
		refGHJSON(w, 200, fmt.Sprintf(`{"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "url": "https://api.github.com%s", "name": %q, "color": "0e8a16", "description": "Maintainer checked this PR", "default": false}`, r.URL.EscapedPath(), name))
	case p == repo+"/actions/runners" && r.Method == "GET":
		var list []string
		if g.runner != "" && (r.URL.Query().Get("name") == "" || r.URL.Query().Get("name") == "macmini-m4-hvf") {
			list = append(list, g.runner)
		}
		refGHJSON(w, 200, fmt.Sprintf(`{"total_count": %d, "runners": [%s]}`, len(list), strings.Join(list, ",")))
	case p == repo+"/rules/branches/main":
		refGHJSON(w, 200, `[{"type":"pull_request","parameters":{"require_code_owner_review":true,"required_approving_review_count":1,"dismiss_stale_reviews_on_push":true,"require_last_push_approval":true,"required_review_thread_resolution":false,"allowed_merge_methods":["merge","squash","rebase"]},"ruleset_source_type":"Repository","ruleset_source":"sysprog21/elfuse","ruleset_id":7}]`)
	case p == repo+"/branches/main/protection":
		refGHError(w, 404, "Branch not protected")
	case p == repo+"/actions/runs":
		g.serveRuns(w, r)
	case strings.HasPrefix(p, repo+"/actions/runs/") && strings.HasSuffix(p, "/jobs"):
		id := strings.TrimSuffix(strings.TrimPrefix(p, repo+"/actions/runs/"), "/jobs")
		for _, run := range g.runs {
			if strings.Contains(run.json, `"id":`+id+`,`) {
				refGHJSON(w, 200, run.jobs)
				return
			}
		}
		refGHError(w, 404, "Not Found")
	default:
		refGHError(w, 404, "Not Found")
	}
}

// serveRuns answers §6's list: filtered by created (dates or times, a..b
// or >=), newest first, per_page with a Link next in the
// /repositories/ID/ form.
func (g *refGH) serveRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	from, to := time.Time{}, time.Now().Add(24*time.Hour)
	parse := func(s string, end bool) time.Time {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}
		}
		if end {
			return d.Add(24*time.Hour - time.Nanosecond)
		}
		return d
	}
	if c := q.Get("created"); c != "" {
		if a, b, ok := strings.Cut(c, ".."); ok {
			from, to = parse(a, false), parse(b, true)
		} else if s, ok := strings.CutPrefix(c, ">="); ok {
			from = parse(s, false)
		}
	}
	var items []string
	for _, run := range g.runs {
		if !run.created.Before(from) && !run.created.After(to) {
			items = append(items, run.json)
		}
	}
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	lo, hi := min((page-1)*per, len(items)), min(page*per, len(items))
	if hi < len(items) {
		q.Set("page", strconv.Itoa(page+1))
		w.Header().Set("Link", fmt.Sprintf(`<http://%s/repositories/1296269/actions/runs?%s>; rel="next"`, r.Host, q.Encode()))
	}
	refGHJSON(w, 200, fmt.Sprintf(`{"total_count": %d, "workflow_runs": [%s]}`, len(items), strings.Join(items[lo:hi], ",")))
}

// refGHRunJSON is §6's run with the given fields.
func refGHRunJSON(id int64, event, headRepo string, created time.Time, actor, triggering string) string {
	head := "null"
	if headRepo != "" {
		head = fmt.Sprintf(`{"id": 217723378, "full_name": %q, "fork": %v, "owner": {"login": %q}}`, headRepo, headRepo != "sysprog21/elfuse", strings.Split(headRepo, "/")[0])
	}
	return fmt.Sprintf(`{"id":%d, "name": "CI", "display_title": "Fix foo", "event": %q, "status": "completed", "conclusion": null,
  "head_branch": "fix-foo", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "path": ".github/workflows/ci.yml@refs/heads/main",
  "run_number": 562, "run_attempt": 2, "workflow_id": 159038, "check_suite_id": 42,
  "created_at": %q, "updated_at": %q, "run_started_at": %q,
  "html_url": "https://github.com/sysprog21/elfuse/actions/runs/%d", "jobs_url": "https://api.github.com/repos/sysprog21/elfuse/actions/runs/%d/jobs",
  "pull_requests": [], "actor": {"login": %q, "id": 1001, "type": "User"}, "triggering_actor": {"login": %q, "id": 1002, "type": "User"},
  "head_repository": %s, "repository": {"id": 1296269, "full_name": "sysprog21/elfuse", "fork": false, "owner": {"login": "sysprog21"}}}`,
		id, event, created.Format(time.RFC3339), created.Format(time.RFC3339), created.Format(time.RFC3339), id, id, actor, triggering, head)
}

// refGHJobs is §6's jobs answer: one job per runner ("null" = none).
func refGHJobs(runID int64, runners ...string) string {
	var jobs []string
	for i, rn := range runners {
		rid, name := "null", "null"
		if rn != "null" {
			rid, name = "7", strconv.Quote(rn)
			if rn == "macmini-m4-hvf" {
				rid = "42"
			}
		}
		jobs = append(jobs, fmt.Sprintf(`{"id": %d, "run_id": %d, "run_attempt": 1, "workflow_name": "CI", "name": "runtime-macos", "head_branch": "fix-foo",
  "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "status": "completed", "conclusion": "success",
  "created_at": "2026-08-01T19:34:50Z", "started_at": "2026-08-01T19:35:02Z", "completed_at": "2026-08-01T19:39:58Z",
  "labels": ["self-hosted", "macOS", "ARM64"], "runner_id": %s, "runner_name": %s, "runner_group_id": 1, "runner_group_name": "Default", "steps": []}`,
			runID*10+int64(i), runID, rid, name))
	}
	return fmt.Sprintf(`{"total_count": %d, "jobs": [%s]}`, len(jobs), strings.Join(jobs, ","))
}

// newRefGH starts the hand-written GitHub in the converged state changed
// by mod (applied before it serves: the race detector sees no order
// between this test and the requests of a subprocess).
func newRefGH(t *testing.T, mod func(g *refGH)) (*refGH, *httptest.Server) {
	g := &refGH{
		approval: "all_external_contributors",
		wfPerms:  `{"default_workflow_permissions": "read", "can_approve_pull_request_reviews": false}`,
		labels:   map[string]bool{"ci-hvf": true},
		runner:   refGHRunner("online", "m4", "hvf"),
	}
	if mod != nil {
		mod(g)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func TestBinaryAgainstReferenceGitHub(t *testing.T) {
	bin := relBuild(t)
	far := strconv.FormatInt(time.Now().Add(41*time.Minute).Unix(), 10)
	now := time.Now().UTC()
	push := refGHRun{now.Add(-48 * time.Hour), refGHRunJSON(11, "push", "sysprog21/elfuse", now.Add(-48*time.Hour), "jserv", "jserv"), refGHJobs(11, "macmini-m4-hvf", "null")}
	fork := refGHRun{now.Add(-24 * time.Hour), refGHRunJSON(12, "pull_request", "contributor/elfuse", now.Add(-24*time.Hour), "contributor", "maintainer"), refGHJobs(12, "macmini-m4-hvf")}
	forkElsewhere := refGHRun{now.Add(-20 * time.Hour), refGHRunJSON(13, "pull_request", "", now.Add(-20*time.Hour), "ghost", "ghost"), refGHJobs(13, "ubuntu-latest", "null")}
	wf := workflowDir(t, "testdata/workflows/render/elfuse-runtime.yml")
	checklist := []string{"checklist", "--target", "fake:" + relRoot + "/testdata/hosts/converged.json", "--recipe", relRecipe, "--var", "brew_owner=admin", "--workflows", wf}
	for _, tc := range []struct {
		name          string
		args          []string
		token         string
		mod           func(g *refGH)
		code          int
		want          []string
		checked, open []string
		wantGH        func(t *testing.T, g *refGH)
	}{
		// The fake Mac's login keychain is never known: checklist exits 2.
		{name: "checklist converged GitHub", args: checklist, code: 2,
			checked: []string{"Require approval for all outside collaborators", "Label `ci-hvf` created", "appears Idle"}},
		{name: "checklist label missing, runner offline", args: checklist, code: 2,
			mod:     func(g *refGH) { delete(g.labels, "ci-hvf"); g.runner = refGHRunner("offline", "m4", "hvf") },
			checked: []string{"Require approval for all outside collaborators"}, open: []string{"Label `ci-hvf` created", "appears Idle"},
			wantGH: func(t *testing.T, g *refGH) {
				if len(g.puts) != 0 {
					t.Errorf("checklist changed GitHub: %v", g.puts)
				}
			}},
		{name: "check converged", args: []string{"github", "check", "--recipe", relRecipe}, code: 0},
		{name: "check drift", args: []string{"github", "check", "--recipe", relRecipe}, code: 2,
			mod: func(g *refGH) {
				g.approval = "first_time_contributors"
				g.wfPerms = `{"default_workflow_permissions": "write", "can_approve_pull_request_reviews": true}`
				delete(g.labels, "ci-hvf")
				g.runner = refGHRunner("offline", "m4")
			},
			want: []string{"github:fork-pr-approval", "first_time_contributors", "github:label:ci-hvf", "offline"},
			wantGH: func(t *testing.T, g *refGH) {
				if len(g.puts) != 0 {
					t.Errorf("check changed GitHub: %v", g.puts)
				}
			}},
		{name: "check without permission", args: []string{"github", "check", "--recipe", relRecipe}, code: 1,
			mod: func(g *refGH) {
				g.fault = func(w http.ResponseWriter, r *http.Request) bool {
					if strings.Contains(r.URL.Path, "/actions/permissions") || strings.Contains(r.URL.Path, "/runners") {
						w.Header().Set("X-Accepted-GitHub-Permissions", "administration=read")
						refGHError(w, 403, "Resource not accessible by personal access token")
						return true
					}
					return false
				}
			},
			want: []string{"Resource not accessible by personal access token", "Administration: read"}},
		{name: "check bad credentials", args: []string{"github", "check", "--recipe", relRecipe}, token: "ghp_revoked0000000000", code: 1,
			want: []string{"Bad credentials"}},
		{name: "check rate limited (429, reset far)", args: []string{"github", "check", "--repo", "sysprog21/elfuse"}, code: 1,
			mod: func(g *refGH) {
				g.fault = func(w http.ResponseWriter, r *http.Request) bool {
					w.Header().Set("X-Ratelimit-Remaining", "0")
					w.Header().Set("X-Ratelimit-Reset", far)
					refGHError(w, 429, "API rate limit exceeded for user ID 1002.")
					return true
				}
			},
			want: []string{"rate limit", time.Unix(mustAtoi(far), 0).UTC().Format(time.RFC3339)}},
		{name: "runs trusted only", args: []string{"github", "runs", "--recipe", relRecipe, "--since", "30d"}, code: 0,
			mod:  func(g *refGH) { g.runs = []refGHRun{push, forkElsewhere} },
			want: []string{"actions/runs/11"}},
		{name: "runs fork reached the Mac", args: []string{"github", "runs", "--recipe", relRecipe, "--since", "30d"}, code: 1,
			mod:  func(g *refGH) { g.runs = []refGHRun{forkElsewhere, fork, push} },
			want: []string{"https://github.com/sysprog21/elfuse/actions/runs/12", "contributor/elfuse", "maintainer"}},
		{name: "runs API error", args: []string{"github", "runs", "--recipe", relRecipe}, code: 2,
			mod: func(g *refGH) {
				g.fault = func(w http.ResponseWriter, r *http.Request) bool {
					if strings.HasSuffix(r.URL.Path, "/actions/runs") {
						refGHError(w, 502, "Server Error")
						return true
					}
					return false
				}
			},
			want: []string{"502"}},
		{name: "runs bad credentials", args: []string{"github", "runs", "--recipe", relRecipe}, token: "ghp_revoked0000000000", code: 2,
			want: []string{"Bad credentials"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, srv := newRefGH(t, tc.mod)
			tok := refGHToken
			if tc.token != "" {
				tok = tc.token
			}
			r := relExec(t, bin, map[string]string{"GH_TOKEN": tok}, append(tc.args, "--github-api", srv.URL)...)
			relNoCrash(t, tc.name, r)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d\n%s", r.code, tc.code, r.all())
			}
			for _, w := range tc.want {
				if !strings.Contains(r.all(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.all())
				}
			}
			for _, c := range tc.checked {
				if !checklistLine(r.stdout, c, "- [x] ") {
					t.Errorf("%q not checked:\n%s", c, r.stdout)
				}
			}
			for _, c := range tc.open {
				if !checklistLine(r.stdout, c, "- [ ] ") {
					t.Errorf("%q not open:\n%s", c, r.stdout)
				}
			}
			for _, secret := range []string{tok, tok[4:16]} {
				if strings.Contains(r.all(), secret) {
					t.Errorf("output shows the token")
				}
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.noVersion != 0 || g.requests == 0 {
				t.Errorf("%d of %d requests without X-GitHub-Api-Version or User-Agent", g.noVersion, g.requests)
			}
			if tc.token == "" && g.unauth != 0 {
				t.Errorf("%d requests without the token as Bearer", g.unauth)
			}
			if tc.wantGH != nil {
				tc.wantGH(t, g)
			}
		})
	}
}

// workflowDir returns a new directory holding the repository's workflow
// file src (relative to the module root) as main.yml.
func workflowDir(t *testing.T, src string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(relRoot, src))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.yml"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// checklistLine reports whether the checklist line with text starts with
// prefix.
func checklistLine(out, text, prefix string) bool {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, text) && strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// TestRunAgainstReferenceGitHub: the built binary's run fixes the GitHub
// side through the reference's requests (PUT 204, POST label 201, PUT
// runner labels 200) and mints a registration token just in time (201,
// expires_at with milliseconds and an offset) that no output shows; a
// check afterwards changes nothing.
func TestRunAgainstReferenceGitHub(t *testing.T) {
	bin := relBuild(t)
	g, srv := newRefGH(t, func(g *refGH) {
		g.approval = "first_time_contributors"
		g.wfPerms = `{"default_workflow_permissions": "write", "can_approve_pull_request_reviews": true}`
		delete(g.labels, "ci-hvf")
		g.runner = refGHRunner("online") // lost m4 and hvf
	})
	save := filepath.Join(t.TempDir(), "mac.json")
	env := map[string]string{"GH_TOKEN": refGHToken}
	r := relExec(t, bin, env, append([]string{"run", "--github-api", srv.URL, "--target", "fake", "--yes", "--save", save}, append(relVars, relRecipe)...)...)
	relNoCrash(t, "run", r)
	if r.code != 0 {
		t.Fatalf("run: exit %d\n%s", r.code, r.all())
	}
	g.mu.Lock()
	if g.approval != "all_external_contributors" || !strings.Contains(g.wfPerms, `"default_workflow_permissions":"read"`) || !strings.Contains(g.wfPerms, `"can_approve_pull_request_reviews":false`) || !g.labels["ci-hvf"] ||
		!strings.Contains(g.runner, `"m4"`) || !strings.Contains(g.runner, `"hvf"`) {
		t.Errorf("GitHub not fixed: approval %s, perms %s, labels %v, runner %s", g.approval, g.wfPerms, g.labels, g.runner)
	}
	if len(g.issued) != 1 {
		t.Errorf("tokens issued: %d, want 1 registration token", len(g.issued))
	}
	secrets := append([]string{refGHToken}, g.issued...)
	g.mu.Unlock()
	for _, s := range secrets {
		if strings.Contains(r.all(), s) {
			t.Errorf("run output shows a token:\n%s", r.all())
		}
	}
	g.mu.Lock()
	before := len(g.puts) + len(g.posts)
	g.mu.Unlock()
	r = relExec(t, bin, env, append([]string{"check", "--github-api", srv.URL, "--target", "fake:" + save}, append(relVars, relRecipe)...)...)
	if r.code != 0 {
		t.Fatalf("check after run: exit %d\n%s", r.code, r.all())
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if after := len(g.puts) + len(g.posts); after != before {
		t.Errorf("check changed GitHub: %v %v", g.puts, g.posts)
	}
}

func mustAtoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		panic(err)
	}
	return n
}
