package fakemac

import (
	"path"
	"testing"
)

// TestEntryCounts checks the counting pass of stat and ls (directory
// sizes and link counts) against the listing of every directory of
// every preset.
func TestEntryCounts(t *testing.T) {
	for _, preset := range Presets() {
		m, err := New(preset)
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for p, n := range m.st.Files {
			if n.Type != TypeDir {
				continue
			}
			names := m.children(p)
			dirs := 0
			for _, name := range names {
				if m.st.Files[path.Join(p, name)].Type == TypeDir {
					dirs++
				}
			}
			if e, d := m.entryCounts(p); e != len(names) || d != dirs {
				t.Errorf("%s: %s: entryCounts = %d, %d; the listing has %d names, %d directories", preset, p, e, d, len(names), dirs)
			}
			checked++
		}
		if checked < 10 {
			t.Errorf("%s: only %d directories", preset, checked)
		}
	}
}
