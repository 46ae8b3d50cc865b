package engine

// This file keeps a hostile or buggy recipe from exhausting the memory of
// the machine that evaluates it. Two layers work together:
//
//   - size guards: range() and the universe builtins that consume a whole
//     iterable inside Go (list, tuple, sorted, reversed, enumerate, zip,
//     set, dict, min, max, any, all) refuse more than MaxSequenceLen
//     elements. Starlark counts no execution steps inside a builtin and
//     checks no cancellation there, so list(range(1 << 40)) would
//     otherwise allocate terabytes in one uninterruptible call.
//   - a heap guard: a goroutine samples the Go heap while the recipe's
//     thread lives and cancels the thread, with a clear reason, when the
//     heap has grown by more than the limit since the recipe was loaded
//     (a list doubled in a loop: each step is cheap, the sum is not).

import (
	"fmt"
	"runtime/metrics"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// DefaultMaxHeapBytes is the default heap growth a recipe may cause.
const DefaultMaxHeapBytes = 1 << 30

// MaxSequenceLen is the most elements range() may describe and the
// iterable-consuming builtins may consume in one call: far more than any
// recipe needs.
const MaxSequenceLen = 1 << 24

// memSampleEvery is the heap guard's sampling period.
const memSampleEvery = 5 * time.Millisecond

const heapMetric = "/memory/classes/heap/objects:bytes"

// heapBytes returns the bytes of live and not yet collected heap objects.
// Reading this metric does not stop the world.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// guardHeap cancels t when the heap grows by more than limit bytes (0
// means DefaultMaxHeapBytes) over its size when guardHeap was called.
// Cancellation takes effect at the recipe's next step; one builtin call
// (json.decode of a huge string, a string repeated a billion times) can
// allocate much more before that. So, when hard is not nil, the guard
// also calls hard, once, when the heap grows past the limit by a further
// quarter of it (at least 32 MiB): the CLI exits there, which keeps the
// process close to the figure it was given whatever the recipe does.
// The returned function stops the guard; it is safe to call twice.
func guardHeap(t *starlark.Thread, limit uint64, hard func(msg string)) (stop func()) {
	if limit == 0 {
		limit = DefaultMaxHeapBytes
	}
	base := heapBytes()
	hardAt := base + limit + max(limit/4, 32<<20)
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(memSampleEvery)
		defer tick.Stop()
		cancelled := false
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			// Garbage counts until it is collected, so a recipe is
			// stopped somewhere between limit/2 and limit of live data;
			// a collection here would give the recipe time to double
			// its allocation again.
			cur := heapBytes()
			if !cancelled && cur > base+limit {
				t.Cancel(fmt.Sprintf("memory limit exceeded: the recipe grew the heap by %d MiB, more than the limit of %d MiB", (cur-base)>>20, limit>>20))
				cancelled = true
				if hard == nil {
					return
				}
			}
			if hard != nil && cur > hardAt {
				hard(fmt.Sprintf("memory limit exceeded: the recipe grew the heap by %d MiB inside one builtin call, past the limit of %d MiB; stopped", (cur-base)>>20, limit>>20))
				return
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// GuardHeap is the heap guard of recipe threads (see guardHeap), for
// threads the engine does not create itself (the recipe-test runner's).
func GuardHeap(t *starlark.Thread, limit uint64, hard func(msg string)) (stop func()) {
	return guardHeap(t, limit, hard)
}

// SafeUniverse returns the predeclared replacements that bound what one
// builtin call may do (the size guards of range() and the
// sequence-consuming builtins, and the depth-checked str, repr, print
// and fail), for threads the engine does not create itself.
func SafeUniverse() starlark.StringDict {
	d := sizeGuards()
	for k, v := range boundedFormatters() {
		d[k] = v
	}
	d["json"] = boundedJSON()
	return d
}

// sizeGuards returns predeclared replacements of the universe builtins
// that build or consume a whole sequence inside Go, each refusing more
// than MaxSequenceLen elements.
func sizeGuards() starlark.StringDict {
	d := starlark.StringDict{}
	rng := starlark.Universe["range"].(*starlark.Builtin)
	d["range"] = starlark.NewBuiltin("range", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		v, err := rng.CallInternal(t, args, kwargs)
		if err != nil {
			return nil, err
		}
		if n := starlark.Len(v); n > MaxSequenceLen {
			return nil, fmt.Errorf("range: %d elements is too large (the limit is %d)", n, MaxSequenceLen)
		}
		return v, nil
	})
	for _, name := range []string{"list", "tuple", "sorted", "reversed", "enumerate", "zip", "set", "dict", "min", "max", "any", "all"} {
		orig, ok := starlark.Universe[name].(*starlark.Builtin)
		if !ok {
			continue
		}
		d[name] = starlark.NewBuiltin(name, func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			for _, a := range args {
				if n := starlark.Len(a); n > MaxSequenceLen {
					return nil, fmt.Errorf("%s: an argument of %d elements is too large (the limit is %d)", name, n, MaxSequenceLen)
				}
			}
			return orig.CallInternal(t, args, kwargs)
		})
	}
	return d
}
