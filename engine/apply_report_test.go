package engine

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
)

// applyJSON decodes the actions of a report's JSON by resource id.
func applyJSON(t *testing.T, rep *Report) map[string][]map[string]any {
	t.Helper()
	var b strings.Builder
	if err := rep.WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Resources []struct {
			ID      string           `json:"id"`
			Actions []map[string]any `json:"actions"`
		} `json:"resources"`
	}
	if err := json.Unmarshal([]byte(b.String()), &doc); err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	out := map[string][]map[string]any{}
	for _, r := range doc.Resources {
		out[r.ID] = r.Actions
	}
	return out
}

// reportText renders a report without colour.
func reportText(t *testing.T, rep *Report) string {
	t.Helper()
	var b strings.Builder
	if err := rep.WriteText(&b, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestApplyReportSaysWhatRan checks that an apply's text and JSON say,
// per action, whether it ran, failed (with its error) or was not run:
// after a resource's first failing action, and in an apply refused by
// allow_writes; a plan says "will run" and carries no "ran" key.
func TestApplyReportSaysWhatRan(t *testing.T) {
	const recipe = kvResource + `
resource(
    id = "multi",
    kind = "kv",
    want = {"broken": "1", "m": "1"},
    check = lambda: {"broken": kv.get().get("broken"), "m": kv.get().get("m")},
    fix = lambda have, want: [kv.set("broken", "1"), kv.set("m", "1")],
)
kv_res("a", "a", "1")
`
	tests := []struct {
		name    string
		allow   string
		want    []string // lines the text must hold
		notWant []string
		ran     map[string][]bool // resource → ran of each action
		errs    map[string][]bool // resource → whether each action has an error
	}{
		{
			name:  "first action fails",
			allow: `allow_writes("/etc/kv")`,
			want: []string{
				"failed /usr/bin/kv set broken 1 (as root)",
				"not run /usr/bin/kv set m 1 (as root)",
				"ran /usr/bin/kv set a 1 (as root)",
				"1 changed",
			},
			notWant: []string{"ran /usr/bin/kv set broken", "ran /usr/bin/kv set m"},
			ran:     map[string][]bool{"multi": {true, false}, "a": {true}},
			errs:    map[string][]bool{"multi": {true, false}, "a": {false}},
		},
		{
			name:  "refused by allow_writes",
			allow: `allow_writes("/etc/kv/a")`,
			want: []string{
				"nothing was run",
				"not run /usr/bin/kv set broken 1 (as root)",
				"not run /usr/bin/kv set m 1 (as root)",
				"not run /usr/bin/kv set a 1 (as root)",
				"2 to change, not applied",
			},
			notWant: []string{"ran /usr/bin/kv", "changed", "failed /usr/bin/kv"},
			ran:     map[string][]bool{"multi": {false, false}, "a": {false}},
			errs:    map[string][]bool{"multi": {false, false}, "a": {false}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newScriptedHost(map[string]string{"a": "0"})
			r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": tt.allow + "\n" + recipe}, h, nil)
			if err != nil {
				t.Fatal(err)
			}
			plan := r.Plan(context.Background())
			if text := reportText(t, plan); !strings.Contains(text, "will run /usr/bin/kv set m 1") {
				t.Errorf("the plan does not say what will run:\n%s", text)
			}
			for id, actions := range applyJSON(t, plan) {
				for _, a := range actions {
					if _, ok := a["ran"]; ok {
						t.Errorf("plan JSON of %s carries ran: %v", id, a)
					}
				}
			}
			rep := r.Apply(context.Background())
			text := reportText(t, rep)
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("the apply report lacks %q:\n%s", w, text)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(text, w) {
					t.Errorf("the apply report holds %q:\n%s", w, text)
				}
			}
			got := applyJSON(t, rep)
			for id, ran := range tt.ran {
				if len(got[id]) != len(ran) {
					t.Fatalf("%s: %d actions in JSON, want %d", id, len(got[id]), len(ran))
				}
				for i, a := range got[id] {
					if a["ran"] != ran[i] {
						t.Errorf("%s action %d: ran = %v, want %v", id, i, a["ran"], ran[i])
					}
					e, _ := a["error"].(string)
					if (e != "") != tt.errs[id][i] {
						t.Errorf("%s action %d: error = %q, want one: %v", id, i, e, tt.errs[id][i])
					}
					if e != "" && !strings.Contains(e, "permission denied") {
						t.Errorf("%s action %d: error %q lacks the command's stderr", id, i, e)
					}
				}
			}
		})
	}
}
