package builtins

import (
	"errors"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// busy is a failure that is none of a tool's documented answers: an
// exit status of its own and a complaint on stderr.
var busy = host.Result{Exit: 3, Stderr: "first line of noise\nsimulated: Resource busy\n"}

// TestQueryAbsentVersusFailure runs every query that has a documented
// "absent" answer twice per case: once with that answer, which must read
// as a state of the host, and once with a failure of the command, which
// must fail the query with an error naming the command, its exit status
// and the tail of its stderr, never a state and never unknown.
func TestQueryAbsentVersusFailure(t *testing.T) {
	const acct = "ghrunner"
	tests := []struct {
		name string
		expr string
		argv []string
		res  host.Result
		// want is the value's String() when the query succeeds; wantErr
		// lists what the error must hold when it fails.
		want    string
		wantErr []string
	}{
		{"fdesetup on", `fdesetup.status().state`, []string{"/usr/bin/fdesetup", "status"},
			ok("FileVault is On.\n"), `"on"`, nil},
		{"fdesetup unparsed output", `fdesetup.status().state`, []string{"/usr/bin/fdesetup", "status"},
			ok("something new\n"), `"unknown"`, nil},
		{"fdesetup fails", `fdesetup.status()`, []string{"/usr/bin/fdesetup", "status"},
			busy, "", []string{"fdesetup status exited 3", "simulated: Resource busy"}},

		{"id no such user", `id.groups("nobody2")`, []string{"/usr/bin/id", "-Gn", "nobody2"},
			host.Result{Exit: 1, Stderr: "id: nobody2: no such user\n"}, `None`, nil},
		{"id fails", `id.groups("nobody2")`, []string{"/usr/bin/id", "-Gn", "nobody2"},
			busy, "", []string{"id -Gn nobody2 exited 3", "simulated: Resource busy"}},
		{"id no such user text with another status", `id.groups("nobody2")`, []string{"/usr/bin/id", "-Gn", "nobody2"},
			host.Result{Exit: 2, Stderr: "id: nobody2: no such user\n"}, "", []string{"id -Gn nobody2 exited 2"}},
		{"id another user's complaint", `id.groups("nobody2")`, []string{"/usr/bin/id", "-Gn", "nobody2"},
			host.Result{Exit: 1, Stderr: "id: other: no such user\n"}, "", []string{"id -Gn nobody2 exited 1"}},

		{"defaults unset", `defaults.read("com.example.app", "Key")`, []string{"/usr/bin/defaults", "read", "com.example.app", "Key"},
			host.Result{Exit: 1, Stderr: "2026-05-02 14:24:45.258 defaults[1:2]\nThe domain/default pair of (com.example.app, Key) does not exist\n"}, `None`, nil},
		{"defaults unset, said on stdout", `defaults.read("com.example.app", "Key")`, []string{"/usr/bin/defaults", "read", "com.example.app", "Key"},
			host.Result{Exit: 1, Stdout: "\nThe domain/default pair of (com.example.app, Key) does not exist\n"}, `None`, nil},
		{"autologin unset, said on stdout", `sysadminctl.autologin()`, autologinArgv,
			host.Result{Exit: 1, Stdout: "The domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) does not exist\n"}, `None`, nil},
		{"defaults set", `defaults.read("com.example.app", "Key")`, []string{"/usr/bin/defaults", "read", "com.example.app", "Key"},
			ok("value\n"), `"value"`, nil},
		{"defaults fails", `defaults.read("com.example.app", "Key")`, []string{"/usr/bin/defaults", "read", "com.example.app", "Key"},
			busy, "", []string{"defaults read com.example.app Key exited 3", "simulated: Resource busy"}},
		{"autologin unset", `sysadminctl.autologin()`, autologinArgv,
			host.Result{Exit: 1, Stderr: "The domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) does not exist\n"}, `None`, nil},
		{"autologin fails", `sysadminctl.autologin()`, autologinArgv,
			busy, "", []string{"defaults read /Library/Preferences/com.apple.loginwindow autoLoginUser exited 3", "simulated: Resource busy"}},
		{"icloud signed out", `icloud.signed_in("` + acct + `")`, []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"},
			host.Result{Exit: 1, Stderr: "The domain/default pair of (MobileMeAccounts, Accounts) does not exist\n"}, `False`, nil},
		{"icloud fails", `icloud.signed_in("` + acct + `")`, []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"},
			busy, "", []string{"defaults read MobileMeAccounts Accounts as " + acct + " exited 3", "simulated: Resource busy"}},

		{"mdutil disabled", `mdutil.status("/")`, []string{"/usr/bin/mdutil", "-s", "/"},
			ok("/:\n\tIndexing disabled.\n"), `"disabled"`, nil},
		{"mdutil fails", `mdutil.status("/")`, []string{"/usr/bin/mdutil", "-s", "/"},
			busy, "", []string{"mdutil -s / exited 3", "simulated: Resource busy"}},

		{"tcc without full disk access", `tcc.grants().reason[:11]`, []string{"/usr/bin/sqlite3", "-readonly", systemTCCDB, tccQuery},
			host.Result{Exit: 1, Stderr: `Error: unable to open database "/Library/Application Support/com.apple.TCC/TCC.db": authorization denied`}, `"cannot read"`, nil},
		{"tcc fails", `tcc.grants()`, []string{"/usr/bin/sqlite3", "-readonly", systemTCCDB, tccQuery},
			busy, "", []string{"sqlite3 -readonly " + systemTCCDB + " exited 3", "simulated: Resource busy"}},

		{"dseditgroup no with 67", `dseditgroup.is_member("` + acct + `")`, []string{"/usr/sbin/dseditgroup", "-o", "checkmember", "-m", acct, "admin"},
			host.Result{Exit: 67, Stdout: "no ghrunner is NOT a member of admin\n"}, `False`, nil},
		{"dseditgroup fails", `dseditgroup.is_member("` + acct + `")`, []string{"/usr/sbin/dseditgroup", "-o", "checkmember", "-m", acct, "admin"},
			busy, "", []string{"dseditgroup -o checkmember -m ghrunner admin exited 3", "simulated: Resource busy"}},

		{"secure token", `sysadminctl.secure_token("` + acct + `")`, []string{"/usr/sbin/sysadminctl", "-secureTokenStatus", acct},
			host.Result{Stderr: "2026-05-02 14:24:45.258 sysadminctl[4291:66173] Secure token is DISABLED for user GitHub Runner\n"}, `"disabled"`, nil},
		{"secure token fails", `sysadminctl.secure_token("` + acct + `")`, []string{"/usr/sbin/sysadminctl", "-secureTokenStatus", acct},
			busy, "", []string{"sysadminctl -secureTokenStatus ghrunner exited 3", "simulated: Resource busy"}},

		{"codesign unsigned", `codesign.entitlements("/opt/elfuse")`, []string{"/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", "/opt/elfuse"},
			host.Result{Exit: 1, Stderr: "/opt/elfuse: code object is not signed at all\n"}, `{}`, nil},
		{"codesign fails", `codesign.entitlements("/opt/elfuse")`, []string{"/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", "/opt/elfuse"},
			busy, "", []string{"codesign -d --entitlements - --xml /opt/elfuse exited 3", "simulated: Resource busy"}},

		{"xcode-select none", `xcode_select.path()`, []string{"/usr/bin/xcode-select", "-p"},
			host.Result{Exit: 2, Stderr: "xcode-select: error: unable to get active developer directory, use `sudo xcode-select --switch path/to/Xcode.app` to set one\n"}, `None`, nil},
		{"xcode-select fails with 2", `xcode_select.path()`, []string{"/usr/bin/xcode-select", "-p"},
			host.Result{Exit: 2, Stderr: "simulated: Resource busy\n"}, "", []string{"xcode-select -p exited 2", "simulated: Resource busy"}},

		{"pkgutil no receipt", `pkgutil.receipt("com.apple.pkg.RosettaUpdateAuto")`, []string{"/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto"},
			host.Result{Exit: 1, Stderr: "No receipt for 'com.apple.pkg.RosettaUpdateAuto' found at '/'.\n"}, `None`, nil},
		{"pkgutil fails", `pkgutil.receipt("com.apple.pkg.RosettaUpdateAuto")`, []string{"/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto"},
			busy, "", []string{"pkgutil --pkg-info com.apple.pkg.RosettaUpdateAuto exited 3", "simulated: Resource busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScriptHost()
			h.on(tt.argv, tt.res)
			// files.acl asks ls only about paths the stat finds.
			h.stat("/opt", host.TypeDir, 0o755, "root", "wheel", 96, "")
			if strings.Contains(tt.expr, "icloud") || strings.Contains(tt.expr, "tcc") {
				h.on(usersArgv, ok("NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nRecordName: ghrunner\nUniqueID: 502\nUserShell: /bin/zsh\n"))
			}
			s := testSession(t, h)
			v, err := eval(t, s, "result = "+tt.expr)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("got error %v, want %s", err, tt.want)
				}
				if v.String() != tt.want {
					t.Errorf("got %s, want %s", v, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %s, want an error holding %q", v, tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not hold %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "unknown") {
				t.Errorf("error %q calls the failure unknown", err)
			}
		})
	}
}

// TestReCheckAbsentVersusFailure runs actions whose confirmation re-reads
// the host: the documented absent answer of the re-read means the change
// is not there (engine.ErrNotConfirmed); a failure of the re-read is an
// error naming the re-reading command, its exit status and its stderr.
func TestReCheckAbsentVersusFailure(t *testing.T) {
	addUser := addUserArgv("ghrunner", "GitHub Runner", "/bin/zsh", "/Users/ghrunner", false)
	brewList := brewCmd("admin", "list", "--formula", "--versions").Argv
	brewInstall := brewCmd("admin", "install", "--formula", "binutils").Argv
	idU := []string{"/usr/bin/id", "-u", "ghrunner"}
	mdOff, mdS := []string{"/usr/bin/mdutil", "-i", "off", "/"}, []string{"/usr/bin/mdutil", "-s", "/"}
	alOff := []string{"/usr/sbin/sysadminctl", "-autologin", "off"}
	// Each case scripts the action's command (first) and its re-read
	// (reread): either the re-read's documented "not there" answer or a
	// failure.
	tests := []struct {
		name          string
		expr          string
		first, reread []string
		rereadRes     host.Result
		wantNC        bool
		wantErr       []string
	}{
		{"id re-read finds no user", `sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`, addUser, idU,
			host.Result{Exit: 1, Stderr: "id: ghrunner: no such user\n"}, true, nil},
		{"id re-read fails", `sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`, addUser, idU,
			busy, false, []string{"id -u ghrunner exited 3", "simulated: Resource busy"}},
		{"brew list lacks the formula", `brew.install("binutils")`, brewInstall, brewList,
			ok("make 4.4.1\n"), true, nil},
		{"brew list fails", `brew.install("binutils")`, brewInstall, brewList,
			busy, false, []string{"brew list --formula --versions exited 3", "simulated: Resource busy"}},
		{"mdutil still enabled", `mdutil.disable("/")`, mdOff, mdS,
			ok("/:\n\tIndexing enabled.\n"), true, nil},
		{"mdutil re-read fails", `mdutil.disable("/")`, mdOff, mdS,
			busy, false, []string{"mdutil -s / exited 3", "simulated: Resource busy"}},
		{"autologin still set", `sysadminctl.autologin_off()`, alOff, autologinArgv,
			ok("ghrunner\n"), true, nil},
		{"autologin re-read fails", `sysadminctl.autologin_off()`, alOff, autologinArgv,
			busy, false, []string{"autoLoginUser exited 3", "simulated: Resource busy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScriptHost()
			h.on(tt.first, host.Result{Stderr: "2026-05-02 14:24:45.258 sysadminctl[4291:66173] Creating user record…\n"})
			h.on(tt.reread, tt.rereadRes)
			s := testSession(t, h)
			a := actionsOf(t, mustEval(t, s, "result = "+tt.expr))[0]
			err := runAction(s, a)
			if err == nil {
				t.Fatal("the action succeeded")
			}
			if tt.wantNC != isNotConfirmed(err) {
				t.Errorf("not confirmed = %v, want %v: %v", isNotConfirmed(err), tt.wantNC, err)
			}
			var ae *engine.ActionError
			if !errors.As(err, &ae) {
				t.Errorf("got %T, want an ActionError", err)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not hold %q", err, w)
				}
			}
		})
	}
}
