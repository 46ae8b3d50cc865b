package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

const (
	runnerLabel = "actions.runner.sysprog21-elfuse.macmini-m4-hvf"
	runnerLog   = "/Library/Logs/hvfctl/" + runnerLabel + "/stdout.log"
)

// consoleLog is a runner console as RunnerService.js copies it to the
// daemon's stdout.log (actions/runner JobDispatcher.cs, Runner.cs).
func consoleLog(lines ...string) string {
	out := "√ Connected to GitHub\n\nCurrent runner version: '2.335.1'\n2026-09-01 09:03:00Z: Listening for Jobs\n"
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

const (
	jobStarted = "2026-09-01 10:00:00Z: Running job: Runtime (macOS Apple Silicon, HVF)"
	jobDone    = "2026-09-01 10:20:00Z: Job Runtime (macOS Apple Silicon, HVF) completed with result: Succeeded"
)

// rebootFixture writes a fixture over the converged Mac whose runner
// console holds log, with extra top-level keys.
func rebootFixture(t *testing.T, log string, extra string) string {
	t.Helper()
	body := `{"base": "converged"` + extra
	if log != "" {
		body += `, "files": {"` + runnerLog + `": {"type": "file", "mode": "0600", "owner": "ghrunner", "group": "staff", "content": ` + jsonString(log) + `}}`
	}
	body += "}"
	p := filepath.Join(t.TempDir(), "mac.json")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func jsonString(s string) string {
	var b bytes.Buffer
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// rebootState is what a reboot test looks at after the command.
type rebootState struct {
	boots   []any
	running bool
}

func stateOf(t *testing.T, file string) rebootState {
	t.Helper()
	st := relState(t, file)
	var rs rebootState
	rs.boots, _ = st["boots"].([]any)
	if jobs, ok := st["launchd"].(map[string]any)["jobs"].(map[string]any); ok {
		if j, ok := jobs[runnerLabel].(map[string]any); ok {
			rs.running = j["state"] == "running"
		}
	}
	return rs
}

// hvfctlIn runs the CLI with stdin.
func hvfctlIn(t *testing.T, environ map[string]string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{ctx: context.Background(), stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: func(k string) string { return environ[k] }, programs: testPrograms}
	return run(context.Background(), args, e), out.String(), errOut.String()
}

func TestReboot(t *testing.T) {
	const secret = "correct-horse-battery"
	tests := []struct {
		name    string
		log     string
		extra   string
		stdin   string
		args    []string
		code    int
		stdout  string
		stderr  string
		how     string // the restart that happened, "" for none
		running bool   // the runner runs afterwards
	}{
		{name: "dry run changes nothing", log: consoleLog(jobStarted), args: []string{"--dry-run"}, code: 0,
			stdout: "runs job \"Runtime (macOS Apple Silicon, HVF)\"", running: true},
		{name: "dry run says authrestart", args: []string{"--dry-run"}, code: 0,
			stdout: "would stop every runner, then run /usr/bin/fdesetup authrestart -inputplist", running: true},
		{name: "idle, FileVault on: authrestart", log: consoleLog(jobStarted, jobDone), stdin: secret + "\n", args: []string{"--password-stdin"}, code: 0,
			stdout: "restarted with fdesetup authrestart", how: "fdesetup authrestart", running: true},
		{name: "FileVault off: shutdown -r now", extra: `, "filevault": {"enabled": false}`, args: nil, code: 0,
			stdout: "restarted with shutdown -r now", how: "shutdown -r", running: true},
		{name: "busy past the timeout: nothing stopped", log: consoleLog(jobStarted), stdin: secret + "\n", args: []string{"--password-stdin", "--timeout", "0s"}, code: 1,
			stderr: "runners still busy after 0s, nothing was stopped or restarted: macmini-m4-hvf runs job", running: true},
		{name: "wrong credential: runners started again", extra: `, "filevault": {"enabled": true, "unlock_secret": "` + secret + `"}`, stdin: "wrong-one\n", args: []string{"--password-stdin"}, code: 1,
			stderr: "the restart failed (the runners were started again)", running: true},
		{name: "no credential without a terminal", args: nil, code: 1,
			stderr: "nothing was stopped or restarted: FileVault is on", running: true},
		{name: "no authenticated restart", extra: `, "filevault": {"enabled": true, "no_authrestart": true}`, args: []string{"--password-stdin"}, stdin: secret + "\n", code: 1,
			stderr: "does not support fdesetup authrestart", running: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fx := rebootFixture(t, tc.log, tc.extra)
			out := filepath.Join(t.TempDir(), "out.json")
			args := append([]string{"reboot", "--target", "fake:" + fx, "--save", out}, tc.args...)
			code, stdout, stderr := hvfctlIn(t, nil, tc.stdin, args...)
			if code != tc.code || !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderr) {
				t.Fatalf("exit %d, want %d with %q / %q\nstdout:\n%s\nstderr:\n%s", code, tc.code, tc.stdout, tc.stderr, stdout, stderr)
			}
			// The typed credential is nowhere: not in the output, not in the
			// fake's state (the fixture's own unlock_secret may be).
			if typed := strings.TrimSpace(tc.stdin); typed != "" {
				if strings.Contains(stdout+stderr, typed) {
					t.Errorf("the credential %q appears in the output", typed)
				}
				if b, err := os.ReadFile(out); err == nil && typed != secret && bytes.Contains(b, []byte(typed)) {
					t.Errorf("the credential %q is in the saved state", typed)
				}
			}
			st := stateOf(t, out)
			how := ""
			if len(st.boots) > 0 {
				how, _ = st.boots[len(st.boots)-1].(map[string]any)["how"].(string)
			}
			if how != tc.how || len(st.boots) > 1 {
				t.Errorf("restarts %v, want %q", st.boots, tc.how)
			}
			if st.running != tc.running {
				t.Errorf("runner running %v after the command, want %v", st.running, tc.running)
			}
		})
	}
}

// TestRebootWaitsForTheJob: the runner runs a job; reboot waits, and
// restarts once the job's "completed" line is in the runner's log.
func TestRebootWaitsForTheJob(t *testing.T) {
	m, err := fakemac.Load(rebootFixture(t, consoleLog(jobStarted), `, "filevault": {"enabled": false}`))
	if err != nil {
		t.Fatal(err)
	}
	waits := 0
	var out, errOut bytes.Buffer
	e := env{
		ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return map[string]string{"SUDO_USER": "admin"}[k] },
		local:  func() (host.Host, error) { return m, nil }, programs: testPrograms,
		sleep: func(ctx context.Context, d time.Duration) error {
			waits++
			if waits == 2 {
				// The job ends while hvfctl waits.
				return m.WriteFile(ctx, host.WriteRequest{Path: runnerLog, Data: []byte(consoleLog(jobStarted, jobDone)), Mode: 0o644, Owner: "ghrunner", Group: "staff"})
			}
			return nil
		},
	}
	code := run(context.Background(), []string{"reboot", "--target", "local", "--poll", "1s"}, e)
	if code != 0 || waits != 2 {
		t.Fatalf("exit %d after %d waits, want 0 after 2\nstdout:\n%s\nstderr:\n%s", code, waits, out.String(), errOut.String())
	}
	if !strings.Contains(errOut.String(), "waiting for the runners to be idle: macmini-m4-hvf runs job") {
		t.Errorf("the wait is not reported:\n%s", errOut.String())
	}
	file := filepath.Join(t.TempDir(), "after.json")
	if err := m.Save(file); err != nil {
		t.Fatal(err)
	}
	if st := stateOf(t, file); len(st.boots) != 1 || !st.running {
		t.Errorf("after the wait: boots %v, runner running %v", st.boots, st.running)
	}
}

// TestRebootAsksGitHub: with a GitHub credential, a runner GitHub calls
// busy is waited for even when its log is quiet.
func TestRebootAsksGitHub(t *testing.T) {
	repo := convergedRepo()
	repo.Runners[0].Busy = true
	srv := fakeGitHub(t, repo, nil)
	fx := rebootFixture(t, "", `, "filevault": {"enabled": false}`)
	out := filepath.Join(t.TempDir(), "out.json")
	code, stdout, stderr := hvfctlIn(t, ghEnv(srv, "ghp_maintainer0001"), "", "reboot", "--target", "fake:"+fx, "--timeout", "0s", "--save", out)
	if code != 1 || !strings.Contains(stderr, "macmini-m4-hvf is busy on GitHub") {
		t.Fatalf("exit %d, want 1 naming the runner GitHub calls busy\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if st := stateOf(t, out); len(st.boots) != 0 || !st.running {
		t.Errorf("something was stopped or restarted: %+v", st)
	}
}
