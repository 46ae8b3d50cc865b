package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSavedPlan: plan -o writes the plan with the facts it was made from
// and no secret (0600); run FILE applies exactly that plan on its target
// with its vars; it refuses when the host changed since (another plan
// would come out), when the recipe changed, or with other vars.
func TestSavedPlan(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	planFile := filepath.Join(dir, "m4.plan")
	tok := map[string]string{tokenEnv: relToken}

	code, out, errOut := hvfctl(t, tok, "plan", "--target", "fake:"+start, "-o", planFile, "--var", "runner_count=2", relRecipe)
	if code != 0 || !strings.Contains(errOut, "saved the plan to "+planFile) {
		t.Fatalf("plan -o: exit %d\n%s%s", code, out, errOut)
	}
	st, err := os.Stat(planFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("plan file %v, %v", st, err)
	}
	raw, _ := os.ReadFile(planFile)
	for _, want := range []string{`"format": "hvfctl-plan/1"`, `"runner_count": "2"`, `"facts": [`, `"output_sha256": "`, `"argv": [`, `"/usr/bin/sw_vers"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("plan file lacks %s", want)
		}
	}
	if strings.Contains(string(raw), relToken) {
		t.Error("the plan file holds the runner token")
	}

	// Applied exactly: same target and vars as the plan, no --target.
	after := filepath.Join(dir, "after.json")
	code, out, errOut = hvfctl(t, tok, "run", "--yes", "--save", after, planFile)
	if code != 0 || !strings.Contains(out, "runner:macmini-m4-hvf-2:registration") {
		t.Fatalf("run FILE: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, _ := hvfctl(t, nil, "check", "--target", "fake:"+after, relRecipe); code != 0 {
		t.Errorf("check after run FILE: exit %d\n%s", code, out)
	}

	// Other vars, another target: refused.
	if code, _, errOut := hvfctl(t, tok, "run", "--yes", "--var", "runner_count=1", planFile); code != 1 || !strings.Contains(errOut, "applies the vars it was made with (runner_count=2)") {
		t.Errorf("run FILE --var: exit %d\n%s", code, errOut)
	}
	if code, _, errOut := hvfctl(t, tok, "run", "--yes", "--target", "fake", planFile); code != 1 || !strings.Contains(errOut, "was made for --target fake:") {
		t.Errorf("run FILE --target fake: exit %d\n%s", code, errOut)
	}

	// The host changed since: AC sleep was set by someone else.
	if code, out, errOut := hvfctl(t, nil, "run", "--yes", "--target", "fake:"+start, "--save", start, cliData+"power.star"); code != 0 {
		t.Fatalf("changing the host: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = hvfctl(t, tok, "run", "--yes", "--save", filepath.Join(dir, "refused.json"), planFile)
	if code != 1 || !strings.Contains(errOut, "not applied: the host changed since "+planFile) || !strings.Contains(errOut, "power:ac would change or run something else") {
		t.Errorf("run FILE on a changed host: exit %d\n%s", code, errOut)
	}
	if strings.Contains(out, "\napply ") {
		t.Errorf("a refused saved plan was applied:\n%s", out)
	}

	// The recipe changed since.
	recipe := filepath.Join(dir, "power.star")
	src, _ := os.ReadFile(cliData + "power.star")
	if err := os.WriteFile(recipe, src, 0o644); err != nil {
		t.Fatal(err)
	}
	p2 := filepath.Join(dir, "power.plan")
	if code, _, errOut := hvfctl(t, nil, "plan", "--target", "fake", "-o", p2, recipe); code != 0 {
		t.Fatalf("plan -o: %s", errOut)
	}
	if err := os.WriteFile(recipe, append(src, []byte("\n# edited\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := hvfctl(t, nil, "run", "--yes", p2); code != 1 || !strings.Contains(errOut, "changed since "+p2+" was made") {
		t.Errorf("run FILE after the recipe changed: exit %d\n%s", code, errOut)
	}
}
