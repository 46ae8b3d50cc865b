package main

import (
	"context"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// midRunTarget is one mid-run planting: in a run (or check) of
// recipes/m4.star from a start state, right before the seq-th command
// reaches the host, the runner account plants kind at path.
type midRunTarget struct {
	start string
	apply bool
	seq   int
	argv  []string
	path  string
	kind  fakemac.Planting
}

func (t midRunTarget) String() string {
	phase := "check"
	if t.apply {
		phase = "run"
	}
	return fmt.Sprintf("%s/%s/#%d %s/%s/%s", t.start, phase, t.seq, path.Base(t.argv[0]), t.path, t.kind)
}

// midRunExternal reports whether cmd, as the fake's principal table
// resolves it, hands paths to a program that looks them up itself with
// more privilege than the runner account: run as root and not one of the
// file operations the real backend performs in-process, or carrying a
// file hvfctl verified (tar's archive) whoever runs it.
func midRunExternal(cmd host.Command) bool {
	if len(cmd.Argv) == 0 || strings.HasPrefix(cmd.Argv[0], "<") {
		return false
	}
	if len(cmd.Verified) > 0 {
		return true
	}
	return cmd.Principal() == host.Root && !host.InProcessFileOp(cmd.Argv)
}

// midRunPaths lists every path cmd uses as an attacker sees it: the
// program, the working directory, the declared Paths and Verified, and
// every absolute argv element (declared or not: the battery must not
// trust the declarations it tests).
func midRunPaths(cmd host.Command) []string {
	set := map[string]bool{cmd.Argv[0]: true}
	for _, a := range cmd.Argv[1:] {
		if path.IsAbs(a) {
			set[path.Clean(a)] = true
		}
	}
	if cmd.Dir != "" {
		set[cmd.Dir] = true
	}
	for _, p := range append(slices.Clone(cmd.Paths), cmd.Verified...) {
		set[path.Clean(p)] = true
	}
	var out []string
	for p := range set {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// midRunDiscover runs `run` (apply) or `check` from start and returns,
// for every root-run external command, each component of the paths it
// used that the runner account could replace at the instant before it
// ran. The paths it used are those midRunPaths lists plus every path the
// fake's emulation of the program looked up (Mac.LastLookups): what the
// program really touched, whatever its argv declares.
func midRunDiscover(t *testing.T, name string, start *fakemac.Mac, apply bool, commands map[string]bool) ([]midRunTarget, midRunBaseline) {
	m := start.Clone()
	m.EnsureRootTargets()
	m.TraceLookups(true)
	type pending struct {
		seq    int
		cmd    host.Command
		before *fakemac.Mac
	}
	var out []midRunTarget
	var pend *pending
	flush := func() {
		if pend == nil {
			return
		}
		seen := map[string]bool{}
		for _, p := range append(midRunPaths(pend.cmd), m.LastLookups()...) {
			for c := p; c != "/" && c != "."; c = path.Dir(c) {
				if seen[c] || !pend.before.PlantableBy(hostileRunnerUser, c) {
					continue
				}
				seen[c] = true
				for _, kind := range fakemac.Plantings {
					out = append(out, midRunTarget{start: name, apply: apply, seq: pend.seq, argv: slices.Clone(pend.cmd.Argv), path: c, kind: kind})
				}
			}
		}
		pend = nil
	}
	seq := 0
	m.SetBeforeRun(func(cmd host.Command) {
		flush()
		seq++
		if midRunExternal(cmd) {
			commands[strings.Join(cmd.Argv, " ")] = true
			pend = &pending{seq: seq, cmd: cmd, before: m.Clone()}
		}
	})
	hostileRunner(t, m, apply)
	flush()
	return out, midRunBaseline{root: m.RootOwned(), paths: midRunPathSet(m)}
}

// midRunBaseline is what a run without a planting leaves: the root-owned
// objects and every path.
type midRunBaseline struct {
	root  map[string]fakemac.RootObject
	paths map[string]bool
}

// midRunPathSet returns every path of m's file table.
func midRunPathSet(m *fakemac.Mac) map[string]bool {
	set := map[string]bool{}
	for _, p := range m.Paths() {
		set[p] = true
	}
	return set
}

// TestMidRunPlanting closes the check-to-use window: hvfctl checks a
// path, then hands it to a program run as root that looks it up again.
// For every root-run external command of recipes/m4.star in a run and a
// check from a fresh, a part-way and a converged Mac, it plants each of a
// symlink to a root-owned file, a symlink to a root-owned directory, a
// FIFO, a hard link to a root-owned file and a file/directory swap into
// every component of the command's paths that the runner account could
// replace, at the instant the command reaches the host (after every check
// hvfctl made), lets the run finish, and requires that no root-owned
// object outside the recipe's allow_writes changed owner, group, mode,
// content or link target (or disappeared), that the runner token shows
// nowhere and that nothing panicked.
func TestMidRunPlanting(t *testing.T) {
	starts := map[string]*fakemac.Mac{}
	// baseline holds, per start and phase, the root-owned objects after
	// the run without a planting: what the run itself creates.
	baseline := map[string]midRunBaseline{}
	var todo []midRunTarget
	commands := map[string]bool{}
	for _, preset := range []string{"fresh-m4", "part-way", "converged"} {
		m, err := fakemac.New(preset)
		if err != nil {
			t.Fatal(err)
		}
		starts[preset] = m
		for _, apply := range []bool{true, false} {
			tg, after := midRunDiscover(t, preset, m, apply, commands)
			todo = append(todo, tg...)
			baseline[midRunPhase(preset, apply)] = after
		}
	}
	if len(commands) < 10 {
		t.Fatalf("only %d root-run external commands found in the recipe's runs", len(commands))
	}
	if len(todo) == 0 {
		t.Fatal("no component of a root-run command's paths is one the runner account can replace: nothing to plant")
	}
	allow := hostileAllowList(t, starts["converged"])
	var mu sync.Mutex
	safe := 0
	var unsafe []string
	relPool(8, todo, func(tg midRunTarget) {
		report := midRunPlant(t, starts[tg.start], tg, allow, baseline[midRunPhase(tg.start, tg.apply)])
		mu.Lock()
		if report == "" {
			safe++
		} else {
			unsafe = append(unsafe, tg.String())
			t.Errorf("mid-run planting %s is not safe:\n%s", tg, report)
		}
		mu.Unlock()
	})
	fmt.Printf("%d/%d mid-run plantings safe (%d root-run external commands)\n", safe, len(todo), len(commands))
	if safe != len(todo) {
		sort.Strings(unsafe)
		t.Errorf("%d/%d mid-run plantings safe; unsafe: %s", safe, len(todo), strings.Join(unsafe, ", "))
	}
}

// midRunPhase names a start state and phase.
func midRunPhase(start string, apply bool) string { return fmt.Sprintf("%s/%v", start, apply) }

// midRunPlant replays tg's run from start, planting at the instant tg's
// command reaches the host, and says what went wrong ("" when safe): a
// root-owned object outside allow that changed or disappeared, or a
// new object where only root could have made it that the run without a
// planting (baseline) does not make.
func midRunPlant(t *testing.T, start *fakemac.Mac, tg midRunTarget, allow []string, baseline midRunBaseline) string {
	m := start.Clone()
	m.EnsureRootTargets()
	before, beforePaths := m.RootOwned(), midRunPathSet(m)
	seq, planted := 0, ""
	m.SetBeforeRun(func(cmd host.Command) {
		seq++
		if seq != tg.seq {
			return
		}
		if !slices.Equal(cmd.Argv, tg.argv) {
			planted = fmt.Sprintf("the run diverged: command #%d is %q, not %q", seq, cmd.Argv, tg.argv)
			return
		}
		if err := m.Plant(tg.path, tg.kind, hostileRunnerUser); err != nil {
			planted = err.Error()
			return
		}
		planted = "ok"
	})
	out, _ := hostileRunner(t, m, tg.apply)
	m.SetBeforeRun(nil)
	var bad []string
	if planted != "ok" {
		bad = append(bad, "not planted: "+planted)
	}
	after := m.RootOwned()
	for _, q := range m.Paths() {
		// A new object (whoever owns it: bsdtar as root keeps the
		// archive's owners) in a directory the runner account cannot
		// write, outside allow_writes, that the run does not make
		// without the planting.
		if beforePaths[q] || baseline.paths[q] || hostileAllowed(allow, q) || m.WritableBy(hostileRunnerUser, q) {
			continue
		}
		bad = append(bad, fmt.Sprintf("%s: a new object outside allow_writes, in a directory the runner account cannot write", q))
	}
	for q, o := range before {
		if hostileAllowed(allow, q) {
			continue
		}
		if n, ok := after[q]; !ok {
			bad = append(bad, fmt.Sprintf("%s: removed or no longer root's", q))
		} else if n != o {
			bad = append(bad, fmt.Sprintf("%s: %+v -> %+v", q, o, n))
		}
	}
	if strings.Contains(out, hostileCanary) {
		bad = append(bad, "the runner token appears in the output")
	}
	if s := relCrashIn(out); s != "" {
		bad = append(bad, "a panic or Go stack trace: "+s)
	}
	if files := m.Contains(hostileCanary); len(files) > 0 {
		bad = append(bad, fmt.Sprintf("the runner token was written to %v", files))
	}
	if len(bad) == 0 {
		return ""
	}
	sort.Strings(bad)
	return "  " + strings.Join(bad, "\n  ") + "\noutput:\n" + out
}

// hostileAllowList returns recipes/m4.star's allow_writes as loaded on m.
func hostileAllowList(t *testing.T, m *fakemac.Mac) []string {
	t.Helper()
	environ := map[string]string{tokenEnv: hostileCanary}
	getenv := func(k string) string { return environ[k] }
	e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: getenv}
	f := relFlags("")
	r, err := f.load(e, fakeTarget(m.Clone()), &cliSecrets{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	return r.Session().AllowList()
}
