package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// scriptedHost is a tiny key/value "Mac" for engine tests:
//
//	/usr/bin/kv get            prints every key=value line
//	/usr/bin/kv set KEY VALUE  sets a key (KEY "broken" fails; KEY
//	                           "sticky" exits 0 and changes nothing)
//	/usr/bin/login             echoes $TOKEN to stderr and exits 1
type scriptedHost struct {
	mu   sync.Mutex
	kv   map[string]string
	runs int
}

func newScriptedHost(kv map[string]string) *scriptedHost {
	if kv == nil {
		kv = map[string]string{}
	}
	return &scriptedHost{kv: kv}
}

func (h *scriptedHost) Name() string { return "scripted" }

func (h *scriptedHost) Run(ctx context.Context, c host.Command) (host.Result, error) {
	if err := ctx.Err(); err != nil {
		return host.Result{}, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.runs++
	switch {
	case len(c.Argv) == 2 && c.Argv[0] == "/usr/bin/kv" && c.Argv[1] == "get":
		keys := make([]string, 0, len(h.kv))
		for k := range h.kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s\n", k, h.kv[k])
		}
		return host.Result{Stdout: b.String()}, nil
	case len(c.Argv) == 4 && c.Argv[0] == "/usr/bin/kv" && c.Argv[1] == "set":
		switch c.Argv[2] {
		case "broken":
			return host.Result{Stderr: "kv: line one\nkv: permission denied", Exit: 77}, nil
		case "sticky":
			return host.Result{Stderr: "kv: pretended to set sticky"}, nil
		}
		h.kv[c.Argv[2]] = c.Argv[3]
		return host.Result{}, nil
	case len(c.Argv) == 1 && c.Argv[0] == "/usr/bin/login":
		tok := ""
		for _, e := range c.Env {
			if e.Name == "TOKEN" {
				tok = e.Value
			}
		}
		return host.Result{Stdout: "token was " + tok, Stderr: "login: bad token " + tok, Exit: 1}, nil
	}
	return host.Result{}, fmt.Errorf("%v: %w", c.Argv, host.ErrUnsupported)
}

func (h *scriptedHost) ReadFile(context.Context, string, int64) ([]byte, error) {
	return nil, os.ErrNotExist
}
func (h *scriptedHost) WriteFile(context.Context, host.WriteRequest) error {
	return host.ErrUnsupported
}
func (h *scriptedHost) Download(context.Context, host.DownloadRequest) error {
	return host.ErrUnsupported
}
func (h *scriptedHost) Hash(context.Context, string) (string, int64, error) {
	return "", 0, host.ErrUnsupported
}
func (h *scriptedHost) ListArchive(context.Context, string) ([]tarcheck.Entry, error) {
	return nil, host.ErrUnsupported
}
func (h *scriptedHost) ExtractArchive(context.Context, host.ExtractRequest) error {
	return host.ErrUnsupported
}

// kvModule is the builtin module of the scripted host: a query (kv.get)
// cached as one fact family, and two action constructors.
func kvModule() Module {
	return Module{Name: "kv", Doc: "Key/value test host.", Builtins: []Builtin{
		{Name: "get", Params: "", Kind: KindQuery, Doc: "Returns every key (`/usr/bin/kv get`).",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 0); err != nil {
					return nil, err
				}
				s, err := SessionOf(t)
				if err != nil {
					return nil, err
				}
				v, err := s.Fact("kv", func(ctx context.Context, h host.Host) (any, error) {
					res, err := h.Run(ctx, host.Command{Argv: []string{"/usr/bin/kv", "get"}})
					if err != nil {
						return nil, err
					}
					m := map[string]string{}
					for _, l := range strings.Split(strings.TrimSpace(res.Stdout), "\n") {
						if k, v, ok := strings.Cut(l, "="); ok {
							m[k] = v
						}
					}
					return m, nil
				})
				if err != nil {
					return nil, err
				}
				d := starlark.NewDict(0)
				for k, val := range v.(map[string]string) {
					_ = d.SetKey(starlark.String(k), starlark.String(val))
				}
				return d, nil
			}},
		{Name: "set", Params: "key, value", Kind: KindAction, Doc: "Sets a key (`/usr/bin/kv set KEY VALUE`).",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var k, v string
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 2, &k, &v); err != nil {
					return nil, err
				}
				return Exec(host.Command{Argv: []string{"/usr/bin/kv", "set", k, v}}, []string{"/etc/kv/" + k}, nil), nil
			}},
		{Name: "login", Params: "token", Kind: KindAction, Doc: "Logs in with a secret token passed in $TOKEN.",
			Fn: func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
				var sec *Secret
				if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &sec); err != nil {
					return nil, err
				}
				argv := []string{"/usr/bin/login"}
				return &Action{Argv: argv, User: "runner", Run: func(ctx context.Context, s *Session) error {
					tok, err := sec.Reveal(ctx, s)
					if err != nil {
						return err
					}
					res, err := s.Host().Run(ctx, host.Command{Argv: argv, User: "runner", Env: []host.EnvVar{{Name: "TOKEN", Value: tok, Secret: true}}})
					if err != nil {
						return &ActionError{Argv: argv, User: "runner", Exit: -1, Err: err}
					}
					if res.Exit != 0 {
						return &ActionError{Argv: argv, User: "runner", Exit: res.Exit, StderrTail: Tail(res.Stderr, 3), Err: fmt.Errorf("login refused")}
					}
					return nil
				}}, nil
			}},
	}}
}

// mapSecrets is a SecretSource backed by a map.
type mapSecrets map[string]string

func (m mapSecrets) Lookup(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("no value for secret %s", name)
	}
	return v, nil
}

// writeFiles creates files under dir (paths with "/" separators).
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var testStdlib = fstest.MapFS{
	"units.star":  {Data: []byte("KiB = 1024\nMiB = 1024 * KiB\n")},
	"helper.star": {Data: []byte("load(\"units.star\", \"MiB\")\n\ndef twice(x):\n    \"\"\"Doubles x.\"\"\"\n    return 2 * x + 0 * MiB\n")},
	"bad.star":    {Data: []byte("def broken():\n    fail(\"stdlib exploded\")\n\nbroken()\n")},
}

// loadRecipe writes files into a temp dir, chdirs there and loads main.star.
func loadRecipe(t *testing.T, ctx context.Context, files map[string]string, h host.Host, mut func(*Options)) (*Recipe, error) {
	t.Helper()
	dir := t.TempDir()
	writeFiles(t, dir, files)
	t.Chdir(dir)
	if h == nil {
		h = newScriptedHost(nil)
	}
	o := Options{Host: h, Modules: []Module{kvModule()}, Stdlib: testStdlib}
	if mut != nil {
		mut(&o)
	}
	return Load(ctx, "main.star", o)
}

// kvRecipe declares one kv resource per key in want order.
const kvResource = `
def kv_res(id, key, value, requires = []):
    resource(
        id = id,
        kind = "kv",
        want = {key: value},
        check = lambda: {key: kv.get().get(key)},
        fix = lambda have, want: [kv.set(key, value)],
        requires = requires,
    )
`
