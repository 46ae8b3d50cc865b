package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// onTerminal runs the CLI in-process with stdin and stdout on a
// pseudo-terminal, typing answer once it asks, and returns the exit code,
// what the terminal showed and stderr.
func onTerminal(t *testing.T, environ map[string]string, answer string, args ...string) (int, string, string) {
	t.Helper()
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	var shown bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = io.Copy(&shown, master)
	}()
	if answer != "" {
		if _, err := master.Write([]byte(answer)); err != nil {
			t.Fatal(err)
		}
	}
	var errOut bytes.Buffer
	e := env{ctx: context.Background(), stdin: tty, stdout: tty, stderr: &errOut,
		getenv: func(k string) string { return environ[k] }, programs: testPrograms}
	code := run(context.Background(), args, e)
	tty.Close()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		master.Close()
		<-readDone
	}
	return code, shown.String(), errOut.String()
}

// ansi matches an SGR escape sequence.
var ansi = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestColourOnlyOnATerminalWithoutNoColor(t *testing.T) {
	args := []string{"plan", "--target", "fake", cliData + "power.star"}
	tests := []struct {
		name     string
		terminal bool
		env      map[string]string
		colour   bool
	}{
		{"terminal", true, nil, true},
		{"terminal with NO_COLOR", true, map[string]string{"NO_COLOR": "1"}, false},
		{"pipe", false, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var out string
			if tt.terminal {
				code, out, _ = onTerminal(t, tt.env, "", args...)
			} else {
				code, out, _ = hvfctl(t, tt.env, args...)
			}
			if code != 0 || !strings.Contains(ansi.ReplaceAllString(out, ""), "sleep: 1 → 0") {
				t.Fatalf("exit %d:\n%s", code, out)
			}
			if got := strings.Contains(out, "\x1b["); got != tt.colour {
				t.Errorf("ANSI colour present = %v, want %v:\n%q", got, tt.colour, out)
			}
		})
	}
}

func TestRunAsksForConfirmationOnATerminal(t *testing.T) {
	token := map[string]string{"HVFCTL_RUNNER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "NO_COLOR": "1"}
	tests := []struct {
		answer string
		code   int
		out    string
		stderr string
	}{
		{"y\n", 0, "converged", ""},
		{"yes\n", 0, "converged", ""},
		{"n\n", 1, "Apply 1 change(s) to fake? [y/N] ", "not applied"},
		{"\n", 1, "Apply 1 change(s) to fake? [y/N] ", "not applied"},
	}
	for _, tt := range tests {
		t.Run(strings.TrimSpace(tt.answer), func(t *testing.T) {
			code, out, errOut := onTerminal(t, token, tt.answer, "run", "--target", "fake", cliData+"power.star")
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nterminal:\n%s\nstderr:\n%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(errOut, "Apply 1 change(s) to fake? [y/N] ") {
				t.Errorf("no question asked:\n%s", errOut)
			}
			if !strings.Contains(out, "sleep: 1 → 0") {
				t.Errorf("the plan was not shown before asking:\n%s", out)
			}
			if tt.code == 0 && !strings.Contains(out, tt.out) || tt.code != 0 && (strings.Contains(out, "converged") || !strings.Contains(errOut, tt.stderr)) {
				t.Errorf("answer %q: terminal:\n%s\nstderr:\n%s", tt.answer, out, errOut)
			}
		})
	}
}

// painterSGR are the only escape sequences hvfctl's report painter
// writes (engine/text.go).
var painterSGR = []string{"\x1b[0m", "\x1b[31m", "\x1b[32m", "\x1b[33m", "\x1b[36m", "\x1b[2m", "\x1b[1m"}

// TestColourCannotBeInjected: on a terminal with colours, host data that
// carries the painter's own colour codes and other controls (a file a job
// wrote, shown in a diff and an error) shows escaped: every ESC the
// terminal receives starts one of the painter's sequences, and the
// hostile sequences are visible as text.
func TestColourCannotBeInjected(t *testing.T) {
	dir := t.TempDir()
	hostile := "\x1b[32mALL OK\x1b[0m \x1b[31m\x1b[2J\x1b]0;title\x07\x9b1m"
	fixture := relFixture(t, dir, "start.json", map[string]any{
		"base": defaultPreset,
		"files": map[string]any{"/Users/Shared/motd": map[string]any{
			"type": "file", "mode": "0644", "owner": "admin", "group": "staff", "content": "hello\n" + hostile + "\nbye\n",
		}},
	})
	recipe := filepath.Join(dir, "motd.star")
	src := "def check():\n    s = files.read(\"/Users/Shared/motd\")\n    return {\"motd\": s, \"line\": s.split(\"\\n\")[1]}\n\n" +
		"resource(id = \"motd\", kind = \"file\", want = {\"motd\": \"hello\\n\", \"line\": \"\"}, check = check, fix = lambda have, want: [])\n"
	if err := os.WriteFile(recipe, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, errOut := onTerminal(t, nil, "", "plan", "--target", "fake:"+fixture, recipe)
	if !strings.Contains(out, "\x1b[") {
		t.Fatalf("no colour on the terminal:\n%q\nstderr:\n%s", out, errOut)
	}
	if !strings.Contains(out, `\u001b[32mALL OK\u001b[0m \u001b[31m\u001b[2J\u001b]0;title\u0007`) {
		t.Errorf("the hostile text is not shown escaped:\n%q", out)
	}
next:
	for i := 0; i < len(out); i++ {
		if out[i] != 0x1b {
			continue
		}
		for _, seq := range painterSGR {
			if strings.HasPrefix(out[i:], seq) {
				i += len(seq) - 1
				continue next
			}
		}
		t.Fatalf("an ESC that is not the painter's reached the terminal at byte %d: %q", i, out[i:min(i+24, len(out))])
	}
}
