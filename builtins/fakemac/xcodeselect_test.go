package fakemac

import (
	"strings"
	"testing"
)

// TestXcodeSelectSwitchValidates: xcode-select --switch accepts a
// developer directory only when it holds usr/lib/libxcrun.dylib, and an
// Xcode.app as its Contents/Developer (docs/host-commands.md).
func TestXcodeSelectSwitchValidates(t *testing.T) {
	m := mustNew(t, "converged")
	m.mu.Lock()
	m.mkdirAll("/Users/Shared/empty", 0o755, "root", "wheel")
	m.mkdirAll("/Applications/Xcode.app/Contents/Developer/usr/lib", 0o755, "root", "wheel")
	m.put("/Applications/Xcode.app/Contents/Developer/usr/lib/libxcrun.dylib", &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 1})
	m.mu.Unlock()
	for _, tc := range []struct {
		dir, want string
		exit      int
	}{
		{"/Users/Shared/empty", "", 1},
		{"/Applications/Xcode.app", "/Applications/Xcode.app/Contents/Developer", 0},
		{"/Library/Developer/CommandLineTools", "/Library/Developer/CommandLineTools", 0},
	} {
		r := exec(t, m, as("root", "/usr/bin/xcode-select", "--switch", tc.dir))
		if r.Exit != tc.exit {
			t.Errorf("--switch %s: exit %d %q", tc.dir, r.Exit, r.Stderr)
		}
		if tc.exit != 0 {
			if !strings.Contains(r.Stderr, "invalid developer directory") {
				t.Errorf("--switch %s: %q", tc.dir, r.Stderr)
			}
			continue
		}
		if p := exec(t, m, as("root", "/usr/bin/xcode-select", "-p")); strings.TrimSpace(p.Stdout) != tc.want {
			t.Errorf("after --switch %s, -p prints %q, want %q", tc.dir, p.Stdout, tc.want)
		}
	}
}
