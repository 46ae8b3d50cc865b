package recipetest

import (
	"slices"
	"testing"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/engine"
)

// docNames lists the documented names of m, sorted.
func docNames(m engine.Module) []string {
	var out []string
	for _, b := range m.Builtins {
		if b.Doc == "" || b.Params == "" {
			continue
		}
		out = append(out, b.Name)
	}
	slices.Sort(out)
	return out
}

// TestDocsCoverWhatTestsSee keeps the generated reference of the assert
// module and the test context equal to what a test file can call: a name
// added to either without a doc (or a doc left for a removed name) fails.
func TestDocsCoverWhatTestsSee(t *testing.T) {
	var asserts []string
	for name, v := range AssertModule().Members {
		if _, ok := v.(*starlark.Builtin); !ok {
			t.Errorf("assert.%s is a %s, not a function", name, v.Type())
		}
		asserts = append(asserts, name)
	}
	slices.Sort(asserts)
	if got := docNames(AssertDocs()); !slices.Equal(got, asserts) {
		t.Errorf("documented assert functions %q, module has %q", got, asserts)
	}

	tc := &testContext{}
	attrs := slices.Sorted(slices.Values(tc.AttrNames()))
	for _, name := range attrs {
		if v, err := tc.Attr(name); err != nil || v == nil {
			t.Errorf("t.%s is listed but not provided: %v, %v", name, v, err)
		}
	}
	if got := docNames(ContextDocs()); !slices.Equal(got, attrs) {
		t.Errorf("documented test context %q, context has %q", got, attrs)
	}
}
