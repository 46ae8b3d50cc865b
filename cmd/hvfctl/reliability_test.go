package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// relToken is a runner token of the real shape for the fault and
// interruption runs.
const relToken = "FAULTTOKEN7FAULTTOKEN7FAULTTK"

// relFlags are the recipe flags of a run of m4.star on a fixture.
func relFlags(fixture string) recipeFlags {
	return recipeFlags{
		Target:   "fake:" + fixture,
		Var:      map[string]string{"homebrew_pkg_sha256": relHomebrewPkgSHA256, "brew_owner": "admin"},
		MaxSteps: engine.DefaultMaxSteps,
		Recipe:   relRecipe,
	}
}

// relEngineRun does what `hvfctl run --yes` does (load, plan, apply) on
// fixture, with the target's host wrapped by wrap (when non-nil), and
// returns the plan and apply reports, the transcript and the target.
func relEngineRun(t *testing.T, ctx context.Context, fixture string, wrap func(host.Host) host.Host) (plan, apply *engine.Report, transcript []host.Entry, tgt *target) {
	t.Helper()
	environ := map[string]string{tokenEnv: relToken}
	getenv := func(k string) string { return environ[k] }
	f := relFlags(fixture)
	tgt, err := openTarget(f.Target, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		tgt.host = wrap(tgt.host)
	}
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: getenv}
	r, err := f.load(e, tgt, &cliSecrets{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	plan = r.Plan(ctx)
	apply = r.Apply(ctx)
	return plan, apply, r.Session().Recorder().Transcript(), tgt
}

// relPrefixMatch says whether argv starts with prefix, argv[0] compared
// by base name (the fake's rule for faults).
func relPrefixMatch(prefix, argv []string) bool {
	if len(prefix) > len(argv) {
		return false
	}
	for i, p := range prefix {
		if i == 0 && path.Base(p) == path.Base(argv[0]) {
			continue
		}
		if p != argv[i] {
			return false
		}
	}
	return true
}

// relFiles returns the file table of a state.
func relFiles(st map[string]any) map[string]any {
	f, _ := st["files"].(map[string]any)
	return f
}

// TestFaultAtEveryCommand enumerates every host command of the fresh-m4
// run of recipes/m4.star (plan and apply) and, for each one, makes that
// command fail through the fixture's faults key. Each faulted run must
// exit 1 naming the failed resource, the command and the tail of its
// stderr, and leave only whole files (a file holds its content from
// before the run or from a clean run); a second run without the fault
// must converge and `check` must then exit 0.
func TestFaultAtEveryCommand(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	_, clean, transcript, tgt := relEngineRun(t, context.Background(), start, nil)
	if !clean.Converged() {
		t.Fatalf("the clean run does not converge: %+v", clean.Summary)
	}
	final := filepath.Join(dir, "final.json")
	if err := tgt.save(final); err != nil {
		t.Fatal(err)
	}
	before := relFiles(relState(t, start))
	after := relFiles(relState(t, final))
	n := len(transcript)
	if n == 0 {
		t.Fatal("the clean run ran no host command")
	}

	var mu sync.Mutex
	recovered := 0
	t.Run("fault", func(t *testing.T) {
		for i, cmd := range transcript {
			nth := 0
			for _, prev := range transcript[:i+1] {
				if relPrefixMatch(cmd.Argv, prev.Argv) {
					nth++
				}
			}
			t.Run(fmt.Sprintf("%03d", i+1), func(t *testing.T) {
				t.Parallel()
				if relFault(t, i+1, cmd, nth, before, after) {
					mu.Lock()
					recovered++
					mu.Unlock()
				}
			})
		}
	})
	t.Logf("%d/%d faults recovered", recovered, n)
	if recovered != n {
		t.Errorf("%d/%d faults recovered", recovered, n)
	}
}

// relFault injects a failure at command i (argv cmd, its nth occurrence)
// and checks the failed run, the state it left and the recovery. It
// reports whether everything held.
func relFault(t *testing.T, i int, cmd host.Entry, nth int, before, after map[string]any) bool {
	t.Helper()
	dir := t.TempDir()
	stderr := fmt.Sprintf("first line of noise\nsimulated fault %d: Resource busy\n", i)
	fixture := relFixture(t, dir, "fault.json", map[string]any{
		"base":   defaultPreset,
		"faults": []map[string]any{{"argv_prefix": cmd.Argv, "nth": nth, "exit": 3, "stderr": stderr}},
	})
	saved := filepath.Join(dir, "faulted.json")
	o := relOpts{environ: map[string]string{tokenEnv: relToken}}
	args := append([]string{"run", "--yes", "--target", "fake:" + fixture, "--save", saved}, relVars...)
	r := relCLI(t, o, append(args, relRecipe)...)
	ok := true
	fail := func(format string, a ...any) {
		t.Helper()
		ok = false
		t.Errorf("fault at command %d (%s, occurrence %d): "+format, append([]any{i, strings.Join(cmd.Argv, " "), nth}, a...)...)
	}
	relNoCrash(t, "faulted run", r)
	if r.code != 1 {
		fail("exit %d, want 1\n%s", r.code, r.all())
	}
	out := r.all()
	if !strings.Contains(out, "FAILED") {
		fail("no resource is reported FAILED\n%s", out)
	}
	if !strings.Contains(out, fmt.Sprintf("simulated fault %d: Resource busy", i)) {
		fail("the tail of the command's stderr is not shown\n%s", out)
	}
	if !strings.Contains(out, strings.Join(cmd.Argv, " ")) && !strings.Contains(out, engine.ArgvString(cmd.Argv)) {
		fail("the failed command is not named\n%s", out)
	}
	st := relState(t, saved)
	if faults, _ := st["faults"].([]any); len(faults) == 1 {
		if seen, _ := faults[0].(map[string]any)["seen"].(float64); int(seen) < nth {
			fail("the fault did not fire (seen %v of %d): the CLI run differs from the enumerated one", seen, nth)
		}
	}
	// Nothing half-written: every file is as before the run or as a
	// clean run leaves it.
	for p, node := range relFiles(st) {
		n := relNoMTime(node)
		if relEqual(n, relNoMTime(before[p])) || relEqual(n, relNoMTime(after[p])) {
			continue
		}
		fail("%s is neither as before the run nor as a clean run leaves it: %v", p, node)
	}
	// A second run without the fault converges; check then exits 0.
	delete(st, "faults")
	rerun := relFixture(t, dir, "rerun.json", st)
	converged := filepath.Join(dir, "converged.json")
	args = append([]string{"run", "--yes", "--target", "fake:" + rerun, "--save", converged}, relVars...)
	if r2 := relCLI(t, o, append(args, relRecipe)...); r2.code != 0 {
		fail("the rerun exited %d, want 0\n%s", r2.code, r2.all())
		return false
	}
	args = append([]string{"check", "--target", "fake:" + converged}, relVars...)
	if r3 := relCLI(t, o, append(args, relRecipe)...); r3.code != 0 {
		fail("check after the rerun exited %d, want 0\n%s", r3.code, r3.all())
	}
	return ok
}

// cancelAfter is a host that cancels the run once k commands have
// completed.
type cancelAfter struct {
	host.Host
	k      int
	cancel context.CancelFunc

	mu   sync.Mutex
	done int
}

func (c *cancelAfter) count() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done++
	if c.done == c.k {
		c.cancel()
	}
}

func (c *cancelAfter) Run(ctx context.Context, cmd host.Command) (host.Result, error) {
	defer c.count()
	return c.Host.Run(ctx, cmd)
}

func (c *cancelAfter) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	defer c.count()
	return c.Host.ReadFile(ctx, p, max)
}

func (c *cancelAfter) WriteFile(ctx context.Context, req host.WriteRequest) error {
	defer c.count()
	return c.Host.WriteFile(ctx, req)
}

func (c *cancelAfter) Download(ctx context.Context, req host.DownloadRequest) error {
	defer c.count()
	return c.Host.Download(ctx, req)
}

func (c *cancelAfter) Hash(ctx context.Context, p string) (string, int64, error) {
	defer c.count()
	return c.Host.Hash(ctx, p)
}

// TestInterruption cancels a fresh-m4 run after command k for several k:
// no command may start after the cancellation, the report must say which
// resources were handled and which were interrupted, and a rerun must
// converge with `check` exiting 0 afterwards.
func TestInterruption(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	_, _, transcript, _ := relEngineRun(t, context.Background(), start, nil)
	n := len(transcript)
	for _, k := range []int{1, n / 5, n / 3, n / 2, 2 * n / 3, n - 5, n - 1} {
		t.Run(fmt.Sprintf("after-%d-of-%d", k, n), func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, rep, got, tgt := relEngineRun(t, ctx, start, func(h host.Host) host.Host {
				return &cancelAfter{Host: h, k: k, cancel: cancel}
			})
			for j, e := range got[min(k, len(got)):] {
				if e.Exit != -1 {
					t.Errorf("command %d (%v) ran after the cancellation", k+j+1, e.Argv)
				}
			}
			if rep.Converged() {
				t.Fatal("an interrupted run reports convergence")
			}
			var text strings.Builder
			if err := rep.WriteText(&text, engine.TextOptions{}); err != nil {
				t.Fatal(err)
			}
			interrupted := 0
			for _, res := range rep.Resources {
				if strings.Contains(res.Error, "interrupted") {
					interrupted++
				}
			}
			if interrupted == 0 || !strings.Contains(text.String(), "interrupted") {
				t.Errorf("the report does not say what was interrupted:\n%s", text.String())
			}
			saved := filepath.Join(t.TempDir(), "interrupted.json")
			if err := tgt.save(saved); err != nil {
				t.Fatal(err)
			}
			o := relOpts{environ: map[string]string{tokenEnv: relToken}}
			converged := filepath.Join(t.TempDir(), "converged.json")
			args := append([]string{"run", "--yes", "--target", "fake:" + saved, "--save", converged}, relVars...)
			if r := relCLI(t, o, append(args, relRecipe)...); r.code != 0 {
				t.Fatalf("the rerun exited %d:\n%s", r.code, r.all())
			}
			args = append([]string{"check", "--target", "fake:" + converged}, relVars...)
			if r := relCLI(t, o, append(args, relRecipe)...); r.code != 0 {
				t.Fatalf("check after the rerun exited %d:\n%s", r.code, r.all())
			}
		})
	}
}

// relJSON decodes a JSON document for tests.
func relJSON(t testing.TB, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("invalid JSON: %v\n%s", err, s)
	}
	return v
}
