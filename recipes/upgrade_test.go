package recipes

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
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

const (
	armBase    = "/Applications/ArmGNUToolchain"
	armLink    = "/opt/toolchain/aarch64-none-elf"
	armReceipt = "arm-gnu-toolchain-%s-darwin-arm64-aarch64-none-elf"
)

// armDir is where Arm's package of version v installs the toolchain.
func armDir(v string) string { return armBase + "/" + v + "/aarch64-none-elf" }

// installOldArm installs Arm's 13.3.rel1 package on m beside whatever is
// there, as its own package does (installer as root), without linking it.
func installOldArm(t *testing.T, m *fakemac.Mac) {
	t.Helper()
	pkg := "/var/tmp/arm-gnu-toolchain-13.3.rel1-darwin-arm64-aarch64-none-elf.pkg"
	if err := m.Download(context.Background(), host.DownloadRequest{URL: fakemac.OldArmToolchainURL, Dest: pkg, SHA256: fakemac.OldArmToolchainSHA256, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
		t.Fatal(err)
	}
	plant(t, m, host.Root, "/usr/sbin/installer", "-pkg", pkg, "-target", "/")
}

// receipt reports whether pkgutil finds the receipt id on m.
func receipt(t *testing.T, m *fakemac.Mac, id string) bool {
	t.Helper()
	res, err := m.Run(context.Background(), host.Command{Argv: []string{"/usr/sbin/pkgutil", "--pkg-info", id}, User: host.Root})
	if err != nil {
		t.Fatal(err)
	}
	return res.Exit == 0
}

// change returns the before value of a resource's property in rep, or "".
func change(rep *engine.Report, id, prop string) string {
	r := rep.Resource(id)
	if r == nil {
		return ""
	}
	for _, c := range r.Changes {
		if c.Property == prop {
			return c.Before.String()
		}
	}
	return ""
}

// TestArmToolchainUpgrade: the outdated Mac has Arm's 13.3.rel1 package
// installed and linked. check reports it; run installs 14.3.rel1 beside
// it, switches the link, then removes 13.3.rel1's tree and receipt; a
// second run changes nothing.
func TestArmToolchainUpgrade(t *testing.T) {
	m := fake(t, "outdated")
	if !exists(t, m, armDir("13.3.rel1")+"/bin/aarch64-none-elf-gcc") || !receipt(t, m, fmt.Sprintf(armReceipt, "13.3.rel1")) {
		t.Fatal("the outdated preset has no Arm 13.3.rel1: the test would prove nothing")
	}
	c := load(t, m, nil).Check(context.Background())
	if got := change(c, "toolchain:aarch64-none-elf", "version"); got != `"13.3.rel1"` {
		t.Errorf("check reports the Arm toolchain version %s, want \"13.3.rel1\"", got)
	}
	if got := change(c, "toolchain:aarch64-none-elf", "leftovers"); got != `["`+armDir("13.3.rel1")+`"]` {
		t.Errorf("check reports the leftovers %s, want 13.3.rel1's tree", got)
	}
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("the upgrade does not converge:\n%s", describe(rep))
	}
	cmds := ran(rep.HostCommands)
	idx := func(s string) int {
		for i, c := range cmds {
			if c == s {
				return i
			}
		}
		t.Fatalf("the upgrade did not run %q:\n%s", s, strings.Join(cmds, "\n"))
		return -1
	}
	install := idx("/usr/sbin/installer -pkg /Library/Caches/hvfctl/arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf.pkg -target /")
	link := idx("/bin/ln -sfh " + armDir("14.3.rel1") + " " + armLink)
	rm := idx("/bin/rm -rf " + armDir("13.3.rel1"))
	forget := idx("/usr/sbin/pkgutil --forget " + fmt.Sprintf(armReceipt, "13.3.rel1"))
	if !(install < link && link < rm && link < forget) {
		t.Errorf("not install, switch, then remove the old version:\n%s", strings.Join(cmds, "\n"))
	}
	if exists(t, m, armDir("13.3.rel1")) || receipt(t, m, fmt.Sprintf(armReceipt, "13.3.rel1")) {
		t.Error("13.3.rel1's tree or receipt is left behind")
	}
	if !exists(t, m, armDir("14.3.rel1")+"/bin/aarch64-none-elf-as") || !receipt(t, m, fmt.Sprintf(armReceipt, "14.3.rel1")) {
		t.Error("14.3.rel1 is not installed")
	}
	if plan := load(t, m, nil).Plan(context.Background()); plan.Summary.Change != 0 {
		t.Errorf("a second run would change %d resource(s)\n%s", plan.Summary.Change, describe(plan))
	}
}

// TestToolchainLeftoversAreRemoved: a converged Mac that also holds
// Arm's 13.3.rel1 beside 14.3.rel1 (its package installed, never linked)
// and the cross toolchain 13.2.0 beside 13.3.0 (an upgrade interrupted
// after the switch): check reports both as leftovers, run removes them
// (and 13.3.rel1's receipt) and nothing else, a second run changes
// nothing.
func TestToolchainLeftoversAreRemoved(t *testing.T) {
	m := fake(t, "converged")
	installOldArm(t, m)
	old := "/opt/toolchain/dist/aarch64-linux-gnu-13.2.0"
	plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", old+"/aarch64-unknown-linux-gnu/bin")
	// Not versions, or newer: never removed.
	for _, d := range []string{"/opt/toolchain/dist/aarch64-linux-gnu-14.1.0", "/opt/toolchain/dist/aarch64-linux-gnu-13.3.0-local", armBase + "/12.2.mpacbti-rel1/aarch64-none-elf"} {
		plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", d)
	}

	c := load(t, m, nil).Check(context.Background())
	if c.ExitCode() != 2 {
		t.Fatalf("check exits %d, want 2 (drift)\n%s", c.ExitCode(), describe(c))
	}
	if got := change(c, "toolchain:aarch64-none-elf", "leftovers"); got != `["`+armDir("13.3.rel1")+`"]` {
		t.Errorf("Arm leftovers %s", got)
	}
	if got := change(c, "toolchain:aarch64-linux-gnu", "leftovers"); got != `["`+old+`"]` {
		t.Errorf("cross toolchain leftovers %s", got)
	}
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply does not converge:\n%s", describe(rep))
	}
	for _, e := range rep.HostCommands {
		line := strings.Join(e.Argv, " ")
		if (strings.HasPrefix(line, "/usr/sbin/installer") || strings.HasPrefix(line, "/bin/ln")) && strings.Contains(line, "toolchain") {
			t.Errorf("a cleanup reinstalled or relinked: %s", line)
		}
	}
	for _, p := range []string{armDir("13.3.rel1"), old} {
		if exists(t, m, p) {
			t.Errorf("%s is left behind", p)
		}
	}
	if receipt(t, m, fmt.Sprintf(armReceipt, "13.3.rel1")) {
		t.Error("13.3.rel1's receipt is left behind")
	}
	for _, p := range []string{armDir("14.3.rel1") + "/bin/aarch64-none-elf-gcc", "/opt/toolchain/dist/aarch64-linux-gnu-13.3.0", "/opt/toolchain/dist/aarch64-linux-gnu-14.1.0", "/opt/toolchain/dist/aarch64-linux-gnu-13.3.0-local", armBase + "/12.2.mpacbti-rel1/aarch64-none-elf"} {
		if !exists(t, m, p) {
			t.Errorf("%s was removed", p)
		}
	}
	if plan := load(t, m, nil).Plan(context.Background()); plan.Summary.Change != 0 {
		t.Errorf("a second run would change %d resource(s)\n%s", plan.Summary.Change, describe(plan))
	}
}

// newerArm installs a newer Arm toolchain (15.2.rel1: its tree as the
// package lays it out, made by root) on m and links it; with complete
// false its gcc is missing.
func newerArm(t *testing.T, m *fakemac.Mac, complete bool) {
	t.Helper()
	d := armDir("15.2.rel1")
	plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", d+"/bin")
	tools := []string{"as"}
	if complete {
		tools = append(tools, "gcc")
	}
	for _, tool := range tools {
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: d + "/bin/aarch64-none-elf-" + tool, Data: []byte("newer"), Mode: 0o755, Owner: "root", Group: "wheel"}); err != nil {
			t.Fatal(err)
		}
	}
	plant(t, m, host.Root, "/bin/ln", "-sfh", d, armLink)
}

// TestNewerArmToolchainIsKept: the pin is a floor. A newer Arm toolchain
// that is linked and complete stays linked; the pinned 14.3.rel1, older
// than the version in use, is the leftover then. A newer one that is
// incomplete is replaced by the pinned one.
func TestNewerArmToolchainIsKept(t *testing.T) {
	m := fake(t, "converged")
	newerArm(t, m, true)
	c := load(t, m, nil).Check(context.Background())
	r := c.Resource("toolchain:aarch64-none-elf")
	if r == nil {
		t.Fatal("no toolchain:aarch64-none-elf in the check")
	}
	if got := change(c, "toolchain:aarch64-none-elf", "version"); got != "" {
		t.Errorf("a newer linked toolchain is a version change (%s)", got)
	}
	if got := change(c, "toolchain:aarch64-none-elf", "leftovers"); got != `["`+armDir("14.3.rel1")+`"]` {
		t.Errorf("leftovers %s, want the pinned version no longer in use", got)
	}
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply does not converge:\n%s", describe(rep))
	}
	for _, line := range ran(rep.HostCommands) {
		if strings.HasPrefix(line, "/usr/sbin/installer") || strings.HasPrefix(line, "/bin/ln -sfh "+armBase) {
			t.Errorf("the newer toolchain was not left alone: %s", line)
		}
	}
	if !exists(t, m, armDir("15.2.rel1")+"/bin/aarch64-none-elf-gcc") || exists(t, m, armDir("14.3.rel1")) {
		t.Error("want 15.2.rel1 kept and 14.3.rel1 removed")
	}
	if plan := load(t, m, nil).Plan(context.Background()); plan.Summary.Change != 0 {
		t.Errorf("a second run would change %d resource(s)\n%s", plan.Summary.Change, describe(plan))
	}

	// Incomplete: the pinned version is installed again and linked.
	inc := fake(t, "converged")
	newerArm(t, inc, false)
	c = load(t, inc, nil).Check(context.Background())
	if got := change(c, "toolchain:aarch64-none-elf", "version"); !strings.Contains(got, "15.2.rel1, incomplete") {
		t.Errorf("an incomplete newer toolchain is reported as %q", got)
	}
	if rep := load(t, inc, nil).Apply(context.Background()); !rep.Converged() || !contains(ran(rep.HostCommands), "/bin/ln -sfh "+armDir("14.3.rel1")+" "+armLink) {
		t.Errorf("the pinned toolchain is not linked again:\n%s", describe(rep))
	}
}

// TestDestroyRemovesEveryToolchainVersion: destroy removes every Arm
// version installed side by side with its receipt, and every unpacked
// version of the cross toolchain.
func TestDestroyRemovesEveryToolchainVersion(t *testing.T) {
	m := fake(t, "converged")
	installOldArm(t, m)
	plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", "/opt/toolchain/dist/aarch64-linux-gnu-13.2.0")
	rep := load(t, m, nil).Destroy(context.Background(), engine.DestroyOptions{})
	for _, r := range rep.Resources {
		if r.Status == engine.StatusFailed || r.Status == engine.StatusSkipped {
			t.Errorf("destroy: %s %s %s", r.ID, r.Status, r.Error)
		}
	}
	for _, v := range []string{"13.3.rel1", "14.3.rel1"} {
		if exists(t, m, armDir(v)) || receipt(t, m, fmt.Sprintf(armReceipt, v)) {
			t.Errorf("Arm %s is left after destroy", v)
		}
	}
	if exists(t, m, "/opt/toolchain") {
		t.Error("/opt/toolchain is left after destroy")
	}
}
