package darwin

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// ttyReadyWait bounds how long runTTY waits for a program to ask for its
// input before writing it anyway.
const ttyReadyWait = 2 * time.Second

// ttyPromptQuiet is how long a program must stay quiet after printing a
// prompt before its input is written.
const ttyPromptQuiet = 100 * time.Millisecond

// ttyWatch follows what a program prints on its terminal.
type ttyWatch struct {
	mu   sync.Mutex
	last byte      // last byte printed
	at   time.Time // when it was printed; zero before any output
}

func (w *ttyWatch) saw(p []byte) {
	w.mu.Lock()
	w.last = p[len(p)-1]
	w.at = time.Now()
	w.mu.Unlock()
}

// prompted reports whether the program printed a prompt (output whose
// last byte is not a newline) and has been quiet since.
func (w *ttyWatch) prompted() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.at.IsZero() && w.last != '\n' && time.Since(w.at) >= ttyPromptQuiet
}

// runTTY runs cmd on a new pseudo-terminal (its controlling terminal, in a
// session of its own) and returns everything it printed there: stdout and
// stderr both, with the terminal's CR LF turned back into LF.
//
// Stdin is written only once the program is ready for it: when it has
// turned terminal echo off (as password readers do, often flushing pending
// input with TCSAFLUSH), or printed a prompt (output not ending in a
// newline, then quiet for ttyPromptQuiet), or after ttyReadyWait. The terminal echoes what the program reads with echo on;
// Run scrubs secrets from the output, so an echoed secret never survives.
func (h *Host) runTTY(ctx context.Context, cmd *exec.Cmd, attr *syscall.SysProcAttr, c host.Command) (string, error) {
	master, tty, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("open a pseudo-terminal: %w", err)
	}
	defer master.Close()
	attr.Setsid = true
	attr.Setctty = true
	attr.Ctty = 0 // the child's stdin, which is the terminal
	cmd.SysProcAttr = attr
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	err = cmd.Start()
	tty.Close()
	if err != nil {
		return "", err
	}

	out := newTailBuffer(h.opts.OutputCap)
	var watch ttyWatch
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 32<<10)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				watch.saw(buf[:n])
				out.Write(buf[:n])
			}
			if err != nil {
				// EIO (Linux) or EOF once every holder of the terminal
				// has gone, or the master was closed.
				return
			}
		}
	}()
	waitDone := make(chan error, 1)
	go func() { waitDone <- cmd.Wait() }()

	var waitErr error
	exited := false
	if len(c.Stdin) > 0 {
		exited, waitErr = waitReady(ctx, master, &watch, waitDone)
		if !exited {
			stdin := append([]byte(nil), c.Stdin...)
			go func() {
				// A program that never reads blocks this write until the
				// master is closed below; its error is then irrelevant.
				_, _ = master.Write(stdin)
			}()
		}
	}
	if !exited {
		waitErr = <-waitDone
	}
	select {
	case <-readDone:
	case <-time.After(waitDelay):
		// A descendant still holds the terminal: stop reading.
		master.Close()
		<-readDone
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), waitErr
}

// waitReady waits until the program on master is ready for input. It
// returns exited=true with the wait result when the program ended first.
func waitReady(ctx context.Context, master *os.File, watch *ttyWatch, waitDone <-chan error) (bool, error) {
	deadline := time.NewTimer(ttyReadyWait)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if echoOff(master) || watch.prompted() {
			return false, nil
		}
		select {
		case err := <-waitDone:
			return true, err
		case <-deadline.C:
			return false, nil
		case <-ctx.Done():
			return false, nil
		case <-tick.C:
		}
	}
}

// echoOff reports whether the terminal behind master has echo turned off.
// It reads the settings without making the file blocking.
func echoOff(master *os.File) bool {
	rc, err := master.SyscallConn()
	if err != nil {
		return false
	}
	off := false
	_ = rc.Control(func(fd uintptr) {
		t, err := unix.IoctlGetTermios(int(fd), getTermiosRequest)
		if err == nil {
			off = t.Lflag&unix.ECHO == 0
		}
	})
	return off
}
