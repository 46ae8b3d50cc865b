package darwin

import (
	"context"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
)

// VerifyTree implements fixturelock.TreeVerifier: hvfctl runs on the Mac
// itself, so the tree is read and hashed in-process from the local disk,
// in parallel, as root (never following a symbolic link inside the tree).
// The tree's root is reached with OpenDir and the manifest read like
// ReadFile reads: a symlink in either path that root did not make in a
// root-only directory, or a root that is itself a link, is an error
// naming it, never a tree or a manifest read through it.
func (h *Host) VerifyTree(ctx context.Context, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	read := func(p string, max int64) ([]byte, error) { return h.ReadFile(ctx, p, max) }
	return fixturelock.VerifyDir(ctx, dir, manifest, fixturelock.Options{OpenDir: OpenDir, ReadFile: read, Guard: guard})
}
