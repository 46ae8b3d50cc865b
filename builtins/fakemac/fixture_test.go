package fakemac

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

const hostsDir = "../../testdata/hosts"

// TestHostFixturesLoad loads every fixture and checks that Save/Load
// round-trips it exactly.
func TestHostFixturesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(hostsDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", hostsDir, err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			m, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := m.Snapshot()
			out := filepath.Join(t.TempDir(), "saved.json")
			if err := m.Save(out); err != nil {
				t.Fatal(err)
			}
			back, err := Load(out)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := back.Snapshot()
			if !bytes.Equal(got, want) {
				t.Errorf("round trip changed the state")
			}
		})
	}
}

func TestFixtureOverridesMergeOverTheBase(t *testing.T) {
	m, err := Load(filepath.Join(hostsDir, "filevault-encrypting.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := exec(t, m, as("admin", "/usr/bin/fdesetup", "status"))
	if r.Stdout != "Encryption in progress: Percent completed = 37.5\n" {
		t.Errorf("progress without an On/Off line: %q", r.Stdout)
	}
	if m.st.Users["admin"] == nil || m.st.System.ProductVersion != "26.1" {
		t.Errorf("the base preset was not kept")
	}
	m, err = Load(filepath.Join(hostsDir, "tampered-runner.json"))
	if err != nil {
		t.Fatal(err)
	}
	if u := m.st.URLs[RunnerURL]; u.Size != RunnerSize || u.Archive == "" {
		t.Errorf("merge dropped fields of the overridden URL: %+v", u)
	}
}

func TestFixtureErrors(t *testing.T) {
	tests := []struct {
		name string
		json string
		want string
	}{
		{"unknown top-level key", "{\n  \"base\": \"fresh-m4\",\n  \"filevalt\": {}\n}\n", "bad.json:3: unknown key \"filevalt\""},
		{"unknown nested key", "{\n  \"base\": \"fresh-m4\",\n  \"filevault\": {\n    \"enabeld\": true\n  }\n}\n", "bad.json:4: unknown key \"enabeld\""},
		{"unknown preset", "{\n  \"base\": \"fresh-m5\"\n}\n", "bad.json:2: unknown fake host preset \"fresh-m5\""},
		{"syntax error", "{\n  \"base\": \"fresh-m4\",\n  \"users\": {,}\n}\n", "bad.json:3: invalid JSON"},
		{"wrong type", "{\n  \"base\": \"fresh-m4\",\n  \"clock\": \"noon\"\n}\n", "bad.json:3: key \"clock\""},
		{"bad mode", "{\n  \"base\": \"fresh-m4\",\n  \"files\": {\"/x\": {\"type\": \"file\", \"mode\": \"0999\", \"owner\": \"root\", \"group\": \"wheel\", \"mtime\": 0}}\n}\n", "not an octal mode"},
		{"orphan file", "{\n  \"base\": \"fresh-m4\",\n  \"files\": {\"/a/b\": {\"type\": \"file\", \"mode\": \"0644\", \"owner\": \"root\", \"group\": \"wheel\", \"mtime\": 0}}\n}\n", "\"/a/b\" has no parent directory"},
		{"ACL of an unknown account", "{\n  \"base\": \"fresh-m4\",\n  \"files\": {\"/usr\": {\"acl\": [\"user:nobody2 allow write\"]}}\n}\n", "bad.json: files: \"/usr\": the fake's ACL model: ACL entry \"user:nobody2 allow write\": no such user \"nobody2\""},
		{"ACL with an unknown right", "{\n  \"base\": \"fresh-m4\",\n  \"files\": {\"/usr\": {\"acl\": [\"group:staff allow fly\"]}}\n}\n", "unknown right \"fly\""},
		{"empty fault prefix", "{\n  \"base\": \"fresh-m4\",\n  \"faults\": [{\"argv_prefix\": [], \"nth\": 1, \"exit\": 1, \"stderr\": \"\"}]\n}\n", "faults[0]: argv_prefix is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "bad.json")
			if err := os.WriteFile(f, []byte(tt.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := New("nope"); err == nil {
		t.Errorf("New of an unknown preset succeeded")
	}
}

func TestResponsesAndFaults(t *testing.T) {
	ctx := context.Background()
	m, err := Load(filepath.Join(hostsDir, "scripted.json"))
	if err != nil {
		t.Fatal(err)
	}
	r := exec(t, m, as("admin", "/usr/bin/fdesetup", "status"))
	if r.Stdout != "FileVault is Off.\nDeferred enablement appears to be active for user 'admin'.\n" {
		t.Errorf("a response must win over emulation (argv[0] by base name): %q", r.Stdout)
	}
	req := host.DownloadRequest{URL: RunnerURL, Dest: "/var/tmp/r.tgz", SHA256: RunnerSHA256, Mode: 0o644, Owner: "root", Group: "wheel"}
	err = m.Download(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "Connection reset by peer") {
		t.Fatalf("first download should fault: %v", err)
	}
	if m.st.Files["/private/var/tmp/r.tgz"] != nil {
		t.Errorf("a faulted download wrote its file")
	}
	if err := m.Download(ctx, req); err != nil {
		t.Errorf("second download: %v", err)
	}
	set := as("root", "/usr/bin/pmset", "-c", "sleep", "0")
	if r := exec(t, m, set); r.Exit != 0 {
		t.Errorf("first pmset -c: %d", r.Exit)
	}
	if r := exec(t, m, as("root", "/usr/bin/pmset", "-c", "sleep", "7")); r.Exit != 1 || r.Stderr != "pmset: failed to set the value" {
		t.Errorf("a fault on the 2nd match: %d %q", r.Exit, r.Stderr)
	}
	if got := m.st.Power.Sources["AC Power"]["sleep"]; got != "0" {
		t.Errorf("sleep = %s after a faulted command, want 0", got)
	}
	if r := exec(t, m, as("root", "/usr/bin/pmset", "-c", "sleep", "0", "disksleep", "0")); r.Exit != 0 || m.st.Power.Sources["AC Power"]["disksleep"] != "0" {
		t.Errorf("the 3rd match should run: %d %q", r.Exit, r.Stderr)
	}
	// Primitives are scriptable like commands.
	m.st.Responses = append(m.st.Responses, Response{Argv: []string{host.OpRead, "/etc/kcpassword"}, Stderr: "No such file or directory", Exit: 1})
	if _, err := m.ReadFile(ctx, "/etc/kcpassword", 64); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("scripted <read>: %v", err)
	}
}

// TestFixtureDeletingTables: a fixture may delete whole tables (null);
// commands then see empty tables, never a nil map.
func TestFixtureDeletingTables(t *testing.T) {
	f := filepath.Join(t.TempDir(), "bare.json")
	raw := `{"base": "converged", "power": {"sources": null}, "receipts": null, "launchd": null, "brew": {"formulae": null}, "spotlight": null, "defaults": null}`
	if err := os.WriteFile(f, []byte(raw), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Run(context.Background(), as("root", "/usr/bin/pmset", "-c", "sleep", "0")); !errors.Is(err, host.ErrUnsupported) {
		t.Errorf("pmset -c without an AC source: %v", err)
	}
	for _, cmd := range []host.Command{
		as("root", "/usr/sbin/softwareupdate", "--install-rosetta", "--agree-to-license"),
		as("admin", "/opt/homebrew/bin/brew", "install", "--formula", "jq"),
		as("root", "/usr/bin/mdutil", "-i", "off", "/System/Volumes/Data"),
		as("root", "/bin/launchctl", "bootstrap", "system", "/Library/LaunchDaemons/"+RunnerLabel+".plist"),
		as("root", "/usr/sbin/sysadminctl", "-autologin", "off"),
	} {
		if r := exec(t, m, cmd); r.Exit != 0 {
			t.Errorf("%q: %d %s", cmd.Argv, r.Exit, r.Stderr)
		}
	}
}

// TestDeterministic runs the same provisioning twice: identical states.
func TestDeterministic(t *testing.T) {
	a, err := presetState("converged")
	if err != nil {
		t.Fatal(err)
	}
	b, err := presetState("converged")
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := encodeState(a)
	jb, _ := encodeState(b)
	if !bytes.Equal(ja, jb) {
		t.Errorf("two identical runs produced different states")
	}
}

// TestConvergedIsIdempotent re-runs the converging commands on the
// converged preset: nothing changes but the clock.
func TestConvergedIsIdempotent(t *testing.T) {
	m := mustNew(t, "converged")
	before, _ := m.Snapshot()
	for _, cmd := range []host.Command{
		as("admin", "/opt/homebrew/bin/brew", "install", "--formula", "binutils", "qemu", "make"),
		as("root", "/usr/bin/pmset", "-c", "sleep", "0", "disksleep", "0"),
		as("root", "/bin/mkdir", "-p", "-m", "755", "/opt/toolchain"),
		as("root", "/bin/ln", "-sfh", "/opt/toolchain/dist/aarch64-linux-gnu-13.3.0/aarch64-unknown-linux-gnu", "/opt/toolchain/aarch64-linux-gnu"),
		as("root", "/usr/bin/xcode-select", "--switch", "/Library/Developer/CommandLineTools"),
		as("root", "/bin/launchctl", "enable", "system/"+RunnerLabel),
	} {
		if r := exec(t, m, cmd); r.Exit != 0 {
			t.Errorf("%q: %d %s", cmd.Argv, r.Exit, r.Stderr)
		}
	}
	after, _ := m.Snapshot()
	if stripClock(stripMTimes(before)) != stripClock(stripMTimes(after)) {
		t.Errorf("re-applying a converged host changed it")
	}
}

// stripMTimes drops mtimes (a re-created symlink gets a new one).
func stripMTimes(b []byte) []byte {
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.Contains(line, `"mtime":`) {
			out = append(out, line)
		}
	}
	return []byte(strings.Join(out, "\n"))
}

// factQueries are the fact commands of docs/host-commands.md.
var factQueries = []host.Command{
	as("admin", "/usr/bin/sw_vers"),
	as("admin", "/usr/sbin/sysctl", "hw.machine", "hw.model", "machdep.cpu.brand_string", "kern.hv_support", "kern.hv_vmm_present"),
	as("admin", "/bin/df", "-k", "/System/Volumes/Data"),
	as("admin", "/usr/bin/fdesetup", "status"),
	as("admin", "/usr/bin/dscl", ".", "-readall", "/Users", "NFSHomeDirectory", "PrimaryGroupID", "RealName", "RecordName", "UniqueID", "UserShell"),
	as("admin", "/usr/bin/dscl", ".", "-read", "/Groups/admin", "GroupMembership"),
	as("admin", "/usr/sbin/dseditgroup", "-o", "checkmember", "-m", "ghrunner", "admin"),
	as("admin", "/usr/bin/id", "-Gn", "ghrunner"),
	as("admin", "/usr/sbin/sysadminctl", "-secureTokenStatus", "ghrunner"),
	as("root", "/usr/sbin/sysadminctl", "-autologin", "status"),
	as("admin", "/usr/bin/defaults", "read", "/Library/Preferences/com.apple.loginwindow", "autoLoginUser"),
	as("ghrunner", "/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"),
	as("root", "/usr/bin/sqlite3", "-readonly", "/Library/Application Support/com.apple.TCC/TCC.db", "SELECT service, client, auth_value FROM access"),
	as("root", "/usr/bin/stat", "-f", "%N%t%HT%t%Mp%03Lp%t%Su%t%Sg%t%z%t%Y", "/Users/ghrunner", RunnerRoot, RunnerRoot+"/_work.noindex", "/opt/homebrew", "/opt/toolchain/aarch64-linux-gnu", "/etc/paths.d/homebrew", "/Library/LaunchDaemons/"+RunnerLabel+".plist"),
	as("root", "/bin/ls", "-led", "/Users/ghrunner", "/Users/admin"),
	as("root", "/bin/ls", "-1", RunnerRoot),
	as("root", "/usr/bin/mdutil", "-s", "/System/Volumes/Data"),
	as("admin", "/usr/bin/pmset", "-g", "custom"),
	as("admin", "/usr/bin/xcode-select", "-p"),
	as("admin", "/usr/sbin/pkgutil", "--pkg-info", "com.apple.pkg.RosettaUpdateAuto"),
	as("admin", "/opt/homebrew/bin/brew", "list", "--versions"),
	as("admin", "/opt/homebrew/bin/brew", "list", "--cask", "--versions"),
	as("admin", "/opt/homebrew/bin/brew", "tap"),
	as("root", "/bin/launchctl", "print", "system/"+RunnerLabel),
	as("root", "/usr/bin/tar", "-tvzf", runnerCached),
}

// TestGoldenFacts runs every fact query against the presets and compares
// the transcript with testdata/golden/PRESET.txt (-update rewrites).
func TestGoldenFacts(t *testing.T) {
	for _, preset := range Presets() {
		t.Run(preset, func(t *testing.T) {
			m := mustNew(t, preset)
			var b strings.Builder
			for _, cmd := range factQueries {
				b.WriteString("$ " + cmd.Principal() + ": " + strings.Join(cmd.Argv, " ") + "\n")
				r, err := m.Run(context.Background(), cmd)
				if err != nil {
					b.WriteString("error: " + err.Error() + "\n\n")
					continue
				}
				b.WriteString(r.Stdout)
				if r.Stderr != "" {
					b.WriteString("[stderr]\n" + r.Stderr)
				}
				b.WriteString("[exit " + strconv.Itoa(r.Exit) + "]\n\n")
			}
			file := filepath.Join("testdata", "golden", preset+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("%s differs from the emulator's output; inspect and rerun with -update", file)
			}
		})
	}
}

// TestFaultsBeforeResponses pins the precedence of the two scripted keys
// on one argv: every match counts toward a fault's nth, the nth match
// fails even when a response would answer it, the others get the
// response, and neither reaches emulation (nothing changes).
func TestFaultsBeforeResponses(t *testing.T) {
	m := mustNew(t, "fresh-m4")
	set := []string{"/usr/bin/pmset", "-c", "sleep", "0"}
	m.st.Responses = append(m.st.Responses, Response{Argv: []string{"pmset", "-c", "sleep", "0"}, Stdout: "scripted\n"})
	m.st.Faults = append(m.st.Faults, Fault{ArgvPrefix: []string{"pmset", "-c"}, Nth: 2, Exit: 3, Stderr: "faulted"})
	before := m.st.Power.Sources["AC Power"]["sleep"]
	want := []host.Result{{Stdout: "scripted\n"}, {Stderr: "faulted", Exit: 3}, {Stdout: "scripted\n"}}
	for i, w := range want {
		if r := exec(t, m, as("root", set...)); r != w {
			t.Errorf("call %d: %+v, want %+v", i+1, r, w)
		}
	}
	if got := m.st.Power.Sources["AC Power"]["sleep"]; got != before {
		t.Errorf("sleep = %s, want %s unchanged: scripted replies do not emulate", got, before)
	}
	if m.st.Faults[0].Seen != 3 {
		t.Errorf("fault seen %d matches, want 3", m.st.Faults[0].Seen)
	}
}
