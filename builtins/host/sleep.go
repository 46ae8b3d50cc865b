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

// Waiter is implemented by hosts whose time is simulated (the fake Mac):
// polls of such a host wait through Wait, which takes no real time.
type Waiter interface {
	// Wait lets d pass on the host, or returns ctx's error.
	Wait(ctx context.Context, d time.Duration) error
}

// SleepOn waits d between two looks at h: through h's Waiter (looking
// through Recorders) when it has one, else as Sleep does.
func SleepOn(ctx context.Context, h Host, d time.Duration) error {
	if w, ok := capability[Waiter](h); ok {
		return w.Wait(ctx, d)
	}
	return Sleep(ctx, d)
}
