package recipes

import (
	"context"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

// TestHomebrewOwner covers who owns the Homebrew that m4.star installs
// from its pinned package: the administrator running hvfctl by default,
// --var brew_owner when given, and, when nobody is known, a failed
// resource that says what to do (the recipe still evaluates, as
// `workflow audit --recipe` needs).
func TestHomebrewOwner(t *testing.T) {
	tests := []struct {
		name       string
		principals engine.Principals
		vars       map[string]string
		wantOwner  string // HOMEBREW_PKG_USER written, "" for a failure
		wantErr    string
	}{
		{"invoker", engine.Principals{BrewOwner: "admin", Invoker: "admin"}, nil, "admin", ""},
		// bob is not an account of the fake: the var must win over him.
		{"var", engine.Principals{BrewOwner: "bob", Invoker: "bob"}, map[string]string{"brew_owner": "admin"}, "admin", ""},
		{"var without sudo", engine.Principals{}, map[string]string{"brew_owner": "admin"}, "admin", ""},
		{"nobody", engine.Principals{}, nil, "", "run hvfctl with sudo from the administrator's account (SUDO_USER), or pass the owner (--var brew_owner=NAME"},
	}
	for _, preset := range freshPresets {
		for _, tc := range tests {
			t.Run(preset+"/"+tc.name, func(t *testing.T) {
				r, err := engine.Load(context.Background(), "m4.star", engine.Options{
					Host: fake(t, preset), Modules: builtins.Modules(), Stdlib: stdlib.FS,
					Vars: tc.vars, Principals: tc.principals, Programs: testPrograms,
				})
				if err != nil {
					t.Fatalf("m4.star does not evaluate: %v", err)
				}
				defer r.Close()
				rep := r.Plan(context.Background())
				res := rep.Resource("devtools:homebrew")
				if res == nil {
					t.Fatal("no devtools:homebrew")
				}
				if tc.wantErr != "" {
					if res.Status != engine.StatusFailed || !strings.Contains(res.Error, tc.wantErr) {
						t.Fatalf("devtools:homebrew: %s %q, want failed with %q", res.Status, res.Error, tc.wantErr)
					}
					return
				}
				if res.Status != engine.StatusChange {
					t.Fatalf("devtools:homebrew: %s %s", res.Status, res.Error)
				}
				var wrote bool
				for _, a := range res.Actions {
					if len(a.Argv) > 1 && a.Argv[0] == "<write>" && a.Argv[1] == "/var/tmp/.homebrew_pkg_user.plist" {
						wrote = true
					}
				}
				if !wrote {
					t.Fatalf("no HOMEBREW_PKG_USER plist written: %+v", res.Actions)
				}
				if got := r.Session().Principals().BrewOwner; got != tc.wantOwner {
					t.Errorf("brew actions run as %q, want %q", got, tc.wantOwner)
				}
				// The package is installed for that owner: the fake's
				// installer gives the prefix to HOMEBREW_PKG_USER.
				ap := r.Apply(context.Background())
				if st := ap.Resource("devtools:homebrew"); st == nil || st.Status == engine.StatusFailed {
					t.Fatalf("apply: devtools:homebrew %+v", st)
				}
				data, err := r.Session().Host().ReadFile(context.Background(), "/var/tmp/.homebrew_pkg_user.plist", 1<<16)
				if err != nil || !strings.Contains(string(data), "<string>"+tc.wantOwner+"</string>") {
					t.Errorf("HOMEBREW_PKG_USER plist %q (%v), want owner %s", data, err, tc.wantOwner)
				}
			})
		}
	}
}
