package recipes

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// TestTokenOnlyWhileNoRunnerProcess: config.sh (register and remove)
// gets the token only while no process of the runner account runs, since
// any of them could read it from config.sh's environment. From a
// converged Mac with one runner (its listener running as ghrunner),
// going to two instances unregisters the old runner and registers two:
// every config.sh starts with no ghrunner process, and the runners run
// again at the end. A process a job left behind makes hvfctl refuse,
// naming it, and config.sh never runs.
func TestTokenOnlyWhileNoRunnerProcess(t *testing.T) {
	vars := map[string]string{"runner_count": "2"}

	m := converged(t, nil)
	if len(m.ProcessesOf("ghrunner")) == 0 {
		t.Fatal("the converged Mac runs no process of ghrunner: the test proves nothing")
	}
	var seen []string
	m.SetBeforeRun(func(cmd host.Command) {
		if strings.HasSuffix(cmd.Argv[0], "/config.sh") {
			if pids := m.ProcessesOf("ghrunner"); len(pids) > 0 {
				seen = append(seen, strings.Join(cmd.Argv[:2], " ")+": pids "+strconv.Itoa(pids[0]))
			}
		}
	})
	rep := load(t, m, vars).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("going to two runners did not converge:\n%s", describe(rep))
	}
	if len(seen) > 0 {
		t.Errorf("config.sh ran while processes of ghrunner ran: %v", seen)
	}
	cmds := ran(rep.HostCommands)
	for _, c := range []string{"/Users/ghrunner/actions-runner/config.sh remove"} {
		if !contains(cmds, c) {
			t.Errorf("%s did not run", c)
		}
	}
	if n := len(m.ProcessesOf("ghrunner")); n != 2 {
		t.Errorf("%d processes of ghrunner after the run, want the two runners", n)
	}

	m = converged(t, nil)
	pid := m.StartProcess("ghrunner", "/Users/ghrunner/.cache/left-behind")
	rep = load(t, m, vars).Apply(context.Background())
	for _, e := range rep.HostCommands {
		if strings.HasSuffix(e.Argv[0], "/config.sh") {
			t.Errorf("config.sh ran beside a process a job left: %s", strings.Join(e.Argv[:2], " "))
		}
	}
	var refused bool
	for _, r := range rep.Resources {
		if r.Status == engine.StatusFailed && strings.Contains(r.Error, "pid "+strconv.Itoa(pid)) && strings.Contains(r.Error, "refusing to hand the token") {
			refused = true
		}
	}
	if !refused {
		t.Errorf("no resource failed naming pid %d:\n%s", pid, describe(rep))
	}
}

// TestNoTokenLeavesRunnersRunning: the runners stop for config.sh only
// once the token is in hand. From three converged runners down to two
// without a token, unregistering the third fails before the two kept
// runners' daemons are stopped: they still run afterwards.
func TestNoTokenLeavesRunnersRunning(t *testing.T) {
	m := converged(t, map[string]string{"runner_count": "3"})
	if n := len(m.ProcessesOf("ghrunner")); n != 3 {
		t.Fatalf("%d processes of ghrunner on the converged three-runner Mac, want 3", n)
	}
	rep := loadFile(t, "m4.star", m, map[string]string{"runner_count": "2"}, secrets{}).Apply(context.Background())
	failed := false
	for _, r := range rep.Resources {
		if r.ID == "runner:stale" && r.Status == engine.StatusFailed && strings.Contains(r.Error, "token is needed first") {
			failed = true
		}
	}
	if !failed {
		t.Errorf("runner:stale did not fail for the missing token before stopping a runner:\n%s", describe(rep))
	}
	for _, e := range rep.HostCommands {
		if strings.HasSuffix(e.Argv[0], "/config.sh") {
			t.Errorf("config.sh ran without a token: %s", strings.Join(e.Argv[:2], " "))
		}
	}
	if n := len(m.ProcessesOf("ghrunner")); n < 2 {
		t.Errorf("%d runners run after the failed run: the kept ones were stopped although config.sh could not run", n)
	}
}
