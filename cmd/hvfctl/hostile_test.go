package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostileDir holds the hostile recipes; each has a "# expect: REGEX"
// line, may name a fixture under hosts/ with "# fixture: FILE" and may
// give plan and run extra flags with "# flags: ARGS" (small limits, so
// that a guard stops the recipe quickly).
const hostileDir = relRoot + "/testdata/hostile"

// hostileCanary is a runner token of the real shape that must never
// appear in anything hvfctl prints or saves.
const hostileCanary = "CANARY7TOKEN7CANARY7TOKEN7ZQX"

// hostileHeader reads a hostile recipe's expect, fixture and flags lines.
func hostileHeader(t *testing.T, file string) (expect *regexp.Regexp, fixture string, flags []string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(line, "# expect: "); ok {
			expect, err = regexp.Compile("(?i)" + v)
			if err != nil {
				t.Fatalf("%s: bad expect line: %v", file, err)
			}
		}
		if v, ok := strings.CutPrefix(line, "# fixture: "); ok {
			fixture = filepath.Join(hostileDir, "hosts", v)
		}
		if v, ok := strings.CutPrefix(line, "# flags: "); ok {
			flags = strings.Fields(v)
		}
	}
	if expect == nil {
		t.Fatalf("%s has no \"# expect: REGEX\" line", file)
	}
	return expect, fixture, flags
}

// TestHostileRecipes runs every hostile recipe through the built hvfctl
// (plan, then run --yes --save on the fake macOS, with a canary runner
// token in the environment) and requires: exit 1 or 2, a clear error
// matching the recipe's expect line, no panic or Go stack trace, the
// canary nowhere, and a host state unchanged by the run (or, for a recipe
// refused while it is evaluated, no plan and no apply at all).
func TestHostileRecipes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("%d hostile recipes, want at least 25", len(files))
	}
	bin := relBuild(t)
	environ := map[string]string{tokenEnv: hostileCanary}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".star")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			expect, fixture, flags := hostileHeader(t, file)
			dir := t.TempDir()
			start := filepath.Join(dir, "start.json")
			if fixture == "" {
				relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
			} else {
				raw, err := os.ReadFile(fixture)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(start, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := relStable(relState(t, start))
			saved := filepath.Join(dir, "after.json")

			// A small heap limit stops the allocation bombs quickly.
			plan := relExec(t, bin, environ, append(append([]string{"plan", "--max-heap", "64"}, flags...), "--target", "fake:"+start, file)...)
			apply := relExec(t, bin, environ, append(append([]string{"run", "--yes", "--max-heap", "64"}, flags...), "--target", "fake:"+start, "--save", saved, file)...)
			for what, r := range map[string]relResult{"plan": plan, "run": apply} {
				relNoCrash(t, what, r)
				if r.code != 0 && r.code != 1 && r.code != 2 {
					t.Errorf("%s exited %d, want 0, 1 or 2:\n%s", what, r.code, r.all())
				}
			}
			if apply.code == 0 {
				t.Errorf("run was not refused (exit 0):\n%s", apply.all())
			}
			if !expect.MatchString(plan.all() + apply.all()) {
				t.Errorf("no error matches %q:\nplan:\n%s\nrun:\n%s", expect, plan.all(), apply.all())
			}
			texts := map[string]string{"plan output": plan.all(), "run output": apply.all()}
			switch raw, err := os.ReadFile(saved); {
			case err == nil:
				texts["saved state"] = string(raw)
				after := relStable(relState(t, saved))
				if d := relDiffKeys(before, after); len(d) > 0 {
					t.Errorf("the run changed the host: %v", d)
				}
			case os.IsNotExist(err):
				// No state saved: the recipe was refused while it was
				// evaluated, so neither a plan nor an apply may have
				// started (nothing on stdout).
				if strings.TrimSpace(apply.stdout) != "" || strings.TrimSpace(plan.stdout) != "" {
					t.Errorf("run saved no state but printed a plan or an apply:\nplan:\n%s\nrun:\n%s", plan.stdout, apply.stdout)
				}
			default:
				t.Fatal(err)
			}
			relAssertAbsent(t, hostileCanary, texts)
		})
	}
}

// TestHostileSecretOutput plants the runner token where a recipe can
// read it before any action reveals it (a file on the fake Mac) and lets
// the recipe print it, put it in a diff and fail with it, while the real
// token file is given with --token-file: the token is registered before
// the recipe runs, so every output and the saved state show
// "<secret runner_token>", and the token file itself cannot be read.
func TestHostileSecretOutput(t *testing.T) {
	bin := relBuild(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(hostileCanary+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	canary := hostileCanary
	start := relFixture(t, dir, "start.json", map[string]any{
		"base": defaultPreset,
		"files": map[string]any{"/Users/Shared/notes.txt": map[string]any{
			"type": "file", "mode": "0644", "owner": "admin", "group": "wheel", "content": "token=" + canary + "\n",
		}},
	})
	recipe := filepath.Join(dir, "leak.star")
	src := `allow_writes("/Users/Shared/unpack")
print("before any action: %s" % var("x", default = "") )

def _notes():
    s = files.read("/Users/Shared/notes.txt")
    print("notes say " + s)
    return {"notes": s}

def _tokenfile():
    return {"token": files.read(` + strconv.Quote(tokenFile) + `)}

resource(id = "notes", kind = "leak", want = {"notes": "nothing"}, check = _notes, fix = lambda have, want: fail("leaking " + have["notes"]))
resource(id = "tokenfile", kind = "leak", want = {"token": None}, check = _tokenfile, fix = lambda have, want: [])
`
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "saved.json")
	texts := map[string]string{}
	// plan and check know the token from the environment (they take no
	// token file); run reads it from --token-file only.
	inEnv := map[string]string{tokenEnv: canary}
	for _, tc := range []struct {
		environ map[string]string
		args    []string
	}{
		{inEnv, []string{"plan", "--target", "fake:" + start, recipe}},
		{inEnv, []string{"check", "--json", "--target", "fake:" + start, recipe}},
		{nil, []string{"run", "--yes", "--token-file", tokenFile, "--target", "fake:" + start, "--save", saved, recipe}},
	} {
		args := tc.args
		r := relExec(t, bin, tc.environ, args...)
		relNoCrash(t, args[0], r)
		texts[args[0]] = r.all()
	}
	if !strings.Contains(texts["run"], "notes say token=<secret runner_token>") {
		t.Errorf("run output does not show the scrubbed print:\n%s", texts["run"])
	}
	if !strings.Contains(texts["run"], "runner token file") {
		t.Errorf("reading the token file was not refused:\n%s", texts["run"])
	}
	raw, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	texts["saved state"] = string(raw)
	relAssertAbsent(t, canary, texts)
}

// rawControl matches what must never reach a terminal raw: C0 controls
// but newline and tab, DEL, C1 controls, bidi and invisible format
// characters.
var rawControl = regexp.MustCompile("[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]")

// TestHostileControlCharacters runs the hostile recipes whose host data
// carries terminal controls (file contents, archive member names) through
// plan, check and run, in text and JSON, and requires that no control
// character reaches the output raw.
func TestHostileControlCharacters(t *testing.T) {
	bin := relBuild(t)
	for _, name := range []string{"control_chars", "tar_control_name"} {
		file := filepath.Join(hostileDir, name+".star")
		_, fixture, _ := hostileHeader(t, file)
		for _, args := range [][]string{
			{"plan", "--target", "fake:" + fixture, file},
			{"check", "--target", "fake:" + fixture, file},
			{"check", "--json", "--target", "fake:" + fixture, file},
			{"run", "--yes", "--target", "fake:" + fixture, file},
		} {
			r := relExec(t, bin, nil, args...)
			relNoCrash(t, name, r)
			if m := rawControl.FindString(r.all()); m != "" {
				t.Errorf("%s %v: a raw control character %q reached the output:\n%q", name, args[:len(args)-1], m, r.all())
			}
		}
	}
}

// TestHostileSIGTERMInsideBuiltin stops hvfctl with SIGTERM while the
// recipe is inside one long builtin operation that checks no
// cancellation (formatting a deep list with %, quadratic inside
// go.starlark.net, for hours): the first signal cancels the run and
// hvfctl says it is stopping, the operation runs on, and a second
// SIGTERM ends hvfctl at once with status 1. Each step waits for what
// hvfctl prints, not for a time: the recipe prints a line just before
// the operation. The other way out, the grace period after one signal,
// is TestStopOnSignal's (stopOnSignal with a short grace).
func TestHostileSIGTERMInsideBuiltin(t *testing.T) {
	t.Parallel() // a subprocess of the built binary: overlaps the in-process tests
	dir := t.TempDir()
	bin := relBuild(t)
	recipe := filepath.Join(dir, "busy.star")
	src := "def deep(n):\n    x = []\n    for _ in range(n):\n        x = [x]\n    return x\n\nd = [deep(200000)]\nprint(\"formatting\")\ns = \"%s\" % d\n"
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startWatched(t, dir, bin, "plan", "--target", "fake", recipe)
	p.waitFor(t, "formatting\n")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "stopping")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := p.wait(t, 20*time.Second)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("wait: %v, want exit status 1\n%s", err, p.output())
	}
	if !strings.Contains(p.output(), "stopped: a second signal came") {
		t.Errorf("hvfctl did not stop on the second signal:\n%s", p.output())
	}
}

// TestHostileFIFOInputs replaces each file hvfctl reads for itself (the
// recipe, a loaded module, the fixture, the token file, a file to
// format, a fixture lock) with a FIFO: each fails at once with a clear
// error instead of hanging.
func TestHostileFIFOInputs(t *testing.T) {
	dir := t.TempDir()
	bin := relBuild(t)
	fifo := func(name string) string {
		p := filepath.Join(dir, name)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := filepath.Join(dir, "ok.star")
	if err := os.WriteFile(good, []byte("allow_writes(\"/Users/Shared/unpack\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	loads := filepath.Join(dir, "loads.star")
	if err := os.WriteFile(loads, []byte("load(\"lib.star\", \"x\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo("lib.star")
	fixtures := filepath.Join(dir, "fixtures")
	if err := os.Mkdir(fixtures, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "--target", "fake", fifo("recipe.star")},
		{"plan", "--target", "fake", loads},
		{"plan", "--target", "fake:" + fifo("fixture.json"), good},
		{"run", "--yes", "--target", "fake", "--token-file", fifo("token"), good},
		{"run", "--yes", "--target", "fake", fifo("saved.plan")},
		{"fmt", fifo("fmt.star")},
		{"fixtures", "verify", fixtures, "--manifest", fifo("fixtures.lock")},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1"}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%v: accepted a FIFO:\n%s", args, out.String())
			} else if !strings.Contains(out.String(), "not a regular file") && !strings.Contains(out.String(), "FIFO") {
				t.Errorf("%v: no clear error:\n%s", args, out.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Errorf("%v: hung on a FIFO", args)
		}
	}
}

// TestHostileHeapInOneCall allocates far past --max-heap inside one
// builtin call (json.decode of a huge array, where the recipe's
// cancellation cannot take effect), in a recipe and in a recipe test: the
// hard stop ends hvfctl with status 1 and a clear message, and the
// process never grows to several times its figure.
func TestHostileHeapInOneCall(t *testing.T) {
	t.Parallel() // a subprocess of the built binary: overlaps the in-process tests
	dir := t.TempDir()
	bin := relBuild(t)
	body := "s = \"[\" + \"0,\" * 40000000 + \"0]\"\nx = json.decode(s)\n"
	recipe := filepath.Join(dir, "bomb.star")
	test := filepath.Join(dir, "bomb_test.star")
	if err := os.WriteFile(recipe, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(test, []byte("def test_bomb(t):\n    s = \"[\" + \"0,\" * 40000000 + \"0]\"\n    x = json.decode(s)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"plan", "--max-heap", "128", "--target", "fake", recipe},
		{"test", "--max-heap", "128", test},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1"}
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Fatalf("%v: %v, want exit status 1\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "memory limit exceeded") {
			t.Errorf("%v: no clear message:\n%s", args, out)
		}
		// ru_maxrss is in KiB on Linux, in bytes on macOS: at most 1 GiB.
		limit := int64(1 << 20)
		if runtime.GOOS == "darwin" {
			limit <<= 10
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && int64(ru.Maxrss) > limit {
			t.Errorf("%v: the process grew to ru_maxrss %d with --max-heap 128", args, ru.Maxrss)
		}
	}
}
