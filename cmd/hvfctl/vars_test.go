package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestVarsStick: the vars a run used are recorded on the host (root's,
// beside the fixture lock) and reused by later plans, checks and runs; a
// different --var is shown as a change of the var itself, with what it
// destroys; the leftovers of removed instances are drift for check, and
// a run with --allow-destroy removes every one of them.
func TestVarsStick(t *testing.T) {
	dir := t.TempDir()
	two := filepath.Join(dir, "two.json")
	one := filepath.Join(dir, "one.json")
	tok := map[string]string{tokenEnv: relToken}

	code, out, errOut := hvfctl(t, tok, "run", "--target", "fake", "--yes", "--save", two, "--var", "runner_count=2", relRecipe)
	if code != 0 {
		t.Fatalf("run --var runner_count=2: exit %d\n%s%s", code, out, errOut)
	}
	files := relFiles(relState(t, two))
	rec, ok := files["/Library/Application Support/hvfctl/vars.json"].(map[string]any)
	if !ok {
		t.Fatalf("no vars record on the host")
	}
	if rec["owner"] != "root" || rec["group"] != "wheel" || rec["mode"] != "0644" {
		t.Errorf("vars record %v, want root:wheel 0644", rec)
	}
	var body struct {
		Recipes map[string]map[string]string `json:"recipes"`
	}
	if err := json.Unmarshal([]byte(varsContent(rec)), &body); err != nil || body.Recipes["m4.star"]["runner_count"] != "2" {
		t.Errorf("vars record %q (%v)", varsContent(rec), err)
	}

	// A plain check keeps two runners: no drift.
	code, out, _ = hvfctl(t, nil, "check", "--target", "fake:"+two, relRecipe)
	if code != 0 || !strings.Contains(out, "runner_count = 2 (recorded by the last run") {
		t.Errorf("plain check after runner_count=2: exit %d\n%s", code, out)
	}

	// Going to one runner: the var change comes first, with what it
	// destroys; check calls the leftovers drift.
	code, out, _ = hvfctl(t, nil, "plan", "--target", "fake:"+two, "--var", "runner_count=1", relRecipe)
	if code != 0 || !strings.Contains(out, "Vars:\n  ~ runner_count: 2 → 1, destroys 2 runners, 2 prune daemons\n") {
		t.Errorf("plan --var runner_count=1: exit %d\n%s", code, out)
	}
	if i, j := strings.Index(out, "runner_count: 2 → 1"), strings.Index(out, "runner:stale"); i < 0 || j < i {
		t.Errorf("the var change is not shown before the resources\n%s", out)
	}
	code, out, _ = hvfctl(t, nil, "check", "--target", "fake:"+two, "--var", "runner_count=1", relRecipe)
	if code != 2 || !strings.Contains(out, "-        runner:stale") || !strings.Contains(out, "-        prune:stale") {
		t.Errorf("check --var runner_count=1 on two runners: exit %d, want 2 with both stale resources\n%s", code, out)
	}

	code, out, errOut = hvfctl(t, tok, "run", "--target", "fake:"+two, "--yes", "--var", "runner_count=1", relRecipe)
	if code != 1 || !strings.Contains(errOut, "not applied: the plan destroys 2 runners, 2 prune daemons") {
		t.Errorf("run without --allow-destroy: exit %d\n%s", code, errOut)
	}
	code, out, errOut = hvfctl(t, tok, "run", "--target", "fake:"+two, "--yes", "--allow-destroy", "--save", one, "--var", "runner_count=1", relRecipe)
	if code != 0 {
		t.Fatalf("run --allow-destroy --var runner_count=1: exit %d\n%s%s", code, out, errOut)
	}
	after := relFiles(relState(t, one))
	for p := range after {
		for _, gone := range []string{"actions-runner-1", "actions-runner-2", "macmini-m4-hvf-1", "macmini-m4-hvf-2"} {
			if strings.Contains(p, gone) {
				t.Errorf("%s is left after going to one runner", p)
			}
		}
	}
	code, out, _ = hvfctl(t, nil, "check", "--target", "fake:"+one, relRecipe)
	if code != 0 || !strings.Contains(out, "runner_count = 1 (recorded by the last run") {
		t.Errorf("plain check after going to one runner: exit %d\n%s", code, out)
	}
}

// varsContent returns the content of a file node of a saved state.
func varsContent(node map[string]any) string {
	c, _ := node["content"].(string)
	return c
}
