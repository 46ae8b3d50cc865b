package ghapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/ghapi"

	"github.com/sysprog21/hvfctl/ghapi/fakegh"
)

func TestCodeOwnerReview(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(r *fakegh.Repo)
		want bool
	}{
		{"unprotected", func(r *fakegh.Repo) {}, false},
		{"protection", func(r *fakegh.Repo) { r.Protection = map[string]bool{"main": true} }, true},
		{"protection without code owners", func(r *fakegh.Repo) { r.Protection = map[string]bool{"main": false} }, false},
		{"ruleset", func(r *fakegh.Repo) {
			r.Rules = map[string][]fakegh.Rule{"main": {{Type: "pull_request", RulesetID: 5, Parameters: map[string]any{"require_code_owner_review": true}}}}
		}, true},
	} {
		repo := fakegh.DefaultRepo()
		tc.mod(repo)
		srv := fakegh.New(&fakegh.State{Repos: map[string]*fakegh.Repo{"sysprog21/elfuse": repo}})
		got, src, err := newClient(t, srv, "tok", nil).CodeOwnerReview(context.Background(), elfuse, "main")
		srv.Close()
		if err != nil || got != tc.want {
			t.Errorf("%s: %v (%s), %v; want %v", tc.name, got, src, err, tc.want)
		}
	}
}

// TestEnterpriseBase runs every kind of request against a fake served
// under /api/v3/, as GitHub Enterprise Server serves its API.
func TestEnterpriseBase(t *testing.T) {
	repo := fakegh.DefaultRepo()
	repo.Runners = []*fakegh.Runner{{ID: 7, Name: "m4", Status: "online", Labels: []*fakegh.RunnerLabel{{ID: 1, Name: "self-hosted", Type: "read-only"}}}}
	srv := fakegh.New(&fakegh.State{Repos: map[string]*fakegh.Repo{"sysprog21/elfuse": repo}})
	defer srv.Close()
	ghes := httptest.NewServer(http.StripPrefix("/api/v3", srv.Config.Handler))
	defer ghes.Close()
	c, err := ghapi.New(ghapi.Options{API: ghes.URL + "/api/v3", Credential: ghapi.Credential{Token: "tok", Source: "GH_TOKEN"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	steps := []func() error{
		func() error { _, err := c.ForkPRApproval(ctx, elfuse); return err },
		func() error { return c.SetForkPRApproval(ctx, elfuse, ghapi.ApprovalAllExternal) },
		func() error { return c.SetWorkflowPermissions(ctx, elfuse, ghapi.WorkflowPermissions{Default: "read"}) },
		func() error { _, err := c.ActionsPermissions(ctx, elfuse); return err },
		func() error { return c.CreateLabel(ctx, elfuse, ghapi.Label{Name: "ci-hvf", Color: "0e8a16"}) },
		func() error { _, err := c.Runners(ctx, elfuse, "m4"); return err },
		func() error { _, err := c.SetRunnerLabels(ctx, elfuse, 7, []string{"hvf"}); return err },
		func() error { _, err := c.RegistrationToken(ctx, elfuse); return err },
		func() error {
			_, err := c.RunsSince(ctx, elfuse, time.Now().Add(-time.Hour), time.Now())
			return err
		},
	}
	for i, f := range steps {
		if err := f(); err != nil {
			t.Errorf("step %d: %v", i, err)
		}
	}
	if got := c.WebURL("sysprog21/elfuse/settings/actions"); !strings.HasPrefix(got, ghes.URL+"/sysprog21/") {
		t.Errorf("WebURL = %s", got)
	}
}
