package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// canaryToken is a runner token of the real shape (29 upper-case letters
// and digits) that must appear nowhere but in the secret channel of the
// command that registers the runner.
const canaryToken = "CANARY7TOKEN7CANARY7TOKEN7XYZ"

// canaryBlock is the one 64-byte block the canary randomness repeats;
// every byte is below 248, so random_password uses each one.
func canaryBlock() []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = byte((i*7 + 200) % 248)
	}
	return b
}

// canaryRand repeats canaryBlock forever, so that every random_password
// of a run is canaryPassword.
type canaryRand struct{ off int }

func (r *canaryRand) Read(p []byte) (int, error) {
	b := canaryBlock()
	for i := range p {
		p[i] = b[r.off%len(b)]
		r.off++
	}
	return len(p), nil
}

// canaryPassword returns the password random_password generates from
// canaryRand in a fresh-m4 apply of m4.star: the secret stdin of the
// command that creates ghrunner, as the host received it. The same
// randomness gives the same password to every run of the same recipe.
func canaryPassword(t *testing.T) string {
	t.Helper()
	raw, _, r := canaryApply(t, &strings.Builder{})
	r.Close()
	for _, c := range raw.cmds {
		if path.Base(c.Argv[0]) == "sysadminctl" && c.StdinSecret {
			pw := strings.TrimRight(string(c.Stdin), "\n")
			if len(pw) < 16 {
				t.Fatalf("generated password of %d characters", len(pw))
			}
			return pw
		}
	}
	t.Fatal("no sysadminctl command received a secret password")
	return ""
}

// rawRecorder keeps every command exactly as the engine handed it to the
// host, secrets included, so that the test can tell where they went.
type rawRecorder struct {
	host.Host
	mu     sync.Mutex
	cmds   []host.Command
	writes []host.WriteRequest
}

func (r *rawRecorder) Run(ctx context.Context, cmd host.Command) (host.Result, error) {
	r.mu.Lock()
	r.cmds = append(r.cmds, cmd)
	r.mu.Unlock()
	return r.Host.Run(ctx, cmd)
}

func (r *rawRecorder) WriteFile(ctx context.Context, req host.WriteRequest) error {
	r.mu.Lock()
	r.writes = append(r.writes, req)
	r.mu.Unlock()
	return r.Host.WriteFile(ctx, req)
}

// Lstat, ReadDir, UserID and HashArchive forward the inspection
// capabilities of the wrapped host (host.Inspector, host.ArchiveHasher).
func (r *rawRecorder) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	return r.Host.(host.Inspector).Lstat(ctx, p)
}

func (r *rawRecorder) ReadDir(ctx context.Context, dir string) ([]string, error) {
	return r.Host.(host.Inspector).ReadDir(ctx, dir)
}

func (r *rawRecorder) UserID(ctx context.Context, name string) (int, error) {
	return r.Host.(host.Inspector).UserID(ctx, name)
}

// StatPaths, ACLPaths and ListDir forward the in-process file queries
// (host.FileQuerier).
func (r *rawRecorder) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	return r.Host.(host.FileQuerier).StatPaths(ctx, paths)
}

func (r *rawRecorder) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	return r.Host.(host.FileQuerier).ACLPaths(ctx, paths)
}

func (r *rawRecorder) ListDir(ctx context.Context, dir string) ([]string, error) {
	return r.Host.(host.FileQuerier).ListDir(ctx, dir)
}

func (r *rawRecorder) HashArchive(ctx context.Context, p string) (map[string]string, error) {
	return r.Host.(host.ArchiveHasher).HashArchive(ctx, p)
}

// VerifyTree forwards the fixture-tree capability of the wrapped host.
func (r *rawRecorder) VerifyTree(ctx context.Context, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	return relVerifyTree(ctx, r.Host, dir, manifest, guard)
}

// canaryApply plans, applies and checks m4.star on a fresh fake with the
// canary token and canaryRand, keeping every raw command, and returns
// the reports, the log, the saved state and the transcript as texts.
func canaryApply(t *testing.T, logs *strings.Builder) (*rawRecorder, map[string]string, *engine.Recipe) {
	t.Helper()
	dir := t.TempDir()
	start := relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
	environ := map[string]string{tokenEnv: canaryToken}
	getenv := func(k string) string { return environ[k] }
	f := relFlags(start)
	tgt, err := openTarget(f.Target, getenv)
	if err != nil {
		t.Fatal(err)
	}
	raw := &rawRecorder{Host: tgt.host}
	tgt.host = raw
	ctx := context.Background()
	e := &env{ctx: ctx, stdin: strings.NewReader(""), stdout: logs, stderr: logs, getenv: getenv, rand: &canaryRand{}, programs: testPrograms}
	r, err := f.load(e, tgt, &cliSecrets{getenv: getenv})
	if err != nil {
		t.Fatal(err)
	}
	var reports strings.Builder
	for _, rep := range []*engine.Report{r.Plan(ctx), r.Apply(ctx), r.Check(ctx)} {
		if err := rep.WriteText(&reports, engine.TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteJSON(&reports); err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.HostCommands {
			reports.WriteString(strings.Join(c.Argv, " ") + "\n" + c.Stderr + "\n")
		}
	}
	saved := filepath.Join(dir, "saved.json")
	if err := tgt.save(saved, nil); err != nil { // unscrubbed: the state itself must not hold the token
		t.Fatal(err)
	}
	state, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	var transcript strings.Builder
	for _, c := range r.Session().Recorder().Transcript() {
		transcript.WriteString(strings.Join(c.Argv, " ") + "\n" + c.Stderr + "\n")
	}
	texts := map[string]string{"reports": reports.String(), "log": logs.String(), "saved state": string(state), "transcript": transcript.String()}
	return raw, texts, r
}

// TestSecretCanaryEngine applies m4.star to a fresh fake with a canary
// token and a known generated password, then checks both secrets reached
// the host only through secret channels (secret env or secret stdin) and
// appear in no argv, no plain env or stdin, no written file, no report
// (text or JSON), no log line and no transcript.
func TestSecretCanaryEngine(t *testing.T) {
	var logs strings.Builder
	raw, texts, r := canaryApply(t, &logs)
	defer r.Close()
	password := canaryPassword(t)
	if again := canaryPassword(t); again != password {
		t.Fatalf("two runs generated different passwords: random_password does not use the injected randomness")
	}
	seen := map[string]bool{}
	for _, c := range raw.cmds {
		for _, secret := range []string{canaryToken, password} {
			if strings.Contains(strings.Join(c.Argv, "\x00"), secret) {
				t.Errorf("a secret is in the argv of %v", c.Argv[0])
			}
			for _, v := range c.Env {
				if strings.Contains(v.Value, secret) {
					if !v.Secret {
						t.Errorf("a secret is in the plain env %s of %s", v.Name, c.Argv[0])
					}
					seen[secret] = true
				}
			}
			if bytes.Contains(c.Stdin, []byte(secret)) {
				if !c.StdinSecret {
					t.Errorf("a secret is in the plain stdin of %s", c.Argv[0])
				}
				seen[secret] = true
			}
		}
	}
	if !seen[canaryToken] || !seen[password] {
		t.Fatalf("the canaries never reached the host (token %v, password %v): the test would prove nothing", seen[canaryToken], seen[password])
	}
	for _, w := range raw.writes {
		relAssertAbsent(t, canaryToken, map[string]string{"written file " + w.Path: string(w.Data)})
		relAssertAbsent(t, password, map[string]string{"written file " + w.Path: string(w.Data)})
	}
	texts["log"] = logs.String()
	relAssertAbsent(t, canaryToken, texts)
	relAssertAbsent(t, password, texts)
}

// TestSecretCanaryCLI runs plan, run, check (text and --json) and test
// with the canary token from HVFCTL_RUNNER_TOKEN and from --token-file,
// and a known generated password, and greps every output and the saved
// fake state for both.
func TestSecretCanaryCLI(t *testing.T) {
	password := canaryPassword(t)
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	if err := os.WriteFile(tokenFile, []byte(canaryToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"env", "token-file"} {
		t.Run(path, func(t *testing.T) {
			o := relOpts{rand: &canaryRand{}}
			var extra []string
			if path == "env" {
				o.environ = map[string]string{tokenEnv: canaryToken}
			} else {
				extra = []string{"--token-file", tokenFile}
			}
			d := t.TempDir()
			start := relFixture(t, d, "start.json", map[string]any{"base": defaultPreset})
			saved := filepath.Join(d, "saved.json")
			texts := map[string]string{}
			plan := relCLI(t, o, append(append([]string{"plan", "--target", "fake:" + start}, relVars...), relRecipe)...)
			planJSON := relCLI(t, o, append(append([]string{"plan", "--json", "--target", "fake:" + start}, relVars...), relRecipe)...)
			o.rand = &canaryRand{}
			apply := relCLI(t, o, append(append(append([]string{"run", "--yes", "--target", "fake:" + start, "--save", saved}, extra...), relVars...), relRecipe)...)
			if apply.code != 0 {
				t.Fatalf("run exited %d:\n%s", apply.code, apply.all())
			}
			check := relCLI(t, o, append(append([]string{"check", "--target", "fake:" + saved}, relVars...), relRecipe)...)
			checkJSON := relCLI(t, o, append(append([]string{"check", "--json", "--target", "fake:" + saved}, relVars...), relRecipe)...)
			if check.code != 0 || checkJSON.code != 0 {
				t.Errorf("check exited %d/%d after the run", check.code, checkJSON.code)
			}
			relJSON(t, checkJSON.stdout)
			state, err := os.ReadFile(saved)
			if err != nil {
				t.Fatal(err)
			}
			for name, r := range map[string]relResult{"plan": plan, "plan --json": planJSON, "run": apply, "check": check, "check --json": checkJSON} {
				texts[name+" stdout"] = r.stdout
				texts[name+" stderr"] = r.stderr
			}
			texts["saved state"] = string(state)
			relAssertAbsent(t, canaryToken, texts)
			relAssertAbsent(t, password, texts)
		})
	}
	t.Run("golden transcripts", func(t *testing.T) {
		// The committed transcripts are made with the recipe tests'
		// token ("A" * 29, recipes/m4_test.star): it must not be in them.
		files, err := filepath.Glob(filepath.Join(relRoot, "testdata", "golden", "*"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Skip("no golden transcripts yet")
		}
		token := strings.Repeat("A", 29)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			relAssertAbsent(t, token, map[string]string{f: string(b)})
		}
	})
	t.Run("test", func(t *testing.T) {
		d := t.TempDir()
		src, err := os.ReadFile(relRecipe)
		if err != nil {
			t.Fatal(err)
		}
		tests, err := os.ReadFile(filepath.Join(relRoot, "recipes", "m4_test.star"))
		if err != nil {
			t.Fatal(err)
		}
		const tokenLine = `TOKEN = "A" * 29`
		if !bytes.Contains(tests, []byte(tokenLine)) {
			t.Fatalf("recipes/m4_test.star no longer has the line %q the canary replaces", tokenLine)
		}
		tests = bytes.Replace(tests, []byte(tokenLine), []byte(`TOKEN = "`+canaryToken+`"`), 1)
		// The tests read fixtures under ../testdata, as in the repository.
		testdata, err := filepath.Abs(filepath.Join(relRoot, "testdata"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(testdata, filepath.Join(d, "testdata")); err != nil {
			t.Fatal(err)
		}
		recipes := filepath.Join(d, "recipes")
		if err := os.Mkdir(recipes, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range map[string][]byte{"m4.star": src, "m4_test.star": tests} {
			if err := os.WriteFile(filepath.Join(recipes, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		r := relCLI(t, relOpts{environ: map[string]string{tokenEnv: canaryToken}, rand: &canaryRand{}}, "test", "-v", recipes)
		if r.code != 0 {
			t.Errorf("hvfctl test with the canary token exited %d:\n%s", r.code, r.all())
		}
		relAssertAbsent(t, canaryToken, map[string]string{"test stdout": r.stdout, "test stderr": r.stderr})
	})
}

// TestSecretCanaryPrompt drives the built hvfctl on a pseudo-terminal:
// it confirms the run and types the canary token at the hidden prompt,
// then checks the token was not echoed or printed and is not in the
// saved state, and that the run converged with it.
func TestSecretCanaryPrompt(t *testing.T) {
	bin := relBuild(t)
	dir := t.TempDir()
	saved := filepath.Join(dir, "saved.json")
	args := append(append([]string{"run", "--target", "fake", "--save", saved}, relVars...), relRecipe)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1", "TERM=dumb"}
	ptmx, err := pty.Start(cmd)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	var mu sync.Mutex
	var out bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			ok := strings.Contains(out.String(), s)
			mu.Unlock()
			if ok {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no %q on the terminal:\n%s", s, out.String())
	}
	waitFor("[y/N] ")
	if _, err := io.WriteString(ptmx, "y\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("runner_token (input hidden): ")
	time.Sleep(300 * time.Millisecond) // let the prompt turn echo off first
	if _, err := io.WriteString(ptmx, canaryToken+"\n"); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
	}
	mu.Lock()
	terminal := out.String()
	mu.Unlock()
	if werr != nil {
		t.Fatalf("run on a terminal failed: %v\n%s", werr, terminal)
	}
	state, err := os.ReadFile(saved)
	if err != nil {
		t.Fatal(err)
	}
	relNoCrash(t, "run on a terminal", relResult{stdout: terminal})
	relAssertAbsent(t, canaryToken, map[string]string{"the terminal": terminal, "saved state": string(state)})
}
