package builtins

import "testing"

// TestModulesDocumented requires real documentation on every builtin and
// unique names, since `hvfctl doc` is generated from them.
func TestModulesDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Modules() {
		if seen[m.Name] {
			t.Errorf("module %s twice", m.Name)
		}
		seen[m.Name] = true
		if m.Doc == "" {
			t.Errorf("module %s has no doc", m.Name)
		}
		names := map[string]bool{}
		for _, b := range m.Builtins {
			if names[b.Name] {
				t.Errorf("%s.%s twice", m.Name, b.Name)
			}
			names[b.Name] = true
			if len(b.Doc) < 40 || b.Fn == nil {
				t.Errorf("%s.%s: doc too short or no function", m.Name, b.Name)
			}
		}
	}
}
