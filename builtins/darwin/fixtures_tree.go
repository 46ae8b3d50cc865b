package darwin

import (
	"context"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
)

// VerifyTree implements fixturelock.TreeVerifier: hvfctl runs on the Mac
// itself, so the tree is read and hashed in-process from the local disk,
// in parallel, as root (never following a symbolic link inside the tree).
// The tree's root is reached with OpenDir: a symlink in its path that
// root did not make in a root-only directory, or a root that is itself a
// link, is an error naming it, never a tree read through it.
func (h *Host) VerifyTree(ctx context.Context, dir, manifest string) (fixturelock.Report, error) {
	return fixturelock.VerifyDir(ctx, dir, manifest, fixturelock.Options{OpenDir: OpenDir})
}
