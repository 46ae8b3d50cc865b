package host

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitHost is a host with simulated time that records its waits.
type waitHost struct {
	Host
	waited []time.Duration
}

func (w *waitHost) Wait(ctx context.Context, d time.Duration) error {
	w.waited = append(w.waited, d)
	return ctx.Err()
}

// TestSleepOn waits through a host's simulated time when it has one,
// also behind a Recorder, and otherwise for real, ending at once when
// the context ends.
func TestSleepOn(t *testing.T) {
	w := &waitHost{}
	for _, h := range []Host{w, NewRecorder(w, nil), NewRecorder(NewRecorder(w, nil), nil)} {
		if err := SleepOn(context.Background(), h, time.Hour); err != nil {
			t.Fatalf("SleepOn(%T): %v", h, err)
		}
	}
	if len(w.waited) != 3 || w.waited[0] != time.Hour {
		t.Fatalf("waits on the simulated host: %v, want three of 1h", w.waited)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := SleepOn(ctx, w, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled simulated wait: %v", err)
	}
	// A host without simulated time: a real timer, which the cancelled
	// context ends.
	plain := struct{ Host }{}
	if err := SleepOn(ctx, plain, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled real wait: %v", err)
	}
	if err := SleepOn(context.Background(), plain, time.Millisecond); err != nil {
		t.Fatalf("real wait: %v", err)
	}
	if len(w.waited) != 4 {
		t.Fatalf("the plain host's waits reached the simulated host: %v", w.waited)
	}
}
