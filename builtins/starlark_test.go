package builtins

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
)

// TestRefusals checks that bad arguments are refused, with the recipe
// position, before any command runs.
func TestRefusals(t *testing.T) {
	tests := []struct {
		src  string
		want string
	}{
		{`result = brew.install("--force")`, "would be read as an option"},
		{`result = brew.install(["binutils", "-v"])`, "would be read as an option"},
		{`result = brew.install_cask("Foo Bar")`, "invalid cask name"},
		{`result = brew.tap("nouser")`, "invalid tap name"},
		{`result = brew.trust("binutils")`, "tap-qualified"},
		{`result = files.chmod("relative/path", 0o700)`, "not an absolute path"},
		{`result = files.chmod("/opt/../etc", 0o700)`, "contains a .. component"},
		{`result = files.chmod("/opt/a\nb", 0o700)`, "control character"},
		{`result = files.chmod("/opt/a\x00b", 0o700)`, "control character"},
		{`result = files.chmod("/opt/a", 0o17777)`, "out of range"},
		{`result = files.chown("/opt/a", "-R", "wheel")`, "would be read as an option"},
		{`result = files.write("/opt/a", 3, 0o644, "root", "wheel")`, "content must be a string"},
		{`result = download.fetch("http://x.org/a", "/opt/a", "a" * 64)`, "https"},
		{`result = download.fetch("https://x.org/a", "/opt/a", "abc")`, "64 hex digits"},
		{`result = download.fetch("https://u:p@x.org/a", "/opt/a", "a" * 64)`, "credentials"},
		{`result = launchctl.enable("-w")`, "would be read as an option"},
		{`result = launchctl.bootstrap("/Library/LaunchDaemons/x.txt")`, "must end in .plist"},
		{`result = launchctl.bootstrap("/Users/ghrunner/evil.plist")`, "must be in /Library/LaunchDaemons"},
		{`result = brew.tap("messense/macos-cross-toolchains")`, "not in the recipe's declared taps"},
		{`result = runner.configure("/Users/ghrunner/r", "https://github.com/sysprog21/elfuse", "mini-1", ["x"], "_work", token, ["/usr/bin"], "Root")`, "must not run as root"},
		{`result = installer.install("/tmp/x.pkg", footprint = [])`, "footprint is empty"},
		{`result = sysadminctl.add_user("ghrunner", "GitHub Runner", "plaintext")`, "must be a secret"},
		{`result = sysadminctl.add_user("-admin", "GitHub Runner", pw)`, "would be read as an option"},
		{`result = runner.configure("/Users/ghrunner/r", "https://github.com/sysprog21/elfuse", "mini-1", ["self-hosted"], "_work", "TOKEN", ["/usr/bin"], "ghrunner")`, "must be a secret"},
		{`result = runner.configure("/Users/ghrunner/r", "https://github.com/sysprog21/elfuse", "mini-1", ["a,b"], "_work", token, ["/usr/bin"], "ghrunner")`, "invalid runner label"},
		{`result = runner.configure("/Users/ghrunner/r", "https://github.com/sysprog21/elfuse", "mini-1", ["x"], "_work", token, ["/usr/bin"], "root")`, "must not run as root"},
		{`result = pmset.set("ac", {"sleep": "0 -a"})`, "invalid pmset value"},
		{`result = pmset.set("dc", {"sleep": 0})`, "source must be"},
		{`result = pmset.set("ac", {"sleep": True})`, "use 0 or 1"},
		{`result = tar.extract("/tmp/a.tgz", "rel", "ghrunner")`, "not an absolute path"},
		{`result = defaults.read("com.apple.x", "--key")`, "would be read as an option"},
		{`result = users.get("bad name")`, "invalid user name"},
		{`result = plist.encode({1: 2})`, "keys must be strings"},
		{`result = plist.decode("<plist><dict><key>a</key></plist>")`, "plist"},
		{`result = files.read("/Users/admin/.config/gh/hosts.yml")`, "in an account's home"},
		{`result = runner.registration("/Users/admin/actions-runner")`, "in an account's home"},
		{`result = defaults.read("com.example.sync", "AuthToken", user = "admin")`, "in an account's home"},
		{`result = shasum.sum("/Users/admin/.zsh_history")`, "in an account's home"},
		{`result = shasum.sum("/etc/kcpassword")`, "is a secret"},
		{`result = sysadminctl.delete_user("ROOT", "/var/root")`, "refusing to delete ROOT"},
		{`result = fixtures.verify("/var/root/.ssh", "/tmp/m.lock")`, "/var/root holds secrets"},
		{`result = fixtures.verify("/Users/admin/.config", "/tmp/m.lock")`, "in an account's home"},
		{`result = fixtures.verify("/tmp/tree", "/Users/admin/m.lock")`, "in an account's home"},
		{`result = shasum.verify("/Users/admin/.config/gh/hosts.yml", "` + strings.Repeat("a", 64) + `")`, "in an account's home"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			h := newScriptHost()
			s := testSession(t, h)
			_, err := eval(t, s, tt.src)
			if err == nil {
				t.Fatalf("accepted")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), "test.star:1:") {
				t.Errorf("error %q has no recipe position", err)
			}
			if len(h.cmds) != 0 {
				t.Errorf("commands ran: %v", h.argvs())
			}
		})
	}
}

func TestBrewNeverRoot(t *testing.T) {
	for _, owner := range []string{"", "root"} {
		h := newScriptHost()
		s := engine.NewSession(context.Background(), engine.SessionOptions{Host: h, Principals: engine.Principals{BrewOwner: owner}})
		if _, err := eval(t, s, `result = brew.install(["binutils"])`); err == nil {
			t.Errorf("owner %q: brew action built", owner)
		}
	}
}

// TestActionArgv checks the argv and principal of every action against
// docs/host-commands.md.
func TestActionArgv(t *testing.T) {
	tests := []struct {
		src    string
		argv   [][]string
		user   string
		writes []string
	}{
		{`result = files.mkdir("/opt/toolchain", 0o755, "root", "wheel")`,
			[][]string{{"/bin/mkdir", "-p", "-m", "755", "/opt/toolchain"}, {"/usr/sbin/chown", "-h", "root:wheel", "/opt/toolchain"}}, "root", []string{"/opt/toolchain"}},
		{`result = files.chmod("/Users/ghrunner", 0o700)`, [][]string{{"/bin/chmod", "-h", "700", "/Users/ghrunner"}}, "root", []string{"/Users/ghrunner"}},
		{`result = files.chown("/Users/ghrunner/r", "ghrunner", "staff", recursive = True)`, [][]string{{"/usr/sbin/chown", "-R", "ghrunner:staff", "/Users/ghrunner/r"}}, "root", []string{"/Users/ghrunner/r"}},
		{`result = files.remove_acl("/Users/ghrunner")`, [][]string{{"/bin/chmod", "-h", "-N", "/Users/ghrunner"}}, "root", []string{"/Users/ghrunner"}},
		{`result = files.symlink("/opt/homebrew/opt/x/toolchain", "/opt/toolchain/aarch64-linux-gnu")`, [][]string{{"/bin/ln", "-sfh", "/opt/homebrew/opt/x/toolchain", "/opt/toolchain/aarch64-linux-gnu"}}, "root", []string{"/opt/toolchain/aarch64-linux-gnu"}},
		{`result = files.write("/Library/LaunchDaemons/x.plist", "<plist/>", 0o644, "root", "wheel")`, [][]string{{"<write>", "/Library/LaunchDaemons/x.plist", "0644", "root:wheel"}}, "root", []string{"/Library/LaunchDaemons/x.plist"}},
		{`result = mdutil.disable("/System/Volumes/Data")`, [][]string{{"/usr/bin/mdutil", "-i", "off", "/System/Volumes/Data"}}, "root", nil},
		{`result = pmset.set("ac", {"sleep": 0, "disksleep": 0, "womp": 1})`, [][]string{{"/usr/bin/pmset", "-c", "sleep", "0", "disksleep", "0", "womp", "1"}}, "root", nil},
		{`result = softwareupdate.install_rosetta()`, [][]string{{"/usr/sbin/softwareupdate", "--install-rosetta", "--agree-to-license"}}, "root", []string{"/Library/Apple/usr/libexec/oah"}},
		{`result = installer.install("/opt/pkgs/arm.pkg", footprint = ["/Applications/Arm"])`, [][]string{{"/usr/sbin/installer", "-pkg", "/opt/pkgs/arm.pkg", "-target", "/"}}, "root", []string{"/Applications/Arm"}},
		{`result = brew.install(["binutils", "qemu"])`, [][]string{{"/opt/homebrew/bin/brew", "install", "--formula", "binutils", "qemu"}}, "admin", nil},
		{`result = brew.install("messense/macos-cross-toolchains/aarch64-unknown-linux-gnu")`, [][]string{{"/opt/homebrew/bin/brew", "install", "--formula", "messense/macos-cross-toolchains/aarch64-unknown-linux-gnu"}}, "admin", nil},
		{`result = brew.install_cask("gcc-aarch64-embedded")`, [][]string{{"/opt/homebrew/bin/brew", "install", "--cask", "gcc-aarch64-embedded"}}, "admin", nil},
		{`result = brew.trust("messense/macos-cross-toolchains/aarch64-unknown-linux-gnu")`, [][]string{{"/opt/homebrew/bin/brew", "trust", "--formula", "messense/macos-cross-toolchains/aarch64-unknown-linux-gnu"}}, "admin", nil},
		{`result = download.fetch("https://github.com/actions/runner/releases/download/v2.335.1/actions-runner-osx-arm64-2.335.1.tar.gz", "/Users/ghrunner/runner.tgz", "E1A9BC7A3661E06FA0B129D15C2064FE65DC81A431001D8958A9DB1409B73769", size = 127138003)`,
			[][]string{{"<download>", "https://github.com/actions/runner/releases/download/v2.335.1/actions-runner-osx-arm64-2.335.1.tar.gz", "/Users/ghrunner/runner.tgz"}}, "root", []string{"/Users/ghrunner/runner.tgz"}},
		{`result = tar.extract("/Users/ghrunner/runner.tgz", "/Users/ghrunner/actions-runner", "ghrunner")`, [][]string{{"/usr/bin/tar", "-xzf", "/Users/ghrunner/runner.tgz", "-C", "/Users/ghrunner/actions-runner"}}, "ghrunner", []string{"/Users/ghrunner/actions-runner"}},
		{`result = launchctl.bootstrap("/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist")`, [][]string{{"/bin/launchctl", "bootstrap", "system", "/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist"}}, "root", []string{"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist"}},
		{`result = launchctl.bootout("actions.runner.sysprog21-elfuse.mini-1")`, [][]string{{"/bin/launchctl", "bootout", "system/actions.runner.sysprog21-elfuse.mini-1"}}, "root", []string{"/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist"}},
		{`result = launchctl.enable("x.y")`, [][]string{{"/bin/launchctl", "enable", "system/x.y"}}, "root", []string{"/Library/LaunchDaemons/x.y.plist"}},
		{`result = launchctl.kickstart("x.y")`, [][]string{{"/bin/launchctl", "kickstart", "-k", "system/x.y"}}, "root", []string{"/Library/LaunchDaemons/x.y.plist"}},
		{`result = sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`, [][]string{{"/usr/sbin/sysadminctl", "-addUser", "ghrunner", "-fullName", "GitHub Runner", "-shell", "/bin/zsh", "-home", "/Users/ghrunner", "-password", "-"}}, "root", []string{"/Users/ghrunner"}},
		{`result = sysadminctl.autologin_off()`, [][]string{{"/usr/sbin/sysadminctl", "-autologin", "off"}}, "root", nil},
		{`result = createhomedir.create("ghrunner")`, [][]string{{"/usr/sbin/createhomedir", "-c", "-u", "ghrunner"}}, "root", []string{"/Users/ghrunner"}},
		{`result = xcode_select.switch()`, [][]string{{"/usr/bin/xcode-select", "--switch", "/Library/Developer/CommandLineTools"}}, "root", []string{"/var/db/xcode_select_link"}},
		{`result = runner.configure("/Users/ghrunner/actions-runner", "https://github.com/sysprog21/elfuse", "mini-1", ["self-hosted", "macOS", "ARM64"], "_work", token, ["/opt/homebrew/bin", "/usr/bin", "/bin"], "ghrunner")`,
			[][]string{{"/Users/ghrunner/actions-runner/config.sh", "--unattended", "--url", "https://github.com/sysprog21/elfuse", "--name", "mini-1", "--labels", "self-hosted,macOS,ARM64", "--work", "_work", "--replace"}}, "ghrunner", []string{"/Users/ghrunner/actions-runner"}},
		{`result = runner.remove("/Users/ghrunner/actions-runner", token, "ghrunner")`, [][]string{{"/Users/ghrunner/actions-runner/config.sh", "remove"}}, "ghrunner", []string{"/Users/ghrunner/actions-runner"}},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			h := newScriptHost()
			s := testSession(t, h)
			as := actionsOf(t, mustEval(t, s, tt.src))
			if len(as) != len(tt.argv) {
				t.Fatalf("%d actions, want %d", len(as), len(tt.argv))
			}
			for i, a := range as {
				if !reflect.DeepEqual(a.Argv, tt.argv[i]) {
					t.Errorf("argv %q\nwant %q", a.Argv, tt.argv[i])
				}
				if i == 0 && a.User != tt.user {
					t.Errorf("user %q want %q", a.User, tt.user)
				}
				if i == 0 && !reflect.DeepEqual(a.Writes, tt.writes) {
					t.Errorf("writes %v want %v", a.Writes, tt.writes)
				}
			}
			if len(h.cmds) != 0 {
				t.Errorf("an action constructor ran commands: %v", h.argvs())
			}
		})
	}
}

func TestQueries(t *testing.T) {
	h := newScriptHost()
	h.on(swVersArgv, ok("ProductName:\t\tmacOS\nProductVersion:\t\t15.6\nBuildVersion:\t\t24G84\n"))
	h.on(sysctlArgv(), ok("hw.machine: arm64\nhw.model: Mac16,10\nmachdep.cpu.brand_string: Apple M4\nkern.hv_support: 1\nkern.hv_vmm_present: 0\n"))
	h.on([]string{"/usr/bin/pmset", "-g", "custom"}, ok("AC Power:\n sleep                1 (sleep prevented by sharingd)\n womp                 1\n"))
	h.on(usersArgv, ok("NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nRealName:\n GitHub Runner\nRecordName: ghrunner\nUniqueID: 502\nUserShell: /bin/zsh\n-\nNFSHomeDirectory: /var/empty\nPrimaryGroupID: 0\nRealName:\n System Administrator\nRecordName:\n root\n BUILTIN\\Local System\nUniqueID: 0\nUserShell: /bin/sh\n"))
	h.on([]string{"/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "ghrunner", "admin"}, host.Result{Stdout: "no ghrunner is NOT a member of admin\n", Exit: 67})
	h.on([]string{"/usr/bin/fdesetup", "status"}, ok("Encryption in progress: Percent completed = 41.5\n"))
	h.on([]string{"/usr/bin/mdutil", "-s", "/"}, ok("/:\n\tIndexing and searching disabled.\n"))
	h.on([]string{"/usr/bin/xcode-select", "-p"}, host.Result{Exit: 2, Stderr: "xcode-select: error: unable to get active developer directory"})
	h.on([]string{"/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto"}, host.Result{Exit: 1, Stderr: "No receipt for 'com.apple.pkg.RosettaUpdateAuto' found at '/'."})
	h.on([]string{"/bin/launchctl", "print", "system/x.y"}, host.Result{Exit: 113, Stderr: `Could not find service "x.y" in domain for system`})
	h.on([]string{"/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", "/opt/elfuse"}, host.Result{Stdout: entXML, Stderr: "Executable=/opt/elfuse\n"})
	h.on([]string{"/usr/bin/id", "-Gn", "nobody2"}, host.Result{Exit: 1, Stderr: "id: nobody2: no such user"})
	h.on([]string{"/usr/sbin/sysadminctl", "-secureTokenStatus", "ghrunner"}, host.Result{Stderr: "2026-05-02 14:24:45.258 sysadminctl[4291:66173] Secure token is DISABLED for user GitHub Runner\n"})
	h.on([]string{"/bin/df", "-k", "/System/Volumes/Data"}, ok("Filesystem   1024-blocks      Used  Available Capacity iused ifree %iused  Mounted on\n/dev/disk3s5   971350180 838860800  104857600    89% 3000000 20000   99%   /System/Volumes/Data\n"))
	h.on([]string{"/usr/bin/sqlite3", "-readonly", systemTCCDB, tccQuery}, host.Result{Exit: 1, Stderr: `Error: unable to open database "/Library/Application Support/com.apple.TCC/TCC.db": authorization denied`})
	h.files["/Users/ghrunner/actions-runner/.runner"] = append([]byte{0xEF, 0xBB, 0xBF}, `{"agentId":3,"agentName":"mini-1","gitHubUrl":"https://github.com/sysprog21/elfuse","workFolder":"_work"}`...)
	h.hashes["/opt/a.tgz"] = "5092abd7f9f318672e833a8ad99a88d3d9044afc6e7152b26740d18b29949141"
	s := testSession(t, h)
	tests := []struct{ expr, want string }{
		{`sw_vers.get().product_version`, `"15.6"`},
		{`sysctl.get()["machdep.cpu.brand_string"]`, `"Apple M4"`},
		{`pmset.get()`, `{"sleep": 1, "womp": 1}`},
		{`pmset.get("battery")`, `{}`},
		{`users.get("ghrunner")`, `struct(gid = 20, home = "/Users/ghrunner", name = "ghrunner", real_name = "GitHub Runner", shell = "/bin/zsh", uid = 502)`},
		{`users.get("nobody3")`, `None`},
		{`sorted(users.all().keys())`, `["ghrunner", "root"]`},
		{`dseditgroup.is_member("ghrunner")`, `False`},
		{`fdesetup.status()`, `struct(percent = 41.5, state = "encrypting")`},
		{`mdutil.status("/")`, `"disabled"`},
		{`xcode_select.path()`, `None`},
		{`pkgutil.receipt("com.apple.pkg.RosettaUpdateAuto")`, `None`},
		{`launchctl.print("x.y")`, `None`},
		{`codesign.entitlements("/opt/elfuse")`, `{"com.apple.security.hypervisor": True}`},
		{`id.groups("nobody2")`, `None`},
		{`sysadminctl.secure_token("ghrunner")`, `"disabled"`},
		{`df.free_bytes()`, `107374182400`},
		{`tcc.grants().reason[:11]`, `"cannot read"`},
		{`runner.registration("/Users/ghrunner/actions-runner").agent_name`, `"mini-1"`},
		{`runner.registration("/Users/ghrunner/other")`, `None`},
		{`shasum.sum("/opt/a.tgz")`, `"5092abd7f9f318672e833a8ad99a88d3d9044afc6e7152b26740d18b29949141"`},
		{`shasum.verify("/opt/a.tgz", "5092ABD7F9F318672E833A8AD99A88D3D9044AFC6E7152B26740D18B29949141")`, `True`},
		{`shasum.verify("/opt/a.tgz", "0" * 64)`, `False`},
		{`shasum.sum("/opt/none")`, `None`},
		{`runner.label("https://github.com/sysprog21/elfuse", "mini-1")`, `"actions.runner.sysprog21-elfuse.mini-1"`},
	}
	// The runner roots are in the runner account's home, which a recipe
	// reads only where it may write.
	s.AllowWrites("/Users/ghrunner")
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			v := mustEval(t, s, "result = "+tt.expr)
			if v.String() != tt.want {
				t.Errorf("got %s want %s", v, tt.want)
			}
		})
	}
	// Every family ran once, however often it was asked.
	mustEval(t, s, "result = [pmset.get(), pmset.get('ac'), users.get('root'), sw_vers.get()]")
	counts := map[string]int{}
	for _, a := range h.argvs() {
		counts[a]++
	}
	for a, n := range counts {
		if n > 1 {
			t.Errorf("%q ran %d times", a, n)
		}
	}
}

func TestFilesBatching(t *testing.T) {
	h := newScriptHost()
	h.stat("/Users/ghrunner", host.TypeDir, 0o750, "ghrunner", "staff", 384, "")
	h.stat("/opt/toolchain", host.TypeDir, 0o755, "root", "wheel", 96, "")
	h.acls["/Users/ghrunner"] = []string{"group:everyone deny delete"}
	s := testSession(t, h)
	v := mustEval(t, s, `
files.prefetch(["/Users/ghrunner", "/opt/toolchain", "/missing"])
a = files.stat("/Users/ghrunner")
b = files.stat("/missing")
c = files.stat("/opt/toolchain")
result = [a.mode, a.owner, a.type, b.exists, c.mode, files.acl("/Users/ghrunner"), files.acl("/opt/toolchain"), files.acl("/missing")]
`)
	if v.String() != `[488, "ghrunner", "dir", False, 493, ["group:everyone deny delete"], [], None]` {
		t.Errorf("got %s", v)
	}
	// The ACLs are read only for the paths the stat found.
	want := []string{"<stat> /Users/ghrunner /missing /opt/toolchain", "<acl> /Users/ghrunner /opt/toolchain"}
	if got := h.argvs(); !reflect.DeepEqual(got, want) {
		t.Errorf("queries %q, want one stat and one ACL read: %q", got, want)
	}
}

func TestAddUserRun(t *testing.T) {
	h := newScriptHost()
	argv := addUserArgv("ghrunner", "GitHub Runner", "/bin/zsh", "/Users/ghrunner", false)
	h.on(argv, host.Result{Stderr: "2026-05-02 14:24:45.258 sysadminctl[4291:66173] Creating user record…\n"})
	h.on([]string{"/usr/bin/id", "-u", "ghrunner"}, ok("502\n"))
	s := testSession(t, h)
	a := actionsOf(t, mustEval(t, s, `result = sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`))[0]
	if err := runAction(s, a); err != nil {
		t.Fatal(err)
	}
	c := h.cmds[0]
	if !c.TTY || !c.StdinSecret || string(c.Stdin) != "hunter2-secret\n" {
		t.Errorf("password not fed as a secret on a TTY: %+v", c)
	}
	for _, arg := range c.Argv {
		if strings.Contains(arg, "hunter2") {
			t.Errorf("password in argv: %q", c.Argv)
		}
	}
	for _, e := range s.Recorder().Transcript() {
		if strings.Contains(strings.Join(e.Argv, " "), "hunter2") {
			t.Errorf("password in transcript")
		}
	}

	// exit 0 but sysadminctl complained: failure, whatever the exit code.
	h2 := newScriptHost()
	h2.on(argv, host.Result{Stderr: "2026-05-02 14:24:45.258 sysadminctl[4291:66173] New account password error\n"})
	s2 := testSession(t, h2)
	a2 := actionsOf(t, mustEval(t, s2, `result = sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`))[0]
	err := runAction(s2, a2)
	var ae *engine.ActionError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an ActionError", err)
	}

	// Words right but the re-read finds no user: not confirmed.
	h3 := newScriptHost()
	h3.on(argv, host.Result{Stderr: "Creating user record…\n"})
	h3.on([]string{"/usr/bin/id", "-u", "ghrunner"}, host.Result{Exit: 1, Stderr: "id: ghrunner: no such user"})
	s3 := testSession(t, h3)
	a3 := actionsOf(t, mustEval(t, s3, `result = sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`))[0]
	if err := runAction(s3, a3); !isNotConfirmed(err) {
		t.Errorf("got %v, want not confirmed", err)
	}
}

func TestRunnerConfigureRun(t *testing.T) {
	root := "/Users/ghrunner/actions-runner"
	argv := []string{root + "/config.sh", "--unattended", "--url", "https://github.com/sysprog21/elfuse", "--name", "mini-1", "--labels", "self-hosted", "--work", "_work", "--replace"}
	archive, pin := "/Library/Caches/hvfctl/runner.tar.gz", strings.Repeat("ab", 32)
	// mk is a Mac whose runner root is what hvfctl unpacked from the
	// pinned archive.
	mk := func() *scriptHost {
		h := newScriptHost()
		h.on(argv, ok("√ Connected to GitHub\n√ Runner successfully added\n√ Settings Saved.\n"))
		// Only root's and another account's processes run.
		h.on(psArgv, ok("    0     1\n    0   310\n  501   422\n"))
		h.on([]string{"/bin/rm", "-f", root + "/.env"}, ok(""))
		// Nothing can start a process of the account while config.sh
		// runs: no crontab, no LaunchAgents, Remote Login off.
		h.on(usersArgv, ok("NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nRealName: GH Actions Runner\nRecordName: ghrunner\nUniqueID: 502\nUserShell: /bin/zsh\n"))
		h.statErrs[CronTabs+"/ghrunner"] = fs.ErrNotExist
		h.statErrs["/Users/ghrunner/Library/LaunchAgents"] = fs.ErrNotExist
		h.on(sshdPrint, host.Result{Exit: 113, Stderr: "Could not find service \"com.openssh.sshd\" in domain for system\n"})
		h.files[root+"/.runner"] = []byte(`{"agentId":1,"agentName":"mini-1"}`)
		h.hashes[archive] = pin
		h.stats[root] = host.FileInfo{Type: host.TypeDir, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 4}
		h.members[archive] = map[string]string{"config.sh": strings.Repeat("01", 32), "bin/Runner.Listener": strings.Repeat("02", 32), "externals/node": strings.Repeat("03", 32)}
		for name, sum := range map[string]string{"config.sh": strings.Repeat("01", 32), "bin/Runner.Listener": strings.Repeat("02", 32), "externals/node": strings.Repeat("03", 32)} {
			h.files[root+"/"+name] = []byte(name)
			h.hashes[root+"/"+name] = sum
			h.stats[root+"/"+name] = host.FileInfo{Type: host.TypeFile, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 1}
		}
		return h
	}
	configure := `result = runner.configure("` + root + `", "https://github.com/sysprog21/elfuse", "mini-1", ["self-hosted"], "_work", token, ["/opt/homebrew/bin", "/usr/bin"], "ghrunner", archive = "` + archive + `", sha256 = "` + pin + `")`
	// A config.sh that is not the archive's, a file in bin/ the archive
	// does not hold, a runner root owned by another account or reached
	// through a link, or no pin: config.sh never runs, the token goes
	// nowhere.
	for name, tamper := range map[string]func(h *scriptHost){
		"changed config.sh": func(h *scriptHost) { h.hashes[root+"/config.sh"] = strings.Repeat("ff", 32) },
		"extra in bin":      func(h *scriptHost) { h.files[root+"/bin/evil"] = []byte("x") },
		// node in externals runs every JavaScript action of later jobs.
		"changed externals/node": func(h *scriptHost) { h.hashes[root+"/externals/node"] = strings.Repeat("ff", 32) },
		"extra in externals":     func(h *scriptHost) { h.files[root+"/externals/evil.js"] = []byte("x") },
		"root owned by root": func(h *scriptHost) {
			h.stats[root] = host.FileInfo{Type: host.TypeDir, Mode: 0o755, Owner: "root", Nlink: 4}
		},
		"symlinked root": func(h *scriptHost) {
			h.stats[root] = host.FileInfo{Type: host.TypeSymlink, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 1, Target: "/tmp/r"}
		},
	} {
		h := mk()
		tamper(h)
		s := testSession(t, h)
		if err := runAction(s, actionsOf(t, mustEval(t, s, configure))[0]); err == nil || len(h.cmds) != 0 {
			t.Errorf("%s: config.sh ran (%v, %d commands)", name, err, len(h.cmds))
		}
	}
	// .runner is the runner account's file, and config.sh remove sends
	// the token to its gitHubUrl's API and a credential made from it to
	// its serverUrl: an address that is not GitHub's stops the action
	// before the token is revealed.
	for name, runnerFile := range map[string]string{
		"gitHubUrl elsewhere":      `{"agentId":1,"agentName":"mini-1","gitHubUrl":"https://attacker.example/o/r"}`,
		"serverUrl elsewhere":      `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://pipelines.attacker.example/x/"}`,
		"http":                     `{"agentId":1,"gitHubUrl":"http://github.com/o/r"}`,
		"look-alike host":          `{"agentId":1,"gitHubUrl":"https://github.com.attacker.example/o/r"}`,
		"suffix without the dot":   `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrlV2":"https://evilactions.githubusercontent.com/"}`,
		"user info":                `{"agentId":1,"gitHubUrl":"https://github.com@attacker.example/o/r"}`,
		"not a repository address": `{"agentId":1,"gitHubUrl":"https://github.com/o"}`,
		// Host names Go's url.Parse accepts and the runner's .NET Uri may
		// read otherwise: only letters, digits, hyphens and dots.
		"semicolon in the host":    `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://evil.example;.actions.githubusercontent.com/x/"}`,
		"escaped byte in the host": `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://evil.example%C2%A0.actions.githubusercontent.com/x/"}`,
		"ideographic full stop":    `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrlV2":"https://evil%E3%80%82example.actions.githubusercontent.com/"}`,
		"dollar in the host":       `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://evil$.actions.githubusercontent.com/"}`,
		"backslash in the path":    `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://pipelines.actions.githubusercontent.com/x\\@evil.example/"}`,
		"empty label":              `{"agentId":1,"gitHubUrl":"https://github.com/o/r","serverUrl":"https://a..actions.githubusercontent.com/"}`,
		"not JSON":                 `gitHubUrl=https://attacker.example`,
	} {
		h := mk()
		h.files[root+"/.runner"] = []byte(runnerFile)
		s := testSession(t, h)
		err := runAction(s, actionsOf(t, mustEval(t, s, configure))[0])
		for _, c := range h.cmds {
			if c.Argv[0] == argv[0] {
				t.Errorf("%s: config.sh ran (%v)", name, err)
			}
		}
		if err == nil {
			t.Errorf("%s: no refusal", name)
		}
	}
	// A process of the runner account (a job on another runner of the
	// account, or one a job left behind) could read the token from
	// config.sh's environment; a process table that is not whole (no
	// launchd), a line that is not two numbers, or a ps that fails is
	// no proof that none runs.
	for name, out := range map[string]host.Result{
		"a job of the account runs":  ok("    0     1\n  502  4242\n"),
		"no launchd in the listing":  ok("  501   422\n"),
		"a line that is not numbers": ok("    0     1\n  502  4242 evil\n"),
		"ps fails":                   {Exit: 1, Stderr: "ps: sysctl: Operation not permitted\n"},
	} {
		h := mk()
		h.replies[key(psArgv)] = []host.Result{out}
		s := testSession(t, h)
		err := runAction(s, actionsOf(t, mustEval(t, s, configure))[0])
		if err == nil || len(h.cmds) != 3 || h.cmds[2].Principal() != host.Root || !reflect.DeepEqual(h.cmds[2].Argv, psArgv) {
			t.Errorf("%s: config.sh ran (%v, %d commands)", name, err, len(h.cmds))
		}
		if name == "a job of the account runs" && (err == nil || !strings.Contains(err.Error(), "pid 4242")) {
			t.Errorf("%s: the refusal does not name the process: %v", name, err)
		}
	}
	h := mk()
	s := testSession(t, h)
	if err := runAction(s, actionsOf(t, mustEval(t, s, strings.Replace(configure, `, archive = "`+archive+`", sha256 = "`+pin+`"`, "", 1)))[0]); err == nil || len(h.cmds) != 0 {
		t.Errorf("without a pin: config.sh ran (%v)", err)
	}
	a := actionsOf(t, mustEval(t, s, configure))[0]
	if err := runAction(s, a); err != nil {
		t.Fatal(err)
	}
	if len(h.cmds) != 6 || !reflect.DeepEqual(h.cmds[0].Argv, usersArgv) || !reflect.DeepEqual(h.cmds[1].Argv, sshdPrint) ||
		!reflect.DeepEqual(h.cmds[2].Argv, psArgv) || h.cmds[2].Principal() != host.Root ||
		!reflect.DeepEqual(h.cmds[3].Argv, []string{"/bin/rm", "-f", root + "/.env"}) || h.cmds[3].User != "ghrunner" ||
		!reflect.DeepEqual(h.cmds[5].Argv, psArgv) || h.cmds[5].Principal() != host.Root {
		t.Fatalf("commands %+v: want the account read, Remote Login asked, ps as root, .env removed as ghrunner, config.sh, then ps again", h.cmds)
	}
	c := h.cmds[4]
	want := []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: "ABCDEFGHIJKLMNOPQRSTUVWXYZ123", Secret: true}, {Name: "PATH", Value: "/opt/homebrew/bin:/usr/bin"}}
	if !reflect.DeepEqual(c.Env, want) || c.Dir != root || c.User != "ghrunner" {
		t.Errorf("cmd %+v", c)
	}
	if strings.Contains(strings.Join(c.Argv, " "), "ABCDEFGHIJ") {
		t.Error("token in argv")
	}
}

// sshdPrint asks launchd whether Remote Login is on.
var sshdPrint = []string{"/bin/launchctl", "print", "system/com.openssh.sshd"}

// TestRunnerConfigureTokenWindow: config.sh gets the token only when
// nothing can start a process of the runner account while it runs (a
// crontab, a LaunchAgent, Remote Login open to the account), and a
// process of the account found right after it exited fails the action
// loudly, saying that the token may have been read.
func TestRunnerConfigureTokenWindow(t *testing.T) {
	root := "/Users/ghrunner/actions-runner"
	configSh := root + "/config.sh"
	archive, pin := "/Library/Caches/hvfctl/runner.tar.gz", strings.Repeat("ab", 32)
	argv := []string{configSh, "--unattended", "--url", "https://github.com/sysprog21/elfuse", "--name", "mini-1", "--labels", "self-hosted", "--work", "_work", "--replace"}
	sshdLoaded := ok("system/com.openssh.sshd = {\n\tactive count = 0\n\tpath = /System/Library/LaunchDaemons/ssh.plist\n\tstate = waiting\n}\n")
	groups := func(names ...string) host.Result {
		return ok(strings.Join(append([]string{"_www", "admin", "staff"}, names...), "\n") + "\n")
	}
	member := func(g string, yes bool) ([]string, host.Result) {
		argv := []string{"/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "ghrunner", g}
		if yes {
			return argv, ok("yes ghrunner is a member of " + g + "\n")
		}
		return argv, host.Result{Exit: 67, Stdout: "no ghrunner is NOT a member of " + g + "\n"}
	}
	mk := func() *scriptHost {
		h := newScriptHost()
		h.on(argv, ok("√ Runner successfully added\n√ Settings Saved.\n"))
		h.on(psArgv, ok("    0     1\n  501   422\n"))
		h.on([]string{"/bin/rm", "-f", root + "/.env"}, ok(""))
		h.on(usersArgv, ok("NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nRecordName: ghrunner\nUniqueID: 502\n"))
		h.statErrs[CronTabs+"/ghrunner"] = fs.ErrNotExist
		h.statErrs[AtJobs] = fs.ErrNotExist
		h.statErrs["/Users/ghrunner/Library/LaunchAgents"] = fs.ErrNotExist
		h.on(sshdPrint, host.Result{Exit: 113})
		h.files[root+"/.runner"] = []byte(`{"agentId":1,"agentName":"mini-1"}`)
		h.hashes[archive] = pin
		h.stats[root] = host.FileInfo{Type: host.TypeDir, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 4}
		h.members[archive] = map[string]string{"config.sh": strings.Repeat("01", 32)}
		h.files[configSh] = []byte("config.sh")
		h.hashes[configSh] = strings.Repeat("01", 32)
		h.stats[configSh] = host.FileInfo{Type: host.TypeFile, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 1}
		return h
	}
	configure := `result = runner.configure("` + root + `", "https://github.com/sysprog21/elfuse", "mini-1", ["self-hosted"], "_work", token, ["/usr/bin"], "ghrunner", archive = "` + archive + `", sha256 = "` + pin + `")`
	ran := func(h *scriptHost) bool {
		for _, c := range h.cmds {
			if c.Argv[0] == configSh {
				return true
			}
		}
		return false
	}
	for _, tc := range []struct {
		name  string
		setup func(h *scriptHost)
		want  string // in the error; "" = config.sh runs and the action succeeds
	}{
		{"nothing starts a process", func(h *scriptHost) {}, ""},
		{"a crontab", func(h *scriptHost) {
			h.stats[CronTabs+"/ghrunner"] = host.FileInfo{Type: host.TypeFile, Mode: 0o600, Owner: "root", Nlink: 1}
		}, "has a crontab"},
		// at(1) hands each job file to the account that queued it, and
		// atrun runs it as the file's owner.
		{"an at job", func(h *scriptHost) {
			delete(h.statErrs, AtJobs)
			h.stats[AtJobs+"/a0000101b2c3d4"] = host.FileInfo{Type: host.TypeFile, Mode: 0o700, UID: 502, Owner: "ghrunner", Nlink: 1}
		}, "has an at job"},
		{"another account's at job", func(h *scriptHost) {
			delete(h.statErrs, AtJobs)
			h.stats[AtJobs+"/a0000101b2c3d4"] = host.FileInfo{Type: host.TypeFile, Mode: 0o700, UID: 501, Owner: "admin", Nlink: 1}
		}, ""},
		{"a LaunchAgent", func(h *scriptHost) {
			delete(h.statErrs, "/Users/ghrunner/Library/LaunchAgents")
			h.stats["/Users/ghrunner/Library/LaunchAgents/evil.plist"] = host.FileInfo{Type: host.TypeFile, Mode: 0o644, Owner: "ghrunner", Nlink: 1}
		}, "evil.plist"},
		{"Remote Login for all users", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{sshdLoaded}
			h.on(groupsArgv, groups())
		}, "Remote Login is on for all users"},
		{"Remote Login, the account in com.apple.access_ssh", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{sshdLoaded}
			h.on(groupsArgv, groups("com.apple.access_ssh"))
			h.on(member("com.apple.access_ssh", true))
		}, "is in com.apple.access_ssh"},
		{"Remote Login, only others in com.apple.access_ssh", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{sshdLoaded}
			h.on(groupsArgv, groups("com.apple.access_ssh"))
			h.on(member("com.apple.access_ssh", false))
		}, ""},
		// com.apple.access_all_services decides for every service when
		// it exists (mbr_check_service_membership asks it first).
		{"Remote Login, access_all_services without the account", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{sshdLoaded}
			h.on(groupsArgv, groups("com.apple.access_all_services", "com.apple.access_ssh"))
			h.on(member("com.apple.access_all_services", false))
			h.on(member("com.apple.access_ssh", true))
		}, ""},
		{"a checkmember without an answer", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{sshdLoaded}
			h.on(groupsArgv, groups("com.apple.access_ssh"))
			h.on([]string{"/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "ghrunner", "com.apple.access_ssh"}, host.Result{Exit: 64, Stderr: "Group not found.\n"})
		}, "checkmember"},
		{"launchctl fails", func(h *scriptHost) {
			h.replies[key(sshdPrint)] = []host.Result{{Exit: 5, Stderr: "Input/output error\n"}}
		}, "launchctl print system/com.openssh.sshd exited 5"},
		{"a process appears while config.sh runs", func(h *scriptHost) {
			h.replies[key(psArgv)] = []host.Result{ok("    0     1\n"), ok("    0     1\n  502  4343\n")}
		}, "MAY HAVE BEEN READ"},
		{"ps fails after config.sh", func(h *scriptHost) {
			h.replies[key(psArgv)] = []host.Result{ok("    0     1\n"), {Exit: 1, Stderr: "ps: sysctl failed\n"}}
		}, "is not known"},
	} {
		h := mk()
		tc.setup(h)
		s := testSession(t, h)
		err := runAction(s, actionsOf(t, mustEval(t, s, configure))[0])
		after := tc.name == "a process appears while config.sh runs" || tc.name == "ps fails after config.sh"
		switch {
		case tc.want == "" && (err != nil || !ran(h)):
			t.Errorf("%s: want config.sh to run, got %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: want an error with %q, got %v", tc.name, tc.want, err)
		case tc.want != "" && ran(h) != after:
			t.Errorf("%s: config.sh ran: %v", tc.name, ran(h))
		}
		if after && err != nil && (!strings.Contains(err.Error(), "expires one hour") || !strings.Contains(err.Error(), "Settings > Actions > Runners")) {
			t.Errorf("%s: the error does not say what to do: %v", tc.name, err)
		}
		if tc.name == "a process appears while config.sh runs" && err != nil && !strings.Contains(err.Error(), "pid 4343") {
			t.Errorf("%s: the error does not name the process: %v", tc.name, err)
		}
	}
}

func TestLaunchctlRun(t *testing.T) {
	label := "actions.runner.sysprog21-elfuse.mini-1"
	p := "/Library/LaunchDaemons/" + label + ".plist"
	printArgv := []string{"/bin/launchctl", "print", "system/" + label}
	running := ok("system/" + label + " = {\n\tstate = running\n\tpid = 812\n}\n")
	gone := host.Result{Exit: 113}
	tests := []struct {
		name   string
		src    string
		script func(h *scriptHost)
		ok     bool
	}{
		{"bootstrap of a plist root cannot vouch for", `launchctl.bootstrap("` + p + `")`, func(h *scriptHost) {
			h.files[p] = []byte(plistOf(t, map[string]any{"Label": label, "ProgramArguments": []any{"/Users/ghrunner/evil"}}))
			h.stats["/Users/ghrunner/evil"] = host.FileInfo{Type: host.TypeFile, Mode: 0o755, UID: 502, Owner: "ghrunner", Nlink: 1}
			h.stats["/Users/ghrunner"] = host.FileInfo{Type: host.TypeDir, Mode: 0o750, UID: 502, Owner: "ghrunner", Nlink: 3}
			h.on([]string{"/bin/launchctl", "bootstrap", "system", p}, ok(""))
			h.on(printArgv, running)
		}, false},
		{"bootstrap of a plist owned by the runner", `launchctl.bootstrap("` + p + `")`, func(h *scriptHost) {
			h.files[p] = []byte(plistOf(t, map[string]any{"Label": label, "ProgramArguments": []any{"/usr/bin/true"}}))
			h.stats[p] = host.FileInfo{Type: host.TypeFile, Mode: 0o644, UID: 502, Owner: "ghrunner", Nlink: 1}
			h.on([]string{"/bin/launchctl", "bootstrap", "system", p}, ok(""))
			h.on(printArgv, running)
		}, false},
		{"bootstrap 5 hiding success", `launchctl.bootstrap("` + p + `")`, func(h *scriptHost) {
			h.on([]string{"/bin/launchctl", "bootstrap", "system", p}, host.Result{Exit: 5, Stderr: "Bootstrap failed: 5: Input/output error"})
			h.on(printArgv, running)
		}, true},
		{"bootstrap 5 real failure", `launchctl.bootstrap("` + p + `")`, func(h *scriptHost) {
			h.on([]string{"/bin/launchctl", "bootstrap", "system", p}, host.Result{Exit: 5})
			h.on(printArgv, gone)
		}, false},
		{"bootstrap 122", `launchctl.bootstrap("` + p + `")`, func(h *scriptHost) {
			h.on([]string{"/bin/launchctl", "bootstrap", "system", p}, host.Result{Exit: 122})
		}, false},
		{"bootout polls until 113", `launchctl.bootout("` + label + `")`, func(h *scriptHost) {
			h.on([]string{"/bin/launchctl", "bootout", "system/" + label}, ok(""))
			h.on(printArgv, running, gone)
		}, true},
		{"bootout of an unknown job", `launchctl.bootout("` + label + `")`, func(h *scriptHost) {
			h.on([]string{"/bin/launchctl", "bootout", "system/" + label}, host.Result{Exit: 113})
			h.on(printArgv, gone)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScriptHost()
			h.files[p] = []byte(plistOf(t, map[string]any{"Label": label, "UserName": "ghrunner", "ProgramArguments": []any{"/usr/bin/true"}}))
			h.stats["/usr/bin/true"] = host.FileInfo{Type: host.TypeFile, Mode: 0o755, Owner: "root", Nlink: 1}
			tt.script(h)
			s := testSession(t, h)
			err := runAction(s, actionsOf(t, mustEval(t, s, "result = "+tt.src))[0])
			if (err == nil) != tt.ok {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// plistOf encodes a launchd plist body.
func plistOf(t *testing.T, body map[string]any) string {
	t.Helper()
	s, err := EncodePlist(body)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTarExtractRun(t *testing.T) {
	extract := []string{"/usr/bin/tar", "-xzf", "/Users/ghrunner/r.tgz", "-C", "/Users/ghrunner/actions-runner"}
	for _, tt := range []struct {
		name    string
		entries []tarcheck.Entry
		ok      bool
	}{
		{"plain", []tarcheck.Entry{{Name: "config.sh", Type: tarcheck.File, Mode: 0o755}}, true},
		{"absolute link", []tarcheck.Entry{{Name: "evil", Type: tarcheck.Symlink, Linkname: "/etc"}}, false},
		{"arrow in the name", []tarcheck.Entry{{Name: "a -> b", Type: tarcheck.Symlink, Linkname: "/etc"}}, false},
		{"dotdot", []tarcheck.Entry{{Name: "../../.zshrc", Type: tarcheck.File, Mode: 0o644}}, false},
	} {
		h := newScriptHost()
		h.archives["/Users/ghrunner/r.tgz"] = tt.entries
		h.on(extract, ok(""))
		s := testSession(t, h)
		err := runAction(s, actionsOf(t, mustEval(t, s, `result = tar.extract("/Users/ghrunner/r.tgz", "/Users/ghrunner/actions-runner", "ghrunner")`))[0])
		if (err == nil) != tt.ok {
			t.Errorf("%s: err = %v", tt.name, err)
		}
		extracted := false
		for _, a := range h.argvs() {
			extracted = extracted || a == strings.Join(extract, " ")
		}
		if extracted != tt.ok {
			t.Errorf("%s: extracted = %v", tt.name, extracted)
		}
	}
}

// TestTarExtractRunAs: as root the extraction is the host's in-process
// primitive with the pin; as another account the pin is checked with
// <sha256> before bsdtar reads the archive, and uid 0 under another name
// is refused.
func TestTarExtractRunAs(t *testing.T) {
	const archive, dest = "/Library/Caches/hvfctl/t.tgz", "/opt/toolchain/dist/t"
	pin := strings.Repeat("ab", 32)
	entries := []tarcheck.Entry{{Name: "bin/", Type: tarcheck.Dir, Mode: 0o755}, {Name: "bin/gcc", Type: tarcheck.File, Mode: 0o755}}
	t.Run("root", func(t *testing.T) {
		h := newScriptHost()
		h.archives[archive] = entries
		s := testSession(t, h)
		a := actionsOf(t, mustEval(t, s, `result = tar.extract("`+archive+`", "`+dest+`", "root", sha256 = "`+strings.ToUpper(pin)+`")`))[0]
		if got := strings.Join(a.Argv, " "); got != "<tar-extract> "+archive+" "+dest || a.User != "root" {
			t.Fatalf("argv %q as %s", got, a.User)
		}
		if err := runAction(s, a); err != nil {
			t.Fatal(err)
		}
		if len(h.extracts) != 1 || h.extracts[0] != (host.ExtractRequest{Archive: archive, Dest: dest, SHA256: pin}) {
			t.Errorf("extracts %+v", h.extracts)
		}
		if len(h.argvs()) != 0 {
			t.Errorf("a program ran: %v", h.argvs())
		}
	})
	extract := "/usr/bin/tar -xzf " + archive + " -C " + dest
	for _, tt := range []struct {
		name, user, sum string
		ok              bool
	}{
		{"pin matches", "ghrunner", pin, true},
		{"pin differs", "ghrunner", strings.Repeat("cd", 32), false},
		{"uid 0 under another name", "Root", pin, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newScriptHost()
			h.archives[archive] = entries
			h.hashes[archive] = tt.sum
			h.on(strings.Fields(extract), ok(""))
			s := testSession(t, h)
			err := runAction(s, actionsOf(t, mustEval(t, s, `result = tar.extract("`+archive+`", "`+dest+`", "`+tt.user+`", sha256 = "`+pin+`")`))[0])
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v", err)
			}
			if want := map[string]string{"pin differs": "checksum", "uid 0 under another name": "uid 0"}[tt.name]; want != "" && !strings.Contains(err.Error(), want) {
				t.Errorf("err = %v, want it to name %q", err, want)
			}
			ran := false
			for _, a := range h.argvs() {
				ran = ran || a == extract
			}
			if ran != tt.ok {
				t.Errorf("bsdtar ran = %v", ran)
			}
		})
	}
}

func TestCLTInstallRun(t *testing.T) {
	h := newScriptHost()
	h.on([]string{"/usr/sbin/softwareupdate", "-l"}, ok("* Label: Command Line Tools for Xcode-16.4\n* Label: Command Line Tools for Xcode 26.1-26.1.1\n* Label: Command Line Tools beta for Xcode 26.2-26.2\n"))
	h.on([]string{"/usr/sbin/softwareupdate", "-i", "Command Line Tools for Xcode 26.1-26.1.1"}, ok("Done.\n"))
	h.on([]string{"/bin/rm", "-f", cltMarker}, ok(""))
	h.on([]string{"/usr/bin/xcode-select", "--switch", cltPath}, ok(""))
	h.on([]string{"/usr/bin/xcode-select", "-p"}, ok(cltPath+"\n"))
	h.stat(cltGit, host.TypeFile, 0o755, "root", "wheel", 167120, "")
	s := testSession(t, h)
	if err := runAction(s, actionsOf(t, mustEval(t, s, `result = softwareupdate.install_clt()`))[0]); err != nil {
		t.Fatal(err)
	}
	if len(h.writes) != 1 || h.writes[0].Path != cltMarker || h.writes[0].Mode != 0o644 {
		t.Errorf("marker writes %+v", h.writes)
	}
	want := []string{"/usr/sbin/softwareupdate -l", "/usr/sbin/softwareupdate -i Command Line Tools for Xcode 26.1-26.1.1", "/usr/bin/xcode-select --switch " + cltPath, "/usr/bin/xcode-select -p", strings.Join(statArgv([]string{cltGit}), " "), "/bin/rm -f " + cltMarker}
	if got := h.argvs(); !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q\nwant %q", got, want)
	}
}

func TestPmsetSetRun(t *testing.T) {
	h := newScriptHost()
	h.on([]string{"/usr/bin/pmset", "-c", "sleep", "0", "womp", "1"}, ok(""))
	h.on([]string{"/usr/bin/pmset", "-g", "custom"}, ok("AC Power:\n sleep                0\n womp                 0\n"))
	s := testSession(t, h)
	err := runAction(s, actionsOf(t, mustEval(t, s, `result = pmset.set("ac", {"sleep": 0, "womp": 1})`))[0])
	if !isNotConfirmed(err) {
		t.Errorf("womp did not change but got %v", err)
	}
}

func TestPlistRoundTrip(t *testing.T) {
	s := testSession(t, newScriptHost())
	v := mustEval(t, s, `
d = {"Label": "x.y", "ProgramArguments": ["/a/runsvc.sh"], "RunAtLoad": True, "HardResourceLimits": {"NumberOfFiles": 4096}, "Name": "a <b> & c"}
text = plist.encode(d)
result = [plist.decode(text) == d, text]
`)
	l := v.(*starlark.List)
	if l.Index(0) != starlark.True {
		t.Errorf("round trip differs: %s", l.Index(1))
	}
	if !strings.Contains(string(l.Index(1).(starlark.String)), "a &lt;b&gt; &amp; c") {
		t.Errorf("not escaped: %s", l.Index(1))
	}
}
