package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const (
	m4Recipe       = "../../recipes/m4.star"
	convergedState = "../../builtins/fakemac/presets/converged.json"
	fakeToken      = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
)

// leftovers lists the paths, users, receipts and launchd jobs of state
// st that belong to what recipes/m4.star creates.
func leftovers(st map[string]any, withAccount bool) []string {
	var out []string
	prefixes := []string{
		"/Users/ghrunner/actions-runner", "/Users/ghrunner/Library/Logs/", "/Library/Logs/hvfctl/",
		"/opt/toolchain", "/Applications/ArmGNUToolchain/14.3.rel1/aarch64-none-elf",
		"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.", "/Library/LaunchDaemons/org.sysprog21.hvfctl.prune.",
	}
	if withAccount {
		prefixes = append(prefixes, "/Users/ghrunner", "/Library/Caches/hvfctl")
	}
	for p := range st["files"].(map[string]any) {
		for _, pre := range prefixes {
			if strings.HasPrefix(p, pre) {
				out = append(out, p)
				break
			}
		}
	}
	if withAccount {
		if _, ok := st["users"].(map[string]any)["ghrunner"]; ok {
			out = append(out, "user ghrunner")
		}
	}
	if _, ok := st["receipts"].(map[string]any)["arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf"]; ok {
		out = append(out, "receipt of the Arm toolchain")
	}
	if jobs, ok := st["launchd"].(map[string]any)["jobs"].(map[string]any); ok {
		for label := range jobs {
			if strings.HasPrefix(label, "actions.runner.") || strings.HasPrefix(label, "org.sysprog21.hvfctl.") {
				out = append(out, "launchd job "+label)
			}
		}
	}
	if reg, ok := st["runner_service"].(map[string]any)["registered"].(map[string]any); ok && len(reg) > 0 {
		out = append(out, "runner registered on the GitHub side")
	}
	sort.Strings(out)
	return out
}

// TestDestroyConvergedToNothing takes the converged Mac to one with
// nothing of the recipe left, and a second destroy changes nothing.
func TestDestroyConvergedToNothing(t *testing.T) {
	if n := len(leftovers(relState(t, convergedState), true)); n < 10 {
		t.Fatalf("the converged preset has only %d things of the recipe: the test would prove nothing", n)
	}
	dir := t.TempDir()
	gone := filepath.Join(dir, "gone.json")
	token := map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}
	code, out, errOut := hvfctl(t, token, "destroy", "--target", "fake:"+convergedState, "--all", "--allow-destroy", "--save", gone, m4Recipe)
	if code != 0 {
		t.Fatalf("destroy exited %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"ran /Users/ghrunner/actions-runner/config.sh remove (as ghrunner)",
		"ran /bin/rm -rf /Users/ghrunner/actions-runner (as ghrunner)",
		"ran /usr/sbin/sysadminctl -deleteUser ghrunner (as root)",
		"devtools:homebrew",
		"destroyed: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("destroy output lacks %q:\n%s", want, out)
		}
	}
	// Reverse dependency order: the daemon stops before its runner is
	// unregistered, the runner is unregistered before its tree goes, and
	// the account goes last.
	order := []string{"launchctl bootout system/actions.runner", "config.sh remove", "rm -rf /Users/ghrunner/actions-runner", "sysadminctl -deleteUser"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		if i < last {
			t.Errorf("%q ran before the step that must precede it:\n%s", s, out)
		}
		last = i
	}
	if strings.Contains(out+errOut, fakeToken) {
		t.Error("the token appears in the output")
	}
	if left := leftovers(relState(t, gone), true); len(left) > 0 {
		t.Errorf("destroy --all left %d things of the recipe:\n%s", len(left), strings.Join(left, "\n"))
	}

	// Idempotent: a second destroy finds nothing and runs nothing.
	again := filepath.Join(dir, "again.json")
	code, out, errOut = hvfctl(t, token, "destroy", "--target", "fake:"+gone, "--all", "--allow-destroy", "--save", again, m4Recipe)
	if code != 0 || !strings.Contains(out, "nothing to destroy") || strings.Contains(out, "ran ") || strings.Contains(errOut, "running") {
		t.Errorf("second destroy: exit %d, want 0 with nothing to destroy\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	a, b := relStable(relState(t, gone)), relStable(relState(t, again))
	if la, lb := len(a["files"].(map[string]any)), len(b["files"].(map[string]any)); la != lb {
		t.Errorf("the second destroy changed the host: %d files before, %d after", la, lb)
	}
}

// TestDestroyKeepsAccountWithoutAll removes the runners, daemons and
// toolchains but keeps the account, its caches and the downloads.
func TestDestroyKeepsAccountWithoutAll(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := hvfctl(t, map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}, "destroy", "--target", "fake:"+convergedState, "--allow-destroy", "--save", out, m4Recipe)
	if code != 0 {
		t.Fatalf("destroy exited %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "account:ghrunner: removed only with --all") {
		t.Errorf("the plan does not say the account is kept:\n%s", stdout)
	}
	st := relState(t, out)
	if left := leftovers(st, false); len(left) > 0 {
		t.Errorf("destroy left:\n%s", strings.Join(left, "\n"))
	}
	files := st["files"].(map[string]any)
	for _, p := range []string{"/Users/ghrunner", "/Users/ghrunner/.cache/elfuse-ci/test-fixtures", "/Library/Caches/hvfctl"} {
		if files[p] == nil {
			t.Errorf("%s was removed without --all", p)
		}
	}
	if st["users"].(map[string]any)["ghrunner"] == nil {
		t.Error("the account was deleted without --all")
	}
}

// TestDestroyRefusals: no consent, or no token, and nothing changes.
func TestDestroyRefusals(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		args   []string
		stderr string
	}{
		{name: "no consent without a terminal", env: map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}, args: nil, stderr: "pass --allow-destroy"},
		{name: "no token", args: []string{"--allow-destroy"}, stderr: "nothing was changed: secret runner_token: no runner registration token"},
		{name: "json needs --allow-destroy", env: map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}, args: []string{"--json"}, stderr: "pass --allow-destroy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out.json")
			args := append([]string{"destroy", "--target", "fake:" + convergedState, "--save", out}, tc.args...)
			code, stdout, stderr := hvfctl(t, tc.env, append(args, m4Recipe)...)
			if code != 1 || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, want 1 with %q\nstdout:\n%s\nstderr:\n%s", code, tc.stderr, stdout, stderr)
			}
			if strings.Contains(stderr, "running ") {
				t.Errorf("something ran:\n%s", stderr)
			}
		})
	}
}

// TestDestroyMintsRemovalToken: with a GitHub credential and no token,
// config.sh remove gets a removal token created through the API (never
// shown), and only a removal token is created.
func TestDestroyMintsRemovalToken(t *testing.T) {
	srv := fakeGitHub(t, convergedRepo(), nil)
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := hvfctl(t, ghEnv(srv, "ghp_maintainer0001"), "destroy", "--target", "fake:"+convergedState, "--allow-destroy", "--save", out, m4Recipe)
	if code != 0 {
		t.Fatalf("destroy exited %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	issued := srv.Repo("sysprog21/elfuse").IssuedTokens
	if len(issued) != 1 || issued[0].Kind != "remove" {
		t.Fatalf("issued tokens %+v, want one removal token", issued)
	}
	if !strings.Contains(stderr, "created a runner removal token for sysprog21/elfuse") {
		t.Errorf("stderr does not say a removal token was created:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, issued[0].Token) {
		t.Error("the removal token appears in the output")
	}
	if left := leftovers(relState(t, out), false); len(left) > 0 {
		t.Errorf("destroy left:\n%s", strings.Join(left, "\n"))
	}
}

// TestFactsInstalledVersions: facts report the installed runner version
// (from each runner LaunchDaemon's root) and each toolchain's version.
func TestFactsInstalledVersions(t *testing.T) {
	tests := []struct{ fixture, runner, toolchain, arm string }{
		{convergedState, "2.335.1", "13.3.0", "14.3.rel1"},
		{"../../testdata/hosts/outdated.json", "2.332.0", "13.2.0", "13.3.rel1"},
	}
	for _, tc := range tests {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			code, out, errOut := hvfctl(t, nil, "facts", "--json", "--target", "fake:"+tc.fixture)
			if code != 0 {
				t.Fatalf("facts exited %d\n%s", code, errOut)
			}
			var f struct {
				Runners    map[string]struct{ Version, Name, Root string } `json:"runners"`
				Toolchains map[string]struct {
					Version, Target string
					Installed       []string
				} `json:"toolchains"`
			}
			if err := json.Unmarshal([]byte(out), &f); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			r := f.Runners["actions.runner.sysprog21-elfuse.macmini-m4-hvf"]
			if r.Version != tc.runner || r.Name != "macmini-m4-hvf" || r.Root != "/Users/ghrunner/actions-runner" {
				t.Errorf("runner facts %+v, want version %s", r, tc.runner)
			}
			for name, want := range map[string]string{"aarch64-linux-gnu": tc.toolchain, "aarch64-none-elf": tc.arm} {
				got := f.Toolchains[name]
				if got.Version != want || len(got.Installed) != 1 || got.Installed[0] != want {
					t.Errorf("toolchain %s: version %q installed %q, want %s", name, got.Version, got.Installed, want)
				}
			}
		})
	}
}

// TestDestroyKeepsWhatAFailureNeeds: GitHub refuses the token, so the
// runner stays registered; its tree (with the credentials a later
// config.sh remove needs) is kept, independent resources are still
// removed, and the exit status is 1.
func TestDestroyKeepsWhatAFailureNeeds(t *testing.T) {
	dir := t.TempDir()
	fx := filepath.Join(dir, "mac.json")
	if err := os.WriteFile(fx, []byte(`{"base": "converged", "runner_service": {"valid_token": "BBBBBBBBBBBBBBBBBBBBBBBBBBBBB"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out.json")
	code, stdout, stderr := hvfctl(t, map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}, "destroy", "--target", "fake:"+fx, "--allow-destroy", "--save", out, m4Recipe)
	if code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{
		"runner:macmini-m4-hvf:files",
		"kept: runner:macmini-m4-hvf:registration requires it and failed",
		"not destroyed",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	files := relState(t, out)["files"].(map[string]any)
	if files["/Users/ghrunner/actions-runner/.credentials"] == nil {
		t.Error("the runner tree was removed while the runner is still registered")
	}
	if files["/opt/toolchain"] != nil || files["/Library/LaunchDaemons/"+runnerLabel+".plist"] != nil {
		t.Error("resources independent of the failure were not removed")
	}
}

// TestDestroyJSON: --json prints one object, the destroy's outcome, with
// each removed resource's effect and the kept ones.
func TestDestroyJSON(t *testing.T) {
	code, stdout, stderr := hvfctl(t, map[string]string{"HVFCTL_RUNNER_TOKEN": fakeToken}, "destroy", "--target", "fake:"+convergedState, "--allow-destroy", "--json", m4Recipe)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var rep struct {
		Resources []struct {
			ID, Status, Effect string
			Actions            []struct{ Ran *bool }
		}
		Kept []struct{ ID, Why string }
	}
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, stdout)
	}
	destroyed := 0
	for _, r := range rep.Resources {
		if r.Effect == "destroy" && r.Status == "change" {
			destroyed++
			for _, a := range r.Actions {
				if a.Ran == nil || !*a.Ran {
					t.Errorf("%s: an action did not run", r.ID)
				}
			}
		}
	}
	if destroyed < 5 || len(rep.Kept) == 0 {
		t.Errorf("%d destroyed, %d kept:\n%s", destroyed, len(rep.Kept), stdout)
	}
}
