package darwin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestRunEnvironmentAndPrincipal(t *testing.T) {
	t.Setenv("HVFCTL_CANARY", "parent-environment-leak")
	r := newRig(t, nil)
	base := []string{"PATH=" + BasePath, "LANG=en_US.UTF-8"}
	tests := []struct {
		name    string
		cmd     host.Command
		wantEnv []string // besides HOME/USER/LOGNAME
		wantUID int
		wantGID int
		groups  []int
		cwd     string
	}{
		{
			name:    "root by default",
			cmd:     host.Command{Argv: []string{"/usr/bin/standin", "a b", "--flag=x"}},
			wantEnv: base,
			wantUID: 0, wantGID: 0, groups: selfGroups(t),
			cwd: r.accounts["root"].home,
		},
		{
			name:    "runner drops to its uid, gid and groups",
			cmd:     host.Command{Argv: []string{"/usr/bin/standin"}, User: "ghrunner"},
			wantEnv: base,
			wantUID: runnerUID, wantGID: runnerGID, groups: []int{runnerGID, extraGID},
			cwd: r.accounts["ghrunner"].home,
		},
		{
			name: "command env replaces and extends",
			cmd: host.Command{Argv: []string{"/usr/bin/standin"}, User: "ghrunner", Dir: "/",
				Env: []host.EnvVar{{Name: "PATH", Value: "/opt/homebrew/bin:/usr/bin"}, {Name: "RUNNER_ALLOW_RUNASROOT", Value: "0"}}},
			wantEnv: []string{"PATH=/opt/homebrew/bin:/usr/bin", "LANG=en_US.UTF-8", "RUNNER_ALLOW_RUNASROOT=0"},
			wantUID: runnerUID, wantGID: runnerGID, groups: []int{runnerGID, extraGID},
			cwd: "/",
		},
		{
			name: "brew gets the Homebrew environment",
			cmd:  host.Command{Argv: []string{"/opt/homebrew/bin/brew", "list", "--versions"}, User: "admin"},
			wantEnv: []string{"PATH=/opt/homebrew/bin:" + BasePath, "LANG=en_US.UTF-8", "HOMEBREW_NO_AUTO_UPDATE=1",
				"HOMEBREW_NO_INSTALL_CLEANUP=1", "HOMEBREW_NO_ANALYTICS=1", "NONINTERACTIVE=1"},
			wantUID: adminUID, wantGID: staffGID, groups: []int{staffGID},
			cwd: r.accounts["admin"].home,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, rep := r.mustRun(t, tt.cmd)
			if res.Exit != 0 {
				t.Fatalf("exit %d, stderr %q", res.Exit, res.Stderr)
			}
			if !slices.Equal(rep.Argv, tt.cmd.Argv) {
				t.Errorf("argv = %q, want %q (argv[0] as given, not the tool-root path)", rep.Argv, tt.cmd.Argv)
			}
			user := tt.cmd.Principal()
			want := append([]string{"HOME=" + r.accounts[user].home, "USER=" + user, "LOGNAME=" + user}, tt.wantEnv...)
			if !slices.Equal(rep.Env, want) {
				t.Errorf("env = %q\nwant  %q", rep.Env, want)
			}
			for _, kv := range rep.Env {
				if strings.Contains(kv, "HVFCTL_CANARY") || strings.Contains(kv, "parent-environment-leak") {
					t.Errorf("parent environment leaked: %q", kv)
				}
			}
			if rep.UID != tt.wantUID || rep.GID != tt.wantGID {
				t.Errorf("uid/gid = %d/%d, want %d/%d", rep.UID, rep.GID, tt.wantUID, tt.wantGID)
			}
			got := slices.Clone(rep.Groups)
			slices.Sort(got)
			if !slices.Equal(got, tt.groups) {
				t.Errorf("groups = %v, want %v", got, tt.groups)
			}
			if rep.Cwd != tt.cwd {
				t.Errorf("cwd = %q, want %q", rep.Cwd, tt.cwd)
			}
			if rep.Pgid != rep.Pid {
				t.Errorf("pgid %d != pid %d: the command does not lead its own process group", rep.Pgid, rep.Pid)
			}
		})
	}
}

// selfGroups is the sorted supplementary groups of the test process, which
// a root command inherits.
func selfGroups(t *testing.T) []int {
	t.Helper()
	g, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(g)
	return g
}

func TestRunDefaultUserDatabase(t *testing.T) {
	requireRoot(t)
	r := newRig(t, func(o *Options) { o.Lookup = nil })
	// nobody exists in every Linux user database; its home does not exist,
	// so the command runs in "/".
	res, rep := r.mustRun(t, host.Command{Argv: []string{"/usr/bin/standin"}, User: "nobody"})
	if res.Exit != 0 {
		t.Fatalf("exit %d: %s", res.Exit, res.Stderr)
	}
	uid, gid, _, home, err := lookupUser("nobody")
	if err != nil {
		t.Fatal(err)
	}
	if rep.UID != uid || rep.GID != gid {
		t.Errorf("uid/gid = %d/%d, want %d/%d", rep.UID, rep.GID, uid, gid)
	}
	if !slices.Contains(rep.Env, "HOME="+home) || !slices.Contains(rep.Env, "USER=nobody") {
		t.Errorf("env = %q", rep.Env)
	}
	if _, err := r.h.Run(t.Context(), host.Command{Argv: []string{"/usr/bin/standin"}, User: "no-such-account-hvfctl"}); err == nil {
		t.Error("unknown principal: want an error")
	}
}

func TestResolveWhenNotRoot(t *testing.T) {
	h, err := New(Options{Lookup: func(name string) (int, int, []int, string, error) {
		switch name {
		case "root":
			return 0, 0, []int{0}, "/var/root", nil
		case "me":
			return 501, 20, []int{20}, "/Users/me", nil
		}
		return 502, 20, []int{20}, "/Users/" + name, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		self     int
		name     string
		wantDrop bool
		wantErr  string
	}{
		{0, "root", false, ""},
		{0, "me", true, ""},
		{501, "me", false, ""},
		{501, "root", false, "not root (run it with sudo)"},
		{501, "ghrunner", false, "not root (run it with sudo)"},
	}
	for _, tt := range tests {
		p, err := h.resolveAs(tt.name, tt.self)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("self %d as %s: err = %v, want %q", tt.self, tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || p.drop != tt.wantDrop {
			t.Errorf("self %d as %s: drop = %v, err = %v; want drop %v", tt.self, tt.name, p.drop, err, tt.wantDrop)
		}
	}
}

func TestRunSecrets(t *testing.T) {
	r := newRig(t, nil)
	const token = "AAAABBBBCCCCDDDDEEEEFFFF12345"
	const password = "correct horse battery staple"

	t.Run("env secret reaches the program and is scrubbed", func(t *testing.T) {
		res, rep := r.mustRun(t, host.Command{
			Argv: []string{"/usr/bin/standin", "--unattended"},
			User: "ghrunner",
			Env:  []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: token, Secret: true}},
		})
		if rep.EnvSHA256["ACTIONS_RUNNER_INPUT_TOKEN"] != sha(token) {
			t.Errorf("the token did not arrive intact in the environment")
		}
		if strings.Contains(res.Stdout+res.Stderr, token) {
			t.Errorf("the token is in the captured output")
		}
		if !slices.Contains(rep.Env, "ACTIONS_RUNNER_INPUT_TOKEN=<secret ACTIONS_RUNNER_INPUT_TOKEN>") {
			t.Errorf("env = %q, want the token scrubbed", rep.Env)
		}
	})
	t.Run("stdin secret reaches the program and is scrubbed", func(t *testing.T) {
		res, rep := r.mustRun(t, host.Command{
			Argv: []string{"/usr/bin/standin"}, Stdin: []byte(password + "\n"), StdinSecret: true,
		})
		if rep.StdinSHA256 != sha(password+"\n") {
			t.Errorf("stdin did not arrive intact")
		}
		if strings.Contains(res.Stdout, password) || rep.Stdin != "<secret stdin>\n" {
			t.Errorf("stdin echoed as %q, want it scrubbed", rep.Stdin)
		}
	})
	t.Run("secret in argv is refused", func(t *testing.T) {
		for _, argv := range [][]string{
			{"/usr/bin/standin", "--token", token},
			{"/usr/bin/standin", "--token=" + token},
		} {
			_, err := r.h.Run(t.Context(), host.Command{
				Argv: argv,
				Env:  []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: token, Secret: true}},
			})
			if err == nil || !strings.Contains(err.Error(), "secret ACTIONS_RUNNER_INPUT_TOKEN") {
				t.Errorf("argv %d elements: err = %v, want a refusal", len(argv), err)
			} else if strings.Contains(err.Error(), token) {
				t.Errorf("the refusal shows the secret: %v", err)
			}
		}
		_, err := r.h.Run(t.Context(), host.Command{
			Argv: []string{"/usr/sbin/sysadminctl", "-password", password}, Stdin: []byte(password + "\n"), StdinSecret: true,
		})
		if err == nil || strings.Contains(err.Error(), password) {
			t.Errorf("password in argv: err = %v", err)
		}
	})
}

func TestRunExitAndErrors(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		name     string
		cmd      host.Command
		wantExit int
		stderr   string
		wantErr  error
		errText  string
	}{
		{name: "exit code and stderr come back", wantExit: 3, stderr: "boom: it failed\n",
			cmd: host.Command{Argv: []string{"/usr/bin/standin"}, Env: []host.EnvVar{{Name: "STANDIN_EXIT", Value: "3"}, {Name: "STANDIN_STDERR", Value: "boom: it failed\n"}}}},
		{name: "exit zero", cmd: host.Command{Argv: []string{"/usr/bin/standin"}}},
		{name: "missing program", wantErr: fs.ErrNotExist, errText: "program not found",
			cmd: host.Command{Argv: []string{"/usr/bin/no-such-tool"}}},
		{name: "relative program", errText: "clean absolute path",
			cmd: host.Command{Argv: []string{"standin"}}},
		{name: "unclean program path", errText: "clean absolute path",
			cmd: host.Command{Argv: []string{"/usr/bin/../bin/standin"}}},
		{name: "empty argv", errText: "empty argv", cmd: host.Command{}},
		{name: "NUL in argument", errText: "NUL",
			cmd: host.Command{Argv: []string{"/usr/bin/standin", "a\x00b"}}},
		{name: "bad variable name", errText: "invalid environment variable name",
			cmd: host.Command{Argv: []string{"/usr/bin/standin"}, Env: []host.EnvVar{{Name: "A=B", Value: "x"}}}},
		{name: "relative dir", errText: "not absolute",
			cmd: host.Command{Argv: []string{"/usr/bin/standin"}, Dir: "tmp"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := r.h.Run(t.Context(), tt.cmd)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %q", err, tt.errText)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want it to wrap %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Exit != tt.wantExit || res.Stderr != tt.stderr {
				t.Errorf("exit %d stderr %q, want %d %q", res.Exit, res.Stderr, tt.wantExit, tt.stderr)
			}
		})
	}
}

// processGone reports whether pid has exited (a zombie counts as gone).
func processGone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return syscall.Kill(pid, 0) == syscall.ESRCH
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	r := newRig(t, nil)
	for _, tty := range []bool{false, true} {
		t.Run("tty="+strconv.FormatBool(tty), func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
			start := time.Now()
			_, err := r.h.Run(t.Context(), host.Command{
				Argv:    []string{"/usr/bin/standin"},
				Env:     []host.EnvVar{{Name: "STANDIN_MODE", Value: "spawn"}, {Name: "STANDIN_PIDFILE", Value: pidfile}, {Name: "STANDIN_SLEEP", Value: "1m"}},
				TTY:     tty,
				Timeout: 700 * time.Millisecond,
			})
			if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "timed out after 700ms") {
				t.Fatalf("err = %v, want a timeout", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("Run took %s after a 700ms timeout", d)
			}
			b, err := os.ReadFile(pidfile)
			if err != nil {
				t.Fatalf("grandchild pid: %v", err)
			}
			pid, _ := strconv.Atoi(string(b))
			deadline := time.Now().Add(3 * time.Second)
			for !processGone(pid) {
				if time.Now().After(deadline) {
					syscall.Kill(pid, syscall.SIGKILL)
					t.Fatalf("grandchild %d survived the timeout", pid)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

func TestRunCancel(t *testing.T) {
	r := newRig(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := r.h.Run(ctx, host.Command{Argv: []string{"/usr/bin/standin"}, Env: []host.EnvVar{{Name: "STANDIN_MODE", Value: "sleep"}}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "process group killed") {
		t.Fatalf("err = %v, want context.Canceled after a kill", err)
	}
	done, cancelNow := context.WithCancel(t.Context())
	cancelNow()
	_, err = r.h.Run(done, host.Command{Argv: []string{"/usr/bin/standin"}})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("cancelled before start: err = %v", err)
	}
}

func TestRunOutputCap(t *testing.T) {
	r := newRig(t, func(o *Options) { o.OutputCap = 1000 })
	tests := []struct {
		bytes     int
		truncated bool
	}{{10, false}, {997, false}, {200000, true}}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.bytes), func(t *testing.T) {
			res, err := r.h.Run(t.Context(), host.Command{Argv: []string{"/usr/bin/standin"},
				Env: []host.EnvVar{{Name: "STANDIN_MODE", Value: "flood"}, {Name: "STANDIN_BYTES", Value: strconv.Itoa(tt.bytes)}}})
			if err != nil {
				t.Fatal(err)
			}
			total := tt.bytes + len("END")
			for name, out := range map[string]string{"stdout": res.Stdout, "stderr": res.Stderr} {
				if !strings.HasSuffix(out, "END") {
					t.Errorf("%s lost its tail: ...%q", name, out[max(0, len(out)-20):])
				}
				note := truncationNote(1000, int64(total))
				if tt.truncated {
					if !strings.HasPrefix(out, note) || len(out) != len(note)+1000 {
						t.Errorf("%s: %d bytes starting %q, want the note then 1000 bytes", name, len(out), out[:min(len(out), 60)])
					}
				} else if len(out) != total {
					t.Errorf("%s: %d bytes, want all %d", name, len(out), total)
				}
			}
		})
	}
}

func TestRunTTY(t *testing.T) {
	r := newRig(t, nil)
	const password = "s3cret-Passw0rd!"
	tests := []struct {
		mode string
		user string
	}{
		{"prompt", ""},           // reads with echo on: the echo must be scrubbed
		{"password", ""},         // turns echo off first: input must wait for it
		{"password", "ghrunner"}, // the terminal works for a dropped principal too
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.user, func(t *testing.T) {
			res, err := r.h.Run(t.Context(), host.Command{
				Argv:        []string{"/usr/sbin/sysadminctl", "-addUser", "ghrunner", "-password", "-"},
				User:        tt.user,
				Env:         []host.EnvVar{{Name: "STANDIN_MODE", Value: tt.mode}, {Name: "STANDIN_STDERR", Value: "to stderr\n"}},
				Stdin:       []byte(password + "\n"),
				StdinSecret: true,
				TTY:         true,
				Timeout:     20 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			rep := parseReport(t, res.Stdout)
			if !rep.TTY {
				t.Errorf("stdin is not a terminal in the program")
			}
			if rep.StdinSHA256 != sha(password+"\n") {
				t.Errorf("the password did not arrive intact (got sha %s)", rep.StdinSHA256)
			}
			if strings.Contains(res.Stdout, password) || strings.Contains(res.Stderr, password) {
				t.Errorf("the password is in the captured output: %q", res.Stdout)
			}
			if !strings.Contains(res.Stdout, "to stderr\n") || res.Stderr != "" {
				t.Errorf("stderr should come through the terminal into Stdout: stdout %q stderr %q", res.Stdout, res.Stderr)
			}
			if strings.Contains(res.Stdout, "\r\n") {
				t.Errorf("CR LF left in output %q", res.Stdout)
			}
			echoed := strings.Contains(res.Stdout, "<secret stdin>\n")
			if tt.mode == "prompt" && !echoed {
				t.Errorf("prompt mode: the echo should show as <secret stdin>: %q", res.Stdout)
			}
			if tt.mode == "password" && echoed {
				t.Errorf("password mode: input was written before echo went off: %q", res.Stdout)
			}
		})
	}
}

func TestScrubCutSecret(t *testing.T) {
	secrets := []namedSecret{{"tok", "ABCDEFGHIJ"}}
	tests := []struct{ in, want string }{
		{"x ABCDEFGHIJ y", "x <secret tok> y"},
		{truncationNote(8, 20) + "GHIJ rest", truncationNote(8, 20) + "<secret tok> rest"},
		{truncationNote(8, 20) + "HIJ rest", truncationNote(8, 20) + "HIJ rest"}, // too short to tell
		{"GHIJ not truncated", "GHIJ not truncated"},
	}
	for _, tt := range tests {
		if got := scrub(tt.in, secrets); got != tt.want {
			t.Errorf("scrub(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNewOptions(t *testing.T) {
	if _, err := New(Options{ToolRoot: "relative"}); err == nil {
		t.Error("relative tool root accepted")
	}
	if _, err := New(Options{Timeout: -1}); err == nil {
		t.Error("negative timeout accepted")
	}
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if h.Name() != "darwin" || h.opts.Timeout != DefaultTimeout || h.opts.OutputCap != DefaultOutputCap {
		t.Errorf("defaults not applied: %+v", h.opts)
	}
}

func TestRunTTYNeverPrompts(t *testing.T) {
	// A program that reads its input without printing a prompt or turning
	// echo off still gets it, once ttyReadyWait has passed.
	r := newRig(t, nil)
	start := time.Now()
	res, err := r.h.Run(t.Context(), host.Command{
		Argv:        []string{"/usr/sbin/sysadminctl"},
		Env:         []host.EnvVar{{Name: "STANDIN_MODE", Value: "silent"}},
		Stdin:       []byte("quiet-secret\n"),
		StdinSecret: true,
		TTY:         true,
		Timeout:     20 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < ttyReadyWait {
		t.Errorf("input written after %s, before ttyReadyWait %s", d, ttyReadyWait)
	}
	rep := parseReport(t, res.Stdout)
	if rep.StdinSHA256 != sha("quiet-secret\n") {
		t.Errorf("the input did not arrive intact: %q", res.Stdout)
	}
	if strings.Contains(res.Stdout, "quiet-secret") {
		t.Errorf("the echoed input is not scrubbed: %q", res.Stdout)
	}
}

func TestCredentialGroupLimit(t *testing.T) {
	many := make([]int, 0, 24)
	for g := 100; g < 124; g++ {
		many = append(many, g)
	}
	tests := []struct {
		name   string
		gid    int
		groups []int
		limit  int
		want   []uint32
	}{
		{"primary first, no duplicate", 20, []int{12, 20, 80}, 16, []uint32{20, 12, 80}},
		{"empty list keeps the primary group", 20, nil, 16, []uint32{20}},
		{"cut at the limit", 20, many, 16, append([]uint32{20}, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := credential(principal{uid: 501, gid: tt.gid, groups: tt.groups}, tt.limit)
			if c.Uid != 501 || c.Gid != uint32(tt.gid) || !slices.Equal(c.Groups, tt.want) {
				t.Errorf("credential = uid %d gid %d groups %v, want 501 %d %v", c.Uid, c.Gid, c.Groups, tt.gid, tt.want)
			}
		})
	}
}

// TestRunPointOfUse pins the real backend's point-of-use rule: a program
// run as root is refused a declared path (or a working directory) that
// another account can change, a verified file must be root's whoever
// runs the program, and the file operations it performs itself are not
// subject to it.
func TestRunPointOfUse(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	home := r.accounts["ghrunner"].home
	theirs := filepath.Join(home, "x.pkg")
	if err := os.WriteFile(theirs, []byte("pkg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(theirs, runnerUID, runnerGID); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(r.accounts["root"].home, "y.pkg")
	if err := os.WriteFile(mine, []byte("pkg"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cmd  host.Command
		want string // "" runs; else a fragment of the refusal
	}{
		{"root, root's path", host.Command{Argv: []string{"/usr/bin/standin"}, Paths: []string{mine}}, ""},
		{"root, the runner's path", host.Command{Argv: []string{"/usr/bin/standin"}, Paths: []string{theirs}}, home + " is owned by " + strconv.Itoa(runnerUID)},
		{"root, in the runner's home", host.Command{Argv: []string{"/usr/bin/standin"}, Dir: home}, "is owned by"},
		{"the runner, its own path", host.Command{Argv: []string{"/usr/bin/standin"}, User: "ghrunner", Paths: []string{theirs}}, ""},
		{"the runner, a verified file it can replace", host.Command{Argv: []string{"/usr/bin/standin"}, User: "ghrunner", Verified: []string{theirs}}, "refusing to run it as ghrunner"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.h.Run(ctx, tt.cmd)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && !errors.Is(err, host.ErrNotRootOnly):
				t.Errorf("err = %v, want a refusal wrapping host.ErrNotRootOnly", err)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("err %q lacks %q", err, tt.want)
			}
		})
	}
}
