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

func installerAction(pkg, receipt string) *engine.Action {
	cmd := host.Command{Argv: []string{"/usr/sbin/installer", "-pkg", pkg, "-target", "/"}, User: host.Root, Timeout: 30 * time.Minute}
	return &engine.Action{
		Argv: cmd.Argv,
		User: host.Root,
		Run: func(ctx context.Context, s *engine.Session) error {
			res, err := runStep(ctx, s, cmd, JudgeInstaller)
			if err != nil || receipt == "" {
				return err
			}
			r, err := gatherReceipt(receipt)(ctx, s.Host())
			if err != nil {
				return &engine.ActionError{Argv: cmd.Argv, User: host.Root, Exit: res.Exit, Err: err}
			}
			if !r.Found {
				return judgeError(cmd, res, fmt.Errorf("no receipt %s after installing: %w", receipt, engine.ErrNotConfirmed))
			}
			return nil
		},
	}
}

func installerModule() engine.Module {
	return engine.Module{
		Name: "installer",
		Doc:  "Installs .pkg files (`installer`).",
		Builtins: []engine.Builtin{
			newBuiltin("installer", "install", "pkg, receipt=None", engine.KindAction, `
Returns the action `+"`/usr/sbin/installer -pkg PKG -target /`"+`, run as root.
Success needs the line `+"`installer: The install was successful.`"+` (or
"upgrade"); when RECEIPT (a package id) is given, `+"`pkgutil --pkg-info RECEIPT`"+`
must then find it. PKG should come from download.fetch, pinned by SHA-256.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var pkg, receipt string
					if err := c.unpack(args, kwargs, "pkg", &pkg, "receipt?", &receipt); err != nil {
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
					return installerAction(pkg, receipt), nil
				}),
		},
	}
}
