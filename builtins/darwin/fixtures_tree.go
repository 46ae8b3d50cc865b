package darwin

import (
	"context"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
)

// VerifyTree implements fixturelock.TreeVerifier: hvfctl runs on the Mac
// itself, so the tree is read and hashed in-process from the local disk,
// in parallel, as root (never following a symbolic link inside the tree).
func (h *Host) VerifyTree(ctx context.Context, dir, manifest string) (fixturelock.Report, error) {
	return fixturelock.VerifyDir(ctx, dir, manifest, fixturelock.Options{})
}
