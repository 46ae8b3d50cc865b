package main

// Helpers of the reliability and security battery (issue 7): the CLI run
// in-process with a chosen environment, the CLI built once and run as a
// subprocess, fake-host fixtures in temporary directories, and state
// comparison.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
)

// relRoot is the repository root seen from this package.
const relRoot = "../.."

// relRecipe is the elfuse M4 runner recipe.
const relRecipe = relRoot + "/recipes/m4.star"

// relVars are the --var flags of every m4.star run: the fake's
// administrator owns Homebrew.
var relVars = []string{"--var", "brew_owner=admin"}

// relResult is what one hvfctl invocation did.
type relResult struct {
	code           int
	stdout, stderr string
}

// all is stdout and stderr together.
func (r relResult) all() string { return r.stdout + "\n" + r.stderr }

// relOpts configures relCLI.
type relOpts struct {
	ctx     context.Context
	environ map[string]string
	stdin   io.Reader
	rand    io.Reader
}

// relCLI runs hvfctl in-process.
func relCLI(t testing.TB, o relOpts, args ...string) relResult {
	t.Helper()
	ctx := o.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	stdin := o.stdin
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	var out, errb bytes.Buffer
	getenv := func(k string) string { return o.environ[k] }
	code := run(ctx, args, env{ctx: ctx, stdin: stdin, stdout: &out, stderr: &errb, getenv: getenv, rand: o.rand, programs: testPrograms})
	return relResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// relExec runs the built hvfctl as a subprocess with a minimal environment
// plus environ.
func relExec(t *testing.T, bin string, environ map[string]string, args ...string) relResult {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_COLOR=1"}
	for k, v := range environ {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("running %s: %v", bin, err)
		}
		code = ee.ExitCode()
	}
	return relResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// relCrash matches what must never reach a user: a Go panic, a fatal
// runtime error (a stack overflow), a stack trace, or the CLI's own
// report of a recovered panic.
var relCrash = regexp.MustCompile(`(?m)^panic: |^fatal error: |^runtime: |^goroutine \d+ \[|^runtime\.|runtime error:|internal error:|\.go:\d+ \+0x`)

// relCrashLiterals are texts of which every match of relCrash contains
// one (one per alternative).
var relCrashLiterals = []string{"panic: ", "goroutine ", "runtime error:", "internal error:", " +0x"}

// relCrashIn returns the first match of relCrash in s, or "". The
// regexp runs only on a text holding one of relCrashLiterals: on the
// long reports of the batteries, running it on every text cost more than
// the runs themselves.
func relCrashIn(s string) string {
	for _, lit := range relCrashLiterals {
		if strings.Contains(s, lit) {
			return relCrash.FindString(s)
		}
	}
	return ""
}

// relNoCrash fails when output shows a panic or a Go stack trace.
func relNoCrash(t testing.TB, what string, r relResult) {
	t.Helper()
	if m := relCrashIn(r.all()); m != "" {
		t.Errorf("%s: output shows a panic or Go stack trace (%q):\n%s", what, m, r.all())
	}
}

// relFixture writes a fake-host fixture (a JSON object) into dir.
func relFixture(t testing.TB, dir, name string, fixture map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(fixture, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// relState loads a fixture or saved state and returns it as a JSON map.
func relState(t testing.TB, file string) map[string]any {
	t.Helper()
	m, err := fakemac.Load(file)
	if err != nil {
		t.Fatalf("loading %s: %v", file, err)
	}
	b, err := m.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// relStable drops what every command changes (the simulated clock and
// the next process id) and the fault counters, leaving what a command
// that changes the Mac would change.
func relStable(st map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range st {
		switch k {
		case "clock", "next_pid", "faults", "responses":
			continue
		}
		out[k] = v
	}
	return out
}

// relDiffKeys returns the top-level keys (and for "files" the paths)
// whose values differ between two states.
func relDiffKeys(a, b map[string]any) []string {
	var out []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for k := range keys {
		if k == "files" {
			fa, _ := a[k].(map[string]any)
			fb, _ := b[k].(map[string]any)
			for _, p := range relChangedFiles(fa, fb) {
				out = append(out, "files:"+p)
			}
			continue
		}
		if !relEqual(a[k], b[k]) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// relChangedFiles lists the paths that differ between two file tables,
// ignoring modification times.
func relChangedFiles(a, b map[string]any) []string {
	var out []string
	seen := map[string]bool{}
	for p := range a {
		seen[p] = true
	}
	for p := range b {
		seen[p] = true
	}
	for p := range seen {
		if !relEqual(relNoMTime(a[p]), relNoMTime(b[p])) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

func relNoMTime(v any) any {
	m, ok := v.(map[string]any)
	if !ok {
		return v
	}
	c := map[string]any{}
	for k, x := range m {
		if k != "mtime" {
			c[k] = x
		}
	}
	return c
}

func relEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// relAssertAbsent fails when secret appears in any of the texts.
func relAssertAbsent(t testing.TB, secret string, texts map[string]string) {
	t.Helper()
	for where, s := range texts {
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("the secret canary appears in %s", where)
		}
	}
}

// TestRelCrashIn checks the literal prefilter against the regexp alone:
// the same answer for each of its alternatives, near misses and clean
// output.
// relPool calls fn on every item of items from n goroutines and returns
// when all calls have returned.
func relPool[T any](n int, items []T, fn func(T)) {
	work := make(chan T)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range work {
				fn(it)
			}
		}()
	}
	for _, it := range items {
		work <- it
	}
	close(work)
	wg.Wait()
}

func TestRelCrashIn(t *testing.T) {
	for _, s := range []string{
		"",
		"plan: 3 to change\n",
		"panic: boom\n",
		"x\npanic: boom\n",
		"a panic: mid-line\n",
		"goroutine 1 [running]:\n",
		"goroutine one [running]\n",
		"error: runtime error: index out of range\n",
		"hvfctl: internal error: x (please report this)\n",
		"\t/src/engine/load.go:12 +0x1f\n",
		"load.go:12 +0y\n",
		strings.Repeat("ok line\n", 1000) + "goroutine 7 [select]:\n",
	} {
		if got, want := relCrashIn(s), relCrash.FindString(s); got != want {
			t.Errorf("relCrashIn(%q) = %q, the regexp finds %q", s, got, want)
		}
	}
}
