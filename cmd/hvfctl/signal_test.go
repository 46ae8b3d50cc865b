package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGINTStopsEvaluation runs the built hvfctl on a recipe that spins,
// interrupts it, and expects it to stop promptly through the signal
// context main installs, with exit status 1 and a message saying so.
func TestSIGINTStopsEvaluation(t *testing.T) {
	t.Parallel() // a subprocess of the built binary: overlaps the in-process tests
	if testing.Short() {
		t.Skip("builds hvfctl")
	}
	dir := t.TempDir()
	bin := relBuild(t)
	recipe := filepath.Join(dir, "spin.star")
	src := "def spin():\n    n = 0\n    for i in range(100000):\n        for j in range(100000):\n            n += j\n    return n\n\nspin()\n"
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "plan", "--target", "fake", "--max-steps", "100000000000", recipe)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1"}
			var out, errOut bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errOut
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(700 * time.Millisecond)
			sent := time.Now()
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("still running 10s after %s", sig)
			}
			t.Logf("stopped %s after the signal", time.Since(sent))
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("wait: %v (want exit status 1, not death by signal)\nstderr:\n%s", err, errOut.String())
			}
			if !strings.Contains(errOut.String(), "cancel") {
				t.Errorf("stderr does not say the run was cancelled:\n%s", errOut.String())
			}
			if strings.Contains(errOut.String(), "goroutine ") {
				t.Errorf("stack trace on stderr:\n%s", errOut.String())
			}
		})
	}
}
