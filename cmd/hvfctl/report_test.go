package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadableRunReport: on a fresh fake Mac, the plan says first that it
// needs the registration token (where to create it, that it expires in an
// hour) and for which resource; it lists only what changes or needs
// attention, each with its why; the apply's ran lines show the values
// actually used (the Command Line Tools label softwareupdate offered, not
// a placeholder); plan and apply count the same changes; the next steps
// close the plan and the apply; matchers read as words.
func TestReadableRunReport(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "m4.json")
	code, out, errOut := hvfctl(t, map[string]string{tokenEnv: relToken}, "run", "--target", "fake", "--yes", "--save", saved, relRecipe)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s%s", code, out, errOut)
	}
	plan, apply, ok := strings.Cut(out, "\napply ")
	if !ok {
		t.Fatalf("no apply report:\n%s", out)
	}
	for _, want := range []string{
		"This plan needs the secret runner_token (for runner:macmini-m4-hvf:registration):\n",
		"https://github.com/sysprog21/elfuse/settings/actions/runners/new",
		"expires one hour after it is created",
		"  +        account:ghrunner (user)\n           why: Standard account ghrunner",
		`archive: "missing" → "present" or "not needed"`,
		"\nNext steps:\n  - Lock the test fixtures",
		"sudo fdesetup authrestart",
	} {
		if !strings.Contains(plan, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	for _, not := range []string{"  ok       host:arch", "one_of(", "<newest>\n"} {
		if strings.Contains(plan, not) {
			t.Errorf("plan shows %q", not)
		}
	}
	if strings.Index(plan, "This plan needs the secret") > strings.Index(plan, "account:ghrunner") {
		t.Error("the token is announced after the first resource")
	}
	if !strings.Contains(apply, "ran /usr/sbin/softwareupdate -i 'Command Line Tools for Xcode") || strings.Contains(apply, "<newest>") {
		t.Errorf("the apply does not show the label it installed:\n%s", apply)
	}
	count := func(text, verdict string) string {
		for _, l := range strings.Split(text, "\n") {
			if strings.HasPrefix(l, verdict) {
				return l
			}
		}
		return ""
	}
	p, a := count(plan, "changes pending: "), count(apply, "converged: ")
	pc := strings.Fields(strings.TrimPrefix(p, "changes pending: "))
	ac := strings.Fields(strings.TrimPrefix(a, "converged: "))
	if len(pc) < 4 || len(ac) < 4 || pc[0] != ac[0] || pc[3] != ac[2] {
		t.Errorf("plan and apply count differently:\n%s\n%s", p, a)
	}

	// A converged check prints only what needs a person, and JSON carries
	// the remediation of every verify-manually item that has one.
	code, out, _ = hvfctl(t, nil, "check", "--target", "fake:"+saved, "--json", relRecipe)
	if code != 0 {
		t.Fatalf("check --json: exit %d\n%s", code, out)
	}
	var rep struct {
		Resources []struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Remediation string `json:"remediation"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Resources {
		if r.ID == "fixtures:lock" && (r.Status != "unknown" || !strings.Contains(r.Remediation, "hvfctl fixtures lock")) {
			t.Errorf("fixtures:lock %s, remediation %q", r.Status, r.Remediation)
		}
		if r.ID == "account:ghrunner:keychain" && r.Status != "ok" {
			t.Errorf("the keychain assertion does not conclude on a converged Mac: %s", r.Status)
		}
	}
}

// TestTokenBeforeFirstChange: without a token source, run stops before
// anything changes (the token is asked for up front, never in the middle).
func TestTokenBeforeFirstChange(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	saved := filepath.Join(dir, "after.json")
	code, out, errOut := hvfctl(t, nil, "run", "--target", "fake:"+start, "--yes", "--save", saved, relRecipe)
	if code != 1 || !strings.Contains(errOut, "not applied, nothing was changed") || !strings.Contains(errOut, "no runner registration token") {
		t.Fatalf("run without a token: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out, "\napply ") || strings.Contains(errOut, ": running ") {
		t.Errorf("the run went on to apply\n%s%s", out, errOut)
	}
}
