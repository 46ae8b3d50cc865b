package engine

import (
	"fmt"
	"sync"
	"time"

	"go.starlark.net/starlark"
)

// evalClock measures one thread's evaluation time: the wall time during
// which the engine runs Starlark code on it (a module's top level, a
// check, fix or destroy function, a recipe test), less the time its
// queries wait for the host. Starlark counts no execution step inside one
// builtin or operator ("%s" % v of a list nested a million deep is a
// single step that runs for hours), so the thread's guard bounds this
// time as well (guardThread). It also names what the thread is running,
// for the messages of a guard that must stop the process. Its methods
// are safe for concurrent use: the thread enters, leaves and pauses, the
// guard reads.
type evalClock struct {
	mu     sync.Mutex
	where  []string // what the thread runs, innermost last
	paused int
	since  time.Time // start of the interval not yet added to total
	total  time.Duration
	// onLeave, when set (by the guard, before the thread runs), is
	// called with what the thread ran each time it leaves it, outside
	// the lock.
	onLeave func(what string)
}

// clockKey is the thread-local key of a thread's evalClock.
const clockKey = "hvfctl.evalclock"

// settle adds the time since the last settle to total if the clock was
// counting.
func (c *evalClock) settle(now time.Time) {
	if len(c.where) > 0 && c.paused == 0 {
		c.total += now.Sub(c.since)
	}
	c.since = now
}

// enter starts counting, as the thread starts running what; the returned
// function stops it again.
func (c *evalClock) enter(what string) (leave func()) {
	c.mu.Lock()
	c.settle(time.Now())
	c.where = append(c.where, what)
	n := len(c.where)
	c.mu.Unlock()
	return func() {
		if c.onLeave != nil {
			c.onLeave(what)
		}
		c.mu.Lock()
		c.settle(time.Now())
		c.where = c.where[:n-1]
		c.mu.Unlock()
	}
}

// pause stops counting while a builtin waits for the host; the returned
// function resumes.
func (c *evalClock) pause() (resume func()) {
	c.mu.Lock()
	c.settle(time.Now())
	c.paused++
	c.mu.Unlock()
	return func() {
		c.mu.Lock()
		c.settle(time.Now())
		c.paused--
		c.mu.Unlock()
	}
}

// read returns the evaluation time so far, whether the thread is running
// Starlark code now, and what it runs ("" when nothing).
func (c *evalClock) read() (elapsed time.Duration, running bool, where string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.settle(time.Now())
	if n := len(c.where); n > 0 {
		where = c.where[n-1]
	}
	return c.total, len(c.where) > 0, where
}

// clockOf returns the clock of t, or nil when t has no guard.
func clockOf(t *starlark.Thread) *evalClock {
	c, _ := t.Local(clockKey).(*evalClock)
	return c
}

// enterEval counts the time until the returned function is called as t's
// evaluation time, spent running what.
func enterEval(t *starlark.Thread, what string) (leave func()) {
	if c := clockOf(t); c != nil {
		return c.enter(what)
	}
	return func() {}
}

// pauseEval stops counting t's evaluation time until the returned
// function is called (a query waits for the host).
func pauseEval(t *starlark.Thread) (resume func()) {
	if c := clockOf(t); c != nil {
		return c.pause()
	}
	return func() {}
}

// Call calls fn on t as starlark.Call does, counting the call as t's
// evaluation time (see evalClock). Every call of recipe or test code
// from Go goes through it.
func Call(t *starlark.Thread, fn starlark.Value, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	defer enterEval(t, describeCallable(fn))()
	return starlark.Call(t, fn, args, kwargs)
}

// describeCallable names fn and where it is defined, for messages.
func describeCallable(fn starlark.Value) string {
	if f, ok := fn.(*starlark.Function); ok {
		return fmt.Sprintf("function %s (%s)", f.Name(), f.Position())
	}
	if c, ok := fn.(starlark.Callable); ok {
		return c.Name()
	}
	return fn.Type()
}
