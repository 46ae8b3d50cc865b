package fakemac

import (
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkNew measures building a fake Mac from a preset (New), which
// every --target fake run and many tests do: fresh-m4 is built in Go,
// converged is parsed from its embedded fixture over fresh-m4.
func BenchmarkNew(b *testing.B) {
	for _, name := range []string{"fresh-m4", "converged", "drifted"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := New(name); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadOverPreset measures loading a small fixture merged over a
// preset ("base"), as the CLI tests and hostile recipes do.
func BenchmarkLoadOverPreset(b *testing.B) {
	file := filepath.Join(b.TempDir(), "fixture.json")
	if err := os.WriteFile(file, []byte(`{"base": "converged", "console_user": "admin"}`), 0o644); err != nil {
		b.Fatal(err)
	}
	for range b.N {
		if _, err := Load(file); err != nil {
			b.Fatal(err)
		}
	}
}
