package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// trustRunnerUID stands for the runner account (ghrunner) here.
const trustRunnerUID, trustStaffGID = 1001, 20

// TestLocalInputsTrust runs the CLI as root would (a LocalTrust of root
// alone) over real files the runner account owns or could replace: a
// recipe, a loaded module, a saved plan and the recipe it names, a token
// file, and output directories (plan -o, --save). Each is refused with a
// clear message before the recipe runs, and nothing is written.
func TestLocalInputsTrust(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files owned by another account")
	}
	dir := t.TempDir()
	trust := &host.LocalTrust{UIDs: []int{0}, GIDs: []int{0}}
	write := func(p, text string, uid, gid int, mode uint32) string {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(p, uid, gid); err != nil {
			t.Fatal(err)
		}
		return p
	}
	runnerDir := filepath.Join(dir, "runner")
	if err := os.Mkdir(runnerDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(runnerDir, trustRunnerUID, trustStaffGID); err != nil {
		t.Fatal(err)
	}
	const recipe = "allow_writes(\"/Users/Shared/unpack\")\nprint(\"recipe code ran\")\n"
	good := write(filepath.Join(dir, "root", "ok.star"), recipe, 0, 0, 0o644)
	foreign := write(filepath.Join(dir, "root", "foreign.star"), recipe, trustRunnerUID, trustStaffGID, 0o644)
	staff := write(filepath.Join(dir, "root", "staff.star"), recipe, 0, trustStaffGID, 0o664)
	inRunnerDir := write(filepath.Join(runnerDir, "r.star"), recipe, 0, 0, 0o644)
	loads := write(filepath.Join(dir, "root", "loads.star"), "load(\"lib/m.star\", \"x\")\nprint(\"recipe code ran\")\n", 0, 0, 0o644)
	write(filepath.Join(dir, "root", "lib", "m.star"), "x = 1\n", trustRunnerUID, trustStaffGID, 0o644)
	token := write(filepath.Join(runnerDir, "token"), "ghr_token\n", 0, 0, 0o600)
	workflow := write(filepath.Join(dir, "root", "ci.yml"), "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: true\n", 0, 0, 0o644)

	// A saved plan the runner account wrote, and a root-owned plan that
	// names a recipe in the runner's directory.
	planOut := filepath.Join(dir, "root", "ok.plan")
	if r := trustCLI(t, trust, "plan", "--target", "fake", "-o", planOut, good); r.code != 0 {
		t.Fatalf("plan -o of a trusted recipe: exit %d\n%s", r.code, r.all())
	}
	planText, err := os.ReadFile(planOut)
	if err != nil {
		t.Fatal(err)
	}
	foreignPlan := write(filepath.Join(dir, "root", "foreign.plan"), string(planText), trustRunnerUID, trustStaffGID, 0o644)
	redirected := write(filepath.Join(dir, "root", "redirected.plan"), strings.Replace(string(planText), good, inRunnerDir, 1), 0, 0, 0o600)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"recipe owned by the runner account", []string{"plan", "--target", "fake", foreign}, "owned by uid 1001"},
		{"recipe writable by staff", []string{"check", "--target", "fake", staff}, "group gid 20"},
		{"recipe in the runner's directory", []string{"plan", "--target", "fake", inRunnerDir}, "owned by uid 1001"},
		{"module owned by the runner account", []string{"plan", "--target", "fake", loads}, "owned by uid 1001"},
		{"saved plan owned by the runner account", []string{"run", "--yes", "--target", "fake", foreignPlan}, "owned by uid 1001"},
		{"saved plan naming a recipe in the runner's directory", []string{"run", "--yes", "--target", "fake", redirected}, "owned by uid 1001"},
		{"token file in the runner's directory", []string{"run", "--yes", "--target", "fake", "--token-file", token, good}, "owned by uid 1001"},
		{"plan -o into the runner's directory", []string{"plan", "--target", "fake", "-o", filepath.Join(runnerDir, "x.plan"), good}, "owned by uid 1001"},
		{"--save into the runner's directory", []string{"run", "--yes", "--target", "fake", "--save", filepath.Join(runnerDir, "x.json"), good}, "owned by uid 1001"},
		// The workflow and github commands evaluate the recipe too.
		{"workflow audit --recipe owned by the runner account", []string{"workflow", "audit", "--recipe", foreign, workflow}, "owned by uid 1001"},
		{"workflow render of a recipe in the runner's directory", []string{"workflow", "render", "--recipe", inRunnerDir, workflow}, "owned by uid 1001"},
		{"workflow audit --recipe loading a module of the runner account", []string{"workflow", "audit", "--recipe", loads, workflow}, "owned by uid 1001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := trustCLI(t, trust, tc.args...)
			relNoCrash(t, tc.name, r)
			if r.code == 0 {
				t.Fatalf("accepted:\n%s", r.all())
			}
			if !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "root runs only what root or the invoking user could have written") {
				t.Fatalf("no clear refusal (want %q):\n%s", tc.want, r.all())
			}
			if strings.Contains(r.all(), "recipe code ran") && !strings.Contains(tc.name, "into") && !strings.Contains(tc.name, "token") {
				t.Fatalf("the untrusted recipe ran:\n%s", r.all())
			}
			if strings.Contains(tc.name, "into") {
				if ents, _ := os.ReadDir(runnerDir); len(ents) != 2 {
					t.Fatalf("something was written into the runner's directory: %v", ents)
				}
			}
		})
	}
	// Without the policy (hvfctl not root) the same files are read.
	if r := trustCLI(t, nil, "plan", "--target", "fake", foreign); r.code != 0 {
		t.Fatalf("without a policy: exit %d\n%s", r.code, r.all())
	}
}

func trustCLI(t *testing.T, trust *host.LocalTrust, args ...string) relResult {
	t.Helper()
	ctx := context.Background()
	var out, errb bytes.Buffer
	getenv := func(string) string { return "" }
	code := run(ctx, args, env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: getenv, trust: trust})
	return relResult{code: code, stdout: out.String(), stderr: errb.String()}
}

func TestTightUmask(t *testing.T) {
	for old, want := range map[int]int{0: 0o022, 0o002: 0o022, 0o077: 0o077, 0o027: 0o027, 0o020: 0o022} {
		if got := tightUmask(old); got != want {
			t.Errorf("tightUmask(%04o) = %04o, want %04o", old, got, want)
		}
	}
}
