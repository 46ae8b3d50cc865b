package main

import (
	"strings"
	"testing"
)

// TestEveryCommandHelpHasAnExample walks the whole command tree: every leaf
// command's --help must say what it does, its exit status and an example.
func TestEveryCommandHelpHasAnExample(t *testing.T) {
	commands := [][]string{
		{"plan"}, {"check"}, {"run"}, {"facts"}, {"test"}, {"doc"}, {"version"},
		{"fmt"}, {"lint"}, {"prune"},
		{"workflow", "audit"}, {"workflow", "render"},
		{"fixtures", "lock"}, {"fixtures", "verify"}, {"fixtures", "diff"},
	}
	for _, c := range commands {
		name := strings.Join(c, " ")
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(c, "--help")...)
			if code != 0 {
				t.Fatalf("hvfctl %s --help exited %d: %s", name, code, errOut)
			}
			for _, want := range []string{"Usage: hvfctl " + name, "Example"} {
				if !strings.Contains(out, want) {
					t.Errorf("hvfctl %s --help lacks %q:\n%s", name, want, out)
				}
			}
		})
	}
}
