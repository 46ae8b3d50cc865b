package fakemac

import (
	"context"
	"path"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// checkEntryCounts compares the counts of stat and ls (directory sizes
// and link counts) with the listing of every directory of m.
func checkEntryCounts(t *testing.T, what string, m *Mac) {
	t.Helper()
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
			t.Errorf("%s: %s: entryCounts = %d, %d; the listing has %d names, %d directories", what, p, e, d, len(names), dirs)
		}
		checked++
	}
	if checked < 10 {
		t.Errorf("%s: only %d directories", what, checked)
	}
}

// TestEntryCounts checks the directory counts on every preset, and
// after each kind of change of the files (which must drop the counts).
func TestEntryCounts(t *testing.T) {
	for _, preset := range Presets() {
		m, err := New(preset)
		if err != nil {
			t.Fatal(err)
		}
		checkEntryCounts(t, preset, m)
	}
	m, err := New("converged")
	if err != nil {
		t.Fatal(err)
	}
	checkEntryCounts(t, "converged", m)
	run := func(argv ...string) {
		t.Helper()
		res, err := m.Run(context.Background(), host.Command{Argv: argv, User: host.Root})
		if err != nil || res.Exit != 0 {
			t.Fatalf("%v: %v %+v", argv, err, res)
		}
	}
	steps := []struct {
		what string
		do   func()
	}{
		{"mkdir", func() { run("/bin/mkdir", "-p", "/Users/Shared/a/b/c") }},
		{"put a directory over a file", func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.put("/Users/Shared/a/f", &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel"})
			m.entryCounts("/Users/Shared/a")
			m.put("/Users/Shared/a/f", &Node{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel"})
		}},
		{"hard link", func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.put("/Users/Shared/a/g", &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel"})
			if err := m.hardLink("/Users/Shared/a/g", "/Users/Shared/a/b/g2"); err != nil {
				t.Fatal(err)
			}
		}},
		{"mv", func() { run("/bin/mv", "/Users/Shared/a/b", "/Users/Shared/moved") }},
		{"rm -rf", func() { run("/bin/rm", "-rf", "/Users/Shared/moved") }},
	}
	for _, s := range steps {
		s.do()
		m.mu.Lock()
		checkEntryCounts(t, "after "+s.what, m)
		m.mu.Unlock()
	}
}
