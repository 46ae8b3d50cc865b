package engine

import (
	"context"
	"github.com/sysprog21/hvfctl/builtins/host"
	"go.starlark.net/starlark"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMemoryGuard proves that recipes which try to exhaust memory are
// stopped with a clear error, quickly, and without the machine's memory
// being used up: one case per way of allocating.
func TestMemoryGuard(t *testing.T) {
	cases := []struct {
		name string
		src  string
		want string
	}{
		{"doubling list", "def grow():\n    l = [\"a\"] * (1 << 20)\n    for _ in range(64):\n        l = l + l\n    return l\n\ngrow()\n", "memory limit exceeded"},
		{"doubling string", "def grow():\n    s = \"x\" * (1 << 20)\n    for _ in range(64):\n        s = s + s\n    return s\n\ngrow()\n", "memory limit exceeded|too large"},
		{"list of a huge range", "x = list(range(1 << 40))\n", "range: .* too large"},
		{"tuple of a long range", "x = tuple(range(1 << 25))\n", "range: .* too large"},
		{"set of huge string elems", "s = \"x\" * (1 << 25)\nx = set(s.elems())\n", "set: .* too large"},
		{"sorted huge", "s = \"x\" * (1 << 25)\nx = sorted(s.elems())\n", "sorted: .* too large"},
		{"max over a huge range", "x = max(range(1 << 62))\n", "range: .* too large"},
		{"huge repeat", "x = \"x\" * (1 << 40)\n", "too large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			start := time.Now()
			_, err := loadRecipe(t, ctx, map[string]string{"main.star": c.src}, nil, func(o *Options) { o.MaxHeapBytes = 64 << 20 })
			if err == nil {
				t.Fatal("the recipe was not stopped")
			}
			if !matches(c.want, err.Error()) {
				t.Fatalf("error %q does not match %q", err, c.want)
			}
			if !strings.Contains(err.Error(), "main.star:") {
				t.Errorf("error has no file:line position: %v", err)
			}
			if d := time.Since(start); d > 45*time.Second {
				t.Errorf("stopping took %v", d)
			}
		})
	}
}

// TestMemoryGuardAllowsNormalRecipes proves the guards leave ordinary
// sequences alone: a sizeable list, a range at the limit, and loops.
func TestMemoryGuardAllowsNormalRecipes(t *testing.T) {
	src := "x = list(range(1000))\ny = sorted(x, reverse = True)\nz = len(range(" + strconv.Itoa(MaxSequenceLen) + "))\nw = dict(zip(x, y))\nok = max(x) == 999 and min(y) == 0 and any(x) and not all(x) and len(w) == 1000 and len(set(x)) == 1000 and len(tuple(x)) == 1000 and len(reversed(x)) == 1000 and len(enumerate(x)) == 1000\nif not ok or z != " + strconv.Itoa(MaxSequenceLen) + ":\n    fail(\"guards changed a result\")\n"
	if _, err := loadRecipe(t, context.Background(), map[string]string{"main.star": src}, nil, nil); err != nil {
		t.Fatal(err)
	}
}

// matches reports whether s matches the regular expression re.
func matches(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestEvalClockCountsOnlyRunningCode: the clock counts the time between
// enter and leave, less the time paused, and nothing outside.
func TestEvalClockCountsOnlyRunningCode(t *testing.T) {
	c := &evalClock{}
	time.Sleep(20 * time.Millisecond) // not entered: not counted
	start := time.Now()
	leave := c.enter("outer")
	time.Sleep(10 * time.Millisecond)
	if _, running, where := c.read(); !running || where != "outer" {
		t.Errorf("read() while entered = running %v, %q", running, where)
	}
	resume := c.pause()
	time.Sleep(40 * time.Millisecond)
	resume()
	leaveInner := c.enter("inner")
	if _, _, where := c.read(); where != "inner" {
		t.Errorf("innermost = %q, want inner", where)
	}
	leaveInner()
	leave()
	wall := time.Since(start)
	time.Sleep(20 * time.Millisecond)
	got, running, where := c.read()
	if running || where != "" {
		t.Errorf("read() after leave = running %v, %q", running, where)
	}
	if got < 10*time.Millisecond || got > wall-40*time.Millisecond {
		t.Errorf("evaluation time %v, want at least 10ms and at most %v (the wall time less the pause)", got, wall-40*time.Millisecond)
	}
}

// TestThreadGuardStopsOneOperation: an operation inside go.starlark.net
// that recursed through more stack than the limit, or ran on past the
// evaluation time limit, reaches the hard stop with a message that names
// what was running; a cancelled loop ends with Starlark's positioned
// error and no hard stop.
func TestThreadGuardStopsOneOperation(t *testing.T) {
	deepTuple := "def deep(n):\n    t = ()\n    for _ in range(n):\n        t = ((((((((((t,),),),),),),),),),)\n    return t\n\n"
	cases := []struct {
		name    string
		src     string
		limits  Limits
		hard    string // "" means no hard stop
		loadErr string // "" means the error does not matter
	}{
		{"hash of a deep tuple", deepTuple + "x = {deep(30000): 1}\n", Limits{MaxStackBytes: 8 << 20},
			`^stopped in the top level of main\.star: one operation recursed through \d+ MiB of Go stack, past the limit of 8 MiB`, "--max-stack"},
		{"freezing a deep list", "def deep(n):\n    t = []\n    for _ in range(n):\n        t = [[[[[[[[[[t]]]]]]]]]]\n    return t\n\nkept = deep(30000)\n", Limits{MaxStackBytes: 8 << 20},
			// The module's globals are frozen after its last step: no
			// cancellation is seen, only the hard stop.
			`^stopped in the top level of main\.star: one operation recursed`, ""},
		// An operation that never returns by itself (a builtin blocked
		// until the hard stop is reported, as a quadratic formatting
		// inside go.starlark.net would be for hours): deterministic,
		// however fast or loaded the machine is.
		{"an operation that never returns", "x = mk.block()\n", Limits{MaxEvalTime: 20 * time.Millisecond, OperationGrace: 10 * time.Millisecond},
			`^stopped in the top level of main\.star: one operation was still running .* after the evaluation time limit of 20ms`, `main\.star:1:\d+: .*evaluation time limit of 20ms exceeded`},
		// A recursion that grew the stack past the limit and returned
		// before the sampler looked: the clock's check as the top level
		// ends still sees it (without it this case fails now and then).
		{"a recursion that returned between two samples", "mk.grow()\n", Limits{MaxStackBytes: 8 << 20},
			`^stopped in the top level of main\.star: one operation recursed through \d+ MiB of Go stack, past the limit of 8 MiB`, ""},
		{"a long loop", "def spin():\n    n = 0\n    for i in range(1 << 24):\n        n += i\n\nspin()\n", Limits{MaxEvalTime: 100 * time.Millisecond},
			"", `main\.star:[34]:\d+: .*evaluation time limit of 100ms exceeded \(raise it with --max-eval-time\)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hard := make(chan string, 1)
			stopped := make(chan struct{})
			var once sync.Once
			lim := c.limits
			lim.OnHardLimit = func(msg string) {
				once.Do(func() {
					hard <- msg
					close(stopped)
				})
			}
			_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": c.src}, nil, func(o *Options) {
				o.Limits = lim
				o.Modules = append(o.Modules, blockModule(stopped))
				o.MaxSteps = 1 << 40
			})
			if c.loadErr != "" && (err == nil || !matches(c.loadErr, err.Error())) {
				t.Errorf("Load error %v, want one matching %q", err, c.loadErr)
			}
			select {
			case msg := <-hard:
				if c.hard == "" || !matches(c.hard, msg) {
					t.Errorf("hard stop %q, want %q", msg, c.hard)
				}
			default:
				if c.hard != "" {
					t.Errorf("no hard stop, want %q", c.hard)
				}
			}
		})
	}
}

// blockModule has mk.block(): a builtin that runs until stopped is
// closed (the guard's hard stop), or ten seconds at most, so that a
// missing hard stop fails the test instead of hanging it; and
// mk.grow(): a Go recursion through some 16 MiB of stack that returns
// at once.
func blockModule(stopped <-chan struct{}) Module {
	return Module{Name: "mk", Doc: "Test values.", Builtins: []Builtin{{Name: "grow", Kind: KindUtil, Doc: "Grows the Go stack and returns.",
		Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return starlark.MakeInt(growStack(256)), nil
		}}, {Name: "block", Kind: KindUtil, Doc: "Runs until the hard stop.",
		Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
				return nil, err
			}
			select {
			case <-stopped:
			case <-time.After(10 * time.Second):
			}
			return starlark.None, nil
		}}}}
}

// growStack recurses n deep through 64 KiB frames.
func growStack(n int) int {
	var frame [64 << 10]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return int(frame[0])
	}
	return growStack(n-1) + int(frame[n%len(frame)])
}

// slowHost is a scripted host whose commands take delay.
type slowHost struct {
	*scriptedHost
	delay time.Duration
}

func (h slowHost) Run(ctx context.Context, c host.Command) (host.Result, error) {
	time.Sleep(h.delay)
	return h.scriptedHost.Run(ctx, c)
}

// TestEvalTimeLeavesOutQueries: the time a check's query waits for the
// host is not evaluation time, so a slow host does not use up the limit.
func TestEvalTimeLeavesOutQueries(t *testing.T) {
	h := slowHost{newScriptedHost(map[string]string{"a": "1"}), 300 * time.Millisecond}
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": kvResource + "kv_res(\"a\", \"a\", \"1\")\n"}, h, func(o *Options) {
		o.MaxEvalTime = 100 * time.Millisecond
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep := r.Check(context.Background())
	if rep.Summary.OK != 1 {
		var b strings.Builder
		_ = rep.WriteText(&b, TextOptions{All: true})
		t.Errorf("the check did not pass with a slow host:\n%s", b.String())
	}
}
