package builtins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// SHA256Of computes what `shasum -a 256` prints for the bytes of r (binary
// mode: no newline translation): the lower-case hex digest and the size.
func SHA256Of(r io.Reader) (sum string, size int64, err error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", n, fmt.Errorf("hashing: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

var shasumLine = regexp.MustCompile(`^([0-9a-f]{64}) [ *](.+)$`)

// ParseShasum parses `shasum -a 256 FILE...` output (`HEX  FILE`, or
// `HEX *FILE` in binary mode) into file → digest.
func ParseShasum(out string) map[string]string {
	m := map[string]string{}
	for _, ln := range lines(out) {
		if mm := shasumLine.FindStringSubmatch(ln); mm != nil {
			m[mm[2]] = mm[1]
		}
	}
	return m
}

// VerifySHA256 hashes path on h and compares it with the pinned digest
// (and size, when size > 0). A mismatch wraps host.ErrChecksum.
func VerifySHA256(ctx context.Context, h host.Host, path, want string, size int64) error {
	want, err := normSHA256(want)
	if err != nil {
		return err
	}
	got, n, err := h.Hash(ctx, path)
	if err != nil {
		return fmt.Errorf("hashing %s: %w", path, err)
	}
	if size > 0 && n != size {
		return fmt.Errorf("%s is %d bytes, want %d: %w", path, n, size, host.ErrChecksum)
	}
	if !strings.EqualFold(got, want) {
		return fmt.Errorf("%s has SHA-256 %s, want %s: %w", path, got, want, host.ErrChecksum)
	}
	return nil
}

type hashState struct {
	Sum    string
	Exists bool
}

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
missing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
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
