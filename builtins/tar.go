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

// tarExtractAction extracts archive into dest as user. As root the
// extraction is the host's in-process primitive (`<tar-extract>`): no
// program running as root reads the archive again or walks dest. As any
// other account it is bsdtar run as that account, after the archive's
// members were decided on in Go: the account cannot gain anything by
// racing its own extraction, and the archive, which bsdtar reads again,
// must be a file only root can change (Verified).
func tarExtractAction(archive, dest, user, sum string) *engine.Action {
	if user == host.Root {
		req := host.ExtractRequest{Archive: archive, Dest: dest, SHA256: sum}
		argv := host.ExtractArgv(req)
		return &engine.Action{
			Argv:   argv,
			User:   host.Root,
			Writes: []string{dest},
			Run: func(ctx context.Context, s *engine.Session) error {
				if err := s.Host().ExtractArchive(ctx, req); err != nil {
					return &engine.ActionError{Argv: argv, User: host.Root, Exit: -1, Err: err}
				}
				return nil
			},
		}
	}
	extract := host.Command{Argv: []string{"/usr/bin/tar", "-xzf", archive, "-C", dest}, User: user, Timeout: 30 * time.Minute,
		Paths: []string{archive, dest}, Verified: []string{archive}}
	return &engine.Action{
		Argv:   extract.Argv,
		User:   user,
		Writes: []string{dest},
		Run: func(ctx context.Context, s *engine.Session) error {
			if err := refuseSuperuser(ctx, s, user, "tar.extract as an account other than \"root\""); err != nil {
				return &engine.ActionError{Argv: extract.Argv, User: user, Exit: -1, Err: fmt.Errorf("%w: name it \"root\" so that hvfctl extracts in-process", err)}
			}
			if sum != "" {
				hashArgv := []string{host.OpHash, archive}
				got, _, err := s.Host().Hash(ctx, archive)
				if err != nil {
					return &engine.ActionError{Argv: hashArgv, User: host.Root, Exit: -1, Err: err}
				}
				if got != sum {
					return &engine.ActionError{Argv: hashArgv, User: host.Root, Exit: -1, Err: fmt.Errorf("refusing to extract %s: %w: its SHA-256 is %s, pinned %s", archive, host.ErrChecksum, got, sum)}
				}
			}
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
		Doc:  "Archive extraction that cannot escape its directory (in Go as root, bsdtar as any other account).",
		Builtins: []engine.Builtin{
			newBuiltin("tar", "extract", `archive, dest, user, sha256=""`, engine.KindAction, `
Returns one action that extracts the gzip'd (or plain) tar ARCHIVE into
the existing directory DEST. Every member is first decided on in Go
(archive/tar, never a `+"`tar -t`"+` listing): resolved in extraction order
against the tree built so far, the archive is refused if any member is
absolute, has a `+"`..`"+` component or leads outside DEST (directly or
through the archive's own links), is a link whose target leaves DEST, a
hard link to anything but an earlier regular file of the archive, a
device or FIFO, has a setuid or setgid bit, or if the archive has more
than 262144 members or more than 8 GiB of files (docs/security.md).

With USER `+"`\"root\"`"+` hvfctl extracts in-process
(`+"`<tar-extract> ARCHIVE DEST`"+`): the archive is opened once, must be
root's and writable by no one else, and is hashed and checked against
SHA256 (when given) from the same descriptor that is then extracted; DEST
must be a directory only root can change. Entries are created relative to
directory handles, never through a symlink (one DEST held or the archive
made is an error); an existing entry is replaced, never followed; every
directory entered becomes root's without group/other write. Everything
extracted is root:wheel, with the archive's mode less setuid, setgid,
sticky and group/other write; DEST itself keeps its owner and mode.

With any other USER (the account that owns DEST; never one that is uid 0)
the archive (checked against SHA256 first when given, `+"`<sha256> ARCHIVE`"+`)
is listed (`+"`<tar-list> ARCHIVE`"+`) and then `+"`/usr/bin/tar -xzf ARCHIVE -C DEST`"+`
runs as USER; ARCHIVE must be a file only root can change. DEST must be
under allow_writes; pass the pin download.fetch verified as SHA256.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var archive, dest, user, sum string
					if err := c.unpack(args, kwargs, "archive", &archive, "dest", &dest, "user", &user, "sha256?", &sum); err != nil {
						return nil, err
					}
					if err := c.checkPaths("archive", archive, "dest", dest); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					if sum != "" {
						var err error
						if sum, err = normSHA256(sum); err != nil {
							return nil, c.wrap(err)
						}
					}
					return tarExtractAction(archive, dest, user, sum), nil
				}),
		},
	}
}
