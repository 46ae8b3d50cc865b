package builtins

import (
	"context"
	"fmt"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
)

func tarExtractAction(archive, dest, user string) *engine.Action {
	// bsdtar reads the archive again after the Go check: it must be a
	// file only root can change, whoever extracts it (Verified), and as
	// root DEST must be one too (Paths).
	extract := host.Command{Argv: []string{"/usr/bin/tar", "-xzf", archive, "-C", dest}, User: user, Timeout: 30 * time.Minute,
		Paths: []string{archive, dest}, Verified: []string{archive}}
	return &engine.Action{
		Argv:   extract.Argv,
		User:   user,
		Writes: []string{dest},
		Run: func(ctx context.Context, s *engine.Session) error {
			listArgv := []string{host.OpTarList, archive}
			es, err := s.Host().ListArchive(ctx, archive)
			if err != nil {
				return &engine.ActionError{Argv: listArgv, User: host.Root, Exit: -1, Err: err}
			}
			if err := tarcheck.Check(dest, es); err != nil {
				return &engine.ActionError{Argv: listArgv, User: host.Root, Exit: -1, Err: fmt.Errorf("refusing to extract %s: %w", archive, err)}
			}
			_, err = runStep(ctx, s, extract, engine.ExitZero)
			return err
		},
	}
}

func tarModule() engine.Module {
	return engine.Module{
		Name: "tar",
		Doc:  "Archive extraction that cannot escape its directory (`tar`, bsdtar).",
		Builtins: []engine.Builtin{
			newBuiltin("tar", "extract", "archive, dest, user", engine.KindAction, `
Returns one action, run as USER (the account that owns DEST, or root): it
reads the archive's member headers in Go (`+"`<tar-list> ARCHIVE`"+`, archive/tar,
never a `+"`tar -t`"+` listing), resolves every member in extraction order against
the tree built so far, refuses the archive if any member is absolute, has
a `+"`..`"+` component or leads outside DEST (directly or through the archive's
own links), is a link whose target leaves DEST, a hard link to anything but
an earlier regular file of the archive, a device or FIFO, or has a setuid
or setgid bit (docs/security.md); only then runs
`+"`/usr/bin/tar -xzf ARCHIVE -C DEST`"+`. DEST must exist and be
under allow_writes; verify ARCHIVE's SHA-256 first (download.fetch does).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var archive, dest, user string
					if err := c.unpack(args, kwargs, "archive", &archive, "dest", &dest, "user", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("archive", archive, "dest", dest); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					return tarExtractAction(archive, dest, user), nil
				}),
		},
	}
}
