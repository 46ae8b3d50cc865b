package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
)

// relToken is a runner token of the real shape for the fault and
// interruption runs.
const relToken = "FAULTTOKEN7FAULTTOKEN7FAULTTK"

// relFlags are the recipe flags of a run of m4.star on a fixture.
func relFlags(fixture string) recipeFlags {
	return recipeFlags{
		Target:   "fake:" + fixture,
		Var:      map[string]string{"brew_owner": "admin"},
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
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: &strings.Builder{}, stderr: &strings.Builder{}, getenv: getenv, programs: testPrograms}
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
// apply of recipes/m4.star and, for each one, makes that
// command fail through the fixture's faults key. Each faulted run must
// exit 1 naming the failed resource, the command and the tail of its
// stderr, and leave only whole files (a file holds its content from
// before the run or from a clean run), and show the runner token nowhere
// (a faulted config.sh echoes it in its stderr); a second run without the
// fault must converge and `check` must then exit 0.
func TestFaultAtEveryCommand(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	plan, clean, transcript, tgt := relEngineRun(t, context.Background(), start, nil)
	if !clean.Converged() {
		t.Fatalf("the clean run does not converge: %+v", clean.Summary)
	}
	final := filepath.Join(dir, "final.json")
	if err := tgt.save(final, nil); err != nil {
		t.Fatal(err)
	}
	before := relFiles(relState(t, start))
	after := relFiles(relState(t, final))
	// `hvfctl run` first shows a plan, then applies; the apply re-reads
	// everything the plan read. The faults go at every command of the
	// apply (N), each counted over the whole run for its nth.
	first := len(plan.HostCommands)
	if len(clean.HostCommands) != len(transcript)-first {
		t.Fatalf("the apply report lists %d commands, the transcript %d after the plan's %d", len(clean.HostCommands), len(transcript)-first, first)
	}
	n := len(transcript) - first
	if n == 0 {
		t.Fatal("the clean apply ran no host command")
	}

	var mu sync.Mutex
	recovered := 0
	var lost []string
	t.Run("fault", func(t *testing.T) {
		for i, cmd := range transcript {
			if i < first {
				continue
			}
			nth := 0
			for _, prev := range transcript[:i+1] {
				if relPrefixMatch(cmd.Argv, prev.Argv) {
					nth++
				}
			}
			t.Run(fmt.Sprintf("%03d", i+1-first), func(t *testing.T) {
				t.Parallel()
				ok := relFault(t, i+1, cmd, nth, before, after)
				mu.Lock()
				defer mu.Unlock()
				if ok {
					recovered++
				} else {
					lost = append(lost, fmt.Sprintf("%d (%s)", i+1-first, relTool(cmd.Argv)))
				}
			})
		}
	})
	t.Logf("%d/%d faults recovered", recovered, n)
	// Printed as well, so make test shows the count (it runs the batteries
	// in local directory mode, where a test's stdout is shown).
	fmt.Printf("%d/%d faults recovered\n", recovered, n)
	if recovered != n {
		sort.Strings(lost)
		t.Errorf("%d/%d faults recovered; not recovered: faults at apply commands %s", recovered, n, strings.Join(lost, ", "))
	}
}

// relTool is a command's program base name and first operand.
func relTool(argv []string) string {
	tool := path.Base(argv[0])
	if len(argv) > 1 {
		tool += " " + argv[1]
	}
	return tool
}

// relFault injects a failure at command i (argv cmd, its nth occurrence)
// and checks the failed run, the state it left and the recovery. It
// reports whether everything held.
func relFault(t *testing.T, i int, cmd host.Entry, nth int, before, after map[string]any) bool {
	t.Helper()
	dir := t.TempDir()
	stderr := fmt.Sprintf("first line of noise\nsimulated fault %d: Resource busy\n", i)
	if path.Base(cmd.Argv[0]) == "config.sh" {
		// config.sh receives the token: a failure that echoes it must
		// still not show it.
		stderr = fmt.Sprintf("first line of noise\nsimulated fault %d: Resource busy (token %s rejected)\n", i, relToken)
	}
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
	out := r.all()
	tail := fmt.Sprintf("simulated fault %d: Resource busy", i)
	if !strings.Contains(out, tail) {
		fail("the tail of the command's stderr is not shown\n%s", out)
	}
	if !relNamesCommand(out, cmd.Argv) {
		fail("the failed command is not named\n%s", out)
	}
	// A failed command is never a state of the host: not an absent
	// value, and not a value to verify manually (unknown). Recording the
	// vars after the resources is a run-level error. A smoke test's
	// command failing is the outcome the smoke test checks
	// (stdlib/smoke.star): a failed assertion that shows it.
	smokeFailed := cmd.User != "root" && strings.Contains(out, "ASSERT   smoke:")
	if r.code != 1 || !strings.Contains(out, "FAILED") && !strings.Contains(out, "error: recording the vars") && !smokeFailed {
		fail("exit %d, want 1 with a FAILED resource\n%s", r.code, out)
	}
	if relUnknownShowing(out, tail) {
		fail("the failure is shown as an unknown value, not as a failed resource\n%s", out)
	}
	// The token appears in no message, even when the failed command
	// printed it, and not in the saved state.
	if strings.Contains(out, relToken) {
		fail("the runner token appears in the output\n%s", out)
	}
	st := relState(t, saved)
	withoutFaults := map[string]any{}
	for k, v := range st {
		if k != "faults" { // the injected fault itself holds the stderr
			withoutFaults[k] = v
		}
	}
	if raw, err := json.Marshal(withoutFaults); err != nil || strings.Contains(string(raw), relToken) {
		fail("the runner token appears in the saved state (%v)", err)
	}
	if faults, _ := st["faults"].([]any); len(faults) == 1 {
		if seen, _ := faults[0].(map[string]any)["seen"].(float64); int(seen) < nth {
			fail("the fault did not fire (seen %v of %d): the CLI run differs from the enumerated one", seen, nth)
		}
	}
	// Nothing half-written: no temporary file is left, and every file a
	// clean run leaves holds its content from before the run or its
	// final content. (Metadata changes are separate atomic steps, and
	// transient markers a clean run removes again are not compared.)
	for p, node := range relFiles(st) {
		if relTempName.MatchString(path.Base(p)) {
			fail("temporary file %s left behind", p)
		}
		if _, final := after[p]; !final {
			continue
		}
		c := relContent(node)
		if relEqual(c, relContent(before[p])) || relEqual(c, relContent(after[p])) {
			continue
		}
		fail("%s holds neither its content from before the run nor its final content: %v", p, node)
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

// relTempName matches the names atomic writers give their temporary
// files.
var relTempName = regexp.MustCompile(`(?i)^\..*(tmp|temp|partial)|\.(tmp|partial|part)$|~$`)

// relContent is what a node holds, without its metadata.
func relContent(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	c := map[string]any{}
	for _, k := range []string{"type", "content", "size", "sha256", "target", "archive", "package"} {
		if x, ok := m[k]; ok {
			c[k] = x
		}
	}
	return c
}

// relNamesCommand says whether out names the command argv: its program
// (base name, or the primitive without angle brackets) on a line with
// one of its operands, or with nothing else when it has none.
func relNamesCommand(out string, argv []string) bool {
	prog := strings.Trim(path.Base(argv[0]), "<>")
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, prog) {
			continue
		}
		if len(argv) == 1 || strings.Contains(line, prog+" exited") {
			return true
		}
		for _, a := range argv[1:] {
			if len(a) > 1 && strings.Contains(line, a) {
				return true
			}
		}
	}
	// A query may be reported by what it reads: the file it could not
	// read, on the line that shows the tool's complaint.
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, "simulated fault") {
			continue
		}
		for _, a := range argv[1:] {
			if path.IsAbs(a) && strings.Contains(line, a) {
				return true
			}
		}
	}
	return false
}

// relUnknownShowing says whether a report lists a value to verify
// manually because of the failure whose stderr tail is tail.
func relUnknownShowing(out, tail string) bool {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "unknown (") && strings.Contains(line, tail) {
			return true
		}
	}
	return false
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

func (c *cancelAfter) ListArchive(ctx context.Context, p string) ([]tarcheck.Entry, error) {
	defer c.count()
	return c.Host.ListArchive(ctx, p)
}

func (c *cancelAfter) ExtractArchive(ctx context.Context, req host.ExtractRequest) error {
	defer c.count()
	return c.Host.ExtractArchive(ctx, req)
}

// StatPaths forwards the batched stat of the wrapped host (the fake's),
// counted as a command.
func (c *cancelAfter) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	defer c.count()
	return c.Host.(host.FileQuerier).StatPaths(ctx, paths)
}

// ACLPaths forwards the batched ACL read of the wrapped host, counted
// as a command.
func (c *cancelAfter) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	defer c.count()
	return c.Host.(host.FileQuerier).ACLPaths(ctx, paths)
}

// ListDir forwards the listing of the wrapped host, counted as a
// command.
func (c *cancelAfter) ListDir(ctx context.Context, dir string) ([]string, error) {
	defer c.count()
	return c.Host.(host.FileQuerier).ListDir(ctx, dir)
}

// VerifyTree forwards the fixture-tree capability of the wrapped host
// (the fake's), counted as a command.
func (c *cancelAfter) VerifyTree(ctx context.Context, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	defer c.count()
	return relVerifyTree(ctx, c.Host, dir, manifest, guard)
}

// relVerifyTree calls the fixture-tree capability of h.
func relVerifyTree(ctx context.Context, h host.Host, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	v, ok := h.(fixturelock.TreeVerifier)
	if !ok {
		return fixturelock.Report{}, fmt.Errorf("%s cannot verify a fixture tree", h.Name())
	}
	return v.VerifyTree(ctx, dir, manifest, guard)
}

// TestInterruption cancels a fresh-m4 run after command k for several k:
// no command may start after the cancellation, the report must say which
// resources were handled and which were interrupted, and a rerun must
// converge with `check` exiting 0 afterwards.
func TestInterruption(t *testing.T) {
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	// Count the commands through the same wrapper, never cancelling.
	_, _, transcript, _ := relEngineRun(t, context.Background(), start, func(h host.Host) host.Host {
		return &cancelAfter{Host: h, k: -1, cancel: func() {}}
	})
	n := len(transcript)
	// Command 1 is Load's read of the recorded vars: cancelled there, the
	// recipe does not load at all (an error, no report).
	for _, k := range []int{2, n / 5, n / 3, n / 2, 2 * n / 3, n - 5, n - 1} {
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
			// After the last resource, recording the vars is what is
			// interrupted.
			for _, e := range rep.Errors {
				if strings.Contains(e, "interrupted") {
					interrupted++
				}
			}
			if interrupted == 0 || !strings.Contains(text.String(), "interrupted") {
				t.Errorf("the report does not say what was interrupted:\n%s", text.String())
			}
			saved := filepath.Join(t.TempDir(), "interrupted.json")
			if err := tgt.save(saved, nil); err != nil {
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
