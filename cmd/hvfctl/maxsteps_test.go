package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMaxStepsFlag: --max-steps reaches the engine from plan, check, run
// and test, and a recipe over budget fails with the position of the loop.
func TestMaxStepsFlag(t *testing.T) {
	dir := t.TempDir()
	spin := "def spin():\n    n = 0\n    for i in range(1000):\n        for j in range(1000):\n            n += j\n    return n\n\nspin()\n"
	files := map[string]string{
		"spin.star":      spin,
		"spin_test.star": "def test_spin(t):\n    n = 0\n    for i in range(1000):\n        for j in range(1000):\n            n += j\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	recipe := filepath.Join(dir, "spin.star")
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"plan", "--target", "fake", "--max-steps", "5000", recipe}, 1, "", "spin.star:5:15: Starlark computation cancelled: execution step budget of 5000 exceeded (raise it with --max-steps)"},
		{[]string{"check", "--target", "fake", "--max-steps", "5000", recipe}, 1, "", "step budget of 5000 exceeded"},
		{[]string{"run", "--target", "fake", "--yes", "--max-steps", "5000", recipe}, 1, "", "step budget of 5000 exceeded"},
		{[]string{"plan", "--target", "fake", recipe}, 0, "", ""},
		{[]string{"test", "--max-steps", "5000", filepath.Join(dir, "spin_test.star")}, 1, "step budget of 5000 exceeded", ""},
		{[]string{"test", filepath.Join(dir, "spin_test.star")}, 0, "1 passed, 0 failed", ""},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:len(tt.args)-1], " "), func(t *testing.T) {
			code, out, errOut := hvfctl(t, nil, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d, want %d\nstdout (want %q):\n%s\nstderr (want %q):\n%s", code, tt.code, tt.stdout, out, tt.stderr, errOut)
			}
		})
	}
}
