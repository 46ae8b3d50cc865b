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
		{"stat", []string{"/usr/bin/stat"}, []string{"stat /"}},
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
			if strings.Contains(out, "apply ") || strings.Contains(out, ": running ") {
				t.Errorf("the run went on to apply\n%s", out)
			}
			if d := relDiffKeys(relStable(relState(t, start)), relStable(relState(t, saved))); len(d) > 0 {
				t.Errorf("a refused run changed the host: %d differences, first %s", len(d), d[0])
			}
		})
	}
}
