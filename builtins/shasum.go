package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// hashState is a cached in-process SHA-256 of one path.
type hashState struct {
	Sum    string
	Exists bool
}

// hashFact hashes p with Host.Hash once per run; Exists is false when p
// is missing.
func hashFact(s *engine.Session, p string) (hashState, error) {
	return cached(s, "sha256:"+p, func(ctx context.Context, h host.Host) (hashState, error) {
		sum, _, err := h.Hash(ctx, p)
		if errors.Is(err, fs.ErrNotExist) {
			return hashState{}, nil
		}
		if err != nil {
			return hashState{}, fmt.Errorf("hashing %s: %w", p, err)
		}
		return hashState{Sum: strings.ToLower(sum), Exists: true}, nil
	})
}

func shasumModule() engine.Module {
	return engine.Module{
		Name: "shasum",
		Doc:  "SHA-256 of files, computed in-process with `shasum -a 256` semantics.",
		Builtins: []engine.Builtin{
			newBuiltin("shasum", "sum", "path", engine.KindQuery, `
Returns the lower-case hex SHA-256 of the bytes of PATH (`+"`<sha256> PATH`"+`,
computed in-process as root, like `+"`shasum -a 256`"+`), or None when PATH is
missing. A digest of a secret is a secret: PATH is refused where files.read
refuses it (secret paths, another account's home outside allow_writes),
and a file with more than one hard link is not read.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					if err := c.s.CheckQueryRead(p); err != nil {
						return nil, c.wrap(err)
					}
					st, err := hashFact(c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st.Exists {
						return starlark.None, nil
					}
					return starlark.String(st.Sum), nil
				}),
			newBuiltin("shasum", "verify", "path, sha256", engine.KindQuery, `
Returns True when PATH exists and its SHA-256 equals the pinned SHA256 (64
hex digits), False when it differs, None when PATH is missing. Same
in-process hash as shasum.sum.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p, want string
					if err := c.unpack(args, kwargs, "path", &p, "sha256", &want); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if err := c.s.CheckQueryRead(p); err != nil {
						return nil, c.wrap(err)
					}
					want, err := normSHA256(want)
					if err != nil {
						return nil, c.wrap(err)
					}
					st, err := hashFact(c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st.Exists {
						return starlark.None, nil
					}
					return starlark.Bool(st.Sum == want), nil
				}),
		},
	}
}
