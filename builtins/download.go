package builtins

import (
	"context"
	"errors"
	"io/fs"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// downloadModule is download.fetch: the one action that reaches the
// network. The verified transfer itself is the backend's Host.Download
// (builtins/darwin on the Mac); nothing is cached between runs, so recipes
// keep the file at DEST and check it with shasum.verify before fetching
// again.
func downloadModule() engine.Module {
	return engine.Module{
		Name: "download",
		Doc:  "The only way to the network: downloads pinned by SHA-256.",
		Builtins: []engine.Builtin{
			newBuiltin("download", "fetch", `url, dest, sha256, size=0, mode=0o644, owner="root", group="wheel", mirrors=[]`, engine.KindAction, `
Returns an action (shown `+"`<download> URL DEST`"+`, run in-process as root) that
fetches the https URL into a temporary file next to DEST, hashing while it
streams; only when its size (when SIZE > 0) and SHA-256 match the pins is
the file given MODE and OWNER:GROUP, synced and renamed over DEST. On any
mismatch nothing is left behind and DEST is untouched. Nothing is cached:
check an existing DEST with shasum.verify before fetching again. DEST must
be under allow_writes. MIRRORS are further https URLs of the same file,
tried in order under the same pins when the one before fails (unreachable,
an HTTP error, an HTML page instead of the file, a checksum mismatch);
the error of a download that failed everywhere lists every attempt.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var u, dest, sum string
					size := 0
					mode := 0o644
					owner, group := "root", "wheel"
					var mirrorsV starlark.Value = starlark.NewList(nil)
					if err := c.unpack(args, kwargs, "url", &u, "dest", &dest, "sha256", &sum, "size?", &size, "mode?", &mode, "owner?", &owner, "group?", &group, "mirrors?", &mirrorsV); err != nil {
						return nil, err
					}
					mirrors, err := stringsOf(mirrorsV, "mirrors")
					if err != nil {
						return nil, c.wrap(err)
					}
					for _, m := range append([]string{u}, mirrors...) {
						if err := checkHTTPSURL(m); err != nil {
							return nil, c.wrap(err)
						}
					}
					if err := c.checkPaths("dest", dest); err != nil {
						return nil, err
					}
					sum, err = normSHA256(sum)
					if err != nil {
						return nil, c.wrap(err)
					}
					if size < 0 {
						return nil, c.argError("size must not be negative")
					}
					if err := checkMode(mode); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkOwner(owner, group); err != nil {
						return nil, c.wrap(err)
					}
					req := host.DownloadRequest{URL: u, Dest: dest, SHA256: sum, Size: int64(size), Mode: fs.FileMode(mode), Owner: owner, Group: group}
					argv := []string{host.OpDownload, u, dest}
					return &engine.Action{
						Argv:   argv,
						User:   host.Root,
						Writes: []string{dest},
						// Verified in a temporary file, then renamed over DEST.
						Replaces: true,
						Run: func(ctx context.Context, s *engine.Session) error {
							var errs []error
							for _, from := range append([]string{u}, mirrors...) {
								r := req
								r.URL = from
								err := s.Host().Download(ctx, r)
								if err == nil {
									return nil
								}
								errs = append(errs, err)
								if ctx.Err() != nil {
									break
								}
							}
							return &engine.ActionError{Argv: argv, User: host.Root, Exit: -1, Err: errors.Join(errs...)}
						},
					}, nil
				}),
		},
	}
}
