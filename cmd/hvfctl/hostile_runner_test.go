package main

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// hostileRunnerUser is the account CI jobs run as.
const hostileRunnerUser = "ghrunner"

// hostileRunner runs recipes/m4.star in-process on m: `run` (plan, then
// apply) when apply is set, else `check`. It returns every text the run
// produced (reports, JSON, print output) and the host commands it ran.
func hostileRunner(t *testing.T, m *fakemac.Mac, apply bool) (string, []host.Entry) {
	out, tr, _ := hostileRun(t, m, apply)
	return out, tr
}

// hostileRun is hostileRunner that also says whether the last report
// is converged.
func hostileRun(t *testing.T, m *fakemac.Mac, apply bool) (string, []host.Entry, bool) {
	t.Helper()
	ctx := context.Background()
	environ := map[string]string{tokenEnv: hostileCanary}
	getenv := func(k string) string { return environ[k] }
	var stdout, stderr strings.Builder
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: getenv, programs: testPrograms}
	f := relFlags("")
	r, err := f.load(e, fakeTarget(m), &cliSecrets{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var reps []*engine.Report
	if apply {
		// Apply plans first and reports what it planned: `run --yes`.
		reps = append(reps, r.Apply(ctx))
	} else {
		reps = append(reps, r.Check(ctx))
	}
	var out strings.Builder
	for _, rep := range reps {
		if err := rep.WriteText(&out, engine.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&out); err != nil {
			t.Fatal(err)
		}
	}
	out.WriteString(stdout.String() + stderr.String())
	return out.String(), r.Session().Recorder().Transcript(), reps[len(reps)-1].Converged()
}

// hostilePaths lists every path the recipe reads or changes (an absolute
// operand of a host command, or a directory above one) that the runner
// account can replace on mac: in its home, and in the directories every
// account can add to (/tmp, /var/tmp), where it may put an entry that is
// missing or its own.
func hostilePaths(mac *fakemac.Mac, transcripts ...[]host.Entry) []string {
	set := map[string]bool{}
	for _, tr := range transcripts {
		for _, e := range tr {
			for _, a := range e.Argv[1:] {
				if !path.IsAbs(a) {
					continue
				}
				for p := path.Clean(a); p != "/"; p = path.Dir(p) {
					set[p] = true
				}
			}
		}
	}
	var out []string
	for p := range set {
		if mac.PlantableBy(hostileRunnerUser, p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// hostileAllowed says whether p (a real path of the fake's file table)
// lies under one of the recipe's allow_writes entries, which may name it
// through root's links /tmp, /var and /etc (to /private/...).
func hostileAllowed(allow []string, p string) bool {
	if rest, ok := strings.CutPrefix(p, "/private"); ok {
		for _, top := range []string{"/tmp", "/var", "/etc"} {
			if rest == top || strings.HasPrefix(rest, top+"/") {
				if hostileAllowed(allow, rest) {
					return true
				}
			}
		}
	}
	for _, a := range allow {
		if engine.IsPattern(a) {
			if ok, _ := path.Match(a, p); ok {
				return true
			}
			continue
		}
		if host.Within(p, a) {
			return true
		}
	}
	return false
}

// TestHostileRunner is the twin of the fault battery with the runner
// account as the adversary: for every path recipes/m4.star reads or
// changes that the runner account can write, it plants each of a symlink
// to a root-owned file, a symlink to a root-owned directory, a FIFO, a
// hard link to a root-owned file and a file/directory swap into a
// converged and a part-way Mac, runs `run` and then `check`, and requires
// that no root-owned object outside the recipe's allow_writes changed
// owner, group, mode, content or link target (or disappeared), that the
// runner token shows nowhere (output or any file), and that nothing
// panicked.
func TestHostileRunner(t *testing.T) {
	type start struct {
		name string
		mac  *fakemac.Mac
	}
	var starts []start
	var transcripts, freshTranscripts [][]host.Entry
	var final *fakemac.Mac
	var fresh start
	for _, preset := range []string{"converged", "part-way", "fresh-m4"} {
		m, err := fakemac.New(preset)
		if err != nil {
			t.Fatal(err)
		}
		c := m.Clone()
		_, tr := hostileRunner(t, c, true)
		_, tc := hostileRunner(t, c, false)
		if preset == "fresh-m4" {
			// A fresh Mac is planted only in the shared sticky
			// directories: the runner account does not exist yet.
			fresh = start{preset, m}
			freshTranscripts = append(freshTranscripts, tr, tc)
			continue
		}
		starts = append(starts, start{preset, m})
		transcripts = append(transcripts, tr, tc)
		final = c
	}
	var allow []string
	{
		m := final.Clone()
		environ := map[string]string{tokenEnv: hostileCanary}
		getenv := func(k string) string { return environ[k] }
		e := &env{ctx: context.Background(), stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: getenv, programs: testPrograms}
		f := relFlags("")
		r, err := f.load(e, fakeTarget(m), &cliSecrets{getenv: getenv})
		if err != nil {
			t.Fatal(err)
		}
		allow = r.Session().AllowList()
		r.Close()
	}
	home := "/Users/" + hostileRunnerUser + "/"
	var paths, shared []string
	for _, p := range hostilePaths(final, transcripts...) {
		if strings.HasPrefix(p, home) {
			paths = append(paths, p)
		}
	}
	if len(paths) < 10 {
		t.Fatalf("only %d runner-writable paths found in the recipe's commands: %v", len(paths), paths)
	}
	// Paths in /tmp and /var/tmp that root writes: plantable on the Mac
	// the battery starts from while they are missing (the runner account
	// cannot replace root's entry in a sticky directory).
	for _, p := range hostilePaths(fresh.mac, append(append([][]host.Entry(nil), transcripts...), freshTranscripts...)...) {
		if !strings.HasPrefix(p, "/Users/") {
			shared = append(shared, p)
		}
	}
	type planting struct {
		start start
		path  string
		kind  fakemac.Planting
	}
	var todo []planting
	for _, st := range starts {
		for _, p := range paths {
			for _, kind := range fakemac.Plantings {
				// A hard link to root's symlink in the runner's own
				// directory is a link in a directory the runner can
				// change, as the symlink plantings are; it differs only
				// in a sticky directory.
				if kind != fakemac.PlantHardLinkToRootLink {
					todo = append(todo, planting{st, p, kind})
				}
			}
		}
	}
	for _, st := range append(starts, fresh) {
		for _, p := range shared {
			for _, kind := range fakemac.Plantings {
				if st.mac.PlantableBy(hostileRunnerUser, p) {
					todo = append(todo, planting{st, p, kind})
				}
			}
		}
	}
	// The plantings run in-process on a pool wider than the cores: some
	// runs wait on launchctl's asynchronous bootout, and waiting costs no
	// CPU.
	var mu sync.Mutex
	var outside atomic.Int64
	safe, total, repaired := 0, len(todo), 0
	var unsafe []string
	relPool(16, todo, func(pl planting) {
		ok, conv, report := hostilePlant(t, pl.start.mac, pl.path, pl.kind, allow)
		name := fmt.Sprintf("%s/%s/%s", pl.start.name, strings.TrimPrefix(pl.path, "/Users/"+hostileRunnerUser+"/"), pl.kind)
		if !strings.HasPrefix(pl.path, "/Users/") {
			outside.Add(1)
		}
		mu.Lock()
		if conv {
			repaired++
		}
		if ok {
			safe++
		} else {
			unsafe = append(unsafe, name)
			t.Errorf("planting %s is not safe:\n%s", name, report)
		}
		mu.Unlock()
	})
	fmt.Printf("%d/%d plantings safe (%d repaired by the run: check exits 0 after it; %d in sticky directories outside the runner's home)\n", safe, total, repaired, outside.Load())
	if outside.Load() == 0 {
		t.Errorf("no planting in /tmp or /var/tmp, which the recipe writes as root")
	}
	if safe != total {
		sort.Strings(unsafe)
		t.Errorf("%d/%d plantings safe; unsafe: %s", safe, total, strings.Join(unsafe, ", "))
	}
}

// hostilePlant plants kind at p in a copy of start, runs `run` and then
// `check`, and says whether no root-owned object outside allow changed
// and no secret leaked, whether check found the Mac converged, and what
// went wrong.
func hostilePlant(t *testing.T, start *fakemac.Mac, p string, kind fakemac.Planting, allow []string) (ok, converged bool, report string) {
	m := start.Clone()
	if !m.PlantableBy(hostileRunnerUser, p) {
		// The parent does not exist in this state: no job can plant
		// there yet.
		return true, true, ""
	}
	if err := m.Plant(p, kind, hostileRunnerUser); err != nil {
		return false, false, err.Error()
	}
	before := m.RootOwned()
	runOut, _ := hostileRunner(t, m, true)
	checkOut, _, converged := hostileRun(t, m, false)
	after := m.RootOwned()
	var bad []string
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
	for _, out := range []string{runOut, checkOut} {
		if strings.Contains(out, hostileCanary) {
			bad = append(bad, "the runner token appears in the output")
		}
		if m := relCrashIn(out); m != "" {
			bad = append(bad, "a panic or Go stack trace: "+m)
		}
	}
	if files := m.Contains(hostileCanary); len(files) > 0 {
		bad = append(bad, fmt.Sprintf("the runner token was written to %v", files))
	}
	if len(bad) == 0 {
		return true, converged, ""
	}
	sort.Strings(bad)
	return false, converged, "  " + strings.Join(bad, "\n  ") + "\nrun:\n" + runOut
}
