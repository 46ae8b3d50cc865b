package fakemac

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestPresetsBuildAndRoundTrip(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			m, err := New(name)
			if err != nil {
				t.Fatalf("New(%q): %v", name, err)
			}
			want, err := m.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), name+".json")
			if err := m.Save(file); err != nil {
				t.Fatal(err)
			}
			back, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := back.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("state changed across Save/Load")
			}
			info, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o644 {
				t.Errorf("saved mode %v, want 0644", info.Mode().Perm())
			}
		})
	}
}
