package builtins

import (
	"context"
	"fmt"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// SSHDLabel is the launchd job of Remote Login: launchd listens on the ssh
// port and starts sshd for each connection (apple-oss-distributions/
// OpenSSH com.openssh.sshd.plist: Sockets, inetdCompatibility, Disabled
// until Remote Login is turned on). It is loaded in the system domain only
// while Remote Login is on.
const SSHDLabel = "com.openssh.sshd"

// SSHAccessGroups are the service ACL groups that decide who may log in
// over SSH, in the order pam_sacl asks (sshd's PAM account stack has
// `pam_sacl.so sacl_service=ssh`, apple-oss-distributions/OpenSSH
// pam.d/sshd): com.apple.access_all_services, when it exists, decides for
// every service; otherwise com.apple.access_ssh ("Allow access for: Only
// these users" in Remote Login's settings); with neither, every account
// may log in (mbr_check_service_membership answers ENOENT, which
// pam_sacl allows: apple-oss-distributions/pam_modules
// modules/pam_sacl/pam_sacl.c).
var SSHAccessGroups = []string{"com.apple.access_all_services", "com.apple.access_ssh"}

// groupsArgv lists the local groups by name, one a line (dscl . -list).
var groupsArgv = []string{"/usr/bin/dscl", ".", "-list", "/Groups"}

// RemoteLogin is whether an account may log in over SSH now.
type RemoteLogin struct {
	// State is "off" (Remote Login is off), "denied" (a service ACL
	// group exists and the account is not in it) or "allowed".
	State string
	// Why says which fact decided.
	Why string
}

// Allowed reports whether Remote Login is on and no service ACL keeps the
// account out.
func (r RemoteLogin) Allowed() bool { return r.State == "allowed" }

// remoteLoginOf decides whether user may log in over SSH, as root, now:
// `launchctl print system/com.openssh.sshd` (113: Remote Login is off),
// then, while it is on, `dscl . -list /Groups` for the service ACL groups
// and `dseditgroup -o checkmember` for the first one that exists (nested
// groups included; its first word yes or no decides). launchd is asked
// directly rather than `systemsetup -getremotelogin`, whose Remote Login
// verbs are reported to need Full Disk Access for the calling process on
// recent macOS.
func remoteLoginOf(ctx context.Context, h host.Host, user string) (RemoteLogin, error) {
	st, err := printJob(ctx, h, SSHDLabel)
	if err != nil {
		return RemoteLogin{}, err
	}
	if !st.Loaded {
		return RemoteLogin{State: "off", Why: "Remote Login is off (launchd has no " + SSHDLabel + ")"}, nil
	}
	res, err := run(ctx, h, "", groupsArgv...)
	if err != nil {
		return RemoteLogin{}, err
	}
	if res.Exit != 0 {
		return RemoteLogin{}, exitError("dscl . -list /Groups", res)
	}
	exists := map[string]bool{}
	for _, l := range lines(res.Stdout) {
		exists[l] = true
	}
	for _, g := range SSHAccessGroups {
		if !exists[g] {
			continue
		}
		m, err := gatherMember(user, g)(ctx, h)
		if err != nil {
			return RemoteLogin{}, err
		}
		if !m.known {
			return RemoteLogin{}, fmt.Errorf("dseditgroup -o checkmember -m %s %s answered neither yes nor no: %q", user, g, m.detail)
		}
		if m.member {
			return RemoteLogin{State: "allowed", Why: fmt.Sprintf("Remote Login is on and %s is in %s", user, g)}, nil
		}
		return RemoteLogin{State: "denied", Why: fmt.Sprintf("Remote Login is on, and only the members of %s may log in", g)}, nil
	}
	return RemoteLogin{State: "allowed", Why: "Remote Login is on for all users (there is no " + SSHAccessGroups[1] + " group)"}, nil
}

func sshdModule() engine.Module {
	return engine.Module{
		Name: "sshd",
		Doc:  "Remote Login (sshd, started by launchd) and who may use it (the ssh service ACL).",
		Builtins: []engine.Builtin{
			newBuiltin("sshd", "login", "user", engine.KindQuery, `
Returns struct(state, why) for whether USER may log in over SSH now: state
"off" (`+"`launchctl print system/com.openssh.sshd`"+` exits 113: Remote Login
is off), "denied" (the first service ACL group that exists,
com.apple.access_all_services then com.apple.access_ssh, per `+"`dscl . -list\n/Groups`"+`, does not hold USER by `+"`dseditgroup -o checkmember`"+`) or
"allowed" (USER is in it, or neither group exists: every account may log
in). WHY names the fact that decided. Run as root; a failing command or a
checkmember answer without yes or no fails the query.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.unpackUser(args, kwargs)
					if err != nil {
						return nil, err
					}
					rl, err := cached(c.s, "sshd:"+user, func(ctx context.Context, h host.Host) (RemoteLogin, error) { return remoteLoginOf(ctx, h, user) })
					if err != nil {
						return nil, c.hostError(err)
					}
					return mkstruct(map[string]starlark.Value{"state": starlark.String(rl.State), "why": starlark.String(rl.Why)}), nil
				}),
		},
	}
}
