package engine

import (
	"context"
	"regexp"
	"strconv"
	"strings"
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
