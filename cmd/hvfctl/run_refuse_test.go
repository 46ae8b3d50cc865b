package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunRefusesPlanWithFailures checks that `hvfctl run --yes` prints the
// plan and applies nothing when the plan has failed resources: a query
// that fails once, during the plan only, would let the apply's re-check
// succeed, so a run that went ahead would change the host and exit 0.
func TestRunRefusesPlanWithFailures(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		wants []string
	}{
		{"fdesetup", []string{"/usr/bin/fdesetup", "status"}, []string{"fdesetup status exited 3"}},
		{"defaults", []string{"/usr/bin/defaults", "read"}, []string{"defaults read /Library/Preferences/com.apple.loginwindow autoLoginUser exited 3"}},
		{"stat", []string{"<stat>"}, []string{"stat: simulated: Resource busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			start := relFixture(t, dir, "start.json", map[string]any{
				"base":   defaultPreset,
				"faults": []map[string]any{{"argv_prefix": tt.argv, "nth": 1, "exit": 3, "stderr": "simulated: Resource busy\n"}},
			})
			saved := filepath.Join(dir, "after.json")
			o := relOpts{environ: map[string]string{tokenEnv: relToken}}
			args := append([]string{"run", "--yes", "--target", "fake:" + start, "--save", saved}, relVars...)
			r := relCLI(t, o, append(args, relRecipe)...)
			relNoCrash(t, "run", r)
			out := r.all()
			if r.code != 1 {
				t.Errorf("exit %d, want 1\n%s", r.code, out)
			}
			for _, w := range append([]string{"FAILED", "simulated: Resource busy", "not applied: the plan has"}, tt.wants...) {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q\n%s", w, out)
				}
			}
			if relApplied(out) {
				t.Errorf("the run went on to apply\n%s", out)
			}
			if d := relDiffKeys(relStable(relState(t, start)), relStable(relState(t, saved))); len(d) > 0 {
				t.Errorf("a refused run changed the host: %d differences, first %s", len(d), d[0])
			}
		})
	}
}

// TestRunRefusesDestroys: a plan that destroys something is applied only
// with --allow-destroy, or when a terminal user types the word destroy;
// --yes alone is not enough, and anything else typed applies nothing.
func TestRunRefusesDestroys(t *testing.T) {
	recipe := cliData + "destroy.star"
	code, out, errOut := hvfctl(t, nil, "plan", "--target", "fake", recipe)
	if code != 0 || !strings.Contains(out, "This plan destroys:\n  - file /private/etc/paths") || !strings.Contains(out, "  -        paths:gone (file)") || !strings.Contains(out, "1 to destroy") {
		t.Errorf("plan: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = hvfctl(t, nil, "run", "--target", "fake", "--yes", recipe)
	if code != 1 || !strings.Contains(errOut, "not applied: the plan destroys 1 file") || !strings.Contains(errOut, "--allow-destroy") || relApplied(out) {
		t.Errorf("run --yes: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = hvfctl(t, nil, "run", "--target", "fake", "--yes", "--allow-destroy", recipe)
	if code != 0 || !strings.Contains(out, "converged: 1 destroyed") {
		t.Errorf("run --allow-destroy: exit %d\n%s%s", code, out, errOut)
	}
	for _, tc := range []struct {
		answer string
		code   int
		want   string
	}{
		{"destroy\n", 0, "converged: 1 destroyed"},
		{"y\n", 1, "the word destroy was not typed"},
		{"\n", 1, "the word destroy was not typed"},
	} {
		code, shown, errOut := onTerminal(t, nil, tc.answer, "run", "--target", "fake", "--yes", recipe)
		shown = ansi.ReplaceAllString(shown, "")
		if code != tc.code || !strings.Contains(shown+errOut, tc.want) || !strings.Contains(errOut, "Type destroy to apply") {
			t.Errorf("typed %q: exit %d, want %d and %q\n%s%s", tc.answer, code, tc.code, tc.want, shown, errOut)
		}
	}
}

// relApplied reports whether a run's output shows an apply: the apply
// report's header line ("apply RECIPE on TARGET") or a command running.
// Plan text may say "apply" in prose ("the apply shows the label it
// installed"); only the header counts.
func relApplied(out string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "apply ") || strings.Contains(line, ": running ") {
			return true
		}
	}
	return false
}
