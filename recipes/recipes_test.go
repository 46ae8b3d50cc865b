// Package recipes holds the elfuse runner recipe (m4.star) and its tests.
// The Go tests here keep the transcript of a fresh apply as a golden file,
// so that every change to what hvfctl would run on a real Mac shows up in
// review, and measure `check` on a converged Mac.
package recipes

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// checkBudget is the most host commands `check` may run on a converged
// Mac for the whole recipe (every fact family gathered once), plus one
// `Runner.Listener --version` per runner instance (the installed runner
// version, issue 15: there is no file that holds it), and one command
// per smoke test of what the CI runs (stdlib/smoke.star: eight, their
// PATH lookups in the one batched stat). The listings that find what
// is left of removed runner instances (the runner account's home, its
// Logs of the earlier layout, and the daemons' log tree /Library/Logs/hvfctl,
// one listing shared by runner:stale and prune:stale) and of older
// toolchain versions (/opt/toolchain/dist and the Arm package's
// directory) are part of the 32. The runner's files hashed
// in-process against the pinned archive (runner.verify: no command runs)
// are counted apart, by runnerHashes. Every ACL of the check is read
// with one batched in-process `<acl>` query (files.acl: root reads each
// from the object its own walk reached, so no principal is chosen per
// path). Each runner's .env is one in-process <read> (runner:NAME:env: what a
// job left there reaches every later job), and `ps -U ghrunner` one command (the
// runner account's processes that outlived their job); its LaunchAgents,
// start-up files and crontab cost nothing more (the batched stat and the
// listing runner:stale already makes), nor do its SSH login files;
// whether it may log in over SSH is one `launchctl print
// system/com.openssh.sshd` (persistence:ghrunner:remote-login; Remote
// Login is off on the converged Mac, so the service ACL groups are not
// read).
const checkBudget = 32 + 9

// runnerHashes counts the in-process <sha256> reads of the runner roots
// and the runner archive: runner.verify hashes every script and every
// file of bin/ and externals/ at each check (a job's change there would
// persist into later jobs), which runs no command.
func runnerHashes(cmds []host.Entry) int {
	n := 0
	for _, e := range cmds {
		if len(e.Argv) == 2 && e.Argv[0] == "<sha256>" && (strings.Contains(e.Argv[1], "/actions-runner") || strings.Contains(e.Argv[1], "/actions-runner-osx-")) {
			n++
		}
	}
	return n
}

// testToken has the shape of a registration token (29 upper-case letters
// and digits) that the fake accepts; it is not a credential.
const testToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

// secrets supplies fixed secret values by name.
type secrets map[string]string

func (s secrets) Lookup(_ context.Context, name string) (string, error) {
	v, ok := s[name]
	if !ok {
		return "", fmt.Errorf("no value for secret %q", name)
	}
	return v, nil
}

// testPrograms is the compiled-module cache every Load of these tests
// shares (engine.Options.Programs): m4.star and the stdlib are compiled
// once per test process, and executed afresh by each Load.
var testPrograms = engine.NewPrograms()

// load evaluates m4.star against h with the given variables.
func load(t testing.TB, h host.Host, vars map[string]string) *engine.Recipe {
	t.Helper()
	r, err := engine.Load(context.Background(), "m4.star", engine.Options{
		Host:       h,
		Modules:    builtins.Modules(),
		Stdlib:     stdlib.FS,
		Vars:       vars,
		Secrets:    secrets{"runner_token": testToken},
		Principals: engine.Principals{BrewOwner: "admin", Invoker: "admin"},
		Programs:   testPrograms,
	})
	if err != nil {
		t.Fatalf("loading m4.star: %v", err)
	}
	t.Cleanup(r.Close)
	return r
}

// freshPresets are the fresh Macs every test of a fresh Mac runs on: the
// Mac mini of today (macOS 26) and the same Mac on macOS 15, whose
// softwareupdate lists both forms of the Command Line Tools label. Both
// must give the same transcript and files: the same 26.x label wins.
var freshPresets = []string{"fresh-m4", "fresh-m4-sequoia"}

// fake returns a fake Mac in the state of preset.
func fake(t testing.TB, preset string) *fakemac.Mac {
	t.Helper()
	m, err := fakemac.New(preset)
	if err != nil {
		t.Fatalf("fake mac %s: %v", preset, err)
	}
	return m
}

// describe lists the resources that are not ok, with their errors.
func describe(rep *engine.Report) string {
	var b strings.Builder
	for _, r := range rep.Resources {
		if r.Status == engine.StatusOK {
			continue
		}
		fmt.Fprintf(&b, "  %s: %s %s\n", r.ID, r.Status, r.Error)
		for _, c := range r.Changes {
			fmt.Fprintf(&b, "    %s: %s → %s\n", c.Property, engine.Display(c.Before), engine.Display(c.After))
		}
	}
	return b.String()
}

// transcript formats host commands one per line: the principal, then the
// argv with each element quoted only when it needs it.
func transcript(entries []host.Entry) string {
	var b strings.Builder
	for _, e := range entries {
		parts := make([]string, len(e.Argv))
		for i, a := range e.Argv {
			if a == "" || strings.ContainsAny(a, " \t\n\"'\\") {
				a = fmt.Sprintf("%q", a)
			}
			parts[i] = a
		}
		fmt.Fprintf(&b, "%-8s %s\n", e.User, strings.Join(parts, " "))
	}
	return b.String()
}

// golden compares got with testdata/golden/NAME, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	file := filepath.Join("..", "testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./recipes -run %s -update to create it)", err, t.Name())
	}
	if string(want) != got {
		t.Errorf("%s differs from a fresh run (go test ./recipes -run %s -update rewrites it after review):\n%s", file, t.Name(), lineDiff(string(want), got))
	}
}

// lineDiff shows the first lines where want and got differ.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl == gl {
			continue
		}
		fmt.Fprintf(&b, "line %d:\n  - %s\n  + %s\n", i+1, wl, gl)
		if shown++; shown == 10 {
			b.WriteString("  …\n")
			break
		}
	}
	return b.String()
}

// TestFreshApplyTranscript applies m4.star to a fresh M4 Mac mini and
// compares every command it ran (queries included) with the golden file.
func TestFreshApplyTranscript(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		vars         map[string]string
	}{
		{"count1", "m4_fresh_apply.txt", nil},
		{"count4", "m4_fresh_apply_count4.txt", map[string]string{"runner_count": "4"}},
	} {
		for _, preset := range freshPresets {
			t.Run(tc.name+"/"+preset, func(t *testing.T) {
				m := fake(t, preset)
				r := load(t, m, tc.vars)
				rep := r.Apply(context.Background())
				if s := describe(rep); rep.Summary.Failed > 0 || len(rep.Errors) > 0 {
					t.Fatalf("apply failed: %v\n%s", rep.Errors, s)
				}
				got := transcript(rep.HostCommands)
				if strings.Contains(got, testToken) {
					t.Fatalf("the registration token appears in the transcript")
				}
				golden(t, tc.golden, got)
			})
		}
	}
}

// converged returns a fresh fake Mac after m4.star was applied to it.
func converged(t testing.TB, vars map[string]string) *fakemac.Mac {
	t.Helper()
	m := fake(t, "fresh-m4")
	rep := load(t, m, vars).Apply(context.Background())
	if !rep.Converged() {
		t.Fatalf("apply on fresh-m4 did not converge:\n%s", describe(rep))
	}
	return m
}

// TestConvergedPreset keeps fakemac's embedded converged preset equal to
// fresh-m4 after a run of m4.star: the preset's data must be what a fresh
// apply produces now (-update rewrites it), and the preset built from it
// must be that state.
func TestConvergedPreset(t *testing.T) {
	m := converged(t, nil)
	got, err := m.Fixture("fresh-m4")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("..", "builtins", "fakemac", filepath.FromSlash(fakemac.ConvergedPresetFile))
	if *update {
		if err := writeAtomic(file, got); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%s is not what a fresh apply of m4.star produces now (go test ./recipes -run TestConvergedPreset -update rewrites it after review; then go test ./builtins/fakemac -run TestGoldenFacts -update refreshes the converged and drifted fact transcripts):\n%s", file, lineDiff(string(want), string(got)))
	}
	applied, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	preset, err := fake(t, "converged").Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(applied, preset) {
		t.Errorf("the converged preset built from %s differs from the applied state:\n%s", file, lineDiff(string(applied), string(preset)))
	}
}

// writeAtomic replaces file with data (mode 0644) through a temporary
// file in the same directory.
func writeAtomic(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), ".update-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}

// TestConvergedCheckBudget proves that check on the converged preset
// stays within the host-command budget and reports no drift (exit 0).
func TestConvergedCheckBudget(t *testing.T) {
	m := fake(t, "converged")
	rep := load(t, m, nil).Check(context.Background())
	if code := rep.ExitCode(); code != 0 || rep.Summary.Change != 0 {
		t.Fatalf("check on the converged preset exits %d, want 0: %v\n%s", code, rep.Errors, describe(rep))
	}
	if n := len(rep.HostCommands) - runnerHashes(rep.HostCommands); n > checkBudget {
		t.Errorf("check ran %d host commands, budget %d:\n%s", n, checkBudget, transcript(rep.HostCommands))
	}
}

// TestCompareCheckCost prints, for `make bench`, the host commands and
// wall time of check on a converged fake next to the budget, and fails
// when check does not exit 0 or (count 1) exceeds the budget.
func TestCompareCheckCost(t *testing.T) {
	if os.Getenv("HVFCTL_BENCH_COMPARE") == "" {
		t.Skip("set HVFCTL_BENCH_COMPARE=1 (make bench) to print the comparison")
	}
	for _, count := range []string{"1", "4"} {
		vars := map[string]string{"runner_count": count}
		m := converged(t, vars)
		start := time.Now()
		rep := load(t, m, vars).Check(context.Background())
		wall := time.Since(start)
		if code := rep.ExitCode(); code != 0 {
			t.Errorf("check on the converged fake (runner_count=%s) exits %d, want 0:\n%s", count, code, describe(rep))
		}
		if count == "1" && len(rep.HostCommands) > checkBudget {
			t.Errorf("check ran %d host commands, budget %d", len(rep.HostCommands), checkBudget)
		}
		t.Logf("check, converged fake, runner_count=%s: %d host commands (budget %d for count 1), %v wall, %d resources", count, len(rep.HostCommands), checkBudget, wall.Round(time.Microsecond), len(rep.Resources))
	}
}

// BenchmarkCheckConverged measures check of the whole recipe on the
// converged preset: host commands per check and wall time.
func BenchmarkCheckConverged(b *testing.B) {
	m := fake(b, "converged")
	b.ResetTimer()
	cmds := 0
	for i := 0; i < b.N; i++ {
		r := load(b, m, nil)
		rep := r.Check(context.Background())
		cmds = len(rep.HostCommands)
		r.Close()
	}
	b.ReportMetric(float64(cmds), "host-cmds/op")
}
