package ghapi_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/ghapi"
	"github.com/sysprog21/hvfctl/ghapi/fakegh"
)

var elfuse = ghapi.Repo{Owner: "sysprog21", Name: "elfuse"}

func newClient(t *testing.T, srv *fakegh.Server, token string, mod func(*ghapi.Options)) *ghapi.Client {
	t.Helper()
	o := ghapi.Options{API: srv.API(), Credential: ghapi.Credential{Token: token, Source: "GH_TOKEN"}}
	if mod != nil {
		mod(&o)
	}
	c, err := ghapi.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSettingsRoundTrip(t *testing.T) {
	srv := fakegh.New(nil)
	defer srv.Close()
	c := newClient(t, srv, "tok", nil)
	ctx := context.Background()
	p, err := c.ForkPRApproval(ctx, elfuse)
	if err != nil || p != ghapi.ApprovalFirstTime {
		t.Fatalf("ForkPRApproval = %q, %v", p, err)
	}
	if err := c.SetForkPRApproval(ctx, elfuse, ghapi.ApprovalAllExternal); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.ForkPRApproval(ctx, elfuse); p != ghapi.ApprovalAllExternal {
		t.Fatalf("after PUT: %q", p)
	}
	srv.Do(func(st *fakegh.State) { st.Repos["sysprog21/elfuse"].WorkflowPermissions = "write" })
	wp, err := c.WorkflowPermissions(ctx, elfuse)
	if err != nil || wp.Default != "write" {
		t.Fatalf("WorkflowPermissions = %+v, %v", wp, err)
	}
	if err := c.SetWorkflowPermissions(ctx, elfuse, ghapi.WorkflowPermissions{Default: "read"}); err != nil {
		t.Fatal(err)
	}
	if wp, _ := c.WorkflowPermissions(ctx, elfuse); wp.Default != "read" || wp.CanApprove {
		t.Fatalf("after PUT: %+v", wp)
	}
	l, err := c.Label(ctx, elfuse, "ci-hvf")
	if err != nil || l != nil {
		t.Fatalf("Label before create = %v, %v", l, err)
	}
	if err := c.CreateLabel(ctx, elfuse, ghapi.Label{Name: "ci-hvf", Color: "0e8a16", Description: "lets a PR reach the Mac"}); err != nil {
		t.Fatal(err)
	}
	if err := c.CreateLabel(ctx, elfuse, ghapi.Label{Name: "ci-hvf", Color: "0e8a16"}); err != nil {
		t.Fatalf("an existing label is not an error: %v", err)
	}
	if l, err := c.Label(ctx, elfuse, "ci-hvf"); err != nil || l == nil || l.Color != "0e8a16" {
		t.Fatalf("Label after create = %v, %v", l, err)
	}
	for _, r := range srv.Requests() {
		if r.APIVersion != ghapi.APIVersion || r.Auth != "Bearer" {
			t.Errorf("%s %s: version %q auth %q", r.Method, r.Path, r.APIVersion, r.Auth)
		}
	}
}

func TestRunnersPaginationAndLabels(t *testing.T) {
	repo := fakegh.DefaultRepo()
	for i := 1; i <= 150; i++ {
		repo.Runners = append(repo.Runners, &fakegh.Runner{ID: int64(i), Name: fmt.Sprintf("r%d", i), OS: "macOS", Status: "online", Labels: []*fakegh.RunnerLabel{{ID: 1, Name: "self-hosted", Type: "read-only"}, {ID: 9, Name: "old", Type: "custom"}}})
	}
	srv := fakegh.New(&fakegh.State{Repos: map[string]*fakegh.Repo{"sysprog21/elfuse": repo}})
	defer srv.Close()
	c := newClient(t, srv, "tok", nil)
	rs, err := c.Runners(context.Background(), elfuse, "")
	if err != nil || len(rs) != 150 {
		t.Fatalf("Runners = %d, %v", len(rs), err)
	}
	one, err := c.Runners(context.Background(), elfuse, "r42")
	if err != nil || len(one) != 1 || one[0].ID != 42 {
		t.Fatalf("Runners(name) = %+v, %v", one, err)
	}
	got, err := c.SetRunnerLabels(context.Background(), elfuse, 42, []string{"m4", "hvf"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range got {
		names = append(names, l.Name+":"+l.Type)
	}
	if strings.Join(names, ",") != "self-hosted:read-only,m4:custom,hvf:custom" {
		t.Fatalf("labels after PUT: %v", names)
	}
}

func TestErrorsSayWhatToDo(t *testing.T) {
	st := &fakegh.State{Tokens: map[string]*fakegh.TokenInfo{
		"reader": {Login: "reader", Permissions: map[string]string{"metadata": "read", "issues": "read"}},
	}}
	srv := fakegh.New(st)
	defer srv.Close()
	for _, tc := range []struct {
		token, want string
		f           func(c *ghapi.Client) error
	}{
		{"bogus", "401 Bad credentials", func(c *ghapi.Client) error { _, err := c.ForkPRApproval(context.Background(), elfuse); return err }},
		{"reader", "needs Administration: read on sysprog21/elfuse", func(c *ghapi.Client) error {
			_, err := c.ForkPRApproval(context.Background(), elfuse)
			return err
		}},
		{"reader", "needs Administration: write on sysprog21/elfuse", func(c *ghapi.Client) error {
			_, err := c.RegistrationToken(context.Background(), elfuse)
			return err
		}},
		{"reader", "404", func(c *ghapi.Client) error {
			_, err := c.ForkPRApproval(context.Background(), ghapi.Repo{Owner: "sysprog21", Name: "nope"})
			return err
		}},
	} {
		err := tc.f(newClient(t, srv, tc.token, nil))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("token %s: error %v, want %q", tc.token, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), tc.token) && tc.token != "reader" {
			t.Errorf("error shows the token: %v", err)
		}
	}
}

func TestRateLimitWaitsWhenResetIsNear(t *testing.T) {
	zero := 0
	st := &fakegh.State{RateRemaining: &zero, RateReset: time.Now().Add(2 * time.Second)}
	srv := fakegh.New(st)
	defer srv.Close()
	var waited time.Duration
	c := newClient(t, srv, "tok", func(o *ghapi.Options) {
		o.Sleep = func(ctx context.Context, d time.Duration) error {
			waited += d
			srv.Do(func(st *fakegh.State) { n := 10; st.RateRemaining = &n })
			return nil
		}
	})
	if _, err := c.ForkPRApproval(context.Background(), elfuse); err != nil {
		t.Fatalf("after waiting: %v", err)
	}
	if waited <= 0 || waited > 5*time.Second {
		t.Fatalf("waited %v", waited)
	}
}

func TestRateLimitFarResetIsAnError(t *testing.T) {
	zero := 0
	reset := time.Now().Add(40 * time.Minute).Truncate(time.Second)
	srv := fakegh.New(&fakegh.State{RateRemaining: &zero, RateReset: reset})
	defer srv.Close()
	c := newClient(t, srv, "tok", func(o *ghapi.Options) {
		o.Sleep = func(context.Context, time.Duration) error { t.Fatal("must not wait 40 minutes"); return nil }
	})
	_, err := c.ForkPRApproval(context.Background(), elfuse)
	if err == nil || !strings.Contains(err.Error(), "rate limit") || !strings.Contains(err.Error(), reset.UTC().Format(time.RFC3339)) {
		t.Fatalf("error %v, want the reset time %s", err, reset.UTC().Format(time.RFC3339))
	}
}

func TestSecondaryLimitRetryAfter429(t *testing.T) {
	srv := fakegh.New(&fakegh.State{Faults: []fakegh.Fault{{PathPrefix: "/repos/sysprog21/elfuse/actions/permissions/workflow", Nth: 1, Status: 429, Message: "You have exceeded a secondary rate limit", Headers: map[string]string{"Retry-After": "3"}}}})
	defer srv.Close()
	var waited time.Duration
	c := newClient(t, srv, "tok", func(o *ghapi.Options) {
		o.Sleep = func(_ context.Context, d time.Duration) error { waited += d; return nil }
	})
	if _, err := c.WorkflowPermissions(context.Background(), elfuse); err != nil {
		t.Fatal(err)
	}
	if waited != 3*time.Second {
		t.Fatalf("waited %v, want Retry-After's 3s", waited)
	}
}

func TestRunsAndJobs(t *testing.T) {
	repo := fakegh.DefaultRepo()
	base := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 130; i++ {
		repo.Runs = append(repo.Runs, &fakegh.Run{ID: int64(1000 + i), Name: "CI", Event: "push", Status: "completed", HeadBranch: "main", CreatedAt: base.Add(time.Duration(i) * time.Hour),
			Jobs: []*fakegh.Job{{ID: int64(5000 + i), Name: "runtime-macos", Status: "completed", RunnerID: 42, RunnerName: "m4"}}})
	}
	srv := fakegh.New(&fakegh.State{Repos: map[string]*fakegh.Repo{"sysprog21/elfuse": repo}})
	defer srv.Close()
	c := newClient(t, srv, "", nil)
	runs, total, err := c.Runs(context.Background(), elfuse, ghapi.RunsQuery{})
	if err != nil || len(runs) != 130 || total != 130 {
		t.Fatalf("Runs = %d (total %d), %v", len(runs), total, err)
	}
	runs, _, err = c.Runs(context.Background(), elfuse, ghapi.RunsQuery{Created: "2026-08-02..2026-08-02"})
	if err != nil || len(runs) != 24 {
		t.Fatalf("Runs(created one day) = %d, %v", len(runs), err)
	}
	jobs, err := c.Jobs(context.Background(), elfuse, 1000)
	if err != nil || len(jobs) != 1 || jobs[0].RunnerName != "m4" {
		t.Fatalf("Jobs = %+v, %v", jobs, err)
	}
}

func TestFindCredentialOrder(t *testing.T) {
	api, _ := url.Parse("https://api.github.com/")
	env := map[string]string{"GITHUB_TOKEN": "tokB2y"}
	gh := func(host string) (string, string) {
		if host != "github.com" {
			t.Errorf("gh asked for %s", host)
		}
		return "tokC3z", "gh"
	}
	for _, tc := range []struct {
		env  map[string]string
		gh   ghapi.GhLookup
		want string
	}{
		{map[string]string{"GH_TOKEN": "tokA1x", "GITHUB_TOKEN": "tokB2y"}, gh, "GH_TOKEN"},
		{env, gh, "GITHUB_TOKEN"},
		{nil, gh, "gh"},
		{nil, nil, ""},
	} {
		c := ghapi.FindCredential(func(k string) string { return tc.env[k] }, api, tc.gh)
		if c.Source != tc.want {
			t.Errorf("env %v: source %q, want %q", tc.env, c.Source, tc.want)
		}
		if strings.Contains(fmt.Sprintf("%v %+v %#v %s", c, c, c, c), c.Token) && c.Token != "" {
			t.Errorf("formatting a credential shows its token")
		}
	}
}
