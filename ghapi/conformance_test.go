package ghapi_test

// Conformance tests: each answers the client with a hand-written
// httptest handler that replies exactly as the shared reference
// (github-api.md) shows GitHub replying, not through fakegh, so the
// client and the fake cannot share a mistake. The section of the
// reference each fact comes from is named in the test.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/ghapi"
)

// refToken is the credential of the conformance tests; no error may
// show it.
const refToken = "ghp_REFERENCEtoken0123456789abcdefABCD"

// refNow is the clock of the conformance tests.
var refNow = time.Date(2026, 8, 1, 20, 0, 0, 0, time.UTC)

// refRequest is one request a reference handler saw.
type refRequest struct {
	Method, EscapedPath, Query, Body string
	Header                           http.Header
}

// refServer serves h under prefix ("" or "/api/v3") and records every
// request; the client it returns sleeps on a recorder, not a timer.
type refServer struct {
	srv    *httptest.Server
	mu     sync.Mutex
	seen   []refRequest
	sleeps []time.Duration
}

func newRef(t *testing.T, prefix string, h http.HandlerFunc) (*refServer, *ghapi.Client) {
	t.Helper()
	rs := &refServer{}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rs.mu.Lock()
		rs.seen = append(rs.seen, refRequest{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, string(b), r.Header.Clone()})
		rs.mu.Unlock()
		if !strings.HasPrefix(r.URL.Path, prefix+"/") {
			refError(w, 404, "Not Found")
			return
		}
		r.URL.Path = strings.TrimPrefix(r.URL.Path, prefix)
		r.URL.RawPath = strings.TrimPrefix(r.URL.RawPath, prefix)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		h(w, r)
	}))
	t.Cleanup(rs.srv.Close)
	c, err := ghapi.New(ghapi.Options{
		API:        rs.srv.URL + prefix,
		Credential: ghapi.Credential{Token: refToken, Source: "GH_TOKEN"},
		Now:        func() time.Time { return refNow },
		Sleep: func(ctx context.Context, d time.Duration) error {
			rs.mu.Lock()
			rs.sleeps = append(rs.sleeps, d)
			rs.mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return rs, c
}

func (rs *refServer) requests() []refRequest {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]refRequest(nil), rs.seen...)
}

// refJSON writes a JSON answer.
func refJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// refError writes GitHub's error body: status is a string (§1).
func refError(w http.ResponseWriter, status int, msg string) {
	refJSON(w, status, fmt.Sprintf(`{"message": %q, "documentation_url": "https://docs.github.com/rest", "status": "%d"}`, msg, status))
}

// noToken fails when the token appears in s.
func noToken(t *testing.T, what, s string) {
	t.Helper()
	if strings.Contains(s, refToken) || strings.Contains(s, refToken[4:20]) {
		t.Errorf("%s shows the token: %s", what, s)
	}
}

// calls are the client operations the error and header tests run, each
// on the endpoint of the reference's summary table (§0).
var calls = map[string]func(context.Context, *ghapi.Client) error{
	"fork-pr-approval": func(ctx context.Context, c *ghapi.Client) error { _, err := c.ForkPRApproval(ctx, elfuse); return err },
	"set-fork-pr-approval": func(ctx context.Context, c *ghapi.Client) error {
		return c.SetForkPRApproval(ctx, elfuse, ghapi.ApprovalAllExternal)
	},
	"workflow-permissions": func(ctx context.Context, c *ghapi.Client) error {
		_, err := c.WorkflowPermissions(ctx, elfuse)
		return err
	},
	"set-workflow-permissions": func(ctx context.Context, c *ghapi.Client) error {
		return c.SetWorkflowPermissions(ctx, elfuse, ghapi.WorkflowPermissions{Default: "read"})
	},
	"actions-permissions": func(ctx context.Context, c *ghapi.Client) error {
		_, err := c.ActionsPermissions(ctx, elfuse)
		return err
	},
	"runners": func(ctx context.Context, c *ghapi.Client) error {
		_, err := c.Runners(ctx, elfuse, "elfuse-m4")
		return err
	},
	"registration-token": func(ctx context.Context, c *ghapi.Client) error {
		_, err := c.RegistrationToken(ctx, elfuse)
		return err
	},
	"remove-token": func(ctx context.Context, c *ghapi.Client) error { _, err := c.RemoveToken(ctx, elfuse); return err },
	"set-runner-labels": func(ctx context.Context, c *ghapi.Client) error {
		_, err := c.SetRunnerLabels(ctx, elfuse, 42, []string{"hvf"})
		return err
	},
	"create-label": func(ctx context.Context, c *ghapi.Client) error {
		return c.CreateLabel(ctx, elfuse, ghapi.Label{Name: "ci-hvf", Color: "0e8a16", Description: "d"})
	},
	"runs": func(ctx context.Context, c *ghapi.Client) error {
		_, _, err := c.Runs(ctx, elfuse, ghapi.RunsQuery{Created: "2026-08-01..2026-08-01"})
		return err
	},
	"jobs": func(ctx context.Context, c *ghapi.Client) error { _, err := c.Jobs(ctx, elfuse, 30433642); return err },
	"code-owner": func(ctx context.Context, c *ghapi.Client) error {
		_, _, err := c.CodeOwnerReview(ctx, elfuse, "main")
		return err
	},
}

// TestConformErrors: §1 Errors — each error answer gives a message that
// names what to do, never the token.
func TestConformErrors(t *testing.T) {
	for _, tc := range []struct {
		name, call string
		status     int
		header     map[string]string
		body       string // "" = refError(status, msg)
		msg        string
		want       []string
		notFound   bool
	}{
		{name: "404 with string status (runner endpoint: admin role named)", call: "runners", status: 404, msg: "Not Found",
			want: []string{"404 Not Found", "cannot see it", "Administration: read on sysprog21/elfuse", "admin role"}, notFound: true},
		{name: "404 on runs names Actions read", call: "runs", status: 404, msg: "Not Found",
			want: []string{"Actions: read"}, notFound: true},
		{name: "401 Bad credentials", call: "fork-pr-approval", status: 401, msg: "Bad credentials",
			want: []string{"401 Bad credentials", "rejected the credential from GH_TOKEN", "create a new token"}},
		{name: "403 fine-grained token lacking the permission", call: "set-fork-pr-approval", status: 403, msg: "Resource not accessible by personal access token",
			header: map[string]string{"X-Accepted-GitHub-Permissions": "administration=write"},
			want:   []string{"Resource not accessible by personal access token", "needs Administration: write on sysprog21/elfuse", "GH_TOKEN"}},
		{name: "403 alternatives and all-of in X-Accepted-GitHub-Permissions", call: "create-label", status: 403, msg: "Resource not accessible by personal access token",
			header: map[string]string{"X-Accepted-GitHub-Permissions": "issues=write; pull_requests=write"},
			want:   []string{"needs Issues: write, or Pull requests: write"}},
		{name: "403 without the header names the endpoint's permission", call: "registration-token", status: 403, msg: "Resource not accessible by personal access token",
			want: []string{"needs Administration: write"}},
		{name: "403 Must have admin rights (classic token, user not admin)", call: "runners", status: 403, msg: "Must have admin rights to Repository.",
			want: []string{"Must have admin rights to Repository.", "user needs the admin role on sysprog21/elfuse"}},
		{name: "403 after repeated bad credentials", call: "runs", status: 403, msg: "Maximum number of login attempts exceeded. Please try again later.",
			want: []string{"login attempts", "try again later", "GH_TOKEN"}},
		{name: "403 classic token lacking a scope", call: "set-workflow-permissions", status: 403, msg: "Resource not accessible by personal access token",
			header: map[string]string{"X-OAuth-Scopes": "read:org", "X-Accepted-OAuth-Scopes": "repo"},
			want:   []string{"needs Administration: write (a classic token: one of the scopes repo; it has read:org)"}},
		{name: "409 workflow permissions enforced by the organization", call: "set-workflow-permissions", status: 409, msg: "Conflict",
			want: []string{"409", "organization", "enforces this setting"}},
		{name: "422 validation failed with custom message", call: "set-fork-pr-approval", status: 422,
			body: `{"message":"Validation Failed","errors":[{"resource":"Repository","code":"custom","message":"approval_policy is not included in the list"}],"documentation_url":"https://docs.github.com/rest","status":"422"}`,
			want: []string{"422", "Validation Failed", "approval_policy is not included in the list"}},
		{name: "422 label invalid color is an error", call: "create-label", status: 422,
			body: `{"message":"Validation Failed","errors":[{"resource":"Label","field":"color","code":"invalid"}],"documentation_url":"https://docs.github.com/rest/issues/labels#create-a-label","status":"422"}`,
			want: []string{"Label color invalid"}},
		{name: "422 with errors as plain strings", call: "set-runner-labels", status: 422,
			body: `{"message":"Validation Failed","errors":["Label name is too long"],"status":"422"}`,
			want: []string{"Validation Failed; Label name is too long"}},
		{name: "502 without a JSON body", call: "runs", status: 502, body: "<html>Bad gateway</html>",
			want: []string{"GitHub answered 502 Bad Gateway"}},
		{name: "400 Problems parsing JSON", call: "set-runner-labels", status: 400, msg: "Problems parsing JSON",
			want: []string{"400 Problems parsing JSON"}},
		{name: "410 retired API version", call: "jobs", status: 410, msg: "Gone", want: []string{"410 Gone"}},
		{name: "branch protection 404 other than Branch not protected", call: "code-owner", status: 404, msg: "Not Found",
			want: []string{"404 Not Found", "Administration: read"}, notFound: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
				if strings.Contains(r.URL.Path, "/rules/branches/") {
					refJSON(w, 200, `[]`)
					return
				}
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				if tc.body != "" {
					refJSON(w, tc.status, tc.body)
					return
				}
				refError(w, tc.status, tc.msg)
			})
			err := calls[tc.call](context.Background(), c)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if ghapi.IsNotFound(err) != tc.notFound {
				t.Errorf("IsNotFound = %v", !tc.notFound)
			}
			noToken(t, "error", err.Error())
		})
	}
}

// TestConformRateLimits: §1 Rate limits — primary limits on 403 and 429
// wait until x-ratelimit-reset when near; secondary limits wait
// Retry-After, else a minute (their x-ratelimit-reset belongs to the
// primary limit); far waits are errors naming the reset time. The
// requests after a far limit still go to GitHub.
func TestConformRateLimits(t *testing.T) {
	reset := func(d time.Duration) string { return strconv.FormatInt(refNow.Add(d).Unix(), 10) }
	primary := `{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api","status":"%d"}`
	secondary := `{"message":"You have exceeded a secondary rate limit. Please wait a few minutes before you try again.","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits","status":"%d"}`
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		wantSleep []time.Duration
		wantErr   []string // nil: the retry succeeds
	}{
		{"primary 403, reset in 30s", 403, primary, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset(30 * time.Second), "X-Ratelimit-Resource": "core"},
			[]time.Duration{31 * time.Second}, nil},
		{"primary 429, reset in 30s", 429, primary, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset(30 * time.Second)},
			[]time.Duration{31 * time.Second}, nil},
		{"primary 429, reset in 41 minutes", 429, primary, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset(41 * time.Minute)},
			nil, []string{"rate limit is exhausted until 2026-08-01T20:41:00Z", "(in 41m0s)"}},
		{"primary 403, reset in 41 minutes", 403, primary, map[string]string{"X-Ratelimit-Remaining": "0", "X-Ratelimit-Reset": reset(41 * time.Minute)},
			nil, []string{"until 2026-08-01T20:41:00Z"}},
		{"secondary 403 retry-after 10", 403, secondary, map[string]string{"Retry-After": "10", "X-Ratelimit-Remaining": "4000", "X-Ratelimit-Reset": reset(50 * time.Minute)},
			[]time.Duration{10 * time.Second}, nil},
		{"secondary 429 retry-after 10", 429, secondary, map[string]string{"Retry-After": "10"},
			[]time.Duration{10 * time.Second}, nil},
		{"secondary without retry-after, remaining > 0: a minute, not the far reset", 403, secondary, map[string]string{"X-Ratelimit-Remaining": "4000", "X-Ratelimit-Reset": reset(50 * time.Minute)},
			[]time.Duration{time.Minute}, nil},
		{"secondary retry-after an hour", 429, secondary, map[string]string{"Retry-After": "3600"},
			nil, []string{"until 2026-08-01T21:00:00Z", "retry after 3600s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
				n++
				if n == 1 || tc.wantErr != nil {
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					refJSON(w, tc.status, fmt.Sprintf(tc.body, tc.status))
					return
				}
				w.Header().Set("X-Ratelimit-Remaining", "4999")
				refJSON(w, 200, `{"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}`)
			})
			ctx := context.Background()
			p, err := c.WorkflowPermissions(ctx, elfuse)
			if tc.wantErr == nil {
				if err != nil || p.Default != "read" {
					t.Fatalf("after the wait: %+v, %v", p, err)
				}
			} else {
				if err == nil {
					t.Fatal("no error")
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				noToken(t, "error", err.Error())
				// The next request asks GitHub again (no pre-emptive
				// refusal without the reset time).
				before := len(rs.requests())
				err2 := calls["fork-pr-approval"](ctx, c)
				if len(rs.requests()) == before {
					t.Errorf("second request not sent: %v", err2)
				}
			}
			if fmt.Sprint(rs.sleeps) != fmt.Sprint(tc.wantSleep) {
				t.Errorf("slept %v, want %v", rs.sleeps, tc.wantSleep)
			}
		})
	}
}

// runnerJSON is §4's runner example with a given id, name, status, os.
func runnerJSON(id int, name, status, os string) string {
	return fmt.Sprintf(`{"id": %d, "name": %q, "os": %q, "status": %q, "busy": false, "ephemeral": false, "runner_group_id": 1,
  "labels": [{"id": 0, "name": "self-hosted", "type": "read-only"}, {"id": 2, "name": "macOS", "type": "read-only"},
   {"id": 3, "name": "ARM64", "type": "read-only"}, {"id": 4, "name": "hvf", "type": "custom"}]}`, id, name, os, status)
}

// TestConformPagination: §1 Pagination — Link next URLs in the
// /repositories/ID/ form, without rel="last", on several Link header
// lines or one, page=N; the wrapper keys with total_count; no Link header
// on a single page.
func TestConformPagination(t *testing.T) {
	for _, tc := range []struct {
		name  string
		links func(base string, page, pages int) []string
	}{
		{"one Link line, /repositories/ID form, next+last", func(base string, page, pages int) []string {
			if page == pages {
				return []string{fmt.Sprintf(`<%s/repositories/1300192/actions/runners?per_page=100&page=1>; rel="first", <%s/repositories/1300192/actions/runners?per_page=100&page=%d>; rel="prev"`, base, base, page-1)}
			}
			return []string{fmt.Sprintf(`<%s/repositories/1300192/actions/runners?per_page=100&page=%d>; rel="next", <%s/repositories/1300192/actions/runners?per_page=100&page=%d>; rel="last"`, base, page+1, base, pages)}
		}},
		{"last missing, prev before next", func(base string, page, pages int) []string {
			if page == pages {
				return []string{fmt.Sprintf(`<%s/repositories/1300192/actions/runners?page=%d&per_page=100>; rel="prev"`, base, page-1)}
			}
			var l []string
			if page > 1 {
				l = append(l, fmt.Sprintf(`<%s/repositories/1300192/actions/runners?page=%d&per_page=100>; rel="prev"`, base, page-1))
			}
			return []string{strings.Join(append(l, fmt.Sprintf(`<%s/repositories/1300192/actions/runners?page=%d&per_page=100>; rel="next"`, base, page+1)), ", ")}
		}},
		{"one Link header line per relation", func(base string, page, pages int) []string {
			l := []string{fmt.Sprintf(`<%s/repos/sysprog21/elfuse/actions/runners?per_page=100&page=1>; rel="first"`, base)}
			if page < pages {
				l = append(l, fmt.Sprintf(`<%s/repos/sysprog21/elfuse/actions/runners?per_page=100&page=%d>; rel="next"`, base, page+1))
			}
			return l
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const pages, per = 3, 2
			var base string
			rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
				page, _ := strconv.Atoi(r.URL.Query().Get("page"))
				if page == 0 {
					page = 1
				}
				var items []string
				for i := 0; i < per; i++ {
					id := (page-1)*per + i + 1
					items = append(items, runnerJSON(id, fmt.Sprintf("r%d", id), "online", "macOS"))
				}
				for _, l := range tc.links(base, page, pages) {
					w.Header().Add("Link", l)
				}
				refJSON(w, 200, fmt.Sprintf(`{"total_count": %d, "runners": [%s]}`, pages*per, strings.Join(items, ",")))
			})
			base = rs.srv.URL
			got, err := c.Runners(context.Background(), elfuse, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != pages*per || got[0].ID != 1 || got[len(got)-1].ID != pages*per {
				t.Fatalf("got %d runners: %+v", len(got), got)
			}
			for i, rq := range rs.requests() {
				if rq.EscapedPath != "/repos/sysprog21/elfuse/actions/runners" || !strings.Contains(rq.Query, "page="+strconv.Itoa(i+1)) {
					t.Errorf("request %d: %s?%s", i, rq.EscapedPath, rq.Query)
				}
			}
		})
	}
}

// TestConformRunners: §4 — status case, os case, label id 0 and the
// read-only/custom types; ?name= filters and only exact names are kept.
func TestConformRunners(t *testing.T) {
	for _, status := range []string{"online", "Online", "ONLINE"} {
		_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Query().Get("name") != "elfuse-m4" {
				t.Errorf("name filter %q", r.URL.RawQuery)
			}
			// A server's filter may match more than the exact name.
			refJSON(w, 200, `{"total_count": 2, "runners": [`+runnerJSON(42, "elfuse-m4", status, "macos")+`,`+runnerJSON(43, "elfuse-m4-old", "offline", "Linux")+`]}`)
		})
		rs, err := c.Runners(context.Background(), elfuse, "elfuse-m4")
		if err != nil || len(rs) != 1 {
			t.Fatalf("%s: %+v, %v", status, rs, err)
		}
		r := rs[0]
		if r.ID != 42 || r.Status != "online" || !strings.EqualFold(r.OS, "macOS") || r.Labels[0].ID != 0 || r.Labels[3].Type != "custom" || r.Labels[1].Type != "read-only" {
			t.Errorf("%s: %+v", status, r)
		}
	}
}

// TestConformRunnerLabels: §4 Labels of a runner — PUT with
// {"labels": [...]} replaces the custom labels ([] clears, never null)
// and answers 200 with the full list.
func TestConformRunnerLabels(t *testing.T) {
	for _, tc := range []struct {
		labels   []string
		wantBody string
	}{
		{[]string{"hvf", "m4"}, `{"labels":["hvf","m4"]}`},
		{nil, `{"labels":[]}`},
	} {
		rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != "PUT" || r.URL.Path != "/repos/sysprog21/elfuse/actions/runners/42/labels" {
				refError(w, 404, "Not Found")
				return
			}
			refJSON(w, 200, `{"total_count": 3, "labels": [{"id": 1, "name": "self-hosted", "type": "read-only"},
  {"id": 0, "name": "macOS", "type": "read-only"}, {"id": 5, "name": "hvf", "type": "custom"}]}`)
		})
		got, err := c.SetRunnerLabels(context.Background(), elfuse, 42, tc.labels)
		if err != nil || len(got) != 3 || got[2].Type != "custom" {
			t.Fatalf("%v: %+v, %v", tc.labels, got, err)
		}
		if b := strings.TrimSpace(rs.requests()[0].Body); b != tc.wantBody {
			t.Errorf("%v: body %s, want %s", tc.labels, b, tc.wantBody)
		}
	}
}

// TestConformTokens: §4 — registration and remove tokens answer 201 with
// expires_at carrying milliseconds and an offset.
func TestConformTokens(t *testing.T) {
	want := time.Date(2020, 1, 22, 20, 13, 35, 123e6, time.UTC)
	for _, kind := range []string{"registration-token", "remove-token"} {
		rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != "POST" || r.URL.Path != "/repos/sysprog21/elfuse/actions/runners/"+kind {
				refError(w, 404, "Not Found")
				return
			}
			refJSON(w, 201, `{"token": "LLBF3JGZDX3P5PMEXLND6TS6FCWO6", "expires_at": "2020-01-22T12:13:35.123-08:00"}`)
		})
		var tok ghapi.Token
		var err error
		if kind == "registration-token" {
			tok, err = c.RegistrationToken(context.Background(), elfuse)
		} else {
			tok, err = c.RemoveToken(context.Background(), elfuse)
		}
		if err != nil || tok.Value != "LLBF3JGZDX3P5PMEXLND6TS6FCWO6" || !tok.ExpiresAt.Equal(want) {
			t.Errorf("%s: %v (%v), %v", kind, tok.ExpiresAt, tok.Value == "", err)
		}
		if s := fmt.Sprintf("%v %s %+v", tok, tok, tok); strings.Contains(s, "LLBF3") {
			t.Errorf("%s: token formatted: %s", kind, s)
		}
		if b := rs.requests()[0].Body; b != "" {
			t.Errorf("%s: body %q, want none", kind, b)
		}
	}
}

// TestConformIssueLabels: §5 — the name is one escaped path segment
// (spaces, /); 404 = absent; POST 201; 422 already_exists (created by
// someone else meanwhile) is success; color without #.
func TestConformIssueLabels(t *testing.T) {
	for _, tc := range []struct {
		name, wantPath string
	}{
		{"ci-hvf", "/repos/sysprog21/elfuse/labels/ci-hvf"},
		{"ci hvf", "/repos/sysprog21/elfuse/labels/ci%20hvf"},
		{"area/ci", "/repos/sysprog21/elfuse/labels/area%2Fci"},
		{"50% ok?", "/repos/sysprog21/elfuse/labels/50%25%20ok%3F"},
	} {
		rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			seg := strings.TrimPrefix(r.URL.EscapedPath(), "/repos/sysprog21/elfuse/labels/")
			name, err := url.PathUnescape(seg)
			if err != nil || strings.Contains(seg, "/") || name != tc.name {
				refError(w, 404, "Not Found")
				return
			}
			refJSON(w, 200, fmt.Sprintf(`{"id": 208045946, "node_id": "MDU6TGFiZWwyMDgwNDU5NDY=", "url": "https://api.github.com/repos/sysprog21/elfuse/labels/%s", "name": %q, "color": "0e8a16", "description": "Maintainer checked this PR", "default": false}`, seg, tc.name))
		})
		l, err := c.Label(context.Background(), elfuse, tc.name)
		if err != nil || l == nil || l.Name != tc.name || l.Color != "0e8a16" {
			t.Errorf("%q: %+v, %v", tc.name, l, err)
		}
		if p := rs.requests()[0].EscapedPath; p != tc.wantPath {
			t.Errorf("%q: path %s, want %s", tc.name, p, tc.wantPath)
		}
	}

	_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) { refError(w, 404, "Not Found") })
	if l, err := c.Label(context.Background(), elfuse, "ci-hvf"); l != nil || err != nil {
		t.Errorf("absent label: %+v, %v", l, err)
	}

	for _, tc := range []struct {
		name, answer string
		status       int
		wantErr      bool
	}{
		{"created", `{"id": 1, "name": "ci-hvf", "color": "0e8a16", "description": "d", "default": false}`, 201, false},
		{"already exists (race)", `{"message":"Validation Failed","errors":[{"resource":"Label","field":"name","code":"already_exists"}],"documentation_url":"https://docs.github.com/rest/issues/labels#create-a-label","status":"422"}`, 422, false},
		{"missing field", `{"message":"Validation Failed","errors":[{"resource":"Label","field":"name","code":"missing_field"}],"status":"422"}`, 422, true},
	} {
		rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != "POST" || r.URL.Path != "/repos/sysprog21/elfuse/labels" {
				refError(w, 404, "Not Found")
				return
			}
			refJSON(w, tc.status, tc.answer)
		})
		err := c.CreateLabel(context.Background(), elfuse, ghapi.Label{Name: "ci-hvf", Color: "0e8a16", Description: "Maintainer checked this PR"})
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: %v", tc.name, err)
		}
		var body map[string]string
		if err := json.Unmarshal([]byte(rs.requests()[0].Body), &body); err != nil || body["name"] != "ci-hvf" || body["color"] != "0e8a16" || body["description"] == "" {
			t.Errorf("%s: body %s", tc.name, rs.requests()[0].Body)
		}
	}
}

// TestConformSettings: §2, §3 — the fork-PR approval policy (own request:
// go-github v75 has no method) GET 200 / PUT 204; workflow permissions
// PUT with both fields (false included); actions permissions with
// sha_pinning_required, which go-github v75's struct lacks.
func TestConformSettings(t *testing.T) {
	state := map[string]string{
		"/repos/sysprog21/elfuse/actions/permissions/fork-pr-contributor-approval": `{"approval_policy": "first_time_contributors"}`,
		"/repos/sysprog21/elfuse/actions/permissions/workflow":                     `{"default_workflow_permissions": "write", "can_approve_pull_request_reviews": true}`,
		"/repos/sysprog21/elfuse/actions/permissions":                              `{"enabled": true, "allowed_actions": "selected", "selected_actions_url": "https://api.github.com/repositories/42/actions/permissions/selected-actions", "sha_pinning_required": true}`,
	}
	rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
		body, ok := state[r.URL.Path]
		switch {
		case !ok:
			refError(w, 404, "Not Found")
		case r.Method == "GET":
			refJSON(w, 200, body)
		case r.Method == "PUT":
			w.WriteHeader(204)
		default:
			refError(w, 404, "Not Found")
		}
	})
	ctx := context.Background()
	if p, err := c.ForkPRApproval(ctx, elfuse); err != nil || p != "first_time_contributors" {
		t.Errorf("ForkPRApproval = %q, %v", p, err)
	}
	if err := c.SetForkPRApproval(ctx, elfuse, ghapi.ApprovalAllExternal); err != nil {
		t.Error(err)
	}
	if wp, err := c.WorkflowPermissions(ctx, elfuse); err != nil || wp.Default != "write" || !wp.CanApprove {
		t.Errorf("WorkflowPermissions = %+v, %v", wp, err)
	}
	if err := c.SetWorkflowPermissions(ctx, elfuse, ghapi.WorkflowPermissions{Default: "read"}); err != nil {
		t.Error(err)
	}
	ap, err := c.ActionsPermissions(ctx, elfuse)
	if err != nil || !ap.Enabled || ap.AllowedActions != "selected" || ap.SHAPinningRequired == nil || !*ap.SHAPinningRequired {
		t.Errorf("ActionsPermissions = %+v, %v", ap, err)
	}
	var puts []string
	for _, rq := range rs.requests() {
		if rq.Method == "PUT" {
			puts = append(puts, rq.EscapedPath+" "+strings.TrimSpace(rq.Body))
		}
	}
	want := []string{
		`/repos/sysprog21/elfuse/actions/permissions/fork-pr-contributor-approval {"approval_policy":"all_external_contributors"}`,
		`/repos/sysprog21/elfuse/actions/permissions/workflow {"default_workflow_permissions":"read","can_approve_pull_request_reviews":false}`,
	}
	if strings.Join(puts, "\n") != strings.Join(want, "\n") {
		t.Errorf("PUTs:\n%s\nwant:\n%s", strings.Join(puts, "\n"), strings.Join(want, "\n"))
	}

	for body, want := range map[string]string{`{"enabled": true, "allowed_actions": "all"}`: "<nil>", `{"enabled": true, "sha_pinning_required": false}`: "false"} {
		_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) { refJSON(w, 200, body) })
		ap, err := c.ActionsPermissions(ctx, elfuse)
		got := "<nil>"
		if ap.SHAPinningRequired != nil {
			got = strconv.FormatBool(*ap.SHAPinningRequired)
		}
		if err != nil || got != want {
			t.Errorf("%s: sha_pinning_required %s, %v; want %s", body, got, err, want)
		}
	}
}

// refRun is §6's run example, changed by the given JSON fields.
func refRun(t *testing.T, id int64, created time.Time, change map[string]any) string {
	t.Helper()
	run := map[string]any{}
	if err := json.Unmarshal([]byte(`{"id": 30433642, "name": "CI", "display_title": "Fix foo",
  "event": "pull_request", "status": "completed", "conclusion": "success",
  "head_branch": "fix-foo", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
  "path": ".github/workflows/ci.yml", "run_number": 562, "run_attempt": 2,
  "workflow_id": 159038, "check_suite_id": 42,
  "created_at": "2026-08-01T19:33:08Z", "updated_at": "2026-08-01T19:40:11Z",
  "run_started_at": "2026-08-01T19:35:00Z",
  "html_url": "https://github.com/sysprog21/elfuse/actions/runs/30433642",
  "jobs_url": "https://api.github.com/repos/sysprog21/elfuse/actions/runs/30433642/jobs",
  "pull_requests": [],
  "actor": {"login": "contributor", "id": 1001, "type": "User"},
  "triggering_actor": {"login": "maintainer", "id": 1002, "type": "User"},
  "head_repository": {"id": 217723378, "full_name": "contributor/elfuse", "fork": true, "owner": {"login": "contributor"}},
  "repository": {"id": 1296269, "full_name": "sysprog21/elfuse", "fork": false, "owner": {"login": "sysprog21"}}}`), &run); err != nil {
		t.Fatal(err)
	}
	run["id"] = id
	run["created_at"] = created.Format(time.RFC3339)
	for k, v := range change {
		run[k] = v
	}
	b, err := json.Marshal(run)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConformRuns: §6 — the example run and its nullable fields, forks
// recognised by head_repository.full_name (pull_requests is empty for
// them), a null head_repository, path with @ref, actor versus
// triggering_actor.
func TestConformRuns(t *testing.T) {
	at := time.Date(2026, 8, 1, 19, 33, 8, 0, time.UTC)
	same := map[string]any{"full_name": "sysprog21/elfuse", "fork": false, "id": 1296269, "owner": map[string]any{"login": "sysprog21"}}
	for _, tc := range []struct {
		name   string
		change map[string]any
		check  func(r ghapi.Run) bool
	}{
		{"fork PR, empty pull_requests", nil, func(r ghapi.Run) bool {
			return r.Fork() && len(r.PullRequests) == 0 && r.HeadRepo == "contributor/elfuse" && r.Actor == "contributor" && r.TriggeringActor == "maintainer" && r.RunAttempt == 2 && r.CreatedAt.Equal(at)
		}},
		{"same-repository PR lists its number", map[string]any{"head_repository": same, "pull_requests": []any{map[string]any{"number": 7, "id": 1, "head": map[string]any{"ref": "fix-foo", "sha": "acb5"}, "base": map[string]any{"ref": "main", "sha": "ffff"}}}}, func(r ghapi.Run) bool {
			return !r.Fork() && len(r.PullRequests) == 1 && r.PullRequests[0] == 7
		}},
		{"null head_repository (deleted fork) counts as a fork", map[string]any{"head_repository": nil}, func(r ghapi.Run) bool { return r.Fork() && r.HeadRepo == "" }},
		{"null name, head_branch, conclusion, status", map[string]any{"name": nil, "head_branch": nil, "conclusion": nil, "status": nil}, func(r ghapi.Run) bool {
			return r.Name == "" && r.HeadBranch == "" && r.Conclusion == "" && r.Status == ""
		}},
		{"path with @ref", map[string]any{"path": ".github/workflows/build.yml@main", "head_repository": same, "event": "push"}, func(r ghapi.Run) bool {
			return r.Path == ".github/workflows/build.yml@main" && !r.Fork() && r.Event == "push"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
				refJSON(w, 200, `{"total_count": 1, "workflow_runs": [`+refRun(t, 30433642, at, tc.change)+`]}`)
			})
			runs, total, err := c.Runs(context.Background(), elfuse, ghapi.RunsQuery{Created: ">=2026-08-01"})
			if err != nil || total != 1 || len(runs) != 1 || !tc.check(runs[0]) {
				t.Fatalf("%+v, %d, %v", runs, total, err)
			}
			q, _ := url.ParseQuery(rs.requests()[0].Query)
			if q.Get("created") != ">=2026-08-01" || q.Get("per_page") != "100" {
				t.Errorf("query %s", rs.requests()[0].Query)
			}
		})
	}
}

// TestConformJobs: §6 jobs — filter=all (earlier attempts), runner_id and
// runner_name null or 0/"" alike, the id recorded with the name.
func TestConformJobs(t *testing.T) {
	job := func(id int, attempt int, rid, rname string) string {
		return fmt.Sprintf(`{"id": %d, "run_id": 30433642, "run_attempt": %d, "workflow_name": "CI", "name": "runtime-macos",
  "head_branch": "fix-foo", "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d", "status": "completed", "conclusion": "success",
  "created_at": "2026-08-01T19:34:50Z", "started_at": "2026-08-01T19:35:02Z", "completed_at": "2026-08-01T19:39:58Z",
  "labels": ["self-hosted", "macOS", "ARM64"], "runner_id": %s, "runner_name": %s, "runner_group_id": 1, "runner_group_name": "Default",
  "steps": [{"name": "Set up job", "status": "completed", "conclusion": "success", "number": 1, "started_at": "2026-08-01T19:35:02Z", "completed_at": "2026-08-01T19:35:03Z"}]}`, id, attempt, rid, rname)
	}
	rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("filter") != "all" {
			refJSON(w, 200, `{"total_count": 1, "jobs": [`+job(4, 2, "42", `"elfuse-m4"`)+`]}`)
			return
		}
		refJSON(w, 200, `{"total_count": 4, "jobs": [`+strings.Join([]string{
			job(1, 1, "41", `"elfuse-m4"`), job(2, 1, "null", "null"), job(3, 1, "0", `""`), job(4, 2, "42", `"elfuse-m4"`)}, ",")+`]}`)
	})
	ctx := context.Background()
	jobs, err := c.Jobs(ctx, elfuse, 30433642)
	if err != nil || len(jobs) != 4 {
		t.Fatalf("%+v, %v", jobs, err)
	}
	if q, _ := url.ParseQuery(rs.requests()[0].Query); q.Get("filter") != "all" {
		t.Errorf("query %s", rs.requests()[0].Query)
	}
	if jobs[1].RunnerID != 0 || jobs[1].RunnerName != "" || jobs[2].RunnerID != 0 || jobs[2].RunnerName != "" {
		t.Errorf("unassigned jobs: %+v %+v", jobs[1], jobs[2])
	}
	run := ghapi.Run{ID: 30433642}
	// A runner registered again has a new id: match by name, record the id.
	got, err := c.JobsOn(ctx, elfuse, []ghapi.Run{run}, map[string]bool{"elfuse-m4": true}, map[int64]bool{42: true})
	if err != nil || len(got) != 2 || got[0].Job.RunnerID != 41 || got[1].Job.RunnerID != 42 || got[0].Job.RunAttempt != 1 {
		t.Errorf("JobsOn = %+v, %v", got, err)
	}
	// A job that never got a runner matches no empty name or zero id.
	got, _ = c.JobsOn(ctx, elfuse, []ghapi.Run{run}, map[string]bool{"": true}, map[int64]bool{0: true})
	if len(got) != 0 {
		t.Errorf("unassigned jobs matched: %+v", got)
	}
}

// TestConformHeldRuns: §6 — which runs' jobs are read: a run held for a
// fork approval (action_required) or skipped ran nothing; a waiting or
// queued run may have finished jobs on the runner before the one that
// waits (an environment's approval, a free runner).
func TestConformHeldRuns(t *testing.T) {
	for _, tc := range []struct {
		status, conclusion string
		attempt            int
		read               bool
	}{
		{"completed", "action_required", 1, false},
		{"completed", "skipped", 1, false},
		{"requested", "", 1, false},
		{"waiting", "", 1, true},
		{"queued", "", 1, true},
		{"in_progress", "", 1, true},
		{"completed", "action_required", 2, true},
	} {
		rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
			refJSON(w, 200, `{"total_count": 1, "jobs": [{"id": 1, "run_id": 5, "run_attempt": 1, "name": "runtime-macos", "status": "completed", "conclusion": "success", "labels": ["self-hosted"], "runner_id": 42, "runner_name": "elfuse-m4", "steps": []}]}`)
		})
		got, err := c.JobsOn(context.Background(), elfuse, []ghapi.Run{{ID: 5, Status: tc.status, Conclusion: tc.conclusion, RunAttempt: tc.attempt}}, map[string]bool{"elfuse-m4": true}, nil)
		if err != nil || (len(rs.requests()) > 0) != tc.read || (len(got) == 1) != tc.read {
			t.Errorf("%s/%s attempt %d: %d requests, %d jobs, %v; want read %v", tc.status, tc.conclusion, tc.attempt, len(rs.requests()), len(got), err, tc.read)
		}
	}
}

// TestConformRunsSplit: §6 — with created, GitHub returns at most 1,000
// runs per search while total_count gives the whole number; the period is
// split into created ranges until every run is read, each once.
func TestConformRunsSplit(t *testing.T) {
	since := time.Date(2026, 7, 2, 0, 0, 0, 0, time.UTC)
	var all []time.Time
	for i := 0; i < 2600; i++ {
		all = append(all, since.Add(time.Duration(i)*(30*24*time.Hour)/2600))
	}
	parse := func(s string, end bool) (time.Time, bool) {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t, true
		}
		d, err := time.Parse("2006-01-02", s)
		if err != nil {
			return time.Time{}, false
		}
		if end {
			return d.Add(24*time.Hour - time.Nanosecond), true
		}
		return d, true
	}
	rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		a, b, ok := strings.Cut(q.Get("created"), "..")
		from, ok1 := parse(a, false)
		to, ok2 := parse(b, true)
		if !ok || !ok1 || !ok2 {
			refJSON(w, 422, `{"message":"Validation Failed","status":"422"}`)
			return
		}
		var match []int
		for i := len(all) - 1; i >= 0; i-- {
			if !all[i].Before(from) && !all[i].After(to) {
				match = append(match, i)
			}
		}
		page, _ := strconv.Atoi(q.Get("page"))
		per, _ := strconv.Atoi(q.Get("per_page"))
		capped := match
		if len(capped) > 1000 {
			capped = capped[:1000]
		}
		lo, hi := (page-1)*per, page*per
		if lo > len(capped) {
			lo = len(capped)
		}
		if hi > len(capped) {
			hi = len(capped)
		}
		var items []string
		for _, i := range capped[lo:hi] {
			items = append(items, refRun(t, int64(i+1), all[i], nil))
		}
		if hi < len(capped) {
			u := *r.URL
			qq := u.Query()
			qq.Set("page", strconv.Itoa(page+1))
			w.Header().Set("Link", fmt.Sprintf(`<http://%s/repositories/1300192/actions/runs?%s>; rel="next"`, r.Host, qq.Encode()))
		}
		refJSON(w, 200, fmt.Sprintf(`{"total_count": %d, "workflow_runs": [%s]}`, len(match), strings.Join(items, ",")))
	})
	runs, err := c.RunsSince(context.Background(), elfuse, since, since.Add(30*24*time.Hour-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != len(all) {
		t.Fatalf("%d runs, want %d", len(runs), len(all))
	}
	seen := map[int64]bool{}
	for i, r := range runs {
		if seen[r.ID] || (i > 0 && r.CreatedAt.After(runs[i-1].CreatedAt)) {
			t.Fatalf("run %d repeated or out of order", r.ID)
		}
		seen[r.ID] = true
	}
	for _, rq := range rs.requests() {
		if q, _ := url.ParseQuery(rq.Query); !strings.Contains(q.Get("created"), "..") {
			t.Errorf("request without a created range: %s", rq.Query)
		}
	}
}

// TestConformCodeOwner: §7 — rules in force on the branch (pull_request
// rule), branch protection, 404 "Branch not protected" (none) versus any
// other 404 (an error).
func TestConformCodeOwner(t *testing.T) {
	rule := `[{"type":"pull_request","parameters":{"require_code_owner_review":%s,"required_approving_review_count":1,"dismiss_stale_reviews_on_push":true,"require_last_push_approval":true,"required_review_thread_resolution":false,"allowed_merge_methods":["merge","squash","rebase"]},"ruleset_source_type":"Repository","ruleset_source":"sysprog21/elfuse","ruleset_id":7}]`
	protection := `{"url":"https://api.github.com/repos/sysprog21/elfuse/branches/main/protection","required_pull_request_reviews":{"require_code_owner_reviews":%s,"required_approving_review_count":1,"dismiss_stale_reviews":false,"require_last_push_approval":false},"enforce_admins":{"enabled":true}}`
	for _, tc := range []struct {
		name        string
		rules, prot func(w http.ResponseWriter)
		want        bool
		wantErr     bool
	}{
		{"ruleset requires code owner", func(w http.ResponseWriter) { refJSON(w, 200, fmt.Sprintf(rule, "true")) }, nil, true, false},
		{"ruleset without, protection with", func(w http.ResponseWriter) { refJSON(w, 200, fmt.Sprintf(rule, "false")) },
			func(w http.ResponseWriter) { refJSON(w, 200, fmt.Sprintf(protection, "true")) }, true, false},
		{"no rules, Branch not protected", func(w http.ResponseWriter) { refJSON(w, 200, `[]`) },
			func(w http.ResponseWriter) { refError(w, 404, "Branch not protected") }, false, false},
		{"no rules, protection without code owners", func(w http.ResponseWriter) { refJSON(w, 200, `[]`) },
			func(w http.ResponseWriter) { refJSON(w, 200, fmt.Sprintf(protection, "false")) }, false, false},
		{"no rules, protection 404 Not Found is an error", func(w http.ResponseWriter) { refJSON(w, 200, `[]`) },
			func(w http.ResponseWriter) { refError(w, 404, "Not Found") }, false, true},
		{"protection 403 is an error", func(w http.ResponseWriter) { refJSON(w, 200, `[]`) },
			func(w http.ResponseWriter) {
				w.Header().Set("X-Accepted-GitHub-Permissions", "administration=read")
				refError(w, 403, "Resource not accessible by personal access token")
			}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/repos/sysprog21/elfuse/rules/branches/main":
					tc.rules(w)
				case "/repos/sysprog21/elfuse/branches/main/protection":
					if tc.prot == nil {
						t.Error("protection read although a rule decided")
					}
					tc.prot(w)
				default:
					refError(w, 404, "Not Found")
				}
			})
			got, _, err := c.CodeOwnerReview(context.Background(), elfuse, "main")
			if got != tc.want || (err != nil) != tc.wantErr {
				t.Errorf("= %v, %v; want %v, error %v", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

// TestConformCodeOwnerBranchEscaped: a branch name with "/" is one
// escaped path segment on both endpoints.
func TestConformCodeOwnerBranchEscaped(t *testing.T) {
	rs, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/repos/sysprog21/elfuse/rules/branches/release%2F1.x":
			refJSON(w, 200, `[{"type":"deletion","ruleset_source_type":"Repository","ruleset_source":"sysprog21/elfuse","ruleset_id":3},{"type":"some_future_rule","parameters":{"x":1},"ruleset_id":3}]`)
		case "/repos/sysprog21/elfuse/branches/release%2F1.x/protection":
			refJSON(w, 200, `{"required_pull_request_reviews":{"require_code_owner_reviews":true,"required_approving_review_count":1}}`)
		default:
			refError(w, 404, "Not Found")
		}
	})
	got, _, err := c.CodeOwnerReview(context.Background(), elfuse, "release/1.x")
	if !got || err != nil {
		t.Errorf("= %v, %v; requests %+v", got, err, rs.requests())
	}
}

// TestConformHeaders: §1 Base URL and request headers — every request
// (go-github's and the ones built with NewRequest) goes under the GHES
// base https://HOST/api/v3 and sends X-GitHub-Api-Version 2022-11-28, a
// User-Agent, an Accept and the token as Bearer.
func TestConformHeaders(t *testing.T) {
	for _, prefix := range []string{"", "/api/v3"} {
		rs, c := newRef(t, prefix, func(w http.ResponseWriter, r *http.Request) {
			switch {
			case strings.HasSuffix(r.URL.Path, "-token"):
				refJSON(w, 201, `{"token":"LLBF3JGZDX3P5PMEXLND6TS6FCWO6","expires_at":"2020-01-22T12:13:35.123-08:00"}`)
			case strings.Contains(r.URL.Path, "/rules/branches/"):
				refJSON(w, 200, `[]`)
			case strings.HasSuffix(r.URL.Path, "/protection"):
				refError(w, 404, "Branch not protected")
			case r.Method == "PUT":
				w.WriteHeader(204)
			case strings.HasSuffix(r.URL.Path, "/runners") || strings.HasSuffix(r.URL.Path, "/labels") && strings.Contains(r.URL.Path, "/runners/"):
				refJSON(w, 200, `{"total_count":0,"runners":[],"labels":[]}`)
			case strings.HasSuffix(r.URL.Path, "/runs"):
				refJSON(w, 200, `{"total_count":0,"workflow_runs":[]}`)
			case strings.HasSuffix(r.URL.Path, "/jobs"):
				refJSON(w, 200, `{"total_count":0,"jobs":[]}`)
			case r.Method == "POST":
				refJSON(w, 201, `{"id":1,"name":"ci-hvf","color":"0e8a16"}`)
			default:
				refJSON(w, 200, `{"approval_policy":"all_external_contributors","default_workflow_permissions":"read","can_approve_pull_request_reviews":false,"enabled":true}`)
			}
		})
		for name, call := range calls {
			if err := call(context.Background(), c); err != nil {
				t.Errorf("%q %s: %v", prefix, name, err)
			}
		}
		for _, rq := range rs.requests() {
			what := rq.Method + " " + rq.EscapedPath
			if !strings.HasPrefix(rq.EscapedPath, prefix+"/repos/sysprog21/elfuse/") {
				t.Errorf("%s: not under %s/", what, prefix)
			}
			if v := rq.Header.Get("X-GitHub-Api-Version"); v != "2022-11-28" {
				t.Errorf("%s: X-GitHub-Api-Version %q", what, v)
			}
			if !strings.HasPrefix(rq.Header.Get("User-Agent"), "hvfctl") {
				t.Errorf("%s: User-Agent %q", what, rq.Header.Get("User-Agent"))
			}
			if !strings.HasPrefix(rq.Header.Get("Accept"), "application/vnd.github") {
				t.Errorf("%s: Accept %q", what, rq.Header.Get("Accept"))
			}
			if rq.Header.Get("Authorization") != "Bearer "+refToken {
				t.Errorf("%s: no Bearer token", what)
			}
		}
	}
}

// TestConformTokenStaysOnAPIHost: the token goes to the API's host only,
// not to a host a redirect names.
func TestConformTokenStaysOnAPIHost(t *testing.T) {
	var leaked string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = r.Header.Get("Authorization")
		refJSON(w, 200, `{"approval_policy":"all_external_contributors"}`)
	}))
	defer other.Close()
	// 127.0.0.1 and localhost are different hosts to the client.
	target := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	_, c := newRef(t, "", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target+r.URL.Path, http.StatusTemporaryRedirect)
	})
	p, err := c.ForkPRApproval(context.Background(), elfuse)
	if err != nil || p != ghapi.ApprovalAllExternal {
		t.Fatalf("%q, %v", p, err)
	}
	if leaked != "" {
		t.Errorf("token sent to another host: %q", leaked[:10])
	}
}

// TestConformCredential: §8 — GH_TOKEN, then GITHUB_TOKEN, then gh's
// stored login for the web host (github.com for api.github.com, the host
// itself for GHES); no form of a Credential shows the token.
func TestConformCredential(t *testing.T) {
	for _, tc := range []struct {
		env          map[string]string
		api, ghHost  string
		gh, want     string
		wantSource   string
		wantAskedFor string
	}{
		{map[string]string{"GH_TOKEN": "a", "GITHUB_TOKEN": "b"}, "", "", "c", "a", "GH_TOKEN", ""},
		{map[string]string{"GITHUB_TOKEN": "b"}, "", "", "c", "b", "GITHUB_TOKEN", ""},
		{map[string]string{"GH_TOKEN": "  "}, "", "", "c\n", "c", "gh", "github.com"},
		{nil, "https://ghe.example.com/api/v3", "", "c", "c", "gh", "ghe.example.com"},
		{nil, "https://api.octo.ghe.com", "", "c", "c", "gh", "octo.ghe.com"},
		{nil, "", "", "", "", "", "github.com"},
	} {
		api, err := ghapi.ParseAPI(tc.api)
		if err != nil {
			t.Fatal(err)
		}
		asked := ""
		cred := ghapi.FindCredential(func(k string) string { return tc.env[k] }, api, func(host string) (string, string) {
			asked = host
			return tc.gh, "keyring"
		})
		if cred.Token != tc.want || cred.Source != tc.wantSource || asked != tc.wantAskedFor {
			t.Errorf("%v %s: %q from %q (asked %q)", tc.env, tc.api, cred.Token, cred.Source, asked)
		}
	}
	cred := ghapi.Credential{Token: refToken, Source: "GH_TOKEN"}
	noToken(t, "Credential", fmt.Sprintf("%v %s %+v %#v %q", cred, cred, cred, cred, cred))
}
