package host

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// Redactor knows every secret value revealed during a run and removes them
// from text before it is shown, logged or stored. It is safe for
// concurrent use.
type Redactor struct {
	mu      sync.Mutex
	secrets map[string]string // value -> name
}

// NewRedactor returns an empty Redactor.
func NewRedactor() *Redactor { return &Redactor{secrets: map[string]string{}} }

// Add registers a secret value under a name. Empty values are ignored.
// A value keeps the first name it was registered under (the secret's own
// name from Secret.Reveal, rather than the environment variable or
// "stdin" that carried it later).
func (r *Redactor) Add(name, value string) {
	if value == "" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, known := r.secrets[value]; !known {
		r.secrets[value] = name
	}
	// A value fed through stdin usually ends in a newline; scrub the
	// bare value too.
	if t := strings.TrimRight(value, "\r\n"); t != value && t != "" {
		if _, known := r.secrets[t]; !known {
			r.secrets[t] = name
		}
	}
}

// Scrub returns s with every registered secret replaced by
// "<secret NAME>". Longer secrets are replaced first, so a secret that
// contains another is removed whole.
func (r *Redactor) Scrub(s string) string {
	if r == nil || s == "" {
		return s
	}
	r.mu.Lock()
	values := make([]string, 0, len(r.secrets))
	for v := range r.secrets {
		values = append(values, v)
	}
	names := make(map[string]string, len(r.secrets))
	for v, n := range r.secrets {
		names[v] = n
	}
	r.mu.Unlock()
	sort.Slice(values, func(i, j int) bool { return len(values[i]) > len(values[j]) })
	for _, v := range values {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, "<secret "+names[v]+">")
		}
	}
	return s
}

// Entry is one command a run executed on the host, as kept in the
// transcript and in the host_commands list of a JSON report. Secrets are
// already scrubbed.
type Entry struct {
	Argv   []string `json:"argv"`
	User   string   `json:"user"`
	Exit   int      `json:"exit"`
	Stderr string   `json:"-"`
	// Output is the SHA-256 (hex) of what a command printed (stdout, a
	// NUL, stderr) or of the bytes a read returned, after scrubbing: a
	// saved plan keeps it as the fact the plan was made from.
	Output string `json:"-"`
}

// Recorder wraps a Host, keeps the ordered transcript of everything run
// through it and scrubs secrets from every result it returns.
type Recorder struct {
	inner    Host
	redactor *Redactor
	guard    func(path string) error

	mu      sync.Mutex
	entries []Entry
}

// NewRecorder wraps inner. Secrets found in commands are added to red.
func NewRecorder(inner Host, red *Redactor) *Recorder {
	if red == nil {
		red = NewRedactor()
	}
	return &Recorder{inner: inner, redactor: red}
}

// GuardReads makes every ReadFile and ListArchive through the recorder
// ask guard first; a non-nil answer refuses the read (recorded with exit
// 1, nothing asked of the inner host). The engine uses it to keep
// queries away from secrets.
func (r *Recorder) GuardReads(guard func(path string) error) {
	r.mu.Lock()
	r.guard = guard
	r.mu.Unlock()
}

func (r *Recorder) checkRead(path string) error {
	r.mu.Lock()
	g := r.guard
	r.mu.Unlock()
	if g == nil {
		return nil
	}
	return g(path)
}

// Inner returns the wrapped host.
func (r *Recorder) Inner() Host { return r.inner }

// Redactor returns the redactor that scrubs this recorder's output.
func (r *Recorder) Redactor() *Redactor { return r.redactor }

// Transcript returns a copy of the commands run so far.
func (r *Recorder) Transcript() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Entry, len(r.entries))
	copy(out, r.entries)
	return out
}

// Reset forgets the transcript.
func (r *Recorder) Reset() {
	r.mu.Lock()
	r.entries = nil
	r.mu.Unlock()
}

func (r *Recorder) record(argv []string, user string, exit int, stderr string) {
	scrubbed := make([]string, len(argv))
	for i, a := range argv {
		scrubbed[i] = r.redactor.Scrub(a)
	}
	if user == "" {
		user = Root
	}
	r.mu.Lock()
	r.entries = append(r.entries, Entry{Argv: scrubbed, User: user, Exit: exit, Stderr: r.redactor.Scrub(stderr)})
	r.mu.Unlock()
}

// Note records an operation that did not go through the Host interface
// (an optional backend capability such as fixture-tree verification)
// under its pseudo argv, as run by user (empty means root) with exit
// status exit. Secrets are scrubbed from argv as for any command.
func (r *Recorder) Note(argv []string, user string, exit int) {
	r.record(argv, user, exit, "")
}

// Name implements Host.
func (r *Recorder) Name() string { return r.inner.Name() }

// Run implements Host: it records the command and scrubs its output.
func (r *Recorder) Run(ctx context.Context, cmd Command) (Result, error) {
	for _, e := range cmd.Env {
		if e.Secret {
			r.redactor.Add(e.Name, e.Value)
		}
	}
	if cmd.StdinSecret {
		r.redactor.Add("stdin", string(cmd.Stdin))
	}
	res, err := r.inner.Run(ctx, cmd)
	res.Stdout = r.redactor.Scrub(res.Stdout)
	res.Stderr = r.redactor.Scrub(res.Stderr)
	exit := res.Exit
	if err != nil {
		exit = -1
		err = &scrubbedError{msg: r.redactor.Scrub(err.Error()), cause: err}
	}
	r.record(cmd.Argv, cmd.Principal(), exit, res.Stderr)
	r.setOutput(res.Stdout + "\x00" + res.Stderr)
	return res, err
}

// setOutput stores the digest of the last entry's output.
func (r *Recorder) setOutput(out string) {
	sum := sha256.Sum256([]byte(out))
	r.mu.Lock()
	if n := len(r.entries); n > 0 {
		r.entries[n-1].Output = hex.EncodeToString(sum[:])
	}
	r.mu.Unlock()
}

// done records an in-process operation as root: exit 0, 1 when it
// failed, -1 when it did not complete because the run was cancelled or
// timed out (as a command that could not run).
func (r *Recorder) done(argv []string, err error) error {
	exit := 0
	msg := ""
	if err != nil {
		exit = 1
		// Refused because the run was cancelled or timed out: it did not
		// complete, as a command that could not run (-1).
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			exit = -1
		}
		msg = r.redactor.Scrub(err.Error())
		err = &scrubbedError{msg: msg, cause: err}
	}
	r.record(argv, Root, exit, msg)
	return err
}

// ReadFile implements Host.
func (r *Recorder) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	if err := r.checkRead(path); err != nil {
		return nil, r.done([]string{OpRead, path}, err)
	}
	b, err := r.inner.ReadFile(ctx, path, max)
	err = r.done([]string{OpRead, path}, err)
	r.setOutput(r.redactor.Scrub(string(b)))
	return b, err
}

// WriteFile implements Host.
func (r *Recorder) WriteFile(ctx context.Context, req WriteRequest) error {
	err := r.inner.WriteFile(ctx, req)
	return r.done(WriteArgv(req), err)
}

// Download implements Host.
func (r *Recorder) Download(ctx context.Context, req DownloadRequest) error {
	err := r.inner.Download(ctx, req)
	return r.done([]string{OpDownload, req.URL, req.Dest}, err)
}

// Hash implements Host. The read guard is asked first: a digest of a
// secret is a secret too (a low-entropy one, such as the obfuscated
// auto-login password in /etc/kcpassword, falls to a dictionary of
// guesses hashed offline).
func (r *Recorder) Hash(ctx context.Context, path string) (string, int64, error) {
	if err := r.checkRead(path); err != nil {
		return "", 0, r.done([]string{OpHash, path}, err)
	}
	sum, size, err := r.inner.Hash(ctx, path)
	return sum, size, r.done([]string{OpHash, path}, err)
}

// ListArchive implements Host.
func (r *Recorder) ListArchive(ctx context.Context, path string) ([]tarcheck.Entry, error) {
	if err := r.checkRead(path); err != nil {
		return nil, r.done([]string{OpTarList, path}, err)
	}
	es, err := r.inner.ListArchive(ctx, path)
	return es, r.done([]string{OpTarList, path}, err)
}

// ExtractArchive implements Host: recorded as `<tar-extract> ARCHIVE
// DEST`; the read guard is asked about the archive first.
func (r *Recorder) ExtractArchive(ctx context.Context, req ExtractRequest) error {
	if err := r.checkRead(req.Archive); err != nil {
		return r.done(ExtractArgv(req), err)
	}
	err := r.inner.ExtractArchive(ctx, req)
	return r.done(ExtractArgv(req), err)
}

// WriteArgv is the pseudo argv under which a write is shown and recorded.
func WriteArgv(req WriteRequest) []string {
	return []string{OpWrite, req.Path, fmt.Sprintf("%04o", req.Mode.Perm()), req.Owner + ":" + req.Group}
}

// scrubbedError keeps the cause for errors.Is while showing scrubbed text.
type scrubbedError struct {
	msg   string
	cause error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.cause }

// StatPaths implements FileQuerier: the inner host's batched stat,
// recorded as one `<stat> PATH...` entry whose output is the answers.
func (r *Recorder) StatPaths(ctx context.Context, paths []string) ([]PathStat, error) {
	argv := append([]string{OpStat}, paths...)
	q, ok := capability[FileQuerier](r.inner)
	if !ok {
		return nil, r.done(argv, fmt.Errorf("the %s host cannot answer file queries in-process", r.inner.Name()))
	}
	sts, err := q.StatPaths(ctx, paths)
	err = r.done(argv, err)
	if err == nil {
		out, eerr := EncodeStats(sts)
		if eerr != nil {
			return nil, eerr
		}
		r.setOutput(r.redactor.Scrub(out))
	}
	return sts, err
}

// ACLPaths implements FileQuerier: the inner host's batched ACL read,
// recorded as one `<acl> PATH...` entry whose output is the answers.
func (r *Recorder) ACLPaths(ctx context.Context, paths []string) ([]PathACL, error) {
	argv := append([]string{OpACL}, paths...)
	q, ok := capability[FileQuerier](r.inner)
	if !ok {
		return nil, r.done(argv, fmt.Errorf("the %s host cannot answer file queries in-process", r.inner.Name()))
	}
	as, err := q.ACLPaths(ctx, paths)
	err = r.done(argv, err)
	if err == nil {
		out, eerr := EncodeACLs(as)
		if eerr != nil {
			return nil, eerr
		}
		r.setOutput(r.redactor.Scrub(out))
	}
	return as, err
}

// ListDir implements FileQuerier: the inner host's listing, recorded as
// `<list> DIR`.
func (r *Recorder) ListDir(ctx context.Context, dir string) ([]string, error) {
	argv := []string{OpList, dir}
	q, ok := capability[FileQuerier](r.inner)
	if !ok {
		return nil, r.done(argv, fmt.Errorf("the %s host cannot answer file queries in-process", r.inner.Name()))
	}
	names, err := q.ListDir(ctx, dir)
	err = r.done(argv, err)
	r.setOutput(r.redactor.Scrub(strings.Join(names, "\n")))
	return names, err
}
