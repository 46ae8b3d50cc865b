package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"
	"go.starlark.net/syntax"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
)

// scriptHost is a host.Host that answers exact argv with canned results
// (copied from the reference samples) and records everything asked of it.
// A command without a script is an error naming the missing stub.
type scriptHost struct {
	mu       sync.Mutex
	replies  map[string][]host.Result
	files    map[string][]byte
	hashes   map[string]string
	archives map[string][]tarcheck.Entry
	// stats answer Lstat; a path not listed is a file when files holds
	// it and a root-owned directory otherwise. They answer StatPaths
	// too, where a path not listed is missing unless statErrs holds it.
	stats    map[string]host.FileInfo
	statErrs map[string]error
	// acls answer ACLPaths for paths stats holds (none: no entries);
	// aclErrs fail them.
	acls    map[string][]string
	aclErrs map[string]error
	// members answer HashArchive.
	members   map[string]map[string]string
	cmds      []host.Command
	writes    []host.WriteRequest
	downloads []host.DownloadRequest
	extracts  []host.ExtractRequest
}

func newScriptHost() *scriptHost {
	return &scriptHost{replies: map[string][]host.Result{}, files: map[string][]byte{}, hashes: map[string]string{}, archives: map[string][]tarcheck.Entry{}, stats: map[string]host.FileInfo{}, statErrs: map[string]error{}, acls: map[string][]string{}, aclErrs: map[string]error{}, members: map[string]map[string]string{}}
}

func key(argv []string) string { return strings.Join(argv, "\x00") }

// on scripts the replies to argv, used in order; the last one repeats.
func (h *scriptHost) on(argv []string, rs ...host.Result) *scriptHost {
	h.replies[key(argv)] = append(h.replies[key(argv)], rs...)
	return h
}

func (h *scriptHost) Name() string { return "script" }

func (h *scriptHost) Run(ctx context.Context, cmd host.Command) (host.Result, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, cmd)
	rs, ok := h.replies[key(cmd.Argv)]
	if !ok || len(rs) == 0 {
		return host.Result{}, fmt.Errorf("no script for %q: %w", cmd.Argv, host.ErrUnsupported)
	}
	r := rs[0]
	if len(rs) > 1 {
		h.replies[key(cmd.Argv)] = rs[1:]
	}
	return r, nil
}

func (h *scriptHost) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.files[path]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	if int64(len(b)) > max {
		b = b[:max]
	}
	return b, nil
}

func (h *scriptHost) WriteFile(ctx context.Context, req host.WriteRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes = append(h.writes, req)
	h.files[req.Path] = req.Data
	return nil
}

func (h *scriptHost) Download(ctx context.Context, req host.DownloadRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.downloads = append(h.downloads, req)
	return nil
}

func (h *scriptHost) Hash(ctx context.Context, path string) (string, int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s, ok := h.hashes[path]
	if !ok {
		return "", 0, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	return s, 1, nil
}

func (h *scriptHost) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if fi, ok := h.stats[p]; ok {
		return fi, nil
	}
	if err, ok := h.statErrs[p]; ok {
		return host.FileInfo{}, err
	}
	if _, ok := h.files[p]; ok {
		return host.FileInfo{Type: host.TypeFile, Mode: 0o644, Owner: "root", Nlink: 1}, nil
	}
	return host.FileInfo{Type: host.TypeDir, Mode: 0o755, Owner: "root", Nlink: 2}, nil
}

func (h *scriptHost) ReadDir(ctx context.Context, dir string) ([]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := map[string]bool{}
	for _, m := range []map[string][]byte{h.files} {
		for p := range m {
			if path.Dir(p) == dir {
				seen[path.Base(p)] = true
			}
		}
	}
	for p := range h.stats {
		if path.Dir(p) == dir {
			seen[path.Base(p)] = true
		}
	}
	var out []string
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// statArgv is the transcript argv of a batched stat of paths.
func statArgv(paths []string) []string { return append([]string{host.OpStat}, paths...) }

// stat scripts the answer of StatPaths (and Lstat) for p.
func (h *scriptHost) stat(p, typ string, mode fs.FileMode, owner, group string, size int64, target string) *scriptHost {
	h.mu.Lock()
	defer h.mu.Unlock()
	nlink := 1
	if typ == host.TypeDir {
		nlink = 2
	}
	h.stats[p] = host.FileInfo{Type: typ, Mode: mode, Owner: owner, Group: group, Size: size, Nlink: nlink, Target: target}
	return h
}

// StatPaths implements host.FileQuerier from stats and statErrs, and is
// recorded as the command `<stat> PATH...`.
func (h *scriptHost) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, host.Command{Argv: statArgv(paths), User: host.Root})
	var out []host.PathStat
	for _, p := range paths {
		st := host.PathStat{Path: p}
		if fi, ok := h.stats[p]; ok {
			st.Info = fi
		} else if err, ok := h.statErrs[p]; ok {
			st.Err = err
		} else {
			st.Err = fmt.Errorf("lstat %s: %w", p, fs.ErrNotExist)
		}
		out = append(out, st)
	}
	return out, nil
}

// ACLPaths implements host.FileQuerier from acls and aclErrs (a path
// stats does not hold is missing, or fails with its statErrs), recorded
// as `<acl> PATH...`.
func (h *scriptHost) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, host.Command{Argv: append([]string{host.OpACL}, paths...), User: host.Root})
	var out []host.PathACL
	for _, p := range paths {
		a := host.PathACL{Path: p}
		_, exists := h.stats[p]
		switch err, bad := h.aclErrs[p]; {
		case bad:
			a.Err = err
		case exists:
			a.Entries = append([]string{}, h.acls[p]...)
		case h.statErrs[p] != nil:
			a.Err = h.statErrs[p]
		default:
			a.Err = fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		}
		out = append(out, a)
	}
	return out, nil
}

// ListDir implements host.FileQuerier like ReadDir (a directory nothing
// is scripted in is missing), recorded as `<list> DIR`.
func (h *scriptHost) ListDir(ctx context.Context, dir string) ([]string, error) {
	names, err := h.ReadDir(ctx, dir)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cmds = append(h.cmds, host.Command{Argv: []string{host.OpList, dir}, User: host.Root})
	if err == nil && len(names) == 0 {
		if _, ok := h.stats[dir]; !ok {
			return nil, fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
		}
	}
	return names, err
}

func (h *scriptHost) UserID(ctx context.Context, name string) (int, error) {
	switch strings.ToLower(name) {
	case "root":
		return 0, nil
	case "ghrunner":
		return 502, nil
	}
	return 501, nil
}

func (h *scriptHost) HashArchive(ctx context.Context, p string) (map[string]string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.members[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return m, nil
}

func (h *scriptHost) ListArchive(ctx context.Context, path string) ([]tarcheck.Entry, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	es, ok := h.archives[path]
	if !ok {
		return nil, fmt.Errorf("%s: %w", path, fs.ErrNotExist)
	}
	return es, nil
}

// ExtractArchive decides on the archive's listed members as the real
// backends do and records the request when they pass.
func (h *scriptHost) ExtractArchive(ctx context.Context, req host.ExtractRequest) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	es, ok := h.archives[req.Archive]
	if !ok {
		return fmt.Errorf("%s: %w", req.Archive, fs.ErrNotExist)
	}
	if err := tarcheck.Check(req.Dest, es); err != nil {
		return err
	}
	h.extracts = append(h.extracts, req)
	return nil
}

// argvs returns the argv of every command run, joined by spaces.
func (h *scriptHost) argvs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, c := range h.cmds {
		out = append(out, strings.Join(c.Argv, " "))
	}
	return out
}

func ok(stdout string) host.Result { return host.Result{Stdout: stdout} }

// testSession starts a session on h with "admin" as the Homebrew owner.
func testSession(t *testing.T, h host.Host) *engine.Session {
	t.Helper()
	return engine.NewSession(context.Background(), engine.SessionOptions{Host: h, Principals: engine.Principals{BrewOwner: "admin"}})
}

// predeclared exposes every module as a struct-like value, plus a secret
// named pw and one named token.
func predeclared() starlark.StringDict {
	d := starlark.StringDict{}
	for _, m := range Modules() {
		members := starlark.StringDict{}
		for _, b := range m.Builtins {
			members[b.Name] = starlark.NewBuiltin(m.Name+"."+b.Name, b.Fn)
		}
		d[m.Name] = &starlarkstruct.Module{Name: m.Name, Members: members}
	}
	d["pw"] = engine.NewSecret("pw", func(context.Context) (string, error) { return "hunter2-secret", nil })
	d["token"] = engine.NewSecret("runner_token", func(context.Context) (string, error) { return "ABCDEFGHIJKLMNOPQRSTUVWXYZ123", nil })
	return d
}

// eval runs src (which sets `result`) on a thread attached to s.
func eval(t *testing.T, s *engine.Session, src string) (starlark.Value, error) {
	t.Helper()
	th := &starlark.Thread{Name: "test"}
	s.Attach(th)
	g, err := starlark.ExecFileOptions(&syntax.FileOptions{}, th, "test.star", src, predeclared())
	if err != nil {
		return nil, err
	}
	return g["result"], nil
}

// mustEval is eval that fails the test on error.
func mustEval(t *testing.T, s *engine.Session, src string) starlark.Value {
	t.Helper()
	v, err := eval(t, s, src)
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	return v
}

// actionsOf flattens a returned action or list of actions.
func actionsOf(t *testing.T, v starlark.Value) []*engine.Action {
	t.Helper()
	switch x := v.(type) {
	case *engine.Action:
		return []*engine.Action{x}
	case *starlark.List:
		var out []*engine.Action
		for i := 0; i < x.Len(); i++ {
			out = append(out, actionsOf(t, x.Index(i))...)
		}
		return out
	}
	t.Fatalf("not an action: %v (%s)", v, v.Type())
	return nil
}

// runAction applies one action on the session.
func runAction(s *engine.Session, a *engine.Action) error { return a.Run(context.Background(), s) }

func isNotConfirmed(err error) bool { return errors.Is(err, engine.ErrNotConfirmed) }
