package builtins

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// FileVault is the state `fdesetup status` reports.
type FileVault struct {
	// State is on, off, encrypting, decrypting or unknown.
	State string
	// Percent is the conversion progress, when a progress line gives one.
	Percent *float64
}

var (
	fvOnOff    = regexp.MustCompile(`(?i)^FileVault is (On|Off)\b`)
	fvProgress = regexp.MustCompile(`(?i)^(Encryption|Decryption) in progress:\s*(.*)$`)
	fvPercent  = regexp.MustCompile(`(?i)percent completed\s*=\s*([0-9]+(?:\.[0-9]+)?)`)
)

// ParseFdesetup parses `fdesetup status`. Lines are read independently: a
// progress line (`Encryption in progress: Percent completed = 41.5`,
// `Decryption in progress: …`, `… Pending`) wins over the On/Off line and
// may appear without one; percentages may be fractional and `percent`
// lower case. Anything else gives state "unknown".
func ParseFdesetup(out string) FileVault {
	fv := FileVault{State: "unknown"}
	transition := false
	for _, ln := range lines(out) {
		ln = strings.TrimSpace(ln)
		if m := fvProgress.FindStringSubmatch(ln); m != nil {
			transition = true
			if strings.EqualFold(m[1], "Encryption") {
				fv.State = "encrypting"
			} else {
				fv.State = "decrypting"
			}
			if p := fvPercent.FindStringSubmatch(m[2]); p != nil {
				if f, err := strconv.ParseFloat(p[1], 64); err == nil && f >= 0 && f <= 100 {
					fv.Percent = &f
				}
			}
			continue
		}
		if m := fvOnOff.FindStringSubmatch(ln); m != nil && !transition {
			fv.State = strings.ToLower(m[1])
		}
	}
	return fv
}

func gatherFileVault(ctx context.Context, h host.Host) (FileVault, error) {
	res, err := run(ctx, h, "", "/usr/bin/fdesetup", "status")
	if err != nil {
		return FileVault{}, err
	}
	// fdesetup status has no "absent" answer: it reports with exit 0,
	// and any other status is a failure of the query, not a state.
	if res.Exit != 0 {
		return FileVault{}, exitError("fdesetup status", res)
	}
	return ParseFdesetup(res.Stdout + "\n" + res.Stderr), nil
}

// FileVaultState runs `fdesetup status` now (no cache) and parses it.
func FileVaultState(ctx context.Context, h host.Host) (FileVault, error) {
	return gatherFileVault(ctx, h)
}

// SupportsAuthRestart runs `fdesetup supportsauthrestart`, which prints
// true or false (munki's code/client/munkilib/authrestart checks the same
// verb before an authenticated restart).
func SupportsAuthRestart(ctx context.Context, h host.Host) (bool, error) {
	res, err := run(ctx, h, "", "/usr/bin/fdesetup", "supportsauthrestart")
	if err != nil {
		return false, err
	}
	out := strings.ToLower(strings.TrimSpace(res.Stdout))
	switch {
	case res.Exit == 0 && out == "true":
		return true, nil
	case res.Exit == 0 && out == "false":
		return false, nil
	}
	return false, exitError("fdesetup supportsauthrestart", res)
}

// AuthRestartArgv is `fdesetup authrestart -inputplist` (root): the
// credential is read as a property list on standard input, never from
// argv.
var AuthRestartArgv = []string{"/usr/bin/fdesetup", "authrestart", "-inputplist"}

// AuthRestartCommand is the authenticated restart with FileVault on: the
// unlock key is kept in memory for the next boot only, so the Mac boots
// past the FileVault screen and its LaunchDaemons start (fdesetup(8);
// Apple's "Macs that support authenticated restart"). The credential, a
// FileVault user's password or the personal recovery key, goes only into
// the plist on stdin (`Password`, as munki's authrestart writes it),
// marked secret.
func AuthRestartCommand(credential string) (host.Command, error) {
	pl, err := EncodePlist(map[string]any{"Password": credential})
	if err != nil {
		return host.Command{}, fmt.Errorf("encoding the authrestart input: %w", err)
	}
	return host.Command{Argv: append([]string(nil), AuthRestartArgv...), User: host.Root, Stdin: []byte(pl), StdinSecret: true, Timeout: 2 * time.Minute}, nil
}

// JudgeAuthRestart accepts fdesetup authrestart when it exits 0 without
// an error line; from macOS 10.12 it may print "System is being restarted"
// on stderr, which is success too (munki).
func JudgeAuthRestart(res host.Result) error {
	out := strings.TrimSpace(res.Stderr + "\n" + res.Stdout)
	if res.Exit != 0 || strings.Contains(strings.ToLower(out), "error") {
		return fmt.Errorf("fdesetup authrestart exited %d: %s", res.Exit, out)
	}
	return nil
}

func fileVaultFact(s *engine.Session) (FileVault, error) {
	return cached(s, "filevault", gatherFileVault)
}

func fdesetupModule() engine.Module {
	return engine.Module{
		Name: "fdesetup",
		Doc:  "FileVault state (`fdesetup status`). hvfctl only reports it.",
		Builtins: []engine.Builtin{
			newBuiltin("fdesetup", "status", "", engine.KindQuery, `
Runs `+"`/usr/bin/fdesetup status`"+` (no privilege needed) and returns
`+"`struct(state, percent)`"+`: state is "on", "off", "encrypting",
"decrypting" or "unknown" (exit 0 with output that says none of these);
percent is a float while a conversion reports one, else None. A non-zero
exit fails the query with the command's status and stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					fv, err := fileVaultFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					var pct starlark.Value = starlark.None
					if fv.Percent != nil {
						pct = starlark.Float(*fv.Percent)
					}
					return mkstruct(map[string]starlark.Value{"state": starlark.String(fv.State), "percent": pct}), nil
				}),
		},
	}
}
