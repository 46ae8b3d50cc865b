package recipes

import (
	"context"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// oldLogLayout turns the converged Mac m into what the earlier layout
// left: each daemon's plist names ~ghrunner/Library/Logs/LABEL (svc.sh's
// and hvfctl's place before the logs moved to root's tree), the runner
// was started with it and wrote its console there, and there is no
// /Library/Logs/hvfctl. It returns the old log directories.
func oldLogLayout(t *testing.T, m *fakemac.Mac) []string {
	t.Helper()
	const home = "/Users/ghrunner"
	labels := []string{fakemac.RunnerLabel, "org.sysprog21.hvfctl.prune.macmini-m4-hvf"}
	var old []string
	for _, label := range labels {
		plist := daemonDir + "/" + label + ".plist"
		body := strings.ReplaceAll(string(readFake(t, m, plist)), "/Library/Logs/hvfctl/"+label, home+"/Library/Logs/"+label)
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: plist, Data: []byte(body), Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
			t.Fatal(err)
		}
		dir := home + "/Library/Logs/" + label
		plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", dir)
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: dir + "/stdout.log", Data: []byte("Listening for Jobs\n"), Mode: 0o644, Owner: fakemac.RunnerUser, Group: "staff"}); err != nil {
			t.Fatal(err)
		}
		old = append(old, dir)
	}
	plant(t, m, host.Root, "/bin/rm", "-rf", "/Library/Logs/hvfctl")
	// launchd runs the runner with the old definition.
	plant(t, m, host.Root, "/bin/launchctl", "bootout", "system/"+fakemac.RunnerLabel)
	m.Run(context.Background(), host.Command{Argv: []string{"/bin/launchctl", "print", "system/" + fakemac.RunnerLabel}, User: host.Root})
	plant(t, m, host.Root, "/bin/launchctl", "bootstrap", "system", daemonDir+"/"+fakemac.RunnerLabel+".plist")
	return old
}

// TestOldLogLayoutMigrates: a Mac provisioned with the logs in the
// runner account's home converges in one run: the daemons log in root's
// tree, their plists are rewritten and the runner restarted on them, and
// only then are the old directories removed, by ghrunner itself. Root
// never acts on a path in the home's Library/Logs.
func TestOldLogLayoutMigrates(t *testing.T) {
	m := fake(t, "converged")
	old := oldLogLayout(t, m)
	testMigration(t, m, old)
}

// TestOldLogLayoutWithPlantedLink: the same Mac after a job replaced
// ~/Library/Logs with a link to /Library/LaunchDaemons. The run neither
// lists nor removes anything through it (the old directories are not
// looked at), the daemons move to root's tree, and nothing in
// /Library/LaunchDaemons but the two plists changes.
func TestOldLogLayoutWithPlantedLink(t *testing.T) {
	m := fake(t, "converged")
	oldLogLayout(t, m)
	plant(t, m, fakemac.RunnerUser, "/bin/rm", "-rf", "/Users/ghrunner/Library/Logs")
	plant(t, m, fakemac.RunnerUser, "/bin/ln", "-s", daemonDir, "/Users/ghrunner/Library/Logs")
	before := listDir(t, m, daemonDir)
	testMigration(t, m, nil)
	if after := listDir(t, m, daemonDir); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("%s holds %v, was %v", daemonDir, after, before)
	}
	fi, err := m.Lstat(context.Background(), "/Users/ghrunner/Library/Logs")
	if err != nil || fi.Type != "symlink" || fi.Owner != fakemac.RunnerUser {
		t.Errorf("the account's link: %+v %v", fi, err)
	}
}

func listDir(t *testing.T, m *fakemac.Mac, dir string) []string {
	t.Helper()
	names, err := m.ReadDir(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func testMigration(t *testing.T, m *fakemac.Mac, old []string) {
	t.Helper()
	if c := load(t, m, nil).Check(context.Background()); c.ExitCode() != 2 {
		t.Fatalf("check of the old layout exits %d, want 2:\n%s", c.ExitCode(), describe(c))
	}
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply did not converge:\n%s", describe(rep))
	}
	for _, d := range old {
		if exists(t, m, d) {
			t.Errorf("%s is still there", d)
		}
	}
	bootstrap, removed := -1, -1
	for i, e := range rep.HostCommands {
		cmd := strings.Join(e.Argv, " ")
		if strings.Contains(cmd, "/Users/ghrunner/Library/Logs/") && e.User != fakemac.RunnerUser && !strings.HasPrefix(e.Argv[0], "<stat>") && !strings.HasPrefix(e.Argv[0], "<acl>") {
			t.Errorf("%s acts on the runner account's logs: %s", e.User, cmd)
		}
		switch cmd {
		case "/bin/launchctl bootstrap system " + daemonDir + "/" + fakemac.RunnerLabel + ".plist":
			bootstrap = i
		case "/bin/rm -rf /Users/ghrunner/Library/Logs/" + fakemac.RunnerLabel:
			removed = i
		}
	}
	if old == nil && removed >= 0 {
		t.Errorf("%s was removed through the planted link", strings.Join(rep.HostCommands[removed].Argv, " "))
	}
	if bootstrap < 0 || (old != nil && removed < bootstrap) {
		t.Errorf("the old runner logs go (step %d) before the runner starts on its new plist (step %d):\n%s", removed, bootstrap, strings.Join(ran(rep.HostCommands), "\n"))
	}
	out, err := m.Run(context.Background(), host.Command{Argv: []string{"/bin/launchctl", "print", "system/" + fakemac.RunnerLabel}, User: host.Root})
	if err != nil || !strings.Contains(out.Stdout, "\tstate = running\n") {
		t.Errorf("the runner does not run on its new logs: %v\n%s", err, out.Stdout)
	}
	if again := load(t, m, nil).Plan(context.Background()); again.Summary.Change != 0 {
		t.Fatalf("a second run would change %d resource(s):\n%s", again.Summary.Change, describe(again))
	}
}

// TestLogTreeDriftIsRepaired: what can be found in root's log tree (a
// log the runner account chmod'ed or hard linked into its home, one
// root left as a symlink or a directory) is reported and repaired by
// root without following anything: the linked file is replaced, not
// chmod'ed, and the link's target is untouched.
func TestLogTreeDriftIsRepaired(t *testing.T) {
	const rootFile = "/private/etc/paths"
	m := fake(t, "converged")
	dir := "/Library/Logs/hvfctl/" + fakemac.RunnerLabel
	plant(t, m, fakemac.RunnerUser, "/bin/chmod", "644", dir+"/stdout.log")
	plant(t, m, host.Root, "/bin/rm", "-f", dir+"/stderr.log")
	plant(t, m, host.Root, "/bin/ln", "-sfh", rootFile, dir+"/stderr.log")
	c := load(t, m, nil).Check(context.Background())
	r := c.Resource("runner:macmini-m4-hvf:service")
	if c.ExitCode() != 2 || r == nil {
		t.Fatalf("check exits %d, want 2 (drift):\n%s", c.ExitCode(), describe(c))
	}
	got := map[string]string{}
	for _, ch := range r.Changes {
		got[ch.Property] = ch.Before.String()
	}
	if got["stdout.log"] != `"ghrunner:staff 644"` || got["stderr.log"] != `"a symlink -> `+rootFile+`"` {
		t.Errorf("check reports %v", got)
	}
	before := readFake(t, m, rootFile)
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply did not converge:\n%s", describe(rep))
	}
	cmds := strings.Join(ran(rep.HostCommands), "\n")
	for _, want := range []string{"/bin/chmod -h 600 " + dir + "/stdout.log", "<write> " + dir + "/stderr.log 0600 ghrunner:staff"} {
		if !strings.Contains(cmds, want) {
			t.Errorf("apply does not run %q:\n%s", want, cmds)
		}
	}
	if after := readFake(t, m, rootFile); string(after) != string(before) {
		t.Errorf("%s changed", rootFile)
	}
	fi, err := m.Lstat(context.Background(), rootFile)
	if err != nil || fi.Owner != "root" {
		t.Errorf("%s: %+v %v", rootFile, fi, err)
	}
}
