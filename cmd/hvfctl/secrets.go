package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// tokenEnv is the environment variable that carries the runner
// registration token.
const tokenEnv = "HVFCTL_RUNNER_TOKEN"

// cliSecrets supplies secret values to actions that need them: the
// runner token from HVFCTL_RUNNER_TOKEN, --token-file or a hidden
// prompt; any other secret NAME from HVFCTL_SECRET_<NAME> or a prompt.
// The prompt is used only when a terminal is attached, and only when an
// action asks (plan and check never do).
type cliSecrets struct {
	getenv    func(string) string
	tokenFile string
	// prompt asks for a value without echo; nil without a terminal.
	prompt func(label string) (string, error)
}

// Lookup implements engine.SecretSource.
func (s *cliSecrets) Lookup(_ context.Context, name string) (string, error) {
	envName := "HVFCTL_SECRET_" + strings.ToUpper(name)
	if name == "runner_token" {
		envName = tokenEnv
	}
	if v := strings.TrimSpace(s.getenv(envName)); v != "" {
		return v, nil
	}
	if name == "runner_token" && s.tokenFile != "" {
		v, err := readTokenFile(s.tokenFile)
		if err != nil {
			return "", err
		}
		return v, nil
	}
	if s.prompt != nil {
		v, err := s.prompt(name)
		if err != nil {
			return "", fmt.Errorf("reading %s from the terminal: %w", name, err)
		}
		if v = strings.TrimSpace(v); v == "" {
			return "", fmt.Errorf("no value entered for %s", name)
		}
		return v, nil
	}
	if name == "runner_token" {
		return "", fmt.Errorf("no runner registration token: set %s, pass --token-file FILE, or run on a terminal to be asked", tokenEnv)
	}
	return "", fmt.Errorf("no value for secret %s: set %s, or run on a terminal to be asked", name, envName)
}

// readTokenFile reads the first line of a token file.
func readTokenFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	defer f.Close()
	line, err := bufio.NewReader(io.LimitReader(f, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("--token-file %s: %w", path, err)
	}
	v := strings.TrimSpace(line)
	if v == "" {
		return "", fmt.Errorf("--token-file %s is empty", path)
	}
	return v, nil
}

// terminalPrompt returns a hidden-input prompt on in/out when in is a
// terminal, else nil. Each name is asked for once.
func terminalPrompt(in io.Reader, out io.Writer) func(string) (string, error) {
	f, ok := in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var mu sync.Mutex
	return func(name string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, "%s (input hidden): ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		return string(b), nil
	}
}

// isTerminal reports whether v is an *os.File on a terminal.
func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
