package fakemac

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestLifecycleCommands pins the commands destroy, upgrades and reboot
// run: each one's output and exit, and what it leaves in the state.
func TestLifecycleCommands(t *testing.T) {
	root := RunnerRoot
	tests := []struct {
		name   string
		preset string
		cmds   []host.Command // the last one is judged
		exit   int
		stdout string
		stderr string
		state  func(st *State) string // "" when the state is as expected
	}{
		{name: "Runner.Listener --version", preset: "converged", cmds: []host.Command{as(RunnerUser, root+"/bin/Runner.Listener", "--version")}, stdout: "2.335.1\n"},
		{name: "an older listener", preset: "outdated", cmds: []host.Command{as(RunnerUser, root+"/bin/Runner.Listener", "--version")}, stdout: "2.332.0\n"},
		{name: "mv renames a tree", preset: "converged", cmds: []host.Command{as(RunnerUser, "/bin/mv", root+"/bin", root+"/bin.old")},
			state: func(st *State) string {
				if st.Files[root+"/bin.old/Runner.Listener"] == nil || st.Files[root+"/bin"] != nil {
					return "bin was not renamed with its contents"
				}
				return ""
			}},
		{name: "mv needs write permission", preset: "converged", cmds: []host.Command{as("admin", "/bin/mv", "/opt/toolchain/dist", "/opt/toolchain/x")}, exit: 1, stderr: "Permission denied"},
		{name: "sysadminctl -deleteUser", preset: "converged", cmds: []host.Command{as(host.Root, "/usr/sbin/sysadminctl", "-deleteUser", RunnerUser)}, stderr: "Deleting record for ghrunner",
			state: func(st *State) string {
				if st.Users[RunnerUser] != nil || st.Files["/Users/ghrunner"] != nil {
					return "the user or its home is still there"
				}
				return ""
			}},
		{name: "sysadminctl -deleteUser exits 0 on failure", preset: "fresh-m4", cmds: []host.Command{as(host.Root, "/usr/sbin/sysadminctl", "-deleteUser", "nobody-here")}, stderr: "Unknown user nobody-here"},
		{name: "pkgutil --forget", preset: "converged", cmds: []host.Command{as(host.Root, "/usr/sbin/pkgutil", "--forget", "arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf")}, stdout: "Forgot package 'arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf' on '/'.\n"},
		{name: "pkgutil --forget unknown", preset: "converged", cmds: []host.Command{as(host.Root, "/usr/sbin/pkgutil", "--forget", "x.y")}, exit: 1, stderr: "No receipt for 'x.y' found at '/'."},
		{name: "supportsauthrestart", preset: "converged", cmds: []host.Command{as(host.Root, "/usr/bin/fdesetup", "supportsauthrestart")}, stdout: "true\n"},
		{name: "shutdown needs root", preset: "converged", cmds: []host.Command{as("admin", "/sbin/shutdown", "-r", "now")}, exit: 1, stderr: "shutdown: NOT super-user"},
		{name: "shutdown with FileVault on stops at the unlock screen", preset: "converged", cmds: []host.Command{as(host.Root, "/sbin/shutdown", "-r", "now")}, stdout: "Shutdown NOW!\n",
			state: func(st *State) string {
				if len(st.Boots) != 1 || !st.Boots[0].Locked || len(st.Launchd.Jobs) != 0 {
					return "the runner runs after a locked boot"
				}
				return ""
			}},
		{name: "authrestart boots past FileVault", preset: "converged", cmds: []host.Command{{Argv: []string{"/usr/bin/fdesetup", "authrestart", "-inputplist"}, Stdin: []byte(`<plist version="1.0"><dict><key>Password</key><string>pw</string></dict></plist>`), StdinSecret: true}}, stderr: "System is being restarted",
			state: func(st *State) string {
				if len(st.Boots) != 1 || st.Boots[0].Locked || st.Launchd.Jobs[RunnerLabel] == nil || st.Launchd.Jobs[RunnerLabel].State != "running" {
					return "the runner does not run after an authenticated restart"
				}
				return ""
			}},
		{name: "authrestart without a password", preset: "converged", cmds: []host.Command{{Argv: []string{"/usr/bin/fdesetup", "authrestart", "-inputplist"}, Stdin: []byte(`<plist version="1.0"><dict></dict></plist>`)}}, exit: 1, stderr: "could not be authenticated"},
		{name: "tail as the log's owner", preset: "converged", cmds: []host.Command{as(RunnerUser, "/usr/bin/tail", "-n", "1", root+"/.path")}, stdout: "/opt/toolchain/aarch64-linux-gnu/bin:/opt/toolchain/aarch64-none-elf/bin:/opt/homebrew/bin:/opt/homebrew/sbin:/usr/bin:/bin:/usr/sbin:/sbin\n"},
		{name: "tail of a missing log", preset: "converged", cmds: []host.Command{as(RunnerUser, "/usr/bin/tail", "-n", "5", "/Users/ghrunner/Library/Logs/x/stdout.log")}, exit: 1, stderr: "No such file or directory"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := mustNew(t, tc.preset)
			var r host.Result
			for _, c := range tc.cmds {
				r = exec(t, m, c)
			}
			if r.Exit != tc.exit || (tc.stdout != "" && r.Stdout != tc.stdout) || !strings.Contains(r.Stderr, tc.stderr) {
				t.Fatalf("exit %d stdout %q stderr %q; want exit %d stdout %q stderr with %q", r.Exit, r.Stdout, r.Stderr, tc.exit, tc.stdout, tc.stderr)
			}
			if tc.state != nil {
				b, err := m.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				var st State
				if err := json.Unmarshal(b, &st); err != nil {
					t.Fatal(err)
				}
				if msg := tc.state(&st); msg != "" {
					t.Error(msg)
				}
			}
		})
	}
}
