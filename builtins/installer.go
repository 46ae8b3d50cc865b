package builtins

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

var installOK = regexp.MustCompile(`(?m)^installer: The (install|upgrade) was successful\.`)

// JudgeInstaller accepts `installer -pkg` output only when it ends in
// `installer: The install was successful.` (or `The upgrade …`).
func JudgeInstaller(res host.Result) error {
	if res.Exit != 0 {
		return fmt.Errorf("exit status %d", res.Exit)
	}
	if !installOK.MatchString(res.Stdout) {
		return fmt.Errorf("installer did not report a successful install: %w", engine.ErrNotConfirmed)
	}
	return nil
}

// installerAction installs pkg and, when receipt is not empty, requires
// that package receipt afterwards.
func installerAction(pkg, receipt string, footprint []string) *engine.Action {
	// installer opens PKG and writes its footprint itself, as root: each
	// must be a path only root can change.
	cmd := host.Command{Argv: []string{"/usr/sbin/installer", "-pkg", pkg, "-target", "/"}, User: host.Root, Timeout: 30 * time.Minute,
		Paths: append([]string{pkg}, footprint...)}
	a := confirmedAction(cmd, JudgeInstaller, func(ctx context.Context, h host.Host, _ host.Result) error {
		if receipt == "" {
			return nil
		}
		return receiptPresent(ctx, h, receipt, "installing")
	})
	// What the package writes, as the recipe declares it: each path is
	// resolved on the host and must be under allow_writes before the
	// installer runs (its receipt database is the system's own).
	a.Writes = footprint
	return a
}

func installerModule() engine.Module {
	return engine.Module{
		Name: "installer",
		Doc:  "Installs .pkg files (`installer`).",
		Builtins: []engine.Builtin{
			newBuiltin("installer", "install", "pkg, footprint, receipt=None", engine.KindAction, `
Returns the action `+"`/usr/sbin/installer -pkg PKG -target /`"+`, run as root.
Success needs the line `+"`installer: The install was successful.`"+` (or
"upgrade"); when RECEIPT (a package id) is given, `+"`pkgutil --pkg-info RECEIPT`"+`
must then find it. PKG should come from download.fetch, pinned by SHA-256.
FOOTPRINT (a non-empty list of absolute paths) declares where the package
writes (its install directories, a postinstall's files): the action is
refused unless each lies under the recipe's allow_writes once resolved on
the host, like any other write.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var pkg, receipt string
					var fpV starlark.Value
					if err := c.unpack(args, kwargs, "pkg", &pkg, "footprint", &fpV, "receipt?", &receipt); err != nil {
						return nil, err
					}
					footprint, err := footprintArg(c, fpV)
					if err != nil {
						return nil, err
					}
					if err := c.checkPaths("pkg", pkg); err != nil {
						return nil, err
					}
					if receipt != "" {
						if err := checkPkgID(receipt); err != nil {
							return nil, c.wrap(err)
						}
					}
					return installerAction(pkg, receipt, footprint), nil
				}),
		},
	}
}

// footprintArg validates a footprint: a non-empty list of absolute paths
// an action writes.
func footprintArg(c *call, v starlark.Value) ([]string, error) {
	if _, isStr := v.(starlark.String); isStr {
		return nil, c.argError("footprint must be a list of paths, not a string")
	}
	ps, err := stringsOf(v, "footprint")
	if err != nil {
		return nil, c.wrap(err)
	}
	if len(ps) == 0 {
		return nil, c.argError("footprint is empty: declare every path the package writes")
	}
	for _, p := range ps {
		if err := c.checkPaths("footprint path", p); err != nil {
			return nil, err
		}
	}
	return ps, nil
}
