package recipes

import (
	"context"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestRunnerDaemonOpenFiles: the runner daemon's plist holds
// Soft/HardResourceLimits NumberOfFiles only on a Mac whose launchd hard
// limit for its jobs is below what elfuse needs, and a run writes them
// there (testdata/hosts/maxfiles-low.json); on macOS's defaults it has
// none.
func TestRunnerDaemonOpenFiles(t *testing.T) {
	plist := daemonDir + "/" + fakemac.RunnerLabel + ".plist"
	read := func(m *fakemac.Mac) string {
		b, err := m.ReadFile(context.Background(), plist, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got := read(fake(t, "converged")); strings.Contains(got, "NumberOfFiles") {
		t.Errorf("on macOS's default limits the daemon plist sets NumberOfFiles:\n%s", got)
	}
	low, err := fakemac.Load("../testdata/hosts/maxfiles-low.json")
	if err != nil {
		t.Fatal(err)
	}
	if rep := load(t, low, nil).Apply(context.Background()); !rep.Converged() {
		t.Fatalf("apply on maxfiles-low did not converge:\n%s", describe(rep))
	}
	got := read(low)
	for _, key := range []string{"<key>SoftResourceLimits</key>", "<key>HardResourceLimits</key>"} {
		i := strings.Index(got, key)
		if i < 0 || !strings.HasPrefix(strings.Join(strings.Fields(got[i:]), ""), key+"<dict><key>NumberOfFiles</key><integer>4096</integer></dict>") {
			t.Errorf("the daemon plist lacks %s NumberOfFiles 4096:\n%s", key, got)
		}
	}
	if rep := load(t, low, nil).Check(context.Background()); rep.ExitCode() != 0 {
		t.Errorf("check after the run is not clean:\n%s", describe(rep))
	}
}

// TestGarbledRunnerDaemonPlist: a runner daemon plist that is no longer a
// property list is drift that a run rewrites, not an error of check (the
// host-decided keys are compared only in a plist that parses).
func TestGarbledRunnerDaemonPlist(t *testing.T) {
	m := fake(t, "converged")
	plist := daemonDir + "/" + fakemac.RunnerLabel + ".plist"
	if err := m.WriteFile(context.Background(), host.WriteRequest{Path: plist, Data: []byte("<?xml version=\"1.0\"?><plist><dict><key>Lab"), Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
		t.Fatal(err)
	}
	if rep := load(t, m, nil).Check(context.Background()); rep.ExitCode() != 2 {
		t.Fatalf("check of a garbled daemon plist exits %d, want 2 (drift):\n%s", rep.ExitCode(), describe(rep))
	}
	if rep := load(t, m, nil).Apply(context.Background()); !rep.Converged() {
		t.Fatalf("apply did not repair the garbled plist:\n%s", describe(rep))
	}
	if rep := load(t, m, nil).Check(context.Background()); rep.ExitCode() != 0 {
		t.Errorf("check after the repair is not clean:\n%s", describe(rep))
	}
}
