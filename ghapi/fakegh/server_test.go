package fakegh

// The fake answers raw HTTP requests the way the shared reference
// (github-api.md) says GitHub does; these tests read its answers without
// the client, so a mistake shared with ghapi cannot hide.

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestReferenceAnswers(t *testing.T) {
	limited := func(st *State) { n := 0; st.RateRemaining = &n; st.RateLimitStatus = 429 }
	for _, tc := range []struct {
		name         string
		mod          func(st *State)
		method, path string
		body         string
		header       map[string]string // request headers (Authorization added unless set)
		status       int
		wantBody     []string          // substrings of the answer
		wantRe       string            // a regexp the compacted answer matches
		wantHeader   map[string]string // regexp per header
	}{
		{name: "error body with a string status", method: "GET", path: "/repos/sysprog21/elfuse/labels/absent", status: 404,
			wantBody: []string{`"message":"Not Found"`, `"status":"404"`, `"documentation_url":"https://docs.github.com/rest`}},
		{name: "trailing slash is 404", method: "GET", path: "/repos/sysprog21/elfuse/actions/runners/", status: 404},
		{name: "no User-Agent", method: "GET", path: "/repos/sysprog21/elfuse/actions/runners", header: map[string]string{"User-Agent": ""}, status: 403},
		{name: "unknown API version", method: "GET", path: "/repos/sysprog21/elfuse/actions/runners", header: map[string]string{"X-GitHub-Api-Version": "2020-01-01"}, status: 400},
		{name: "bad credentials", mod: func(st *State) { st.Tokens = map[string]*TokenInfo{"good": {Login: "a"}} }, method: "GET",
			path: "/repos/sysprog21/elfuse/actions/permissions/workflow", status: 401, wantBody: []string{"Bad credentials"}},
		{name: "fine-grained token without the permission", mod: func(st *State) {
			st.Tokens = map[string]*TokenInfo{"tok": {Login: "a", Permissions: map[string]string{"metadata": "read", "administration": "read"}}}
		}, method: "PUT", path: "/repos/sysprog21/elfuse/actions/permissions/fork-pr-contributor-approval", body: `{"approval_policy":"all_external_contributors"}`,
			status: 403, wantBody: []string{"Resource not accessible by personal access token"}, wantHeader: map[string]string{"X-Accepted-GitHub-Permissions": `^administration=write$`}},
		{name: "user not admin on runner endpoints", mod: func(st *State) {
			st.Tokens = map[string]*TokenInfo{"tok": {Login: "a", NotAdmin: true, Permissions: map[string]string{"administration": "write"}}}
		}, method: "GET", path: "/repos/sysprog21/elfuse/actions/runners", status: 403, wantBody: []string{"Must have admin rights to Repository."}},
		{name: "private repository hidden from a token without access", mod: func(st *State) {
			st.Repos["sysprog21/elfuse"].Private = true
		}, method: "GET", path: "/repos/sysprog21/elfuse/actions/runs", header: map[string]string{"Authorization": ""}, status: 404},
		{name: "primary limit on 429", mod: limited, method: "GET", path: "/repos/sysprog21/elfuse/actions/runners", status: 429,
			wantHeader: map[string]string{"X-Ratelimit-Remaining": "^0$", "X-Ratelimit-Reset": `^\d{10}$`, "X-Ratelimit-Resource": "^core$"}},
		{name: "fork-PR approval PUT 204", method: "PUT", path: "/repos/sysprog21/elfuse/actions/permissions/fork-pr-contributor-approval", body: `{"approval_policy":"all_external_contributors"}`, status: 204},
		{name: "fork-PR approval unknown value 422", method: "PUT", path: "/repos/sysprog21/elfuse/actions/permissions/fork-pr-contributor-approval", body: `{"approval_policy":"everyone"}`, status: 422,
			wantBody: []string{"Validation Failed"}},
		{name: "workflow permissions locked by the organization 409", mod: func(st *State) { st.Repos["sysprog21/elfuse"].OrgLocksWorkflowPermissions = true },
			method: "PUT", path: "/repos/sysprog21/elfuse/actions/permissions/workflow", body: `{"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}`, status: 409},
		{name: "actions permissions carry sha_pinning_required", method: "GET", path: "/repos/sysprog21/elfuse/actions/permissions", status: 200,
			wantBody: []string{`"enabled":true`, `"sha_pinning_required":false`}},
		{name: "registration token 201, expires_at with milliseconds and offset", method: "POST", path: "/repos/sysprog21/elfuse/actions/runners/registration-token", status: 201,
			wantRe: `^\{"expires_at":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}-08:00","token":"[A-Z0-9]{29}"\}$`},
		{name: "label name with / and space in one escaped segment", mod: func(st *State) {
			st.Repos["sysprog21/elfuse"].Labels = []*Label{{ID: 3, Name: "area/ci hvf", Color: "0e8a16"}}
		}, method: "GET", path: "/repos/sysprog21/elfuse/labels/area%2Fci%20hvf", status: 200, wantBody: []string{`"name":"area/ci hvf"`, `labels/area%2Fci%20hvf"`}},
		{name: "label already exists 422", mod: func(st *State) {
			st.Repos["sysprog21/elfuse"].Labels = []*Label{{ID: 3, Name: "ci-hvf", Color: "0e8a16"}}
		},
			method: "POST", path: "/repos/sysprog21/elfuse/labels", body: `{"name":"ci-hvf","color":"0e8a16"}`, status: 422,
			wantBody: []string{`"resource":"Label"`, `"field":"name"`, `"code":"already_exists"`}},
		{name: "label color with # is invalid", method: "POST", path: "/repos/sysprog21/elfuse/labels", body: `{"name":"x","color":"#0e8a16"}`, status: 422, wantBody: []string{`"field":"color"`}},
		{name: "label description over 100 characters", method: "POST", path: "/repos/sysprog21/elfuse/labels", body: `{"name":"x","color":"0e8a16","description":"` + strings.Repeat("d", 101) + `"}`, status: 422},
		{name: "DELETE of a custom label not on the runner is 404", mod: withRunner, method: "DELETE", path: "/repos/sysprog21/elfuse/actions/runners/42/labels/absent", status: 404},
		{name: "DELETE of a custom label answers the rest", mod: withRunner, method: "DELETE", path: "/repos/sysprog21/elfuse/actions/runners/42/labels/hvf", status: 200,
			wantBody: []string{`"total_count":1`, `"name":"self-hosted"`}},
		{name: "PUT [] clears custom labels", mod: withRunner, method: "PUT", path: "/repos/sysprog21/elfuse/actions/runners/42/labels", body: `{"labels":[]}`, status: 200,
			wantBody: []string{`"total_count":1`}},
		{name: "Branch not protected", method: "GET", path: "/repos/sysprog21/elfuse/branches/main/protection", status: 404, wantBody: []string{`"message":"Branch not protected"`}},
		{name: "repository by id", mod: withRunner, method: "GET", path: "/repositories/1296269/actions/runners", status: 200, wantBody: []string{`"runners":[`, `"total_count":1`}},
		{name: "fork run: empty pull_requests, head repository differs", mod: func(st *State) {
			st.Repos["sysprog21/elfuse"].Runs = []*Run{{ID: 9, Event: "pull_request", HeadRepo: "contributor/elfuse", PullRequests: []int{3}, CreatedAt: time.Now()}}
		}, method: "GET", path: "/repos/sysprog21/elfuse/actions/runs", status: 200,
			wantBody: []string{`"pull_requests":[]`, `"full_name":"contributor/elfuse"`, `"workflow_runs":[`}},
		{name: "unassigned job: runner_id and runner_name null", mod: func(st *State) {
			st.Repos["sysprog21/elfuse"].Runs = []*Run{{ID: 9, Event: "push", CreatedAt: time.Now(), Jobs: []*Job{{ID: 1, Status: "queued"}}}}
		}, method: "GET", path: "/repos/sysprog21/elfuse/actions/runs/9/jobs?filter=all", status: 200,
			wantBody: []string{`"runner_id":null`, `"runner_name":null`, `"jobs":[`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &State{Repos: map[string]*Repo{"sysprog21/elfuse": DefaultRepo()}}
			if tc.mod != nil {
				tc.mod(st)
			}
			srv := New(st)
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("User-Agent", "test")
			req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
			req.Header.Set("Authorization", "Bearer tok")
			for k, v := range tc.header {
				// An empty value sends no such header (net/http
				// writes no empty User-Agent).
				req.Header.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, b)
			}
			if tc.status == 204 && len(b) != 0 {
				t.Errorf("204 with a body: %s", b)
			}
			compact := string(b)
			var v any
			if len(b) > 0 {
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatalf("not JSON: %s", b)
				}
				c, _ := json.Marshal(v)
				compact = string(c)
			}
			for _, w := range tc.wantBody {
				if !strings.Contains(compact, w) {
					t.Errorf("answer lacks %s: %s", w, compact)
				}
			}
			if tc.wantRe != "" && !regexp.MustCompile(tc.wantRe).MatchString(compact) {
				t.Errorf("answer %s does not match %s", compact, tc.wantRe)
			}
			for k, re := range tc.wantHeader {
				if !regexp.MustCompile(re).MatchString(resp.Header.Get(k)) {
					t.Errorf("header %s = %q, want %s", k, resp.Header.Get(k), re)
				}
			}
		})
	}
}

func withRunner(st *State) {
	st.Repos["sysprog21/elfuse"].Runners = []*Runner{{ID: 42, Name: "elfuse-m4", OS: "macOS", Status: "online", Labels: []*RunnerLabel{
		{ID: 1, Name: "self-hosted", Type: "read-only"}, {ID: 4, Name: "hvf", Type: "custom"}}}}
}

// TestLinkPagination: Link next URLs in the /repositories/ID/ form with
// page=N, no Link on the last page's next, and each URL answers.
func TestLinkPagination(t *testing.T) {
	st := &State{Repos: map[string]*Repo{"sysprog21/elfuse": DefaultRepo()}}
	for i := 0; i < 5; i++ {
		st.Repos["sysprog21/elfuse"].Runners = append(st.Repos["sysprog21/elfuse"].Runners, &Runner{ID: int64(i + 1), Name: "r", Status: "online"})
	}
	srv := New(st)
	defer srv.Close()
	next := srv.URL + "/repos/sysprog21/elfuse/actions/runners?per_page=2"
	seen := 0
	next_re := regexp.MustCompile(`<([^>]+)>; rel="next"`)
	for pages := 0; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("Link loops")
		}
		req, _ := http.NewRequest("GET", next, nil)
		req.Header.Set("User-Agent", "test")
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			Total   int               `json:"total_count"`
			Runners []json.RawMessage `json:"runners"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&l); err != nil || l.Total != 5 {
			t.Fatalf("%s: %+v, %v", next, l, err)
		}
		resp.Body.Close()
		seen += len(l.Runners)
		next = ""
		if m := next_re.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
			next = m[1]
			if !strings.Contains(next, "/repositories/1296269/actions/runners?") || !regexp.MustCompile(`[?&]page=\d`).MatchString(next) {
				t.Errorf("next URL %s", next)
			}
		}
	}
	if seen != 5 {
		t.Errorf("%d runners over the pages, want 5", seen)
	}
}
