package recipes

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
)

// snapshotFiles returns the file table of a fake Mac's state.
func snapshotFiles(t *testing.T, m *fakemac.Mac) map[string]map[string]any {
	t.Helper()
	b, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Files map[string]map[string]any `json:"files"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Files
}

// TestUpgradeOutdated: on a Mac an older pin left (runner 2.332.0, cross
// toolchain 13.2.0), check reports both installed versions as drift; run
// stops the runner, unpacks the pinned runner beside the old one as the
// runner account and switches bin/externals the way the runner's own
// self-update does, keeps the registration byte for byte, restarts it;
// the toolchain is unpacked beside the old one, the root-owned link is
// switched and the old version removed. A second run changes nothing.
func TestUpgradeOutdated(t *testing.T) {
	m := fake(t, "outdated")
	root := fakemac.RunnerRoot
	before := snapshotFiles(t, m)
	for _, f := range []string{".runner", ".credentials", ".credentials_rsaparams"} {
		if before[root+"/"+f] == nil {
			t.Fatalf("the outdated preset has no %s: the test would prove nothing", f)
		}
	}

	check := load(t, m, nil).Check(context.Background())
	if check.ExitCode() != 2 {
		t.Fatalf("check exit %d, want 2 (drift)\n%s", check.ExitCode(), describe(check))
	}
	files := check.Resource("runner:macmini-m4-hvf:files")
	tc := check.Resource("toolchain:aarch64-linux-gnu")
	if files == nil || tc == nil {
		t.Fatal("resources missing from the check")
	}
	versionChange := func(r string, changes []string) string {
		for _, c := range changes {
			if strings.HasPrefix(c, "version: ") {
				return c
			}
		}
		return r + ": no version change"
	}
	var fc, tcc []string
	for _, c := range files.Changes {
		fc = append(fc, c.Property+": "+c.Before.String())
	}
	for _, c := range tc.Changes {
		tcc = append(tcc, c.Property+": "+c.Before.String())
	}
	if got := versionChange("runner", fc); got != `version: "2.332.0"` {
		t.Errorf("runner files change %q, want the installed version 2.332.0", got)
	}
	if got := versionChange("toolchain", tcc); got != `version: "13.2.0"` {
		t.Errorf("toolchain change %q, want the installed version 13.2.0", got)
	}

	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("the upgrade does not converge:\n%s\n%s", describe(rep), transcript(rep.HostCommands))
	}
	var cmds []string
	for _, e := range rep.HostCommands {
		cmds = append(cmds, e.User+" "+strings.Join(e.Argv, " "))
	}
	all := strings.Join(cmds, "\n")
	for _, want := range []string{
		"root /bin/launchctl bootout system/" + fakemac.RunnerLabel,
		"ghrunner /usr/bin/tar -xzf /Library/Caches/hvfctl/actions-runner-osx-arm64-2.335.1.tar.gz -C " + root + "/_hvfctl_update/2.335.1",
		"ghrunner /bin/mv " + root + "/bin " + root + "/bin.2.332.0",
		"ghrunner /bin/mv " + root + "/_hvfctl_update/2.335.1/bin " + root + "/bin.2.335.1",
		"ghrunner /bin/ln -sfh " + root + "/bin.2.335.1 " + root + "/bin",
		"root /bin/launchctl bootstrap system /Library/LaunchDaemons/" + fakemac.RunnerLabel + ".plist",
		"root /bin/ln -sfh /opt/toolchain/dist/aarch64-linux-gnu-13.3.0/aarch64-unknown-linux-gnu /opt/toolchain/aarch64-linux-gnu",
		"root /bin/rm -rf /opt/toolchain/dist/aarch64-linux-gnu-13.2.0",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the upgrade did not run %q:\n%s", want, all)
		}
	}
	// Nothing inside the runner's tree is changed by root, and config.sh
	// never runs: the registration is kept, not redone.
	for _, e := range rep.HostCommands {
		line := strings.Join(e.Argv, " ")
		if e.User == "root" && strings.Contains(line, root) && !strings.HasPrefix(line, "/usr/bin/stat") && !strings.HasPrefix(line, "/bin/ls") && !strings.HasPrefix(line, "<") && !strings.HasPrefix(line, "/usr/bin/mdutil -s") {
			t.Errorf("root changed the runner tree: %s", line)
		}
		if strings.HasSuffix(e.Argv[0], "/config.sh") {
			t.Errorf("config.sh ran during an upgrade: %s", line)
		}
	}
	after := snapshotFiles(t, m)
	for _, f := range []string{".runner", ".credentials", ".credentials_rsaparams", ".path", ".env"} {
		b, a := before[root+"/"+f], after[root+"/"+f]
		if a == nil || a["content"] != b["content"] || a["mode"] != b["mode"] || a["owner"] != b["owner"] {
			t.Errorf("%s changed: %v → %v", f, b, a)
		}
	}
	if n := after[root+"/bin"]; n == nil || n["type"] != "symlink" || n["target"] != root+"/bin.2.335.1" {
		t.Errorf("bin is %v, want a link to bin.2.335.1", n)
	}
	if after[root+"/bin.2.332.0/Runner.Listener"] == nil {
		t.Error("the old version is not kept beside the new one")
	}
	if after[root+"/_hvfctl_update"] != nil {
		t.Error("the staging directory is left behind")
	}
	if after["/opt/toolchain/dist/aarch64-linux-gnu-13.2.0"] != nil {
		t.Error("the old toolchain is left behind")
	}
	if n := after["/opt/toolchain/aarch64-linux-gnu"]; n == nil || n["owner"] != "root" {
		t.Errorf("the toolchain link is %v, want root's", n)
	}

	// Idempotent: the recipe now reports the pinned versions and no drift.
	again := load(t, m, nil).Check(context.Background())
	if again.ExitCode() != 0 {
		t.Errorf("check after the upgrade exit %d\n%s", again.ExitCode(), describe(again))
	}
	plan := load(t, m, nil).Plan(context.Background())
	if plan.Summary.Change != 0 {
		t.Errorf("a second run would change %d resource(s)\n%s", plan.Summary.Change, describe(plan))
	}
}

// TestNewerRunnerIsKept: the pin is a floor. A runner that updated itself
// past the pin (bin → bin.NEWER, as the runner's update script leaves it)
// is left alone.
func TestNewerRunnerIsKept(t *testing.T) {
	root := fakemac.RunnerRoot
	// The listener of a newer release: the fake knows 2.335.1 and 2.332.0
	// only, so the newer one is a scripted --version reply.
	fx := map[string]any{
		"base": "converged",
		"responses": []map[string]any{{
			"argv": []string{root + "/bin/Runner.Listener", "--version"}, "stdout": "2.336.0\n", "exit": 0,
		}},
	}
	b, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/newer.json"
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	newer, err := fakemac.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	rep := load(t, newer, nil).Check(context.Background())
	if rep.ExitCode() != 0 {
		t.Errorf("a runner newer than the pin is drift:\n%s", describe(rep))
	}
}
