package expr

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fuzzContext is a context with every name GitHub offers, so that parsed
// expressions get evaluated rather than rejected for unknown names.
func fuzzContext() MapContext {
	return MapContext{
		"github":   prEvent("evil/elfuse", "sysprog21/elfuse", "ci-hvf", "other"),
		"env":      map[string]any{"LINUX_TOOLCHAIN": "/opt/x"},
		"vars":     map[string]any{"ALLOW": "true"},
		"inputs":   map[string]any{"ref": "main", "n": 3},
		"needs":    map[string]any{"build": map[string]any{"outputs": map[string]any{"ok": "yes"}, "result": "success"}},
		"secrets":  map[string]any{"GITHUB_TOKEN": "redacted"},
		"matrix":   map[string]any{"os": []any{"macos", "linux"}},
		"steps":    map[string]any{},
		"runner":   map[string]any{"os": "macOS", "arch": "ARM64"},
		"job":      map[string]any{"status": "success"},
		"strategy": map[string]any{"fail-fast": true},
	}
}

// FuzzParseEval checks that no input panics and that the analyses agree
// with evaluation: Trace returns what Eval returns, every step is the
// exact source slice, and SplitFences covers its input.
func FuzzParseEval(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "github", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		var groups map[string][]struct {
			Expr string `json:"expr"`
		}
		if err := json.Unmarshal(data, &groups); err != nil {
			f.Fatalf("%s: %v", file, err)
		}
		for _, cases := range groups {
			for _, c := range cases {
				f.Add(c.Expr)
			}
		}
	}
	for _, s := range []string{
		"github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))",
		"${{ a }} || ${{ b }}",
		"secrets[format('{0}', matrix.os[0])]",
		"needs.*.outputs.*",
	} {
		f.Add(s)
	}
	ctx := fuzzContext()
	f.Fuzz(func(t *testing.T, src string) {
		if parts, err := SplitFences(src); err == nil {
			var b strings.Builder
			for _, p := range parts {
				b.WriteString(src[p.Start:p.End])
			}
			if b.String() != src {
				t.Fatalf("SplitFences(%q) parts do not cover the input", src)
			}
		}
		if c, err := ParseIf(src); err == nil {
			_, _ = c.Eval(ctx, Options{})
		}
		e, err := Parse(src)
		if err != nil {
			return
		}
		_ = e.References()
		_ = e.HasStatusFunction()
		v1, err1 := e.Eval(ctx)
		v2, steps, err2 := e.Trace(ctx)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("Eval and Trace disagree on errors for %q: %v vs %v", src, err1, err2)
		}
		if err1 != nil {
			return
		}
		if ToJSON(v1) != ToJSON(v2) || !reflect.DeepEqual(Kind(v1), Kind(v2)) {
			t.Fatalf("Eval(%q) = %v but Trace = %v", src, ToJSON(v1), ToJSON(v2))
		}
		for _, s := range steps {
			if src[s.Start:s.End] != s.Src {
				t.Fatalf("step %q is not source[%d:%d] of %q", s.Src, s.Start, s.End, src)
			}
		}
		_ = ToString(v1)
		_ = Truthy(v1)
	})
}
