package fakemac

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// node returns the node at a real path or fails.
func node(t *testing.T, m *Mac, p string) *Node {
	t.Helper()
	n := m.st.Files[p]
	if n == nil {
		t.Fatalf("%s does not exist", p)
	}
	return n
}

func wantNode(t *testing.T, m *Mac, p, typ string, mode Mode, owner, group string) *Node {
	t.Helper()
	n := node(t, m, p)
	if n.Type != typ || n.Mode != mode || n.Owner != owner || n.Group != group {
		t.Errorf("%s is %s, want %s %04o %s:%s", p, describe(p, n), typ, uint32(mode), owner, group)
	}
	return n
}

func addUser(home bool, tty bool) host.Command {
	argv := []string{"/usr/sbin/sysadminctl", "-addUser", "ghrunner", "-fullName", "GH Actions Runner", "-shell", "/bin/zsh"}
	if home {
		argv = append(argv, "-home", "/Users/ghrunner")
	}
	argv = append(argv, "-password", "-")
	return host.Command{Argv: argv, TTY: tty, Stdin: []byte("s3cret-Pass\n"), StdinSecret: true}
}

func TestSysadminctlAddUser(t *testing.T) {
	t.Run("without -home creates a 750 home with the deny-delete ACL", func(t *testing.T) {
		m := mustNew(t, "fresh-m4")
		r := exec(t, m, addUser(false, true))
		if r.Exit != 0 || r.Stdout != "" {
			t.Fatalf("exit %d stdout %q", r.Exit, r.Stdout)
		}
		for _, line := range strings.Split(strings.TrimSuffix(r.Stderr, "\n"), "\n") {
			if !nslog.MatchString(line) {
				t.Errorf("stderr line without NSLog prefix: %q", line)
			}
		}
		for _, s := range []string{"No clear text password or interactive option was specified", "] Creating user record…\n", "] Assigning UID: 502 GID: 20\n", "] Creating home directory at /Users/ghrunner\n"} {
			if !strings.Contains(r.Stderr, s) {
				t.Errorf("stderr lacks %q:\n%s", s, r.Stderr)
			}
		}
		n := wantNode(t, m, "/Users/ghrunner", TypeDir, 0o750, "ghrunner", "staff")
		if len(n.ACL) != 1 || n.ACL[0] != "group:everyone deny delete" {
			t.Errorf("home ACL %q", n.ACL)
		}
		u := m.st.Users["ghrunner"]
		if u.UID != 502 || u.GID != 20 || u.SecureToken || m.inGroup("ghrunner", "admin") {
			t.Errorf("user %+v", u)
		}
		snap, _ := m.Snapshot()
		if strings.Contains(string(snap), "s3cret-Pass") {
			t.Errorf("the password reached the state")
		}
	})
	t.Run("-home leaves the home uncreated until createhomedir", func(t *testing.T) {
		m := mustNew(t, "fresh-m4")
		r := exec(t, m, addUser(true, true))
		if !strings.Contains(r.Stderr, "Home directory is assigned (not created!) at /Users/ghrunner") || r.Exit != 0 {
			t.Fatalf("exit %d stderr %s", r.Exit, r.Stderr)
		}
		if m.st.Files["/Users/ghrunner"] != nil {
			t.Fatalf("home created despite -home")
		}
		r = exec(t, m, as("root", "/usr/sbin/createhomedir", "-c", "-u", "ghrunner"))
		if r.Exit != 0 || r.Stdout != "created \"/Users/ghrunner\"\n" {
			t.Fatalf("createhomedir: exit %d stdout %q", r.Exit, r.Stdout)
		}
		wantNode(t, m, "/Users/ghrunner", TypeDir, 0o750, "ghrunner", "staff")
		wantNode(t, m, "/Users/ghrunner/Library", TypeDir, 0o700, "ghrunner", "staff")
	})
	t.Run("failures still exit 0", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			preset string
			cmd    host.Command
			want   string
		}{
			{"no terminal", "fresh-m4", addUser(true, false), "not a terminal"},
			{"empty password", "fresh-m4", host.Command{Argv: addUser(true, true).Argv, TTY: true}, "New account password error"},
			{"existing user", "partial", addUser(true, true), "eDSRecordAlreadyExists"},
			{"not root", "fresh-m4", host.Command{Argv: addUser(true, true).Argv, User: "admin", TTY: true, Stdin: []byte("x\n")}, "not permitted"},
		} {
			m := mustNew(t, tc.preset)
			before := m.st.Users["ghrunner"]
			r := exec(t, m, tc.cmd)
			if r.Exit != 0 || !strings.Contains(r.Stderr, tc.want) {
				t.Errorf("%s: exit %d stderr %q", tc.name, r.Exit, r.Stderr)
			}
			if m.st.Users["ghrunner"] != before {
				t.Errorf("%s: the account changed", tc.name)
			}
		}
	})
}

func TestHomebrewPackage(t *testing.T) {
	pkgUser := func(mode Mode) []host.WriteRequest {
		return []host.WriteRequest{{Path: "/var/tmp/.homebrew_pkg_user.plist", Data: []byte(brewPkgUserPlist), Mode: fs.FileMode(mode), Owner: "root", Group: "wheel"}}
	}
	tests := []struct {
		name   string
		writes []host.WriteRequest
		ok     bool
	}{
		{"owner from the pkg user plist", pkgUser(0o600), true},
		{"plist with the wrong mode is ignored", pkgUser(0o644), false},
		{"no plist and nobody logged in", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			m := mustNew(t, "fresh-m4")
			for _, w := range tt.writes {
				if err := m.WriteFile(ctx, w); err != nil {
					t.Fatal(err)
				}
			}
			if err := m.Download(ctx, host.DownloadRequest{URL: HomebrewPkgURL, Dest: "/var/tmp/Homebrew.pkg", SHA256: HomebrewPkgSHA256, Size: HomebrewPkgSize, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
				t.Fatal(err)
			}
			r := exec(t, m, as("root", "/usr/sbin/installer", "-pkg", "/var/tmp/Homebrew.pkg", "-target", "/"))
			if !tt.ok {
				if r.Exit == 0 || !strings.Contains(r.Stdout, "installer: The install failed.") || m.st.Files["/opt/homebrew"] != nil {
					t.Fatalf("exit %d stdout %q; prefix exists: %v", r.Exit, r.Stdout, m.st.Files["/opt/homebrew"] != nil)
				}
				return
			}
			if r.Exit != 0 || r.Stdout != "installer: Package name is Homebrew\ninstaller: Installing at base path /\ninstaller: The install was successful.\n" {
				t.Fatalf("exit %d stdout %q", r.Exit, r.Stdout)
			}
			wantNode(t, m, "/opt/homebrew", TypeDir, 0o755, "admin", "admin")
			wantNode(t, m, "/opt/homebrew/bin/brew", TypeFile, 0o755, "admin", "admin")
			b, err := m.ReadFile(ctx, "/etc/paths.d/homebrew", 1024)
			if err != nil || string(b) != "/opt/homebrew/bin\n" {
				t.Errorf("/etc/paths.d/homebrew: %q %v", b, err)
			}
			if exec(t, m, as("admin", "/usr/sbin/pkgutil", "--pkg-info", "sh.brew.homebrew")).Exit != 0 {
				t.Errorf("no receipt")
			}
		})
	}
}

func TestBrewInstall(t *testing.T) {
	m := mustNew(t, "partial")
	brew := func(user string, args ...string) host.Result {
		return exec(t, m, as(user, append([]string{"/opt/homebrew/bin/brew"}, args...)...))
	}
	r := brew("admin", "install", "--formula", "binutils", "make", "coreutils", "qemu", "llvm")
	if r.Exit != 0 {
		t.Fatalf("install: %d %s", r.Exit, r.Stderr)
	}
	if got := brew("admin", "list", "--versions", "binutils", "make").Stdout; got != "binutils 2.45\nmake 4.4.1\n" {
		t.Errorf("list --versions: %q", got)
	}
	wantNode(t, m, "/opt/homebrew/opt/binutils", TypeSymlink, 0o755, "admin", "admin")
	for _, p := range []string{"/opt/homebrew/opt/binutils/bin/objcopy", "/opt/homebrew/bin/gmake", "/opt/homebrew/opt/make/libexec/gnubin/make", "/opt/homebrew/bin/gtimeout", "/opt/homebrew/bin/qemu-system-aarch64", "/opt/homebrew/opt/llvm/bin/clang-tidy"} {
		if _, n, err := m.lookup("ghrunner", p, true); err != nil || n.Type != TypeFile || !m.may("ghrunner", n, 1) {
			t.Errorf("%s is not an executable the runner can use: %v", p, err)
		}
	}
	for _, p := range []string{"/opt/homebrew/bin/objcopy", "/opt/homebrew/bin/clang-tidy", "/opt/homebrew/bin/make"} {
		if m.st.Files[p] != nil {
			t.Errorf("%s is linked although its formula is keg-only or gnubin-only", p)
		}
	}
	r = brew("admin", "install", "--formula", "binutils")
	if r.Exit != 0 || !strings.Contains(r.Stderr, "Warning: binutils 2.45 is already installed and up-to-date.") {
		t.Errorf("reinstall: %d %q", r.Exit, r.Stderr)
	}
	r = brew("admin", "install", "--formula", "nosuchformula")
	if r.Exit != 1 || !strings.Contains(r.Stderr, `No available formula with the name "nosuchformula"`) {
		t.Errorf("unknown formula: %d %q", r.Exit, r.Stderr)
	}
	const cross = "aarch64-unknown-linux-gnu"
	if r = brew("admin", "install", "--formula", cross); r.Exit != 1 {
		t.Errorf("tap formula before tapping: %d", r.Exit)
	}
	if r = brew("admin", "tap", "messense/macos-cross-toolchains"); r.Exit != 0 {
		t.Fatalf("tap: %s", r.Stderr)
	}
	r = brew("admin", "install", "--formula", cross)
	if r.Exit != 1 || !strings.Contains(r.Stderr, "Refusing to load formula "+cross+" from untrusted tap messense/macos-cross-toolchains.") {
		t.Errorf("untrusted: %d %q", r.Exit, r.Stderr)
	}
	if r = brew("admin", "trust", "--formula", "messense/macos-cross-toolchains/"+cross); r.Stdout != "Trusted formula: messense/macos-cross-toolchains/"+cross+"\n" {
		t.Errorf("trust: %q", r.Stdout)
	}
	if r = brew("admin", "trust", "--formula", "messense/macos-cross-toolchains/"+cross); r.Stdout != "Already trusted formula: messense/macos-cross-toolchains/"+cross+"\n" {
		t.Errorf("trust again: %q", r.Stdout)
	}
	if r = brew("admin", "install", "--formula", cross); r.Exit != 0 {
		t.Fatalf("trusted install: %s", r.Stderr)
	}
	if _, n, err := m.lookup("root", "/opt/homebrew/opt/"+cross+"/toolchain/bin/aarch64-linux-gnu-gcc", true); err != nil || n.Type != TypeFile {
		t.Errorf("cross gcc missing: %v", err)
	}
	r = brew("admin", "install", "--cask", "gcc-aarch64-embedded")
	if r.Exit != 1 || !strings.Contains(r.Stderr, "sudo: a terminal is required") {
		t.Errorf(".pkg cask without a sudo ticket: %d %q", r.Exit, r.Stderr)
	}
}

func TestRunnerRegistration(t *testing.T) {
	token := strings.Repeat("A", 29)
	configure := func(user, tok string, extra ...host.EnvVar) host.Command {
		env := append([]host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: tok, Secret: true}, {Name: "PATH", Value: seedPath}}, extra...)
		return host.Command{Argv: []string{RunnerRoot + "/config.sh", "--unattended", "--url", RunnerRepoURL, "--name", RunnerName, "--labels", "m4,hvf", "--work", "_work", "--replace"},
			User: user, Dir: RunnerRoot, Env: env}
	}
	t.Run("registers from the environment token", func(t *testing.T) {
		ctx := context.Background()
		m := mustNew(t, "partial")
		r := exec(t, m, configure(RunnerUser, token))
		if r.Exit != 0 {
			t.Fatalf("exit %d: %s", r.Exit, r.Stderr)
		}
		for _, s := range []string{"√ Connected to GitHub\n", "√ Runner successfully added\n", "√ Settings Saved.\n"} {
			if !strings.Contains(r.Stdout, s) {
				t.Errorf("stdout lacks %q", s)
			}
		}
		b, err := m.ReadFile(ctx, RunnerRoot+"/.runner", 1<<20)
		if err != nil || !strings.HasPrefix(string(b), "\xef\xbb\xbf{") || !strings.Contains(string(b), `"agentName": "`+RunnerName+`"`) || !strings.Contains(string(b), `"gitHubUrl": "https://github.com/sysprog21/elfuse"`) {
			t.Errorf(".runner: %q %v", b, err)
		}
		if b, _ := m.ReadFile(ctx, RunnerRoot+"/.path", 1024); string(b) != seedPath+"\n" {
			t.Errorf(".path %q", b)
		}
		wantNode(t, m, RunnerRoot+"/.runner", TypeFile, 0o644, RunnerUser, "staff")
		snap, _ := m.Snapshot()
		if strings.Contains(string(snap), token) {
			t.Errorf("the token reached the state")
		}
		r = exec(t, m, configure(RunnerUser, token))
		if r.Exit != 1 || !strings.Contains(r.Stderr, "Cannot configure the runner because it is already configured.") {
			t.Errorf("reconfigure: %d %q", r.Exit, r.Stderr)
		}
		r = exec(t, m, host.Command{Argv: []string{RunnerRoot + "/config.sh", "remove"}, User: RunnerUser, Dir: RunnerRoot, Env: []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: token, Secret: true}}})
		if r.Exit != 0 || m.st.Files[RunnerRoot+"/.runner"] != nil || len(m.st.Runner.Registered) != 0 {
			t.Errorf("remove: %d %q", r.Exit, r.Stderr)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			preset string
			cmd    host.Command
			exit   int
			out    string
		}{
			{"wrong token shape", "partial", configure(RunnerUser, "not-a-token"), 1, "404 (Not Found)"},
			{"lower-case token", "partial", configure(RunnerUser, strings.Repeat("a", 29)), 1, "404 (Not Found)"},
			{"fixture names the one valid token", "fixture:pinned-token", configure(RunnerUser, token), 1, "404 (Not Found)"},
			{"root", "partial", configure("root", token), 1, "Must not run with sudo"},
			{"unknown flag", "partial", host.Command{Argv: []string{RunnerRoot + "/config.sh", "--unattended", "--frobnicate"}, User: RunnerUser, Dir: RunnerRoot}, 1, "Unrecognized command-line input arguments: '--frobnicate'"},
			{"wrong working directory", "partial", host.Command{Argv: configure(RunnerUser, token).Argv, User: RunnerUser, Env: configure(RunnerUser, token).Env}, 1, "./env.sh: No such file or directory"},
		} {
			var m *Mac
			if f, ok := strings.CutPrefix(tc.preset, "fixture:"); ok {
				var err error
				if m, err = Load("../../testdata/hosts/" + f + ".json"); err != nil {
					t.Fatal(err)
				}
			} else {
				m = mustNew(t, tc.preset)
			}
			m.toolsOnly = true
			r := exec(t, m, tc.cmd)
			if r.Exit != tc.exit || !strings.Contains(r.Stdout+r.Stderr, tc.out) || m.st.Files[RunnerRoot+"/.runner"] != nil {
				t.Errorf("%s: exit %d out %q err %q", tc.name, r.Exit, r.Stdout, r.Stderr)
			}
		}
		m, err := Load("../../testdata/hosts/pinned-token.json")
		if err != nil {
			t.Fatal(err)
		}
		if r := exec(t, m, configure(RunnerUser, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAB")); r.Exit != 0 {
			t.Errorf("the pinned token was refused: %s", r.Stderr)
		}
		m = mustNew(t, "partial")
		m.toolsOnly = true
		if r := exec(t, m, configure("root", token, host.EnvVar{Name: "RUNNER_ALLOW_RUNASROOT", Value: "1"})); r.Exit != 0 {
			t.Errorf("RUNNER_ALLOW_RUNASROOT: %d %s", r.Exit, r.Stderr)
		}
	})
	t.Run("svc.sh installs only a per-user LaunchAgent", func(t *testing.T) {
		m := mustNew(t, "converged")
		jobs := len(m.st.Launchd.Jobs)
		r := exec(t, m, as(RunnerUser, RunnerRoot+"/svc.sh", "install", RunnerUser))
		if r.Exit != 0 || !strings.Contains(r.Stdout, "svc install complete") {
			t.Fatalf("install: %d %q %q", r.Exit, r.Stdout, r.Stderr)
		}
		agent := "/Users/ghrunner/Library/LaunchAgents/" + RunnerLabel + ".plist"
		wantNode(t, m, agent, TypeFile, 0o644, RunnerUser, "staff")
		if len(m.st.Launchd.Jobs) != jobs {
			t.Errorf("svc.sh changed the system domain")
		}
		if r = exec(t, m, as(RunnerUser, RunnerRoot+"/svc.sh", "install")); r.Exit != 1 || r.Stderr != "Failed: error: exists "+agent+"\n" {
			t.Errorf("second install: %d %q", r.Exit, r.Stderr)
		}
		if r = exec(t, m, as(RunnerUser, RunnerRoot+"/svc.sh", "status")); r.Stdout != "\nstatus "+RunnerLabel+":\n\n"+agent+"\n\nStopped\n" {
			t.Errorf("status: %q", r.Stdout)
		}
		m.toolsOnly = true
		if r = exec(t, m, as("root", RunnerRoot+"/svc.sh", "status")); r.Exit != 1 || r.Stdout != "Must not run with sudo\n" {
			t.Errorf("as root: %d %q", r.Exit, r.Stdout)
		}
	})
}

func TestLaunchctl(t *testing.T) {
	ctx := context.Background()
	plist := "/Library/LaunchDaemons/" + RunnerLabel + ".plist"
	bootstrap := as("root", "/bin/launchctl", "bootstrap", "system", plist)
	print := as("root", "/bin/launchctl", "print", "system/"+RunnerLabel)
	bootout := as("root", "/bin/launchctl", "bootout", "system/"+RunnerLabel)

	t.Run("bad ownership or mode is 122", func(t *testing.T) {
		for _, w := range []host.WriteRequest{
			{Path: plist, Data: []byte(daemonPlist(RunnerLabel, RunnerRoot, RunnerUser)), Mode: 0o664, Owner: "root", Group: "wheel"},
			{Path: plist, Data: []byte(daemonPlist(RunnerLabel, RunnerRoot, RunnerUser)), Mode: 0o644, Owner: "admin", Group: "wheel"},
		} {
			m := mustNew(t, "drifted")
			if err := m.WriteFile(ctx, w); err != nil {
				t.Fatal(err)
			}
			r := exec(t, m, bootstrap)
			if r.Exit != 122 || r.Stderr != "Bootstrap failed: 122: Path had bad ownership/permissions\n" || m.st.Launchd.Jobs[RunnerLabel] != nil {
				t.Errorf("%04o %s: exit %d %q", w.Mode, w.Owner, r.Exit, r.Stderr)
			}
		}
	})
	t.Run("bootout is asynchronous", func(t *testing.T) {
		m := mustNew(t, "converged")
		if r := exec(t, m, bootout); r.Exit != 0 {
			t.Fatalf("bootout: %d %q", r.Exit, r.Stderr)
		}
		if r := exec(t, m, bootstrap); r.Exit != 5 || r.Stderr != "Bootstrap failed: 5: Input/output error\n" {
			t.Errorf("re-bootstrap too soon: %d %q", r.Exit, r.Stderr)
		}
		if r := exec(t, m, print); r.Exit != 0 || !strings.Contains(r.Stdout, "\tstate = not running\n") {
			t.Errorf("first print after bootout: %d %q", r.Exit, r.Stdout)
		}
		if r := exec(t, m, print); r.Exit != 113 {
			t.Errorf("second print after bootout: %d", r.Exit)
		}
		r := exec(t, m, bootstrap)
		if r.Exit != 0 || m.st.Launchd.Jobs[RunnerLabel].State != "running" || m.st.Launchd.Jobs[RunnerLabel].PID == 0 {
			t.Errorf("bootstrap again: %d %q %+v", r.Exit, r.Stderr, m.st.Launchd.Jobs[RunnerLabel])
		}
		pid := m.st.Launchd.Jobs[RunnerLabel].PID
		exec(t, m, as("root", "/bin/launchctl", "kickstart", "-k", "system/"+RunnerLabel))
		if j := m.st.Launchd.Jobs[RunnerLabel]; j.PID == pid || j.State != "running" || j.LastExit != "0" {
			t.Errorf("kickstart -k: %+v (old pid %d)", j, pid)
		}
	})
	// How launchd gives a starting job its log files (openLogs): the
	// drifted Mac has the runner's plist but the job booted out, so a
	// bootstrap starts it.
	logDir := "/Library/Logs/hvfctl/" + RunnerLabel
	stdout := logDir + "/stdout.log"
	for _, tc := range []struct {
		name    string
		prepare func(m *Mac)
		running bool
		check   func(t *testing.T, m *Mac)
	}{
		{name: "the pre-made files are opened as the account", running: true, prepare: func(m *Mac) {
			m.st.Files[stdout].Content = text("earlier\n")
		}, check: func(t *testing.T, m *Mac) {
			if n := wantNode(t, m, stdout, TypeFile, 0o600, RunnerUser, "staff"); n.Content == nil || *n.Content != "earlier\n" {
				t.Errorf("%s lost its content: %+v", stdout, n)
			}
		}},
		{name: "a missing file in root's directory cannot be created by the account", prepare: func(m *Mac) {
			m.removeTree(stdout)
		}, check: func(t *testing.T, m *Mac) {
			if m.st.Files[stdout] != nil {
				t.Errorf("%s was created", stdout)
			}
		}},
		{name: "a root-owned log file is not writable by the account", prepare: func(m *Mac) {
			m.st.Files[stdout].Owner = "root"
			m.st.Files[stdout].Mode = 0o644
		}},
		{name: "a directory where the file belongs", prepare: func(m *Mac) {
			m.removeTree(stdout)
			m.put(stdout, &Node{Type: TypeDir, Mode: 0o777, Owner: RunnerUser, Group: "staff"})
		}},
		{name: "a missing directory is created as root and the job cannot start", prepare: func(m *Mac) {
			m.removeTree(logDir)
		}, check: func(t *testing.T, m *Mac) {
			wantNode(t, m, logDir, TypeDir, 0o744, "root", "wheel")
		}},
		{name: "a missing file in a directory the account can write is created as the account", running: true, prepare: func(m *Mac) {
			m.removeTree(stdout)
			m.st.Files[logDir].Owner = RunnerUser
			m.st.Files[logDir].Group = "staff"
		}, check: func(t *testing.T, m *Mac) {
			wantNode(t, m, stdout, TypeFile, 0o644, RunnerUser, "staff")
		}},
		{name: "root creates a missing directory wherever a link leads", prepare: func(m *Mac) {
			m.removeTree("/Library/Logs/hvfctl")
			m.put("/Library/Logs/hvfctl", &Node{Type: TypeSymlink, Mode: 0o755, Owner: RunnerUser, Group: "staff", Target: "/private/var/root"})
		}, check: func(t *testing.T, m *Mac) {
			wantNode(t, m, "/private/var/root/"+RunnerLabel, TypeDir, 0o744, "root", "wheel")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, "drifted")
			tc.prepare(m)
			if r := exec(t, m, bootstrap); r.Exit != 0 {
				t.Fatalf("bootstrap: %d %q", r.Exit, r.Stderr)
			}
			r := exec(t, m, print)
			if tc.running && !strings.Contains(r.Stdout, "\tstate = running\n") {
				t.Errorf("the job does not run:\n%s", r.Stdout)
			}
			if !tc.running && (!strings.Contains(r.Stdout, "\tstate = not running\n") || !strings.Contains(r.Stdout, "\tlast exit code = 78: EX_CONFIG\n")) {
				t.Errorf("the job is not refused with 78:\n%s", r.Stdout)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
		})
	}
	t.Run("the account can plant nothing in the log tree", func(t *testing.T) {
		m := mustNew(t, "converged")
		for _, p := range []string{"/Library/Logs/hvfctl/x", logDir + "/x", stdout, logDir + "/stderr.log"} {
			if m.PlantableBy(RunnerUser, p) {
				t.Errorf("%s can take a planting by %s", p, RunnerUser)
			}
		}
		// Renaming its own log away or hard linking a root file in its
		// place needs an entry in root's directory.
		for _, argv := range [][]string{
			{"/bin/mv", stdout, "/Users/ghrunner/stdout.log"},
			{"/bin/rm", "-f", stdout},
			{"/bin/ln", "-sfh", "/private/etc/sudoers", stdout},
		} {
			if r := exec(t, m, as(RunnerUser, argv...)); r.Exit == 0 {
				t.Errorf("%v as %s succeeded", argv, RunnerUser)
			}
		}
		wantNode(t, m, stdout, TypeFile, 0o600, RunnerUser, "staff")
	})
}

func TestDownloadVerifiesPins(t *testing.T) {
	ctx := context.Background()
	dest := "/var/tmp/runner.tar.gz"
	req := host.DownloadRequest{URL: RunnerURL, Dest: dest, SHA256: RunnerSHA256, Size: RunnerSize, Mode: 0o644, Owner: "root", Group: "wheel"}
	tests := []struct {
		name    string
		fixture string
		mutate  func(*host.DownloadRequest)
		want    error
	}{
		{name: "pinned", want: nil},
		{name: "wrong sha", mutate: func(r *host.DownloadRequest) { r.SHA256 = strings.Repeat("0", 64) }, want: host.ErrChecksum},
		{name: "wrong size", mutate: func(r *host.DownloadRequest) { r.Size++ }, want: host.ErrChecksum},
		{name: "tampered mirror", fixture: "tampered-runner", want: host.ErrChecksum},
		{name: "unknown url", mutate: func(r *host.DownloadRequest) { r.URL += ".sig" }, want: host.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustNew(t, "fresh-m4")
			if tt.fixture != "" {
				var err error
				if m, err = Load("../../testdata/hosts/" + tt.fixture + ".json"); err != nil {
					t.Fatal(err)
				}
			}
			r := req
			if tt.mutate != nil {
				tt.mutate(&r)
			}
			free := m.st.Disk.FreeBytes
			err := m.Download(ctx, r)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				sum, size, err := m.Hash(ctx, dest)
				if err != nil || sum != RunnerSHA256 || size != RunnerSize || m.st.Disk.FreeBytes != free-RunnerSize {
					t.Errorf("hash %s %d %v", sum, size, err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err %v, want %v", err, tt.want)
			}
			if m.st.Files["/private"+dest] != nil || m.st.Disk.FreeBytes != free {
				t.Errorf("a failed download left something behind")
			}
		})
	}
}

func TestTar(t *testing.T) {
	m := mustNew(t, "partial")
	list := exec(t, m, as(RunnerUser, "/usr/bin/tar", "-tvzf", runnerCached))
	if !strings.HasPrefix(list.Stdout, "drwxr-xr-x  0 runner docker      0 Jul 23 09:00 ./\n") || !strings.Contains(list.Stdout, "\n-rw-r--r--  0 runner docker 1103872 Jul 23 09:00 ./bin/Runner.Worker.dll\n") {
		t.Errorf("listing:\n%s", list.Stdout)
	}
	wantNode(t, m, RunnerRoot+"/bin/Runner.Listener", TypeFile, 0o755, RunnerUser, "staff")
	wantNode(t, m, RunnerRoot+"/bin/RunnerService.js", TypeFile, 0o644, RunnerUser, "staff")

	exec(t, m, as("root", "/bin/mkdir", "-p", "/opt/rootx"))
	if r := exec(t, m, as("root", "/usr/bin/tar", "-xzf", runnerCached, "-C", "/opt/rootx")); r.Exit != 0 {
		t.Fatalf("extract as root: %s", r.Stderr)
	}
	wantNode(t, m, "/opt/rootx/config.sh", TypeFile, 0o755, "1001", "118")

	m.st.Archives["evil"] = []TarEntry{
		{Name: "/etc/evil", Type: TypeFile, Mode: 0o644, Size: 1},
		{Name: "../escape", Type: TypeFile, Mode: 0o644, Size: 1},
		{Name: "link", Type: TypeSymlink, Mode: 0o755, Target: "/etc"},
		{Name: "link/x", Type: TypeFile, Mode: 0o644, Size: 1},
	}
	m.st.Files[RunnerRoot+"/evil.tgz"] = &Node{Type: TypeFile, Mode: 0o644, Owner: RunnerUser, Group: "staff", Size: 10, SHA256: synthSum("evil"), Archive: "evil"}
	r := exec(t, m, host.Command{Argv: []string{"/usr/bin/tar", "-xzf", "evil.tgz", "-C", "/Users/ghrunner/x"}, User: RunnerUser, Dir: RunnerRoot})
	if r.Exit != 1 || !strings.Contains(r.Stderr, "could not chdir") {
		t.Errorf("missing -C dir: %d %q", r.Exit, r.Stderr)
	}
	exec(t, m, as(RunnerUser, "/bin/mkdir", "/Users/ghrunner/x"))
	r = exec(t, m, host.Command{Argv: []string{"/usr/bin/tar", "-xzf", "evil.tgz", "-C", "/Users/ghrunner/x"}, User: RunnerUser, Dir: RunnerRoot})
	if r.Exit != 1 || !strings.Contains(r.Stderr, "tar: Removing leading '/' from member names\n") || !strings.Contains(r.Stderr, "tar: ../escape: Path contains '..'\n") || !strings.Contains(r.Stderr, "Cannot extract through symlink") {
		t.Errorf("evil archive: %d %q", r.Exit, r.Stderr)
	}
	if m.st.Files["/Users/ghrunner/escape"] != nil || m.st.Files["/private/etc/x"] != nil || m.st.Files["/Users/ghrunner/x/etc/evil"] == nil {
		t.Errorf("entries escaped the destination")
	}
}

func TestSystemChanges(t *testing.T) {
	ctx := context.Background()
	m := mustNew(t, "fresh-m4")
	r := exec(t, m, as("root", "/usr/bin/pmset", "-c", "sleep", "5", "displaysleep", "10"))
	if r.Exit != 0 || !strings.HasPrefix(r.Stderr, "Warning: Idle sleep timings for \"AC Power\" may not behave as expected.") {
		t.Errorf("inconsistent timings: %d %q", r.Exit, r.Stderr)
	}
	exec(t, m, as("root", "/usr/bin/pmset", "-c", "sleep", "0", "disksleep", "0", "womp", "1"))
	if out := exec(t, m, as("admin", "/usr/bin/pmset", "-g", "custom")).Stdout; !strings.Contains(out, "\n sleep                0 (sleep prevented by") || !strings.Contains(out, "\n disksleep            0\n") {
		t.Errorf("pmset after set:\n%s", out)
	}
	if _, err := m.Run(ctx, as("root", "/usr/bin/pmset", "-b", "sleep", "0")); !errors.Is(err, host.ErrUnsupported) {
		t.Errorf("battery settings on a Mac mini: %v", err)
	}

	r = exec(t, m, as("root", "/usr/sbin/softwareupdate", "--install-rosetta", "--agree-to-license"))
	if r.Exit != 0 || !strings.HasSuffix(r.Stdout, "Install of Rosetta 2 finished successfully\n") || !strings.Contains(r.Stderr, "Package Authoring Error") {
		t.Errorf("rosetta: %d %q %q", r.Exit, r.Stdout, r.Stderr)
	}
	wantNode(t, m, rosettaLinux, TypeFile, 0o755, "root", "wheel")
	if n := node(t, m, "/Library/Apple/usr/share/rosetta/rosetta"); n.Size != 64 || n.Mode&0o111 != 0 {
		t.Errorf("rosetta marker %s", describe("marker", n))
	}

	if r = exec(t, m, as("root", "/usr/sbin/softwareupdate", "-l")); strings.Contains(r.Stdout, "Command Line Tools") {
		t.Errorf("CLT offered without the on-demand marker")
	}
	if err := m.WriteFile(ctx, host.WriteRequest{Path: "/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress", Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
		t.Fatal(err)
	}
	r = exec(t, m, as("root", "/usr/sbin/softwareupdate", "-l"))
	if !strings.Contains(r.Stdout, "* Label: Command Line Tools for Xcode 26.1-26.1.1\n\tTitle: Command Line Tools for Xcode 26.1, Version: 26.1, Size: 800000KiB, Recommended: YES, \n") ||
		!strings.Contains(r.Stdout, "beta") || strings.Contains(r.Stdout, "Xcode-") {
		t.Errorf("softwareupdate -l on macOS 26 (only the 26 label form):\n%s", r.Stdout)
	}
	if r = exec(t, m, as("root", "/usr/sbin/softwareupdate", "-i", "Command Line Tools for Xcode-16.4")); r.Exit != 1 || !strings.Contains(r.Stderr, "No such update") {
		t.Errorf("an old-form label on macOS 26: %d %q", r.Exit, r.Stderr)
	}
	if r = exec(t, m, as("root", "/usr/sbin/softwareupdate", "-i", "Command Line Tools for Xcode 26.1-26.1.1")); r.Exit != 0 {
		t.Fatalf("CLT install: %s", r.Stderr)
	}
	if out := exec(t, m, as("admin", "/usr/bin/xcode-select", "-p")).Stdout; out != "/Library/Developer/CommandLineTools\n" {
		t.Errorf("xcode-select -p: %q", out)
	}

	r = exec(t, m, as("root", "/bin/ln", "-sfh", "/Applications/X", "/Users/Shared"))
	if r.Exit != 0 || node(t, m, "/Users/Shared/X").Target != "/Applications/X" {
		t.Errorf("ln into an existing directory: %d %q", r.Exit, r.Stderr)
	}
	exec(t, m, as("root", "/bin/mkdir", "-p", "-m", "755", "/opt/toolchain"))
	wantNode(t, m, "/opt", TypeDir, 0o755, "root", "wheel")
	exec(t, m, as("admin", "/bin/mkdir", "-m", "700", "/Users/admin/work"))
	wantNode(t, m, "/Users/admin/work", TypeDir, 0o700, "admin", "staff")
	exec(t, m, as("root", "/bin/chmod", "og-rwx", "/Users/admin"))
	exec(t, m, as("root", "/bin/chmod", "-N", "/Users/admin"))
	if n := wantNode(t, m, "/Users/admin", TypeDir, 0o700, "admin", "staff"); len(n.ACL) != 0 {
		t.Errorf("ACL kept after chmod -N")
	}
	if err := m.WriteFile(ctx, host.WriteRequest{Path: "/Users/admin/sums", Data: []byte(RunnerSHA256 + "  /var/tmp/r.tgz\n"), Mode: 0o644, Owner: "admin", Group: "staff"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Download(ctx, host.DownloadRequest{URL: RunnerURL, Dest: "/var/tmp/r.tgz", SHA256: RunnerSHA256, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
		t.Fatal(err)
	}
	if r = exec(t, m, as("admin", "/usr/bin/shasum", "-a", "256", "/var/tmp/r.tgz")); r.Stdout != RunnerSHA256+"  /var/tmp/r.tgz\n" {
		t.Errorf("shasum: %q", r.Stdout)
	}
	if r = exec(t, m, as("admin", "/usr/bin/shasum", "-a", "256", "-c", "/Users/admin/sums")); r.Exit != 0 || r.Stdout != "/var/tmp/r.tgz: OK\n" {
		t.Errorf("shasum -c: %d %q", r.Exit, r.Stdout)
	}
	bad := host.Command{Argv: []string{"/usr/bin/shasum", "-a", "256", "-c", "-"}, User: "admin", Stdin: []byte(strings.Repeat("1", 64) + "  /var/tmp/r.tgz\n")}
	if r = exec(t, m, bad); r.Exit != 1 || r.Stdout != "/var/tmp/r.tgz: FAILED\n" || r.Stderr != "shasum: WARNING: 1 computed checksum did NOT match\n" {
		t.Errorf("shasum -c mismatch: %d %q %q", r.Exit, r.Stdout, r.Stderr)
	}
}

// daemonPlist is a runner LaunchDaemon as recipes/m4.star writes it:
// root:wheel 0644 in /Library/LaunchDaemons, UserName the runner
// account, WorkingDirectory the runner root, logs in a directory the
// runner owns.
func daemonPlist(label, root, user string) string {
	home := "/Users/" + user
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>%[1]s</string>
	<key>ProgramArguments</key>
	<array>
		<string>%[2]s/bin/runsvc.sh</string>
	</array>
	<key>UserName</key>
	<string>%[3]s</string>
	<key>GroupName</key>
	<string>staff</string>
	<key>WorkingDirectory</key>
	<string>%[2]s</string>
	<key>RunAtLoad</key>
	<true/>
	<key>KeepAlive</key>
	<true/>
	<key>EnvironmentVariables</key>
	<dict>
		<key>ACTIONS_RUNNER_SVC</key>
		<string>1</string>
		<key>HOME</key>
		<string>%[4]s</string>
		<key>USER</key>
		<string>%[3]s</string>
	</dict>
	<key>StandardOutPath</key>
	<string>%[4]s/Library/Logs/%[1]s/stdout.log</string>
	<key>StandardErrorPath</key>
	<string>%[4]s/Library/Logs/%[1]s/stderr.log</string>
</dict>
</plist>
`, label, root, user, home)
}

// TestCLTLabelsByRelease: macOS 26 offers only the 26 label form, macOS 15
// lists both forms side by side (macos-facts.md §1.7), and each installs
// under its whole label.
func TestCLTLabelsByRelease(t *testing.T) {
	for _, tc := range []struct {
		preset string
		want   []string
	}{
		{"fresh-m4", []string{
			"* Label: Command Line Tools for Xcode 26.1-26.1.1\n\tTitle: Command Line Tools for Xcode 26.1, Version: 26.1,",
			"* Label: Command Line Tools beta 2 for Xcode 26.2-26.2\n\tTitle: Command Line Tools beta for Xcode 26.2, Version: 26.2,",
		}},
		{"fresh-m4-sequoia", []string{
			"* Label: Command Line Tools for Xcode-16.4\n\tTitle: Command Line Tools for Xcode, Version: 16.4,",
			"* Label: Command Line Tools for Xcode 26.1-26.1.1\n\tTitle: Command Line Tools for Xcode 26.1, Version: 26.1,",
			"* Label: Command Line Tools beta 3 for Xcode-26.1\n\tTitle: Command Line Tools beta for Xcode, Version: 26.1,",
		}},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			m := mustNew(t, tc.preset)
			if err := m.WriteFile(context.Background(), host.WriteRequest{Path: cltMarker, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
				t.Fatal(err)
			}
			out := exec(t, m, as("root", "/usr/sbin/softwareupdate", "-l")).Stdout
			if n := strings.Count(out, "* Label: "); n != len(tc.want) {
				t.Errorf("%d labels, want %d:\n%s", n, len(tc.want), out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("softwareupdate -l lacks %q:\n%s", w, out)
				}
			}
			const label = "Command Line Tools for Xcode 26.1-26.1.1"
			if r := exec(t, m, as("root", "/usr/sbin/softwareupdate", "-i", label)); r.Exit != 0 {
				t.Fatalf("install %q: %d %s", label, r.Exit, r.Stderr)
			}
			if r := exec(t, m, as("admin", "/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.CLTools_Executables")); !strings.Contains(r.Stdout, "version: 26.1.") {
				t.Errorf("receipt after installing %q: %q", label, r.Stdout)
			}
		})
	}
}

// TestSmokeTools: the CI's tools answer as ghrunner on the converged Mac,
// and fail as they would on a Mac where a dependency or the toolchain
// layout broke.
func TestSmokeTools(t *testing.T) {
	ctx := context.Background()
	const scratch = "/Users/ghrunner/.cache/hvfctl-smoke"
	gcc := []string{"/opt/toolchain/aarch64-linux-gnu/bin/aarch64-linux-gnu-gcc", "--sysroot=/opt/toolchain/aarch64-linux-gnu/aarch64-unknown-linux-gnu/sysroot", "-x", "c", "-o", scratch + "/hello", "-"}
	for _, tc := range []struct {
		name   string
		break_ func(m *Mac)
		argv   []string
		exit   int
		out    string // in stdout or stderr
	}{
		{"gmake", nil, []string{"/opt/homebrew/bin/gmake", "--version"}, 0, "GNU Make 4.4.1\n"},
		{"objcopy", nil, []string{"/opt/homebrew/opt/binutils/bin/objcopy", "--version"}, 0, "GNU objcopy (GNU Binutils) 2.45\n"},
		{"qemu", nil, []string{"/opt/homebrew/bin/qemu-system-aarch64", "-accel", "help"}, 0, "\nhvf\n"},
		{"gtimeout", nil, []string{"/opt/homebrew/bin/gtimeout", "--version"}, 0, "timeout (GNU coreutils) 9.7\n"},
		{"python3", nil, []string{"/opt/homebrew/bin/python3", "--version"}, 0, "Python 3.13.7\n"},
		{"gcc", nil, gcc, 0, ""},
		{"as", nil, []string{"/opt/toolchain/aarch64-none-elf/bin/aarch64-none-elf-as", "-o", scratch + "/start.o"}, 0, ""},
		{"rosetta", nil, []string{"/bin/test", "-x", rosettaLinux}, 0, ""},
		{"objcopy without zstd", func(m *Mac) { m.removeTree(brewPrefix + "/opt/zstd") }, []string{"/opt/homebrew/opt/binutils/bin/objcopy", "--version"}, 134,
			"dyld["},
		{"gcc without its sysroot", func(m *Mac) {
			m.removeTree("/opt/toolchain/dist/aarch64-linux-gnu-13.3.0/aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/sysroot")
		}, gcc, 1, "collect2: error: ld returned 1 exit status\n"},
		{"gcc writing outside its scratch directory", nil, []string{gcc[0], gcc[1], "-x", "c", "-o", "/opt/toolchain/hello", "-"}, 1, "Permission denied"},
		{"rosetta not executable", func(m *Mac) { m.st.Files[rosettaLinux].Mode = 0o644 }, []string{"/bin/test", "-x", rosettaLinux}, 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, "converged")
			if tc.break_ != nil {
				tc.break_(m)
			}
			r, err := m.Run(ctx, host.Command{Argv: tc.argv, User: "ghrunner", Stdin: []byte("int main(void) { return 0; }\n")})
			if err != nil {
				t.Fatal(err)
			}
			if r.Exit != tc.exit || !strings.Contains(r.Stdout+r.Stderr, tc.out) {
				t.Errorf("exit %d, want %d; output %q, want %q in it", r.Exit, tc.exit, r.Stdout+r.Stderr, tc.out)
			}
		})
	}
	m := mustNew(t, "converged")
	if r := exec(t, m, as("ghrunner", gcc...)); r.Exit != 0 {
		t.Fatalf("gcc: %+v", r)
	}
	wantNode(t, m, scratch+"/hello", TypeFile, 0o755, "ghrunner", "staff")
}

// TestBrewListVersionsListsCasks: plain `brew list --versions` lists casks
// with the formulae; --formula and --cask separate them.
func TestBrewListVersionsListsCasks(t *testing.T) {
	m := mustNew(t, "converged")
	m.st.Brew.Casks["gcc-aarch64-embedded"] = []string{"14.3.rel1"}
	for _, tc := range []struct {
		args []string
		has  string
		not  string
	}{
		{[]string{"list", "--versions"}, "gcc-aarch64-embedded 14.3.rel1\n", ""},
		{[]string{"list", "--formula", "--versions"}, "binutils 2.45\n", "gcc-aarch64-embedded"},
		{[]string{"list", "--cask", "--versions"}, "gcc-aarch64-embedded 14.3.rel1\n", "binutils"},
		{[]string{"list", "--versions", "gcc-aarch64-embedded"}, "gcc-aarch64-embedded 14.3.rel1\n", ""},
	} {
		out := exec(t, m, as("admin", append([]string{"/opt/homebrew/bin/brew"}, tc.args...)...)).Stdout
		if !strings.Contains(out, tc.has) || (tc.not != "" && strings.Contains(out, tc.not)) {
			t.Errorf("brew %v: %q", tc.args, out)
		}
	}
}

// TestRemoveRefusedWhileServiceInstalled: svc.sh's .service makes
// config.sh remove refuse on macOS until it is gone.
func TestRemoveRefusedWhileServiceInstalled(t *testing.T) {
	m := mustNew(t, "seed-manual")
	token := []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: strings.Repeat("A", 29), Secret: true}}
	remove := host.Command{Argv: []string{RunnerRoot + "/config.sh", "remove"}, User: RunnerUser, Dir: RunnerRoot, Env: token}
	r, err := m.Run(context.Background(), remove)
	if err != nil || r.Exit != 1 || !strings.Contains(r.Stderr, "Uninstall service first") || m.st.Files[RunnerRoot+"/.runner"] == nil {
		t.Fatalf("remove with .service: %v %+v", err, r)
	}
	m.removeTree(RunnerRoot + "/.service")
	if r, err = m.Run(context.Background(), remove); err != nil || r.Exit != 0 || m.st.Files[RunnerRoot+"/.runner"] != nil {
		t.Errorf("remove without .service: %v %+v", err, r)
	}
}
