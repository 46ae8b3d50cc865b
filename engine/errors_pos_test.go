package engine

import (
	"context"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

// TestBuiltinPositionShownOnce: a builtin that reports a positioned error
// (as every tool builtin does) must not have its position and name
// repeated by the engine's error rendering.
func TestBuiltinPositionShownOnce(t *testing.T) {
	probe := Module{Name: "probe", Doc: "Test queries.", Builtins: []Builtin{{
		Name: "broken", Kind: KindQuery, Doc: "Fails as a tool query does when its command fails.",
		Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return nil, PosError{Pos: CallerPos(t), Msg: "probe.broken: /usr/bin/probe exited 3: probe: unreachable"}
		},
	}}}
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": `
def check():
    return {"x": probe.broken()}

resource(id = "p", kind = "probe", want = {"x": 1}, check = check, remediation = "none")
`}, nil, func(o *Options) { o.Modules = append(o.Modules, probe) })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep := r.Plan(context.Background())
	res := rep.Resource("p")
	if res == nil || res.Status != StatusFailed {
		t.Fatalf("want a failed resource, got %+v", res)
	}
	first, _, _ := strings.Cut(res.Error, "\n") // the traceback follows
	if n := strings.Count(first, "main.star:3:"); n != 1 {
		t.Errorf("position shown %d times, want once:\n%s", n, res.Error)
	}
	if n := strings.Count(first, "probe.broken:"); n != 1 {
		t.Errorf("builtin name shown %d times, want once:\n%s", n, res.Error)
	}
	if !strings.Contains(res.Error, "exited 3: probe: unreachable") {
		t.Errorf("the command's failure is missing:\n%s", res.Error)
	}
}
