package fakemac

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// mustNew builds a preset or fails the test.
func mustNew(t *testing.T, preset string) *Mac {
	t.Helper()
	m, err := New(preset)
	if err != nil {
		t.Fatalf("New(%q): %v", preset, err)
	}
	return m
}

// exec runs a command and fails the test if it could not run at all.
func exec(t *testing.T, m *Mac, cmd host.Command) host.Result {
	t.Helper()
	r, err := m.Run(context.Background(), cmd)
	if err != nil {
		t.Fatalf("Run(%q as %q): %v", cmd.Argv, cmd.Principal(), err)
	}
	return r
}

func as(user string, argv ...string) host.Command { return host.Command{Argv: argv, User: user} }

// nslog matches the NSLog prefix sysadminctl and defaults print.
var nslog = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} [a-z]+\[\d+:\d+\] `)

// TestQueries pins each query's output against the reference samples and
// rules (macos-facts.md §1).
func TestQueries(t *testing.T) {
	tests := []struct {
		name       string
		preset     string
		cmd        host.Command
		exit       int
		stdout     string // exact, unless empty
		contains   []string
		stderrHas  string
		stdoutNone string
	}{
		{name: "sw_vers", preset: "fresh-m4", cmd: as("admin", "/usr/bin/sw_vers"),
			stdout: "ProductName:\t\tmacOS\nProductVersion:\t\t26.1\nBuildVersion:\t\t25B78\n"},
		{name: "sw_vers on Sequoia", preset: "fresh-m4-sequoia", cmd: as("admin", "/usr/bin/sw_vers"),
			stdout: "ProductName:\t\tmacOS\nProductVersion:\t\t15.6\nBuildVersion:\t\t24G84\n"},
		{name: "sw_vers -productVersion", preset: "drifted", cmd: as("admin", "/usr/bin/sw_vers", "-productVersion"), stdout: "26.2\n"},
		{name: "sysctl facts in order", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/sysctl", "hw.machine", "hw.model", "machdep.cpu.brand_string", "kern.hv_support", "kern.hv_vmm_present"),
			stdout: "hw.machine: arm64\nhw.model: Mac16,10\nmachdep.cpu.brand_string: Apple M4\nkern.hv_support: 1\nkern.hv_vmm_present: 0\n"},
		{name: "sysctl -n", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/sysctl", "-n", "machdep.cpu.brand_string"), stdout: "Apple M4\n"},
		{name: "sysctl unknown oid", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/sysctl", "kern.nope"), exit: 1, stderrHas: "unknown oid 'kern.nope'"},
		{name: "df header and numeric columns", preset: "fresh-m4", cmd: as("admin", "/bin/df", "-k", "/System/Volumes/Data"),
			contains: []string{"Filesystem   1024-blocks", "Available Capacity", "/dev/disk3s5", " 402653184 ", "/System/Volumes/Data\n"}},
		{name: "df missing path", preset: "fresh-m4", cmd: as("admin", "/bin/df", "-k", "/nope"), exit: 1, stderrHas: "df: /nope: No such file or directory"},
		{name: "crontab -r without a crontab", preset: "converged", cmd: as("ghrunner", "/usr/bin/crontab", "-r"), exit: 1, stderrHas: "crontab: no crontab for ghrunner"},
		{name: "ps -U lists the account's processes, no header", preset: "converged", cmd: as("root", "/bin/ps", "-U", "ghrunner", "-o", "pid=,ppid=,uid=,ucomm="),
			stdout: " 4296     1   502 runsvc.sh       \n"},
		{name: "ps -U of an account that runs nothing", preset: "converged", cmd: as("root", "/bin/ps", "-U", "admin", "-o", "pid=,ppid=,uid=,ucomm="), exit: 1, stdout: ""},
		{name: "fdesetup on", preset: "fresh-m4", cmd: as("admin", "/usr/bin/fdesetup", "status"), stdout: "FileVault is On.\n"},
		{name: "fdesetup off", preset: "filevault-off", cmd: as("admin", "/usr/bin/fdesetup", "status"), stdout: "FileVault is Off.\n"},
		{name: "dscl read sorted", preset: "partial", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Users/ghrunner", "UniqueID", "PrimaryGroupID", "NFSHomeDirectory", "UserShell"),
			stdout: "NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nUniqueID: 502\nUserShell: /bin/zsh\n"},
		{name: "dscl spaced value stands alone", preset: "partial", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Users/ghrunner", "RealName"),
			stdout: "RealName:\n GH Actions Runner\n"},
		{name: "dscl RecordName alias with space", preset: "fresh-m4", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Users/root", "RecordName"),
			stdout: "RecordName:\n root\n BUILTIN\\Local System\n"},
		{name: "dscl full read has accountPolicyData first", preset: "fresh-m4", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Users/admin"),
			contains: []string{"dsAttrTypeNative:accountPolicyData:\n <?xml", "\nRecordType: dsRecTypeStandard:Users\n"}},
		{name: "dscl missing record", preset: "fresh-m4", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Users/ghrunner"), exit: 56, stderrHas: "eDSRecordNotFound"},
		{name: "dscl admins", preset: "fresh-m4", cmd: as("admin", "/usr/bin/dscl", ".", "-read", "/Groups/admin", "GroupMembership"), stdout: "GroupMembership: root admin\n"},
		{name: "dscl readall separates records", preset: "fresh-m4", cmd: as("admin", "/usr/bin/dscl", ".", "-readall", "/Users", "UniqueID"),
			stdout: "UniqueID: 70\n-\nUniqueID: 501\n-\nUniqueID: 1\n-\nUniqueID: -2\n-\nUniqueID: 0\n"},
		{name: "checkmember yes", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "admin", "admin"), stdout: "yes admin is a member of admin\n"},
		{name: "checkmember no", preset: "partial", cmd: as("admin", "/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "ghrunner", "admin"), exit: 67, stdout: "no ghrunner is NOT a member of admin\n"},
		{name: "id -Gn admin", preset: "fresh-m4", cmd: as("admin", "/usr/bin/id", "-Gn", "admin"), stdout: "staff everyone localaccounts _appserverusr admin _appserveradm _lpadmin\n"},
		{name: "id -Gn standard", preset: "partial", cmd: as("admin", "/usr/bin/id", "-Gn", "ghrunner"), stdout: "staff everyone localaccounts\n"},
		{name: "id unknown", preset: "fresh-m4", cmd: as("admin", "/usr/bin/id", "-u", "ghost"), exit: 1, stderrHas: "id: ghost: no such user"},
		{name: "secure token uses the full name", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/sysadminctl", "-secureTokenStatus", "admin"), stderrHas: "] Secure token is ENABLED for user Administrator\n"},
		{name: "autologin refused with FileVault", preset: "fresh-m4", cmd: as("root", "/usr/sbin/sysadminctl", "-autologin", "set", "-userName", "admin", "-password", "-"), stderrHas: "Automatic login is disabled because FileVault is enabled."},
		{name: "autologin user unset", preset: "fresh-m4", cmd: as("admin", "/usr/bin/defaults", "read", "/Library/Preferences/com.apple.loginwindow", "autoLoginUser"), exit: 1,
			stderrHas: "\nThe domain/default pair of (/Library/Preferences/com.apple.loginwindow, autoLoginUser) does not exist\n"},
		{name: "icloud signed in", preset: "fresh-m4", cmd: as("admin", "/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"), contains: []string{"AccountID = \"mini.admin@icloud.com\";"}},
		{name: "icloud of another user is not yours", preset: "partial", cmd: as("ghrunner", "/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"), exit: 1, stderrHas: "(MobileMeAccounts, Accounts) does not exist"},
		{name: "tcc unreadable even as root", preset: "fresh-m4", cmd: as("root", "/usr/bin/sqlite3", "-readonly", "/Library/Application Support/com.apple.TCC/TCC.db", "SELECT service, client, auth_value FROM access"), exit: 1,
			stderrHas: "Error: unable to open database \"/Library/Application Support/com.apple.TCC/TCC.db\": authorization denied"},
		{name: "stat batch with a missing path", preset: "converged", cmd: as("root", "/usr/bin/stat", "-f", "%N%t%HT%t%Mp%03Lp%t%Su%t%Sg%t%z%t%Y", "/Users/ghrunner", "/nope", "/opt/toolchain/aarch64-none-elf", "/etc/paths.d/homebrew"), exit: 1,
			stdout:    "/Users/ghrunner\tDirectory\t0700\tghrunner\tstaff\t384\t\n/opt/toolchain/aarch64-none-elf\tSymbolic Link\t0755\troot\twheel\t56\t/Applications/ArmGNUToolchain/14.3.rel1/aarch64-none-elf\n/etc/paths.d/homebrew\tRegular File\t0644\troot\twheel\t18\t\n",
			stderrHas: "stat: /nope: stat: No such file or directory\n"},
		{name: "stat %Lp has no leading zero", preset: "fresh-m4", cmd: as("root", "/usr/bin/stat", "-f", "%Lp %Su:%Sg", "/Users/admin"), stdout: "750 admin:staff\n"},
		{name: "ls -led shows the ACL", preset: "fresh-m4", cmd: as("root", "/bin/ls", "-led", "/Users/admin"),
			stdout: "drwxr-x---+ 10 admin  staff  320 Aug 31 09:00 /Users/admin\n 0: group:everyone deny delete\n"},
		{name: "ls -1 hides dot files", preset: "converged", cmd: as("root", "/bin/ls", "-1", "/Users/ghrunner/actions-runner"), stdoutNone: ".runner",
			contains: []string{"config.sh\n", "svc.sh\n", "_work.noindex\n"}},
		{name: "mdutil enabled with trailing space", preset: "fresh-m4", cmd: as("admin", "/usr/bin/mdutil", "-s", "/System/Volumes/Data"), stdout: "/System/Volumes/Data:\n\tIndexing enabled. \n"},
		{name: "mdutil _work disabled", preset: "seed-manual", cmd: as("root", "/usr/bin/mdutil", "-s", "/Users/ghrunner/actions-runner/_work"), stdout: "/Users/ghrunner/actions-runner/_work:\n\tIndexing disabled. \n"},
		{name: "pmset AC only, padded keys, sleep annotation", preset: "fresh-m4", cmd: as("admin", "/usr/bin/pmset", "-g", "custom"),
			stdout: "AC Power:\n Sleep On Power Button 1\n autorestart          0\n powernap             1\n networkoversleep     0\n disksleep            10\n sleep                1 (sleep prevented by sharingd, powerd)\n ttyskeepawake        1\n displaysleep         10\n tcpkeepalive         1\n womp                 1\n"},
		{name: "xcode-select missing", preset: "fresh-m4", cmd: as("admin", "/usr/bin/xcode-select", "-p"), exit: 2, stderrHas: "xcode-select: error: unable to get active developer directory"},
		{name: "xcode-select installed", preset: "converged", cmd: as("admin", "/usr/bin/xcode-select", "-p"), stdout: "/Library/Developer/CommandLineTools\n"},
		{name: "pkgutil missing receipt", preset: "fresh-m4", cmd: as("admin", "/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto"), exit: 1, stderrHas: "No receipt for 'com.apple.pkg.RosettaUpdateAuto' found at '/'."},
		{name: "pkgutil receipt", preset: "converged", cmd: as("admin", "/usr/sbin/pkgutil", "--pkg-info", "sh.brew.homebrew"),
			contains: []string{"package-id: sh.brew.homebrew\n", "version: 4.6.17\n", "volume: /\n", "location: /\n", "install-time: "}},
		{name: "brew list versions", preset: "converged", cmd: as("admin", "/opt/homebrew/bin/brew", "list", "--versions", "binutils", "make"), stdout: "binutils 2.45\nmake 4.4.1\n"},
		{name: "brew list versions missing one", preset: "drifted", cmd: as("admin", "/opt/homebrew/bin/brew", "list", "--versions", "qemu", "make"), exit: 1, stdout: "make 4.4.1\n"},
		{name: "brew list --formula missing is the CI's check", preset: "drifted", cmd: as("ghrunner", "/opt/homebrew/bin/brew", "list", "--formula", "qemu"), exit: 1, stderrHas: "Error: No such keg: /opt/homebrew/Cellar/qemu\n"},
		{name: "brew python is python@3.13", preset: "converged", cmd: as("admin", "/opt/homebrew/bin/brew", "list", "--versions", "python"), stdout: "python@3.13 3.13.7\n"},
		{name: "brew --prefix of an absent formula", preset: "partial", cmd: as("root", "/opt/homebrew/bin/brew", "--prefix", "qemu"), stdout: "/opt/homebrew/opt/qemu\n"},
		{name: "brew taps", preset: "seed-manual", cmd: as("admin", "/opt/homebrew/bin/brew", "tap"), stdout: "messense/macos-cross-toolchains\n"},
		{name: "launchctl print running", preset: "converged", cmd: as("root", "/bin/launchctl", "print", "system/"+RunnerLabel),
			contains: []string{"system/" + RunnerLabel + " = {\n\tactive count = 1\n\tpath = /Library/LaunchDaemons/" + RunnerLabel + ".plist\n", "\tstate = running\n", "\tpid = ", "\tlast exit code = (never exited)\n"}},
		{name: "launchctl print unknown", preset: "drifted", cmd: as("root", "/bin/launchctl", "print", "system/"+RunnerLabel), exit: 113,
			stderrHas: "Could not find service \"" + RunnerLabel + "\" in domain for system\n"},
		{name: "launchctl print gui without a GUI login", preset: "seed-manual", cmd: as("root", "/bin/launchctl", "print", "gui/502/"+SeedRunnerLabel), exit: 112,
			stderrHas: "Could not find domain for user gui: 502\n"},
		{name: "launchctl bootout gui without a GUI login", preset: "seed-manual", cmd: as("root", "/bin/launchctl", "bootout", "gui/502/"+SeedRunnerLabel), exit: 112,
			stderrHas: "Could not find domain for user gui: 502\n"},
		{name: "launchctl bootout of an unloaded daemon", preset: "drifted", cmd: as("root", "/bin/launchctl", "bootout", "system/"+RunnerLabel), exit: 3,
			stderrHas: "Boot-out failed: 3: No such process\n"},
		{name: "mdutil cannot see through a 0700 home", preset: "seed-manual", cmd: as("admin", "/usr/bin/mdutil", "-s", "/Users/ghrunner/actions-runner/_work"), exit: 1, stderrHas: "Permission denied"},
		{name: "codesign unsigned", preset: "converged", cmd: as("admin", "/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", "/opt/homebrew/bin/brew"), exit: 1, stderrHas: "code object is not signed at all"},
		{name: "arch without Rosetta", preset: "fresh-m4", cmd: as("admin", "/usr/bin/arch", "-x86_64", "/usr/bin/true"), exit: 1, stderrHas: "Bad CPU type in executable"},
		{name: "arch with Rosetta", preset: "converged", cmd: as("admin", "/usr/bin/arch", "-x86_64", "/usr/bin/true")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustNew(t, tt.preset)
			m.toolsOnly = true
			r := exec(t, m, tt.cmd)
			if r.Exit != tt.exit {
				t.Errorf("exit %d, want %d (stderr %q)", r.Exit, tt.exit, r.Stderr)
			}
			if tt.stdout != "" && r.Stdout != tt.stdout {
				t.Errorf("stdout:\n%q\nwant:\n%q", r.Stdout, tt.stdout)
			}
			for _, s := range tt.contains {
				if !strings.Contains(r.Stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, r.Stdout)
				}
			}
			if tt.stdoutNone != "" && strings.Contains(r.Stdout, tt.stdoutNone) {
				t.Errorf("stdout has %q:\n%s", tt.stdoutNone, r.Stdout)
			}
			if !strings.Contains(r.Stderr, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, r.Stderr)
			}
		})
	}
}

// TestPrivileges pins what a real Mac refuses to each principal.
func TestPrivileges(t *testing.T) {
	tests := []struct {
		name   string
		cmd    host.Command
		exit   int
		stdout string
		stderr string
	}{
		{"pmset needs root, message on stdout with argv0 as typed", as("admin", "/usr/bin/pmset", "-c", "sleep", "0"), 1, "'/usr/bin/pmset' must be run as root...\n", ""},
		{"brew refuses root", as("root", "/opt/homebrew/bin/brew", "install", "--formula", "jq"), 1, "", "Error: Running Homebrew as root is extremely dangerous and no longer supported.\n"},
		{"brew standard user cannot write the prefix", as("ghrunner", "/opt/homebrew/bin/brew", "install", "--formula", "jq"), 1, "", "Error: The following directories are not writable by your user:\n/opt/homebrew\n"},
		{"config.sh refuses root", as("root", RunnerRoot+"/config.sh", "--unattended"), 1, "Must not run with sudo\n", ""},
		{"launchctl bootstrap needs root", as("admin", "/bin/launchctl", "bootstrap", "system", "/Library/LaunchDaemons/x.plist"), 1, "", "Bootstrap failed: 1: Operation not permitted\n"},
		{"installer needs root", as("admin", "/usr/sbin/installer", "-pkg", "/var/tmp/Homebrew-4.6.17.pkg", "-target", "/"), 1, "", "Must be run as root"},
		{"xcode-select --switch needs root", as("admin", "/usr/bin/xcode-select", "--switch", "/Library/Developer/CommandLineTools"), 1, "", "--switch must be run as root"},
		{"chown needs root", as("ghrunner", "/usr/sbin/chown", "admin:staff", RunnerRoot), 1, "", "Operation not permitted"},
		{"chmod of another user's file", as("ghrunner", "/bin/chmod", "777", "/opt/homebrew"), 1, "", "Operation not permitted"},
		{"mkdir in a root-owned directory", as("ghrunner", "/bin/mkdir", "-p", "/opt/toolchain/x"), 1, "", "Permission denied"},
		{"stat through a 0700 home", as("admin", "/usr/bin/stat", "-f", "%Lp", RunnerRoot), 1, "", "Permission denied"},
		{"dseditgroup edit needs root", as("admin", "/usr/sbin/dseditgroup", "-o", "edit", "-a", "ghrunner", "-t", "user", "admin"), 1, "", "Operation not permitted"},
		{"mdutil -i needs root", as("admin", "/usr/bin/mdutil", "-i", "off", "/System/Volumes/Data"), 1, "", ""},
		{"createhomedir needs root", as("admin", "/usr/sbin/createhomedir", "-c", "-u", "ghrunner"), 1, "", "must be run as root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := mustNew(t, "partial")
			m.toolsOnly = true
			before, _ := m.Snapshot()
			r := exec(t, m, tt.cmd)
			if r.Exit != tt.exit || !strings.Contains(r.Stdout, tt.stdout) || !strings.Contains(r.Stderr, tt.stderr) {
				t.Errorf("got exit %d stdout %q stderr %q; want exit %d, stdout ⊇ %q, stderr ⊇ %q", r.Exit, r.Stdout, r.Stderr, tt.exit, tt.stdout, tt.stderr)
			}
			after, _ := m.Snapshot()
			if stripClock(before) != stripClock(after) {
				t.Errorf("a refused command changed the state")
			}
		})
	}
}

var clockLine = regexp.MustCompile(`(?m)^  "(clock|next_pid)": \d+,$`)

// stripClock removes the fields every command advances.
func stripClock(b []byte) string { return clockLine.ReplaceAllString(string(b), "") }

// TestUnsupportedIsLoud: an unknown command or flag names the argv and
// the stub to add; never a silent success.
func TestUnsupportedIsLoud(t *testing.T) {
	cmds := []host.Command{
		as("root", "/usr/bin/pmset", "-c", "standbydelayhigh", "0"),
		as("root", "/usr/bin/fdesetup", "enable"),
		as("root", "/usr/bin/stat", "-f", "%Q", "/"),
		as("admin", "/opt/homebrew/bin/brew", "upgrade"),
		as("root", "/bin/launchctl", "load", "-w", "/Library/LaunchDaemons/x.plist"),
		as("root", "/usr/bin/shasum", "/etc/paths"),
		as("root", "/usr/bin/defaults", "write", "com.apple.x", "k", "v"),
		as("root", "/usr/bin/tar", "-cjf", "/tmp/x.tbz", "/etc"),
		as("root", "/bin/ps", "-axo", "pid,command"),
		as("ghrunner", "/usr/bin/crontab", "-l"),
		as("root", "/usr/bin/crontab", "-r"),
	}
	for _, cmd := range cmds {
		m := mustNew(t, "partial")
		_, err := m.Run(context.Background(), cmd)
		if !errors.Is(err, host.ErrUnsupported) {
			t.Errorf("%q: err %v, want ErrUnsupported", cmd.Argv, err)
			continue
		}
		if !strings.Contains(err.Error(), `"responses": [{"argv":[`) || !strings.Contains(err.Error(), cmd.Argv[1]) {
			t.Errorf("%q: error does not name the argv and the stub: %v", cmd.Argv, err)
		}
	}
	m := mustNew(t, "fresh-m4")
	if _, err := m.Run(context.Background(), as("admin", "/opt/homebrew/bin/brew", "list")); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("brew before Homebrew is installed: err %v, want exec failure", err)
	}
	if _, err := m.Run(context.Background(), as("nobody2", "/usr/bin/id")); err == nil {
		t.Errorf("unknown principal ran")
	}
	if _, err := m.Run(context.Background(), as("root", "pmset", "-g")); err == nil {
		t.Errorf("relative program ran")
	}
}

// TestCodesign: an entitlement counts only when true; both formats.
func TestCodesign(t *testing.T) {
	m := mustNew(t, "converged")
	bin := RunnerRoot + "/_work/elfuse/build/elfuse"
	exec(t, m, as(RunnerUser, "/bin/mkdir", "-p", RunnerRoot+"/_work/elfuse/build"))
	m.st.Files[bin] = &Node{Type: TypeFile, Mode: 0o755, Owner: RunnerUser, Group: "staff", Size: 900_000, SHA256: synthSum("elfuse"),
		Signature: &Signature{Entitlements: map[string]bool{"com.apple.security.hypervisor": true, "com.apple.security.get-task-allow": false}}}
	r := exec(t, m, as(RunnerUser, "/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", bin))
	want := `<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "https://www.apple.com/DTDs/PropertyList-1.0.dtd"><plist version="1.0"><dict><key>com.apple.security.get-task-allow</key><false/><key>com.apple.security.hypervisor</key><true/></dict></plist>`
	if r.Exit != 0 || r.Stdout != want || r.Stderr != "Executable="+bin+"\n" {
		t.Errorf("xml: %d %q %q", r.Exit, r.Stdout, r.Stderr)
	}
	r = exec(t, m, as(RunnerUser, "/usr/bin/codesign", "-d", "--entitlements", "-", bin))
	if r.Stdout != "[Dict]\n\t[Key] com.apple.security.get-task-allow\n\t[Value]\n\t\t[Bool] false\n\t[Key] com.apple.security.hypervisor\n\t[Value]\n\t\t[Bool] true\n" {
		t.Errorf("human: %q", r.Stdout)
	}
	if r = exec(t, m, as("admin", "/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", bin)); r.Exit != 1 {
		t.Errorf("admin reading inside the 0700 runner home: %d", r.Exit)
	}
}

// TestGUIDomain follows svc.sh's agent in a GUI login session: print
// shows it, a bootout as another user is refused, root's bootout stops it
// (print shows it once more, not running, then 113), and a second bootout
// finds nothing (3). Logged out, the domain is gone (112).
func TestGUIDomain(t *testing.T) {
	m := mustNew(t, "seed-manual")
	target := "gui/502/" + SeedRunnerLabel
	m.st.Launchd.GUI = map[string]*GUISession{RunnerUser: {Jobs: map[string]*Job{
		SeedRunnerLabel: {Path: "/Users/ghrunner/Library/LaunchAgents/" + SeedRunnerLabel + ".plist", Program: RunnerRoot + "/runsvc.sh", UserName: RunnerUser, State: "running", PID: 5120, LastExit: "(never exited)", Runs: 1},
	}}}
	steps := []struct {
		cmd       host.Command
		exit      int
		outHas    string
		stderrHas string
	}{
		{as("root", "/bin/launchctl", "print", target), 0, "\tpid = 5120\n", ""},
		{as("admin", "/bin/launchctl", "bootout", target), 1, "", "Operation not permitted"},
		{as("root", "/bin/launchctl", "bootout", target), 0, "", ""},
		{as("root", "/bin/launchctl", "print", target), 0, "\tstate = not running\n", ""},
		{as("root", "/bin/launchctl", "print", target), 113, "", "Could not find service \"" + SeedRunnerLabel + "\" in domain for user gui: 502\n"},
		{as("root", "/bin/launchctl", "bootout", target), 3, "", "Boot-out failed: 3: No such process\n"},
		{as("root", "/bin/launchctl", "bootout", "gui/501/"+SeedRunnerLabel), 112, "", "Could not find domain for user gui: 501\n"},
	}
	for i, s := range steps {
		r := exec(t, m, s.cmd)
		if r.Exit != s.exit || !strings.Contains(r.Stdout, s.outHas) || !strings.Contains(r.Stderr, s.stderrHas) {
			t.Fatalf("step %d %q: exit %d stdout %q stderr %q; want exit %d, stdout with %q, stderr with %q", i, s.cmd.Argv, r.Exit, r.Stdout, r.Stderr, s.exit, s.outHas, s.stderrHas)
		}
	}
}
