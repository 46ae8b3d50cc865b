// Package record captures what a real Mac answered during a read-only run
// (`hvfctl facts --record FILE`, `hvfctl check --record FILE RECIPE`) and
// writes it as an ordinary fake-host fixture: a base preset plus the
// recorded responses, scrubbed of secrets and of identifying data, so
// that `hvfctl check --target fake:FILE RECIPE` replays the run offline
// and prints the same report.
//
// A Tape sits between the real backend (builtins/darwin) and the engine:
// every command and primitive goes through the backend's own code path
// unchanged, and the Tape keeps the raw result. Writes and downloads are
// refused while recording: a recorded run is read-only by construction.
package record

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// NotRun is the exit status recorded for a command that could not be
// started at all (the backend's error text is kept as its stderr); the
// fake returns the same error when it replays it.
const NotRun = fakemac.NotRun

// Response is one recorded reply: the exact argv, the principal it ran
// as, and its raw stdout, stderr and exit status. It is the fake's
// fixture "responses" entry, so a recording replays as an ordinary
// fixture.
type Response = fakemac.Response

// ErrReadOnly is wrapped by the error of any write or download attempted
// while recording.
var ErrReadOnly = errors.New("a recorded run is read-only")

// Tape wraps a Host and keeps the raw result of every command and
// primitive run through it, in order. It is safe for concurrent use.
type Tape struct {
	inner host.Host

	mu        sync.Mutex
	responses []Response
}

// NewTape wraps inner.
func NewTape(inner host.Host) *Tape { return &Tape{inner: inner} }

var (
	_ host.Host                = (*Tape)(nil)
	_ fixturelock.TreeVerifier = (*Tape)(nil)
)

// Responses returns the recorded replies in the order the commands ran,
// each (user, argv) once: the first reply is kept, as the fake answers a
// repeated command with the first matching response.
func (t *Tape) Responses() []Response {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Response, 0, len(t.responses))
	for _, r := range t.responses {
		dup := slices.ContainsFunc(out, func(o Response) bool {
			return o.User == r.User && slices.Equal(o.Argv, r.Argv)
		})
		if !dup {
			out = append(out, r)
		}
	}
	return out
}

func (t *Tape) keep(r Response) {
	r.Argv = slices.Clone(r.Argv)
	t.mu.Lock()
	t.responses = append(t.responses, r)
	t.mu.Unlock()
}

// Name implements host.Host.
func (t *Tape) Name() string { return t.inner.Name() }

// Run implements host.Host: it runs cmd on the inner host and keeps its
// result. Commands fed secret input are run but not kept.
func (t *Tape) Run(ctx context.Context, cmd host.Command) (host.Result, error) {
	res, err := t.inner.Run(ctx, cmd)
	if len(cmd.Secrets()) > 0 {
		return res, err
	}
	r := Response{Argv: cmd.Argv, User: cmd.Principal(), Stdout: res.Stdout, Stderr: res.Stderr, Exit: res.Exit}
	if err != nil {
		r = Response{Argv: cmd.Argv, User: cmd.Principal(), Stderr: err.Error(), Exit: NotRun}
	}
	t.keep(r)
	return res, err
}

// credentialFile reports whether a read must never be kept: the runner's
// credentials and anything in a keychain.
func credentialFile(p string) bool {
	base := path.Base(p)
	return strings.HasPrefix(base, ".credentials") || strings.Contains(p, "/Keychains/")
}

// ReadFile implements host.Host. The content is kept as the stdout of
// `<read> PATH`; a missing or unreadable file as exit 1 with the words
// the fake maps back to the same error. Credential files are read but
// never kept.
func (t *Tape) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	b, err := t.inner.ReadFile(ctx, p, max)
	if credentialFile(p) {
		return b, err
	}
	r := Response{Argv: []string{host.OpRead, p}, User: host.Root, Stdout: string(b)}
	if err != nil {
		msg, exit := primitiveError(err)
		r = Response{Argv: r.Argv, User: host.Root, Stderr: msg, Exit: exit}
	}
	t.keep(r)
	return b, err
}

// primitiveError is the stderr and exit status recorded for a failed
// primitive: the error's exact text, and its kind as the errno status
// the fake maps back to the same kind (2 not found, 13 permission, 5
// anything else).
func primitiveError(err error) (string, int) {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return err.Error(), 2
	case errors.Is(err, fs.ErrPermission):
		return err.Error(), 13
	}
	return err.Error(), 5
}

// WriteFile implements host.Host: refused while recording.
func (t *Tape) WriteFile(_ context.Context, req host.WriteRequest) error {
	return fmt.Errorf("write %s: %w", req.Path, ErrReadOnly)
}

// Download implements host.Host: refused while recording.
func (t *Tape) Download(_ context.Context, req host.DownloadRequest) error {
	return fmt.Errorf("download %s: %w", req.URL, ErrReadOnly)
}

// ExtractArchive implements host.Host: refused while recording.
func (t *Tape) ExtractArchive(_ context.Context, req host.ExtractRequest) error {
	return fmt.Errorf("extract %s: %w", req.Archive, ErrReadOnly)
}

// Hash implements host.Host; the result is kept as the stdout
// "SUM SIZE" of `<sha256> PATH`.
func (t *Tape) Hash(ctx context.Context, p string) (string, int64, error) {
	sum, size, err := t.inner.Hash(ctx, p)
	r := Response{Argv: []string{host.OpHash, p}, User: host.Root, Stdout: fmt.Sprintf("%s %d\n", sum, size)}
	if err != nil {
		msg, exit := primitiveError(err)
		r = Response{Argv: r.Argv, User: host.Root, Stderr: msg, Exit: exit}
	}
	t.keep(r)
	return sum, size, err
}

// ListArchive implements host.Host; the member headers are kept as JSON
// on the stdout of `<tar-list> PATH`.
func (t *Tape) ListArchive(ctx context.Context, p string) ([]tarcheck.Entry, error) {
	es, err := t.inner.ListArchive(ctx, p)
	argv := []string{host.OpTarList, p}
	if err != nil {
		msg, exit := primitiveError(err)
		t.keep(Response{Argv: argv, User: host.Root, Stderr: msg, Exit: exit})
		return es, err
	}
	b, jerr := json.Marshal(es)
	if jerr != nil {
		return es, fmt.Errorf("recording the members of %s: %w", p, jerr)
	}
	t.keep(Response{Argv: argv, User: host.Root, Stdout: string(b)})
	return es, nil
}

// VerifyTree implements fixturelock.TreeVerifier when the inner host does;
// the report is kept as JSON on the stdout of `<verify-tree> DIR
// MANIFEST` (exit 0 matched, 1 differences; an error as for any
// primitive).
func (t *Tape) VerifyTree(ctx context.Context, dir, manifest string, guard func(string) error) (fixturelock.Report, error) {
	v, ok := t.inner.(fixturelock.TreeVerifier)
	if !ok {
		return fixturelock.Report{}, fmt.Errorf("verify fixtures %s: the %s host cannot verify a fixture tree", dir, t.inner.Name())
	}
	rep, err := v.VerifyTree(ctx, dir, manifest, guard)
	argv := []string{fixturelock.OpVerifyTree, dir, manifest}
	if err != nil {
		msg, exit := primitiveError(err)
		t.keep(Response{Argv: argv, User: host.Root, Stderr: msg, Exit: exit})
		return rep, err
	}
	b, jerr := json.Marshal(rep)
	if jerr != nil {
		return rep, fmt.Errorf("recording the fixture report of %s: %w", dir, jerr)
	}
	exit := 0
	if !rep.OK() {
		exit = 1
	}
	t.keep(Response{Argv: argv, User: host.Root, Stdout: string(b), Exit: exit})
	return rep, nil
}

// StatPaths implements host.FileQuerier when the inner host does; the
// answers are kept as the stdout of `<stat> PATH...` (host.EncodeStats),
// which the fake decodes on replay.
func (t *Tape) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	argv := append([]string{host.OpStat}, paths...)
	q, ok := host.FileQuerierOf(t.inner)
	if !ok {
		return nil, fmt.Errorf("stat: the %s host cannot answer file queries in-process", t.inner.Name())
	}
	sts, err := q.StatPaths(ctx, paths)
	if err != nil {
		msg, exit := primitiveError(err)
		t.keep(Response{Argv: argv, User: host.Root, Stderr: msg, Exit: exit})
		return sts, err
	}
	out, err := host.EncodeStats(sts)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", host.OpStat, err)
	}
	t.keep(Response{Argv: argv, User: host.Root, Stdout: out})
	return sts, nil
}

// ACLPaths implements host.FileQuerier when the inner host does; the
// answers are kept as the stdout of `<acl> PATH...` (host.EncodeACLs),
// which the fake decodes on replay.
func (t *Tape) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	argv := append([]string{host.OpACL}, paths...)
	q, ok := host.FileQuerierOf(t.inner)
	if !ok {
		return nil, fmt.Errorf("acl: the %s host cannot answer file queries in-process", t.inner.Name())
	}
	as, err := q.ACLPaths(ctx, paths)
	if err != nil {
		msg, exit := primitiveError(err)
		t.keep(Response{Argv: argv, User: host.Root, Stderr: msg, Exit: exit})
		return as, err
	}
	out, err := host.EncodeACLs(as)
	if err != nil {
		return nil, fmt.Errorf("recording %s: %w", host.OpACL, err)
	}
	t.keep(Response{Argv: argv, User: host.Root, Stdout: out})
	return as, nil
}

// ListDir implements host.FileQuerier when the inner host does; the
// names are kept as a JSON list on the stdout of `<list> DIR`.
func (t *Tape) ListDir(ctx context.Context, dir string) ([]string, error) {
	argv := []string{host.OpList, dir}
	q, ok := host.FileQuerierOf(t.inner)
	if !ok {
		return nil, fmt.Errorf("list %s: the %s host cannot answer file queries in-process", dir, t.inner.Name())
	}
	names, err := q.ListDir(ctx, dir)
	if err != nil {
		msg, exit := primitiveError(err)
		t.keep(Response{Argv: argv, User: host.Root, Stderr: msg, Exit: exit})
		return names, err
	}
	b, err := json.Marshal(names)
	if err != nil {
		return nil, fmt.Errorf("recording the names in %s: %w", dir, err)
	}
	t.keep(Response{Argv: argv, User: host.Root, Stdout: string(b)})
	return names, nil
}

var _ host.FileQuerier = (*Tape)(nil)
