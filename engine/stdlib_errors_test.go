package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/go-multierror"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

// TestStdlibBadCallsReportedTogether evaluates a recipe with three bad
// calls of the embedded stdlib and expects each refused argument at its
// recipe line, in one error.
func TestStdlibBadCallsReportedTogether(t *testing.T) {
	m, err := fakemac.New("fresh-m4")
	if err != nil {
		t.Fatal(err)
	}
	const file = "../testdata/engine/bad_calls/three_bad_calls.star"
	_, err = engine.Load(context.Background(), file, engine.Options{Host: m, Modules: builtins.Modules(), Stdlib: stdlib.FS})
	var merr *multierror.Error
	if !errors.As(err, &merr) {
		t.Fatalf("err = %v (%T), want a multierror", err, err)
	}
	want := []string{
		file + `:9:10: directory: path: "opt/toolchain" is not an absolute path`,
		file + `:11:14: launch_daemon: label: want string, got int`,
		file + `:13:6: power: unknown keyword argument "colour"`,
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("errors lack %q in\n%v", w, err)
		}
	}
	if len(merr.Errors) != len(want) {
		t.Errorf("got %d errors, want %d:\n%v", len(merr.Errors), len(want), err)
	}
}
