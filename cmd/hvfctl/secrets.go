package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
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
	// trust refuses a token file another account could have written
	// (hvfctl runs as root); nil checks nothing.
	trust *host.LocalTrust
	// prompt asks for a value without echo; nil without a terminal.
	prompt func(label string) (string, error)
	// gh creates the runner token just in time when neither
	// HVFCTL_RUNNER_TOKEN nor --token-file gives one (nil: no GitHub).
	gh *ghapi.Client
	// repo is the recipe's repository, for gh.
	repo ghapi.Repo
	// log tells the user a token was created (never its value).
	log func(string)
	// known holds the values preload read before the recipe ran.
	known map[string]string
}

// Deferred implements engine.DeferredSecrets: the runner token is created
// through the GitHub API just in time when neither HVFCTL_RUNNER_TOKEN nor
// --token-file gives one and hvfctl has a GitHub credential.
func (s *cliSecrets) Deferred(name string) bool {
	return name == "runner_token" && strings.TrimSpace(s.getenv(tokenEnv)) == "" && s.tokenFile == "" &&
		s.gh != nil && s.gh.Credential().OK() && s.repo.Name != ""
}

// mintToken creates a runner registration token, or a removal token when
// the secret is revealed for `config.sh remove`, through the GitHub API.
// ok is false when there is no GitHub credential or repository.
func (s *cliSecrets) mintToken(ctx context.Context) (string, bool, error) {
	if s.gh == nil || !s.gh.Credential().OK() || s.repo.Name == "" {
		return "", false, nil
	}
	mint, kind := s.gh.RegistrationToken, "registration"
	if engine.SecretPurpose(ctx) == "remove" {
		mint, kind = s.gh.RemoveToken, "removal"
	}
	tok, err := mint(ctx, s.repo)
	if err != nil {
		return "", true, fmt.Errorf("creating a runner %s token for %s with the token from %s: %w", kind, s.repo, s.gh.Credential(), err)
	}
	if s.log != nil {
		s.log(fmt.Sprintf("created a runner %s token for %s through the GitHub API (credential from %s; expires %s)", kind, s.repo, s.gh.Credential(), tok.ExpiresAt.Format(time.RFC3339)))
	}
	return tok.Value, true, nil
}

// secretEnvPrefix starts the environment variables that carry secrets
// other than the runner token.
const secretEnvPrefix = "HVFCTL_SECRET_"

// preload reads every secret that can be known before recipe code runs
// — the runner token from HVFCTL_RUNNER_TOKEN and from --token-file,
// and every HVFCTL_SECRET_<NAME> in environ — and registers each with
// red, so that everything printed or saved is scrubbed of it from the
// first line on (a print() before any action reveals the token
// included). A token file that cannot be read is an error now, before
// the recipe is loaded.
func (s *cliSecrets) preload(red *host.Redactor, environ []string) error {
	s.known = map[string]string{}
	add := func(name, v string) {
		if _, ok := s.known[name]; !ok {
			s.known[name] = v
		}
		red.Add(name, v)
	}
	if v := strings.TrimSpace(s.getenv(tokenEnv)); v != "" {
		add("runner_token", v)
	}
	if s.tokenFile != "" {
		v, err := readTokenFile(s.trust, s.tokenFile)
		if err != nil {
			return err
		}
		add("runner_token", v)
	}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(k, secretEnvPrefix) {
			continue
		}
		if v = strings.TrimSpace(v); v != "" {
			add(strings.ToLower(strings.TrimPrefix(k, secretEnvPrefix)), v)
		}
	}
	return nil
}

// protected returns the files queries may not read: the token file, as
// given and as resolved.
func (s *cliSecrets) protected() []string {
	if s.tokenFile == "" {
		return nil
	}
	out := []string{}
	if abs, err := filepath.Abs(s.tokenFile); err == nil {
		out = append(out, abs)
		if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
			out = append(out, real)
		}
	}
	return out
}

// Lookup implements engine.SecretSource.
func (s *cliSecrets) Lookup(ctx context.Context, name string) (string, error) {
	if v, ok := s.known[name]; ok {
		return v, nil
	}
	envName := secretEnvPrefix + strings.ToUpper(name)
	if name == "runner_token" {
		envName = tokenEnv
	}
	if v := strings.TrimSpace(s.getenv(envName)); v != "" {
		return v, nil
	}
	if name == "runner_token" && s.tokenFile != "" {
		v, err := readTokenFile(s.trust, s.tokenFile)
		if err != nil {
			return "", err
		}
		return v, nil
	}
	if name == "runner_token" {
		if v, ok, err := s.mintToken(ctx); ok {
			return v, err
		}
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
		return "", fmt.Errorf("no runner registration token: set %s, pass --token-file FILE, give hvfctl a GitHub credential (GH_TOKEN, GITHUB_TOKEN or gh auth login) to create one, or run on a terminal to be asked", tokenEnv)
	}
	return "", fmt.Errorf("no value for secret %s: set %s, or run on a terminal to be asked", name, envName)
}

// readTokenFile reads the first line of a token file, which must be a
// regular file (a FIFO fails at once) of at most 4 KiB.
func readTokenFile(trust *host.LocalTrust, path string) (string, error) {
	b, err := host.ReadTrustedLocalFile(trust, path, 4096)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	v := strings.TrimSpace(line)
	if v == "" {
		return "", fmt.Errorf("--token-file %s is empty", path)
	}
	return v, nil
}

// terminalPrompt returns a hidden-input prompt on in/out when in is a
// terminal, else nil. Each name is asked for once.
func terminalPrompt(in io.Reader, out io.Writer) func(string) (string, error) {
	f, ok := fileOf(in)
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

// isTerminal reports whether v is an *os.File on a terminal (seen
// through a scrubbing writer).
func isTerminal(v any) bool {
	f, ok := fileOf(v)
	return ok && term.IsTerminal(int(f.Fd()))
}

// scrubWriter is the one door between hvfctl's text and the user: it
// removes the run's secrets from everything written through it, then
// escapes every terminal control character (engine.EscapeControls: ESC,
// BEL, CR, NUL, bidi controls …). Every report, error and log line of the
// CLI is written in one Write call, so neither a secret nor an escape
// sequence is split across two. A coloured report comes through
// WritePainted instead (engine.PaintedWriter): the report escaped each
// piece of its text before painting it, so its only control sequences
// are the painter's, and this writer never has to tell them from text.
type scrubWriter struct {
	w   io.Writer
	red *host.Redactor
}

func (s *scrubWriter) Write(p []byte) (int, error) {
	out := engine.EscapeControls(s.red.Scrub(string(p)))
	if _, err := io.WriteString(s.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WritePainted implements engine.PaintedWriter: text is scrubbed, not
// escaped again.
func (s *scrubWriter) WritePainted(text string) error {
	_, err := io.WriteString(s.w, s.red.Scrub(text))
	return err
}

// fileOf returns the *os.File behind v, looking through a scrubWriter.
func fileOf(v any) (*os.File, bool) {
	if sw, ok := v.(*scrubWriter); ok {
		v = sw.w
	}
	f, ok := v.(*os.File)
	return f, ok
}
