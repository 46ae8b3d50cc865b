package host

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (ctx's error then). Polls of a host
// (launchd after a bootout, a runner going idle) and waits of the GitHub
// client (a rate limit's reset) use it, so a cancelled run stops waiting
// at once.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
