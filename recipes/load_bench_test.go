package recipes

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

// BenchmarkLoad measures what every run pays before its first check:
// evaluating m4.star (with the stdlib modules it loads) on a converged
// fake, compiling each module ("compile", a new engine.Programs per
// Load, as one hvfctl invocation) or taking the compiled modules from a
// shared cache ("cached", as `hvfctl test` and the test suites do).
func BenchmarkLoad(b *testing.B) {
	m := fake(b, "converged")
	for _, bc := range []struct {
		name     string
		programs func() *engine.Programs
	}{
		{"compile", engine.NewPrograms},
		{"cached", func() func() *engine.Programs {
			p := engine.NewPrograms()
			return func() *engine.Programs { return p }
		}()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				r, err := engine.Load(context.Background(), "m4.star", engine.Options{
					Host: m, Modules: builtins.Modules(), Stdlib: stdlib.FS,
					Principals: engine.Principals{BrewOwner: "admin", Invoker: "admin"},
					Programs:   bc.programs(),
				})
				if err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
	}
}

// BenchmarkLoadFixture measures reading a fake Mac back from a saved
// state (--save, then --target fake:FILE), which the batteries do
// several times per run.
func BenchmarkLoadFixture(b *testing.B) {
	file := filepath.Join(b.TempDir(), "converged.json")
	if err := fake(b, "converged").Save(file); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, err := fakemac.Load(file); err != nil {
			b.Fatal(err)
		}
	}
}
