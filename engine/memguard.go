package engine

// This file keeps a hostile or buggy recipe from exhausting the memory,
// the Go stack or the time of the machine that evaluates it. The layers
// work together:
//
//   - size guards: range() and the universe builtins that consume a whole
//     iterable inside Go (list, tuple, sorted, reversed, enumerate, zip,
//     set, dict, min, max, any, all) refuse more than MaxSequenceLen
//     elements. Starlark counts no execution steps inside a builtin and
//     checks no cancellation there, so list(range(1 << 40)) would
//     otherwise allocate terabytes in one uninterruptible call.
//   - a thread guard: a goroutine samples the Go runtime while the
//     recipe's thread lives and cancels the thread, with a clear reason,
//     when the heap has grown by more than the limit since the recipe was
//     loaded (a list doubled in a loop: each step is cheap, the sum is
//     not) or when the thread's evaluation time (evalClock) passes its
//     limit (one operator on a value nested a million deep runs for
//     hours in one step). What one operation does cannot be interrupted
//     (go.starlark.net's own recursion over values, such as hashing,
//     formatting, comparing or freezing, is unguarded), so the guard
//     also stops the process, through the caller's hard-stop function,
//     when cancelling is not enough: the heap grows far past its limit,
//     one operation has not returned long after the time limit, or the
//     goroutine stacks grow past MaxStackBytes, well before Go's own
//     1 GB stack limit would end the process with a stack trace.

import (
	"fmt"
	"runtime/metrics"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// DefaultMaxHeapBytes is the default heap growth a recipe may cause.
const DefaultMaxHeapBytes = 1 << 30

// DefaultMaxStackBytes is the default bound of the Go stack memory of the
// whole process: a few hundred times what hvfctl uses, a quarter of Go's
// 1 GB limit of one goroutine's stack.
const DefaultMaxStackBytes = 256 << 20

// DefaultMaxEvalTime is the default evaluation time of one thread (see
// evalClock): far more than the default step budget takes.
const DefaultMaxEvalTime = 2 * time.Minute

// MaxSequenceLen is the most elements range() may describe and the
// iterable-consuming builtins may consume in one call: far more than any
// recipe needs.
const MaxSequenceLen = 1 << 24

// memSampleEvery is the thread guard's sampling period.
const memSampleEvery = 5 * time.Millisecond

const (
	heapMetric  = "/memory/classes/heap/objects:bytes"
	stackMetric = "/memory/classes/heap/stacks:bytes"
)

// runtimeBytes returns the bytes of live and not yet collected heap
// objects and the bytes reserved for goroutine stacks. Reading these
// metrics does not stop the world.
func runtimeBytes() (heap, stack uint64) {
	s := []metrics.Sample{{Name: heapMetric}, {Name: stackMetric}}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		heap = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		stack = s[1].Value.Uint64()
	}
	return heap, stack
}

// Limits bounds what one thread may use besides its step budget; a zero
// field means its default.
type Limits struct {
	// MaxHeapBytes bounds the heap growth since the guard started
	// (DefaultMaxHeapBytes).
	MaxHeapBytes uint64
	// MaxStackBytes bounds the stack memory of the process
	// (DefaultMaxStackBytes).
	MaxStackBytes uint64
	// MaxEvalTime bounds the thread's evaluation time
	// (DefaultMaxEvalTime).
	MaxEvalTime time.Duration
	// OperationGrace is how long one operation may run on after
	// MaxEvalTime before the hard stop (0 means
	// OperationGrace(MaxEvalTime)).
	OperationGrace time.Duration
	// OnHardLimit is called, once and from another goroutine, when
	// cancelling the thread cannot stop it in time: the heap grows well
	// past MaxHeapBytes inside one builtin call, one operation runs on
	// long after MaxEvalTime, or the stacks grow past MaxStackBytes. The
	// CLI exits there. nil relies on cancellation alone, which cannot
	// stop one operation that never returns or a recursion that ends in
	// Go's fatal stack overflow.
	OnHardLimit func(msg string)
}

// withDefaults fills the zero fields of l.
func (l Limits) withDefaults() Limits {
	if l.MaxHeapBytes == 0 {
		l.MaxHeapBytes = DefaultMaxHeapBytes
	}
	if l.MaxStackBytes == 0 {
		l.MaxStackBytes = DefaultMaxStackBytes
	}
	if l.MaxEvalTime == 0 {
		l.MaxEvalTime = DefaultMaxEvalTime
	}
	if l.OperationGrace == 0 {
		l.OperationGrace = OperationGrace(l.MaxEvalTime)
	}
	return l
}

// OperationGrace is how long one operation may still run, in evaluation
// time, after the time limit cancelled its thread, before the guard
// stops the process: a quarter of the limit, at least half a second (a
// busy machine may not run the cancelled thread at once) and at most 30
// seconds. An operation that returns within it ends with the
// cancellation's positioned error and traceback.
func OperationGrace(limit time.Duration) time.Duration {
	return min(max(limit/4, 500*time.Millisecond), 30*time.Second)
}

// guardThread starts the guard of t (see the file comment) and attaches
// t's evalClock; the heap is measured from its size now. The returned
// function stops the guard; it is safe to call twice.
func guardThread(t *starlark.Thread, l Limits) (stop func()) {
	l = l.withDefaults()
	clock := &evalClock{}
	t.SetLocal(clockKey, clock)
	base, _ := runtimeBytes()
	heapHardAt := base + l.MaxHeapBytes + max(l.MaxHeapBytes/4, 32<<20)
	timeHardAt := l.MaxEvalTime + l.OperationGrace
	hard := func(msg string) bool {
		if l.OnHardLimit == nil {
			return false
		}
		l.OnHardLimit(msg)
		return true
	}
	// overStack reports, once, a Go stack past the limit while the
	// thread ran where: it cancels the thread and asks for the hard stop
	// (true when there is one). The sampler calls it, and so does the
	// clock each time the thread leaves what it ran: a recursion that
	// grew the stack and returned between two samples (hashing a deep
	// value takes milliseconds) is still seen, since Go gives stack
	// memory back only at a collection, and is named after what ran it.
	var stackMu sync.Mutex
	stackCancelled := false
	overStack := func(where string, stack uint64) bool {
		stackMu.Lock()
		defer stackMu.Unlock()
		if stackCancelled || stack <= l.MaxStackBytes {
			return false
		}
		stackCancelled = true
		stopped := "stopped"
		if where != "" {
			stopped += " in " + where
		}
		// Nothing returns from this recursion in time: cancelling is
		// for a caller without a hard stop.
		msg := fmt.Sprintf("%s: one operation recursed through %d MiB of Go stack, past the limit of %d MiB (--max-stack): a value is nested far too deep (Go would crash at 1 GB)", stopped, stack>>20, l.MaxStackBytes>>20)
		t.Cancel(msg)
		return hard(msg)
	}
	clock.onLeave = func(what string) {
		_, stack := runtimeBytes()
		overStack(what, stack)
	}
	done := make(chan struct{})
	var once sync.Once
	go func() {
		tick := time.NewTicker(memSampleEvery)
		defer tick.Stop()
		heapCancelled, timeCancelled := false, false
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			elapsed, running, where := clock.read()
			stopped := "stopped"
			if where != "" {
				stopped += " in " + where
			}
			// Garbage counts until it is collected, so a recipe is
			// stopped somewhere between limit/2 and limit of live data;
			// a collection here would give the recipe time to double
			// its allocation again.
			cur, stack := runtimeBytes()
			if overStack(where, stack) {
				return
			}
			if !heapCancelled && cur > base+l.MaxHeapBytes {
				t.Cancel(fmt.Sprintf("memory limit exceeded: the recipe grew the heap by %d MiB, more than the limit of %d MiB", (cur-base)>>20, l.MaxHeapBytes>>20))
				heapCancelled = true
			}
			if heapCancelled && cur > heapHardAt && hard(fmt.Sprintf("memory limit exceeded: the recipe grew the heap by %d MiB inside one builtin call, past the limit of %d MiB; %s", (cur-base)>>20, l.MaxHeapBytes>>20, stopped)) {
				return
			}
			if !timeCancelled && elapsed > l.MaxEvalTime {
				t.Cancel(fmt.Sprintf("evaluation time limit of %s exceeded (raise it with --max-eval-time)", l.MaxEvalTime))
				timeCancelled = true
			}
			if timeCancelled && running && elapsed > timeHardAt && hard(fmt.Sprintf("%s: one operation was still running %s after the evaluation time limit of %s (--max-eval-time) cancelled it", stopped, (elapsed-l.MaxEvalTime).Round(time.Millisecond), l.MaxEvalTime)) {
				return
			}
		}
	}()
	return func() { once.Do(func() { close(done) }) }
}

// GuardThread is the guard of recipe threads (see guardThread), for
// threads the engine does not create itself (the recipe-test runner's).
func GuardThread(t *starlark.Thread, l Limits) (stop func()) {
	return guardThread(t, l)
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
