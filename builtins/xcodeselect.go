package builtins

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// cltPath is where the Command Line Tools install.
const cltPath = "/Library/Developer/CommandLineTools"

// xcodeSelectLink is where xcode-select --switch records the selection: a
// symlink to the developer directory (what `xcode-select -p` reads).
const xcodeSelectLink = "/var/db/xcode_select_link"

// ParseXcodeSelect reads `xcode-select -p`: the developer directory when
// it exits 0 with a path; "" when none is active (exit 2, "unable to get
// active developer directory" in any case); any other failure is an
// error naming the command, its exit status and its stderr.
func ParseXcodeSelect(res host.Result) (string, error) {
	if res.Exit == 0 {
		p := strings.TrimSpace(res.Stdout)
		if strings.HasPrefix(p, "/") && !strings.Contains(p, "\n") {
			return p, nil
		}
		return "", fmt.Errorf("xcode-select -p printed %q", p)
	}
	if res.Exit == 2 && strings.Contains(strings.ToLower(res.Stderr), "unable to get active developer directory") {
		return "", nil
	}
	return "", exitError("xcode-select -p", res)
}

// gatherXcodeSelect runs xcode-select -p; "" when no directory is active.
func gatherXcodeSelect(ctx context.Context, h host.Host) (string, error) {
	res, err := run(ctx, h, "", "/usr/bin/xcode-select", "-p")
	if err != nil {
		return "", err
	}
	return ParseXcodeSelect(res)
}

// xcodeSelectFact is gatherXcodeSelect, read once per run.
func xcodeSelectFact(s *engine.Session) (string, error) { return cached(s, "clt", gatherXcodeSelect) }

// xcodeSwitchCmd is `xcode-select --switch DIR`. Its Paths are what
// xcode-select looks up under DIR before it accepts it (docs/host-commands.md,
// "xcode-select"): a developer directory is valid only when it holds
// usr/lib/libxcrun.dylib
// (https://macops.ca/developer-binaries-on-os-x-xcode-select-and-xcrun),
// and an Xcode.app bundle is taken as its Contents/Developer
// (xcode-select(1), DEVELOPER_DIR:
// https://unix.com/man-page/mojave/1/xcode-select/).
// RootOnly walks each from "/", so DIR and every directory on the way
// are covered too.
func xcodeSwitchCmd(dir string) host.Command {
	return host.Command{Argv: []string{"/usr/bin/xcode-select", "--switch", dir}, User: host.Root, Paths: xcodeSwitchPaths(dir)}
}

// xcodeSwitchPaths are the paths `xcode-select --switch DIR` reads.
func xcodeSwitchPaths(dir string) []string {
	return []string{dir, dir + "/usr/lib/libxcrun.dylib", dir + "/Contents/Developer/usr/lib/libxcrun.dylib"}
}

// xcodePathIs re-reads xcode-select -p: an error wrapping
// engine.ErrNotConfirmed when it is not want.
func xcodePathIs(ctx context.Context, h host.Host, want string) error {
	got, err := gatherXcodeSelect(ctx, h)
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("xcode-select -p is %q, want %q: %w", got, want, engine.ErrNotConfirmed)
	}
	return nil
}

func xcodeSelectModule() engine.Module {
	return engine.Module{
		Name: "xcode_select",
		Doc:  "The active developer directory (`xcode-select`).",
		Builtins: []engine.Builtin{
			newBuiltin("xcode_select", "path", "", engine.KindQuery, `
Runs `+"`/usr/bin/xcode-select -p`"+` and returns the active developer directory,
or None when none is set (exit 2).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					p, err := xcodeSelectFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					if p == "" {
						return starlark.None, nil
					}
					return starlark.String(p), nil
				}),
			newBuiltin("xcode_select", "switch", `dir="/Library/Developer/CommandLineTools"`, engine.KindAction, `
Returns the action `+"`/usr/bin/xcode-select --switch DIR`"+`, run as root, judged by
re-reading `+"`xcode-select -p`"+`. It writes /var/db/xcode_select_link (a link to
DIR): both that path and DIR must be under the recipe's allow_writes.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					dir := cltPath
					if err := c.unpack(args, kwargs, "dir?", &dir); err != nil {
						return nil, err
					}
					if err := c.checkPaths("dir", dir); err != nil {
						return nil, err
					}
					a := confirmedAction(xcodeSwitchCmd(dir), engine.ExitZero, func(ctx context.Context, h host.Host, _ host.Result) error {
						return xcodePathIs(ctx, h, dir)
					})
					// Its footprint: the selection link, and the directory
					// it points every developer tool at, which must be one
					// the recipe may write (a link target is a write).
					a.Writes, a.Replaces, a.Follows = []string{xcodeSelectLink}, true, []string{dir}
					return a, nil
				}),
		},
	}
}
