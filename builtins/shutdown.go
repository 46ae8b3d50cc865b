package builtins

import (
	"fmt"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// RestartCommand is `/sbin/shutdown -r now` as root: the plain restart
// hvfctl reboot uses when FileVault is off (munki's
// code/client/munkilib/authrestart falls back to the same argv). With
// FileVault on, a Mac restarted this way waits at the unlock screen and
// no LaunchDaemon runs until someone unlocks it (macos-facts.md §0.10), so
// hvfctl uses fdesetup authrestart then (see AuthRestartCommand).
func RestartCommand() host.Command {
	return host.Command{Argv: []string{"/sbin/shutdown", "-r", "now"}, User: host.Root}
}

// JudgeShutdown accepts `shutdown -r now` when it exits 0. It refuses
// without root (BSD shutdown prints `shutdown: NOT super-user` and exits
// 1) and reports its output otherwise.
func JudgeShutdown(res host.Result) error {
	if res.Exit != 0 {
		out := strings.TrimSpace(res.Stderr + "\n" + res.Stdout)
		return fmt.Errorf("shutdown -r now exited %d: %s", res.Exit, out)
	}
	return nil
}
