package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// runCLI runs hvfctl in-process and returns its exit code and outputs.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	code := run(ctx, args, env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, programs: testPrograms})
	return code, out.String(), errb.String()
}

func fixtureTree(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range map[string]string{
		"alpine/apk-tools.apk": "apk",
		"kernel/Image":         strings.Repeat("k", 5000),
		"rosetta/with space":   "r",
	} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("apk-tools.apk", filepath.Join(dir, "alpine/latest")); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestFixturesCLI(t *testing.T) {
	dir := fixtureTree(t)
	code, out, errOut := runCLI(t, "fixtures", "lock", dir)
	if code != 0 || !strings.Contains(out, "3 files") || !strings.Contains(out, "1 links") {
		t.Fatalf("lock: %d %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "fixtures", "verify", dir)
	if code != 0 || !strings.HasPrefix(out, "ok: "+dir+" matches") {
		t.Fatalf("verify: %d %q", code, out)
	}

	// Change, truncate, add and remove; the text report is golden.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(dir, "kernel/Image"), []byte(strings.Repeat("k", 4999)+"K"), 0o644))
	must(os.Truncate(filepath.Join(dir, "alpine/apk-tools.apk"), 1))
	must(os.WriteFile(filepath.Join(dir, "extra\nfile"), nil, 0o644))
	must(os.Remove(filepath.Join(dir, "rosetta/with space")))
	code, out, _ = runCLI(t, "fixtures", "verify", dir)
	if code != 1 {
		t.Errorf("verify of a changed tree exited %d, want 1", code)
	}
	checkGolden(t, "fixtures-verify-changed.txt", strings.ReplaceAll(out, dir, "DIR"))

	code, out, _ = runCLI(t, "fixtures", "verify", "--json", dir)
	var rep verifyJSON
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 1 {
		t.Fatalf("verify --json: %d %v\n%s", code, err, out)
	}
	if rep.OK || len(rep.Missing) != 1 || rep.Missing[0] != "rosetta/with%20space" || len(rep.Extra) != 1 || rep.Extra[0] != "extra%0Afile" || len(rep.Changed) != 2 {
		t.Errorf("verify --json: %+v", rep)
	}

	// diff between the old lock and a new one.
	newLock := filepath.Join(t.TempDir(), "new.lock")
	if code, _, errOut := runCLI(t, "fixtures", "lock", "--out", newLock, dir); code != 0 {
		t.Fatalf("lock --out: %d %s", code, errOut)
	}
	code, out, _ = runCLI(t, "fixtures", "diff", filepath.Join(dir, ".hvfctl-fixtures.lock"), newLock)
	if code != 1 {
		t.Errorf("diff exited %d, want 1", code)
	}
	checkGolden(t, "fixtures-diff.txt", out)
	code, out, _ = runCLI(t, "fixtures", "diff", newLock, newLock)
	if code != 0 || !strings.HasPrefix(out, "same: ") {
		t.Errorf("diff of a manifest with itself: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "fixtures", "diff", "--json", newLock, newLock)
	if code != 0 || !strings.Contains(out, `"same": true`) {
		t.Errorf("diff --json: %d %q", code, out)
	}
}

func TestFixturesCLIBadInput(t *testing.T) {
	dir := fixtureTree(t)
	bad := filepath.Join(t.TempDir(), "bad.lock")
	if err := os.WriteFile(bad, []byte("hvfctl-fixtures v1\nf 1 xyz a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no manifest", []string{"fixtures", "verify", dir}, "does not exist"},
		{"malformed manifest", []string{"fixtures", "verify", "--manifest", bad, dir}, bad + ":2: bad SHA-256"},
		{"missing tree", []string{"fixtures", "lock", filepath.Join(dir, "nope")}, "no such file"},
		{"diff of a malformed manifest", []string{"fixtures", "diff", bad, bad}, bad + ":2:"},
		{"diff of a missing manifest", []string{"fixtures", "diff", filepath.Join(dir, "x"), bad}, "does not exist"},
		{"prune relative", []string{"prune", "--older-than", "7d", "relative"}, "relative path"},
		{"prune root", []string{"prune", "--older-than", "7d", "/"}, "refusing to prune /"},
		{"prune missing", []string{"prune", "--older-than", "7d", filepath.Join(dir, "nope")}, "no such file"},
		{"prune bad age", []string{"prune", "--older-than", "7 days", dir}, "--older-than"},
		{"prune no age", []string{"prune", dir}, "--older-than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, tt.args...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, errOut, tt.want)
			}
		})
	}
}

func TestPruneCLI(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-10 * 24 * time.Hour)
	for _, p := range []string{"old.log", "fresh.log", "ws/stale", "ws/fresh"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte("1234"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range []string{"old.log", "ws/stale", "ws"} {
		if err := os.Chtimes(filepath.Join(dir, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "prune", "--older-than", "7d", "--dry-run", dir)
	want := "would remove " + dir + "/old.log\nwould remove " + dir + "/ws/stale\nwould remove 2 entries (8 B) not modified in the last 7d under " + dir + "\n"
	if code != 0 || out != want {
		t.Errorf("dry run: %d %q %q\nwant %q", code, out, errOut, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "old.log")); err != nil {
		t.Errorf("dry run removed old.log: %v", err)
	}
	code, out, _ = runCLI(t, "prune", "--older-than", "7d", dir)
	if code != 0 || out != strings.ReplaceAll(want, "would remove", "removed") {
		t.Errorf("prune: %d %q", code, out)
	}
	for _, p := range []string{"fresh.log", "ws/fresh"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestProgressOnlyOnATerminal(t *testing.T) {
	ctx := context.Background()
	if p := newProgress(&env{ctx: ctx, stderr: &bytes.Buffer{}}, false, "x"); p != nil {
		t.Error("progress on a buffer")
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	if p := newProgress(&env{ctx: ctx, stderr: tty}, true, "x"); p != nil {
		t.Error("progress despite --no-progress")
	}
	p := newProgress(&env{ctx: ctx, stderr: tty}, false, "verifying")
	if p == nil {
		t.Fatal("no progress on a terminal")
	}
	small := p.(*barProgress)
	small.Start(progressThreshold - 1)
	if small.bar != nil {
		t.Error("a bar for a small tree")
	}
	big := newProgress(&env{ctx: ctx, stderr: tty}, false, "verifying").(*barProgress)
	big.Start(progressThreshold)
	if big.bar == nil {
		t.Fatal("no bar for a large tree")
	}
	big.Add(progressThreshold)
	big.Finish()
}
