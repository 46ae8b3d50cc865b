package recipes

import (
	"context"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// serviceRecord is svc.sh's .service in the seed-manual runner root.
const serviceRecord = fakemac.RunnerRoot + "/.service"

// registrationActions plans m4.star on m and returns the argv of the
// actions of the runner's registration resource.
func registrationActions(t *testing.T, m *fakemac.Mac) []string {
	t.Helper()
	plan := load(t, m, nil).Plan(context.Background())
	var reg *engine.ResourceReport
	for i := range plan.Resources {
		if plan.Resources[i].ID == "runner:"+fakemac.RunnerName+":registration" {
			reg = &plan.Resources[i]
		}
	}
	if reg == nil {
		t.Fatalf("no registration resource in the plan:\n%s", describe(plan))
	}
	var acts []string
	for _, a := range reg.Actions {
		acts = append(acts, strings.Join(a.Argv, " "))
	}
	return acts
}

// TestHostileServiceRecord: .service is the runner account's file. Only a
// runner service label under ~ghrunner/Library/LaunchAgents, taken from
// exactly that one line, is ever booted out of the GUI session; anything
// else is only removed (unlinked), never used as a path. An agent of
// this repository still in LaunchAgents is runner:stale's to boot out.
func TestHostileServiceRecord(t *testing.T) {
	agents := "/Users/ghrunner/Library/LaunchAgents/"
	cases := []struct {
		name, text, booted string
	}{
		{"a system daemon", "/Library/LaunchDaemons/com.apple.foo.plist\n", ""},
		{"another agent", agents + "com.apple.Finder.plist\n", ""},
		{"dotted path", agents + "../../../../Library/LaunchDaemons/actions.runner.x.y.plist\n", ""},
		{"separator in the label", agents + "actions.runner.a/b.plist\n", ""},
		{"dots in the label", agents + "actions.runner...plist\n", ""},
		{"relative path", "Library/LaunchAgents/actions.runner.other-repo.x.plist\n", ""},
		{"two lines", agents + "actions.runner.other-repo.x.plist\n/Users/ghrunner/x\n", ""},
		{"empty", "", ""},
		{"larger than 4 KiB", agents + "actions.runner.other-repo.x.plist\n" + strings.Repeat("#", 5000), ""},
		{"agent of this repository", agents + "actions.runner.sysprog21-elfuse.mini-1.plist\n", ""},
		{"another repository's agent", agents + "actions.runner.other-repo.x.plist\n", "/bin/launchctl bootout gui/502/actions.runner.other-repo.x"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := fake(t, "seed-manual")
			if err := m.WriteFile(context.Background(), host.WriteRequest{Path: serviceRecord, Data: []byte(tc.text), Mode: 0o644, Owner: "ghrunner", Group: "staff"}); err != nil {
				t.Fatal(err)
			}
			acts := registrationActions(t, m)
			var gui []string
			for _, a := range acts {
				if strings.HasPrefix(a, "/bin/launchctl bootout gui/") {
					gui = append(gui, a)
				}
			}
			want := []string{}
			if tc.booted != "" {
				want = []string{tc.booted}
			}
			if strings.Join(gui, "\n") != strings.Join(want, "\n") {
				t.Errorf(".service %q: boots out %q, want %q", tc.text, gui, want)
			}
			if !contains(acts, "/bin/rm -f "+serviceRecord) {
				t.Errorf(".service %q is not removed: %q", tc.text, acts)
			}
		})
	}
	for _, kind := range []fakemac.Planting{fakemac.PlantLinkToRootFile, fakemac.PlantFIFO, fakemac.PlantHardLink} {
		t.Run(string(kind), func(t *testing.T) {
			m := fake(t, "seed-manual")
			if err := m.Plant(serviceRecord, kind, fakemac.RunnerUser); err != nil {
				t.Fatal(err)
			}
			acts := registrationActions(t, m)
			for _, a := range acts {
				if strings.HasPrefix(a, "/bin/launchctl bootout gui/") {
					t.Errorf("a %s .service made the plan boot out %q", kind, a)
				}
			}
			if !contains(acts, "/bin/rm -f "+serviceRecord) {
				t.Errorf("a %s .service is not removed: %q", kind, acts)
			}
		})
	}
}
