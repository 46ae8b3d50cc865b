package engine

import (
	"context"
	"strings"
	"testing"
)

// TestEffects: each change is marked create, update, replace or destroy
// from its changes and actions, the summary counts each, and the text
// report shows Terraform's marks and lists what is destroyed first.
func TestEffects(t *testing.T) {
	const recipe = kvResource + `
allow_writes("/etc/kv")
kv_res("new", "new", "1")          # absent → create
kv_res("upd", "upd", "2")          # "1" → "2": update
resource(
    id = "gone", kind = "kv",
    want = {"present": False},
    check = lambda: {"present": True},
    fix = lambda have, want: kv.set("gone", "").destroys("key gone"),
)
resource(
    id = "again", kind = "kv",
    want = {"name": "b"},
    check = lambda: {"name": "a"},
    fix = lambda have, want: [kv.set("again", "").destroys("registration a"), kv.set("again", "b")],
)
resource(
    id = "partial", kind = "kv",
    want = {"a": "installed", "b": "installed"},
    check = lambda: {"a": "installed", "b": "missing"},
    fix = lambda have, want: kv.set("partial", "b"),
)
resource(
    id = "missing", kind = "kv",
    want = {"state": "running", "loaded": True},
    check = lambda: {"state": "missing", "loaded": False},
    fix = lambda have, want: kv.set("missing", "1"),
)
`
	h := newScriptedHost(map[string]string{"upd": "1"})
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": recipe}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	want := map[string]Effect{"new": EffectCreate, "upd": EffectUpdate, "gone": EffectDestroy, "again": EffectReplace, "missing": EffectCreate, "partial": EffectUpdate}
	for id, e := range want {
		if got := rep.Resource(id).Effect; got != e {
			t.Errorf("%s: effect %q, want %q", id, got, e)
		}
	}
	s := rep.Summary
	if s.Create != 2 || s.Update != 2 || s.Replace != 1 || s.Destroy != 1 || s.Change != 6 {
		t.Errorf("summary %+v", s)
	}
	if got := strings.Join(rep.Destroys(), "|"); got != "key gone|registration a" {
		t.Errorf("Destroys() = %q", got)
	}
	text := reportText(t, rep)
	for _, line := range []string{
		"This plan destroys:\n  - key gone\n  - registration a\n",
		"  +        new (kv)\n",
		"  ~        upd (kv)\n",
		"  -        gone (kv)\n",
		"  -/+      again (kv)\n",
		"destroys registration a\n",
		"changes pending: 2 to create, 2 to change, 1 to replace, 1 to destroy (6 resources)",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("text lacks %q:\n%s", line, text)
		}
	}
}

// TestDestroysNeedsWhat: destroys() without a description is an error.
func TestDestroysNeedsWhat(t *testing.T) {
	const recipe = kvResource + `
resource(id = "x", kind = "kv", want = {"a": 1}, check = lambda: {"a": 0}, fix = lambda have, want: kv.set("x", "1").destroys(" "))
`
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": recipe}, newScriptedHost(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	if res := rep.Resource("x"); res.Status != StatusFailed || !strings.Contains(res.Error, "say what the action destroys") {
		t.Errorf("status %s error %q", res.Status, res.Error)
	}
}

// TestOKHiddenUnlessAll: ok resources are left out of the text unless
// All, and the summary still counts them.
func TestOKHiddenUnlessAll(t *testing.T) {
	h := newScriptedHost(map[string]string{"a": "1", "b": "0"})
	r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": kvResource + `
kv_res("a", "a", "1")
kv_res("b", "b", "1")
`}, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep := r.Plan(context.Background())
	text := reportText(t, rep)
	if strings.Contains(text, " a (kv)") || !strings.Contains(text, " b (kv)") || !strings.Contains(text, "1 to change, 1 ok (2 resources)") {
		t.Errorf("default text:\n%s", text)
	}
	var all strings.Builder
	if err := rep.WriteText(&all, TextOptions{All: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(all.String(), "  ok       a (kv)") {
		t.Errorf("--all text lacks the ok resource:\n%s", all.String())
	}
}
