package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// watched is the built hvfctl running as a subprocess whose stdout and
// stderr (together) the test waits on.
type watched struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

// Write collects the subprocess's output.
func (w *watched) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(p)
}

// output is what the subprocess printed so far.
func (w *watched) output() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.String()
}

// startWatched starts bin with args, with HOME at dir and a minimal
// environment; the test's cleanup kills it if it still runs.
func startWatched(t *testing.T, dir, bin string, args ...string) *watched {
	t.Helper()
	w := &watched{cmd: exec.Command(bin, args...), done: make(chan error, 1)}
	w.cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "NO_COLOR=1"}
	w.cmd.Stdout, w.cmd.Stderr = w, w
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.done <- w.cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			w.cmd.Process.Kill()
			<-w.done
		}
	})
	return w
}

// waitFor waits until the output holds s; it fails the test if the
// process ends first or a minute passes (a loaded machine).
func (w *watched) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(w.output(), s) {
		select {
		case err := <-w.done:
			w.done <- err
			if strings.Contains(w.output(), s) {
				return
			}
			t.Fatalf("hvfctl ended (%v) without printing %q:\n%s", err, s, w.output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q from hvfctl within a minute:\n%s", s, w.output())
		}
	}
}

// wait waits for the process to end, at most d (then it fails the
// test), and returns what Wait returned.
func (w *watched) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err := <-w.done:
		w.done <- err
		return err
	case <-time.After(d):
		t.Fatalf("hvfctl still ran %s after the last signal:\n%s", d, w.output())
		return nil
	}
}

// TestSIGINTStopsEvaluation runs the built hvfctl on a recipe that spins,
// interrupts it once the recipe says it is spinning, and expects it to
// stop promptly through the signal context main installs, with exit
// status 1 and a message saying the run was cancelled.
func TestSIGINTStopsEvaluation(t *testing.T) {
	t.Parallel() // a subprocess of the built binary: overlaps the in-process tests
	if testing.Short() {
		t.Skip("builds hvfctl")
	}
	dir := t.TempDir()
	bin := relBuild(t)
	recipe := filepath.Join(dir, "spin.star")
	src := "def spin():\n    n = 0\n    for i in range(100000):\n        for j in range(100000):\n            n += j\n    return n\n\nprint(\"spinning\")\nspin()\n"
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startWatched(t, dir, bin, "plan", "--target", "fake", "--max-steps", "100000000000", recipe)
			p.waitFor(t, "spinning\n")
			sent := time.Now()
			if err := p.cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := p.wait(t, 10*time.Second)
			t.Logf("stopped %s after the signal", time.Since(sent))
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 1 {
				t.Fatalf("wait: %v (want exit status 1, not death by signal)\n%s", err, p.output())
			}
			out := p.output()
			if !strings.Contains(out, "Starlark computation cancelled") {
				t.Errorf("hvfctl does not say the run was cancelled:\n%s", out)
			}
			if strings.Contains(out, "stopped:") {
				t.Errorf("the run was not stopped by its cancellation:\n%s", out)
			}
			if strings.Contains(out, "goroutine ") {
				t.Errorf("stack trace in the output:\n%s", out)
			}
		})
	}
}

// TestStopOnSignal runs main's signal handler with a short grace: the
// first signal cancels the run and says hvfctl is stopping; the process
// then ends with status 1 when a second signal comes (without waiting
// for the grace) or when the grace passes.
func TestStopOnSignal(t *testing.T) {
	for _, tc := range []struct {
		name    string
		signals []os.Signal
		grace   time.Duration
		want    string
	}{
		{"second signal", []os.Signal{syscall.SIGTERM, syscall.SIGINT}, time.Hour, "stopped: a second signal came (interrupt)"},
		{"grace", []os.Signal{syscall.SIGTERM}, 20 * time.Millisecond, "stopped: the run did not end within 20ms of the signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := make(chan os.Signal, 2)
			for _, s := range tc.signals {
				sigs <- s
			}
			var events []string
			var stderr bytes.Buffer
			stopOnSignal(sigs, func() { events = append(events, "cancel") }, &stderr, tc.grace, func(code int) {
				events = append(events, fmt.Sprint("exit ", code))
			})
			if got := strings.Join(events, ", "); got != "cancel, exit 1" {
				t.Errorf("events %q, want the run cancelled, then exit 1", got)
			}
			if !strings.Contains(stderr.String(), "hvfctl: terminated: stopping") || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("stderr:\n%s\nwant the stopping notice and %q", stderr.String(), tc.want)
			}
		})
	}
}
