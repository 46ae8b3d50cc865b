package ghapi_test

import (
	"context"
	"testing"

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
