package recipes

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

const (
	daemonDir = "/Library/LaunchDaemons"
	oldLabel  = "actions.runner.sysprog21-elfuse.mini-1"
	newLabel  = "actions.runner.sysprog21-elfuse.macmini-m4-hvf"
)

// renamedRecipe writes a copy of m4.star whose runner is called name.
func renamedRecipe(t *testing.T, name string) string {
	t.Helper()
	src, err := os.ReadFile("m4.star")
	if err != nil {
		t.Fatal(err)
	}
	const decl = `RUNNER_NAME = "macmini-m4-hvf"`
	if !strings.Contains(string(src), decl) {
		t.Fatalf("m4.star no longer says %s", decl)
	}
	file := filepath.Join(t.TempDir(), "m4.star")
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), decl, `RUNNER_NAME = "`+name+`"`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// loadFile evaluates the recipe at file against h.
func loadFile(t *testing.T, file string, h host.Host, vars map[string]string, sec secrets) *engine.Recipe {
	t.Helper()
	r, err := engine.Load(context.Background(), file, engine.Options{
		Host: h, Modules: builtins.Modules(), Stdlib: stdlib.FS, Vars: vars, Secrets: sec,
		Principals: engine.Principals{BrewOwner: "admin", Invoker: "admin"},
		Programs:   testPrograms,
	})
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	t.Cleanup(r.Close)
	return r
}

// exists reports whether path exists on the fake.
func exists(t *testing.T, m *fakemac.Mac, p string) bool {
	t.Helper()
	res, err := m.Run(context.Background(), host.Command{Argv: []string{"/usr/bin/stat", "-f", "%N", p}, User: host.Root})
	if err != nil {
		t.Fatal(err)
	}
	return res.Exit == 0
}

// ran lists the argv of the entries, joined by spaces.
func ran(entries []host.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, strings.Join(e.Argv, " "))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestRenamedRunnerIsCleanedUp applies the recipe with the runner called
// mini-1, renames it to macmini-m4-hvf in the same runner root, and
// checks that the old daemon is booted out and its plist removed before
// the root is registered again under the new name.
func TestRenamedRunnerIsCleanedUp(t *testing.T) {
	for _, preset := range freshPresets {
		t.Run(preset, func(t *testing.T) { renamedRunnerIsCleanedUp(t, preset) })
	}
}

func renamedRunnerIsCleanedUp(t *testing.T, preset string) {
	m := fake(t, preset)
	tok := secrets{"runner_token": testToken}
	if rep := loadFile(t, renamedRecipe(t, "mini-1"), m, nil, tok).Apply(context.Background()); !rep.Converged() {
		t.Fatalf("first apply did not converge:\n%s", describe(rep))
	}
	// Other daemons, which must never be touched.
	for _, label := range []string{"com.example.backup", "actions.runner.other-repo.mini-1"} {
		body := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Label</key><string>` + label + `</string><key>ProgramArguments</key><array><string>/opt/x/bin/runsvc.sh</string></array></dict></plist>`
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: daemonDir + "/" + label + ".plist", Data: []byte(body), Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
			t.Fatal(err)
		}
	}

	plan := load(t, m, nil).Plan(context.Background())
	var stale *engine.ResourceReport
	for i := range plan.Resources {
		if plan.Resources[i].ID == "runner:stale" {
			stale = &plan.Resources[i]
		}
	}
	if stale == nil || stale.Status != engine.StatusChange {
		t.Fatalf("runner:stale is not a change in the plan:\n%s", describe(plan))
	}
	var acts []string
	for _, a := range stale.Actions {
		acts = append(acts, strings.Join(a.Argv, " "))
	}
	// The old runner's logs go too (as root: the directory is root's).
	want := []string{"/bin/launchctl bootout system/" + oldLabel, "/bin/rm -f " + daemonDir + "/" + oldLabel + ".plist", "/bin/rm -rf /Library/Logs/hvfctl/" + oldLabel}
	if strings.Join(acts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("runner:stale plans\n%s\nwant\n%s", strings.Join(acts, "\n"), strings.Join(want, "\n"))
	}

	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply after the rename did not converge:\n%s", describe(rep))
	}
	cmds := ran(rep.HostCommands)
	idx := func(s string) int {
		for i, c := range cmds {
			if strings.HasPrefix(c, s) {
				return i
			}
		}
		t.Fatalf("apply did not run %q:\n%s", s, strings.Join(cmds, "\n"))
		return -1
	}
	if !(idx("/bin/launchctl bootout system/"+oldLabel) < idx("/Users/ghrunner/actions-runner/config.sh remove") &&
		idx("/bin/rm -f "+daemonDir+"/"+oldLabel+".plist") < idx("/Users/ghrunner/actions-runner/config.sh --unattended")) {
		t.Errorf("the old daemon was not stopped and removed before the root was registered again:\n%s", strings.Join(cmds, "\n"))
	}
	if exists(t, m, daemonDir+"/"+oldLabel+".plist") {
		t.Error("the old plist is still there")
	}
	for _, p := range []string{daemonDir + "/" + newLabel + ".plist", daemonDir + "/com.example.backup.plist", daemonDir + "/actions.runner.other-repo.mini-1.plist"} {
		if !exists(t, m, p) {
			t.Errorf("%s was removed", p)
		}
	}
	if c := load(t, m, nil).Check(context.Background()); c.ExitCode() != 0 {
		t.Fatalf("check after the rename exits %d:\n%s", c.ExitCode(), describe(c))
	}
}

// TestFewerRunnersUnregistersTheOldOnes goes from four instances to one:
// the four old daemons are stopped and removed and their roots, no
// longer any instance's, are unregistered with config.sh remove. Without
// a token the daemons are still stopped and the plan says what to do.
func TestFewerRunnersUnregistersTheOldOnes(t *testing.T) {
	m := converged(t, map[string]string{"runner_count": "4"})

	noToken := loadFile(t, "m4.star", m, nil, secrets{}).Apply(context.Background())
	var stale engine.ResourceReport
	for _, r := range noToken.Resources {
		if r.ID == "runner:stale" {
			stale = r
		}
	}
	if stale.Status != engine.StatusFailed || !strings.Contains(stale.Error, "runner_token") {
		t.Fatalf("runner:stale without a token: %s %q", stale.Status, stale.Error)
	}
	found := false
	for _, a := range stale.Actions {
		if strings.HasSuffix(strings.Join(a.Argv, " "), "config.sh remove") && strings.Contains(a.Reason, "remove runner macmini-m4-hvf-1 in GitHub (Settings > Actions > Runners)") {
			found = true
		}
	}
	if !found {
		t.Errorf("no config.sh remove whose reason says what a maintainer must do without a token: %+v", stale.Actions)
	}
	if !contains(ran(noToken.HostCommands), "/bin/launchctl bootout system/actions.runner.sysprog21-elfuse.macmini-m4-hvf-1") {
		t.Errorf("the old daemon was not stopped without a token:\n%s", strings.Join(ran(noToken.HostCommands), "\n"))
	}

	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply with one runner did not converge:\n%s", describe(rep))
	}
	cmds := ran(rep.HostCommands)
	for i := 1; i <= 4; i++ {
		root := "/Users/ghrunner/actions-runner-" + string(rune('0'+i))
		label := "actions.runner.sysprog21-elfuse.macmini-m4-hvf-" + string(rune('0'+i))
		if !contains(cmds, root+"/config.sh remove") {
			t.Errorf("%s was not unregistered", root)
		}
		if exists(t, m, daemonDir+"/"+label+".plist") {
			t.Errorf("%s.plist is still there", label)
		}
		if exists(t, m, root+"/.runner") {
			t.Errorf("%s/.runner is still there", root)
		}
	}
	if c := load(t, m, nil).Check(context.Background()); c.ExitCode() != 0 {
		t.Fatalf("check exits %d:\n%s", c.ExitCode(), describe(c))
	}
}

// TestManyRunnersToOne goes from 24 instances to one (past the fixed
// range of 16 hvfctl once looked at; 40 passes too, in twice the time):
// everything of the 23 removed instances (runner and prune daemons,
// roots, registrations, logs) is found by listing what exists, not from
// a fixed range, and removed; check then reports no drift and a second
// run changes nothing. One of the batteries (Makefile BATTERIES): it
// runs without -race.
func TestManyRunnersToOne(t *testing.T) {
	if testing.Short() {
		t.Skip("24 runner instances: skipped with -short")
	}
	const n = 24
	m := converged(t, map[string]string{"runner_count": strconv.Itoa(n)})
	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply with one runner did not converge:\n%s", describe(rep))
	}
	cmds := ran(rep.HostCommands)
	for i := 1; i <= n; i++ {
		sfx := "-" + strconv.Itoa(i)
		root := "/Users/ghrunner/actions-runner" + sfx
		runnerLabel := newLabel + sfx
		pruneLabel := "org.sysprog21.hvfctl.prune.macmini-m4-hvf" + sfx
		if !contains(cmds, root+"/config.sh remove") {
			t.Errorf("%s was not unregistered", root)
		}
		for _, p := range []string{
			root,
			daemonDir + "/" + runnerLabel + ".plist",
			daemonDir + "/" + pruneLabel + ".plist",
			"/Library/Logs/hvfctl/" + runnerLabel,
			"/Library/Logs/hvfctl/" + pruneLabel,
		} {
			if exists(t, m, p) {
				t.Errorf("%s is still there", p)
			}
		}
	}
	if c := load(t, m, nil).Check(context.Background()); c.ExitCode() != 0 {
		t.Fatalf("check exits %d:\n%s", c.ExitCode(), describe(c))
	}
	if again := load(t, m, nil).Plan(context.Background()); again.Summary.Change != 0 {
		t.Fatalf("a second run would change %d resource(s):\n%s", again.Summary.Change, describe(again))
	}
}

// plant runs argv as user on the fake, failing the test on a non-zero exit.
func plant(t *testing.T, m *fakemac.Mac, user string, argv ...string) {
	t.Helper()
	res, err := m.Run(context.Background(), host.Command{Argv: argv, User: user})
	if err != nil || res.Exit != 0 {
		t.Fatalf("%v as %s: %v %s%s", argv, user, err, res.Stdout, res.Stderr)
	}
}

const (
	leftHome  = "/Users/ghrunner"
	leftLogs  = leftHome + "/Library/Logs"
	leftPrune = "org.sysprog21.hvfctl.prune.macmini-m4-hvf-9"
	// rootLogs is the daemons' log tree of today (root's).
	rootLogs = "/Library/Logs/hvfctl"
)

// leftovers are what plantLeftovers leaves of instances 3, 9 and 17:
// logs of the earlier layout in the runner account's home (3, 17 and
// the prune daemon 9) and of today's in root's tree (17 and 9).
var leftovers = []string{
	leftHome + "/actions-runner-3", leftHome + "/actions-runner-17",
	leftLogs + "/" + newLabel + "-3", leftLogs + "/" + newLabel + "-17",
	leftLogs + "/" + leftPrune, daemonDir + "/" + leftPrune + ".plist",
	rootLogs + "/" + newLabel + "-17", rootLogs + "/" + leftPrune,
}

// plantLeftovers plants on m what instances of a count no run recorded
// left (runner roots 3 and 17 unpacked by the runner account, their
// logs, a prune daemon of instance 9 and its logs) and look-alikes that
// are no instance's, and returns the look-alikes.
func plantLeftovers(t *testing.T, m *fakemac.Mac) []string {
	t.Helper()
	const home, logs, prune = leftHome, leftLogs, leftPrune
	for _, sfx := range []string{"-3", "-17"} {
		root := home + "/actions-runner" + sfx
		plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", root)
		plant(t, m, fakemac.RunnerUser, "/usr/bin/tar", "-xzf", "/Library/Caches/hvfctl/actions-runner-osx-arm64-2.335.1.tar.gz", "-C", root)
		plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", logs+"/"+newLabel+sfx)
	}
	plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", logs+"/"+prune)
	for _, d := range []string{rootLogs + "/" + newLabel + "-17", rootLogs + "/" + prune} {
		plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", d)
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: d + "/stdout.log", Data: []byte("old\n"), Mode: 0o600, Owner: fakemac.RunnerUser, Group: "staff"}); err != nil {
			t.Fatal(err)
		}
	}
	body := `<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict><key>Label</key><string>` + prune + `</string><key>ProgramArguments</key><array><string>/usr/local/bin/hvfctl</string><string>prune</string><string>--older-than</string><string>7d</string><string>` + home + `/actions-runner-9/_work.noindex</string></array></dict></plist>`
	if err := m.WriteFile(context.Background(), host.WriteRequest{Path: daemonDir + "/" + prune + ".plist", Data: []byte(body), Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
		t.Fatal(err)
	}
	// Look-alikes that are no instance's: never touched.
	keep := []string{home + "/actions-runner-07", home + "/actions-runner-x", home + "/actions-runner-5", logs + "/actions.runner.other-repo.macmini-m4-hvf-2", rootLogs + "/actions.runner.other-repo.macmini-m4-hvf-2"}
	for _, d := range []string{keep[0], keep[1], keep[3]} {
		plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", d)
		if err := m.WriteFile(context.Background(), host.WriteRequest{Path: d + "/config.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755, Owner: fakemac.RunnerUser, Group: "staff"}); err != nil {
			t.Fatal(err)
		}
	}
	plant(t, m, fakemac.RunnerUser, "/bin/ln", "-s", "/opt/toolchain", keep[2])
	plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", keep[4])
	return keep
}

// TestLeftoversOfAnUnrecordedCount: a converged Mac (one runner) still
// holds what instances of a count no run recorded left behind (runner
// roots 3 and 17, their logs, a prune daemon of instance 9 and its
// logs). check reports them as drift, run removes them and nothing
// else: names that only look like a runner root's (a leading zero, a
// non-digit suffix, a symlink) and another repository's logs stay.
func TestLeftoversOfAnUnrecordedCount(t *testing.T) {
	m := fake(t, "converged")
	keep := plantLeftovers(t, m)
	c := load(t, m, nil).Check(context.Background())
	if c.ExitCode() != 2 {
		t.Fatalf("check exits %d, want 2 (drift):\n%s", c.ExitCode(), describe(c))
	}
	drift := map[string]string{}
	for _, id := range []string{"runner:stale", "prune:stale"} {
		r := c.Resource(id)
		if r == nil {
			t.Fatalf("%s is not in the check", id)
		}
		for _, ch := range r.Changes {
			drift[id+" "+ch.Property] = ch.Before.String()
		}
	}
	const home, logs, prune = leftHome, leftLogs, leftPrune
	want := map[string]string{
		"runner:stale stale_trees":  `["` + home + `/actions-runner-17", "` + home + `/actions-runner-3"]`,
		"runner:stale stale_logs":   `["` + rootLogs + "/" + newLabel + `-17", "` + logs + "/" + newLabel + `-17", "` + logs + "/" + newLabel + `-3"]`,
		"prune:stale stale_daemons": `["` + prune + `"]`,
		"prune:stale stale_logs":    `["` + rootLogs + "/" + prune + `", "` + logs + "/" + prune + `"]`,
	}
	for k, v := range want {
		if drift[k] != v {
			t.Errorf("check reports %s = %s, want %s", k, drift[k], v)
		}
	}

	rep := load(t, m, nil).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply did not converge:\n%s", describe(rep))
	}
	for _, p := range leftovers {
		if exists(t, m, p) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range append(keep, "/opt/toolchain", fakemac.RunnerRoot+"/.runner") {
		if !exists(t, m, p) {
			t.Errorf("%s was removed", p)
		}
	}
	if again := load(t, m, nil).Check(context.Background()); again.ExitCode() != 0 {
		t.Fatalf("check after the cleanup exits %d:\n%s", again.ExitCode(), describe(again))
	}
}

// TestDestroyRemovesLeftovers: hvfctl destroy on a converged Mac that
// also holds the leftovers of an unrecorded count removes them with the
// declared runner, and leaves the look-alikes.
func TestDestroyRemovesLeftovers(t *testing.T) {
	m := fake(t, "converged")
	keep := plantLeftovers(t, m)
	rep := load(t, m, nil).Destroy(context.Background(), engine.DestroyOptions{})
	for _, r := range rep.Resources {
		if r.Status == engine.StatusFailed || r.Status == engine.StatusSkipped {
			t.Errorf("destroy: %s %s %s", r.ID, r.Status, r.Error)
		}
	}
	for _, p := range append(leftovers, fakemac.RunnerRoot) {
		if exists(t, m, p) {
			t.Errorf("%s is still there after destroy", p)
		}
	}
	for _, p := range keep {
		if !exists(t, m, p) {
			t.Errorf("destroy removed %s", p)
		}
	}
}

// TestTooManyLeftoversFailClearly: past the bound of what one run
// removes (256 runner roots, 64 versions of a toolchain), check fails
// the resource with what to do instead of planning thousands of actions.
func TestTooManyLeftoversFailClearly(t *testing.T) {
	m := fake(t, "converged")
	for i := 1; i <= 257; i++ {
		plant(t, m, fakemac.RunnerUser, "/bin/mkdir", "-p", "-m", "755", leftHome+"/actions-runner-"+strconv.Itoa(i+1))
	}
	for i := 0; i <= 64; i++ {
		plant(t, m, host.Root, "/bin/mkdir", "-p", "-m", "755", "/opt/toolchain/dist/aarch64-linux-gnu-1."+strconv.Itoa(i)+".0")
	}
	c := load(t, m, nil).Check(context.Background())
	for id, want := range map[string]string{
		"runner:stale":                "257 runner roots named actions-runner-N in /Users/ghrunner, more than the 256 hvfctl removes in one run: remove the ones you do not need by hand",
		"toolchain:aarch64-linux-gnu": "versions of aarch64-linux-gnu side by side, more than the 64 hvfctl looks at",
	} {
		r := c.Resource(id)
		if r == nil || r.Status != engine.StatusFailed || !strings.Contains(r.Error, want) {
			t.Errorf("%s: %+v, want failed with %q", id, r, want)
		}
	}
}
