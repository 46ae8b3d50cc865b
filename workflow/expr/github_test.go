package expr

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// knownAnswer is one case of GitHub's expression test data.
type knownAnswer struct {
	Expr     string                     `json:"expr"`
	Contexts map[string]json.RawMessage `json:"contexts"`
	Result   *struct {
		Kind  string          `json:"kind"`
		Value json.RawMessage `json:"value"`
	} `json:"result"`
	Err *struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"err"`
}

// loadKnownAnswers reads every testdata/github/*.json file.
func loadKnownAnswers(t *testing.T) map[string][]knownAnswer {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "github", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no known-answer files: %v", err)
	}
	out := map[string][]knownAnswer{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups map[string][]knownAnswer
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		names := make([]string, 0, len(groups))
		for g := range groups {
			names = append(names, g)
		}
		sort.Strings(names)
		for _, g := range names {
			key := filepath.Base(f) + "/" + g
			out[key] = append(out[key], groups[g]...)
		}
	}
	return out
}

// expected converts the test's result value; numbers and NaN are compared
// through the same canonical JSON form as actual values.
func sameValue(got, want any) bool {
	switch w := want.(type) {
	case float64:
		g, ok := got.(float64)
		if !ok {
			return false
		}
		if math.IsNaN(w) {
			return math.IsNaN(g)
		}
		return g == w && math.Signbit(g) == math.Signbit(w)
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !sameValue(g[i], w[i]) {
				return false
			}
		}
		return true
	case *Object:
		g, ok := got.(*Object)
		if !ok || g.Len() != w.Len() {
			return false
		}
		for i, k := range w.keys {
			if g.keys[i] != k || !sameValue(g.vals[i], w.vals[i]) {
				return false
			}
		}
		return true
	default:
		return got == want
	}
}

func TestGitHubKnownAnswers(t *testing.T) {
	groups := loadKnownAnswers(t)
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var pass, fail, errCases int
	for _, key := range keys {
		for i, c := range groups[key] {
			ctx := MapContext{}
			for name, raw := range c.Contexts {
				v, err := FromJSON(raw)
				if err != nil {
					t.Fatalf("%s #%d: context %s: %v", key, i, name, err)
				}
				ctx[name] = v
			}
			names := make([]string, 0, len(ctx))
			for name := range ctx {
				names = append(names, name)
			}
			got, err := evalNamed(c.Expr, ctx, names)
			ok := true
			switch {
			case c.Err != nil:
				errCases++
				var syn *SyntaxError
				switch {
				case err == nil:
					ok = false
					t.Errorf("%s #%d: %q: want %s error %q, got %s %v", key, i, c.Expr, c.Err.Kind, c.Err.Value, Kind(got), ToJSON(got))
				case errors.As(err, &syn) != (c.Err.Kind != "evaluation"):
					ok = false
					t.Errorf("%s #%d: %q: want a %s error %q, got %v", key, i, c.Expr, c.Err.Kind, c.Err.Value, err)
				case syn != nil && strings.Contains(c.Err.Value, "within expression") && positionOf(c.Err.Value) != 0 && positionOf(c.Err.Value) != syn.Col:
					ok = false
					t.Errorf("%s #%d: %q: want error at position %d (%q), got %v", key, i, c.Expr, positionOf(c.Err.Value), c.Err.Value, err)
				}
			case err != nil:
				ok = false
				t.Errorf("%s #%d: %q: unexpected error: %v", key, i, c.Expr, err)
			default:
				want, werr := FromJSON(c.Result.Value)
				if werr != nil {
					t.Fatalf("%s #%d: result: %v", key, i, werr)
				}
				if c.Result.Kind == "Number" {
					if s, isStr := want.(string); isStr { // "NaN", "Infinity"
						want = ToNumber(s)
					}
				}
				if Kind(got) != c.Result.Kind || !sameValue(got, want) {
					ok = false
					t.Errorf("%s #%d: %q: want %s %s, got %s %s", key, i, c.Expr, c.Result.Kind, ToJSON(want), Kind(got), ToJSON(got))
				}
			}
			if ok {
				pass++
			} else {
				fail++
			}
		}
	}
	t.Logf("GitHub known-answer tests: %d passed, %d failed, %d total (%d error cases)", pass, fail, pass+fail, errCases)
	if pass+fail < 1000 {
		t.Errorf("only %d known-answer cases loaded, want about 1000", pass+fail)
	}
}

// evalNamed parses src allowing the given names and evaluates it.
func evalNamed(src string, ctx Context, names []string) (any, error) {
	e, err := ParseNamed(src, names...)
	if err != nil {
		return nil, err
	}
	return e.Eval(ctx)
}

var positionRE = regexp.MustCompile(`Located at position (\d+)`)

// positionOf extracts GitHub's 1-based error position, 0 when absent.
func positionOf(msg string) int {
	m := positionRE.FindStringSubmatch(msg)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}
