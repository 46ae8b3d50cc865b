package builtins

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// plainHost is a host without the TreeVerifier capability.
type plainHost struct{ host.Host }

func (plainHost) Name() string { return "plain" }

// callVerify calls fixtures.verify on a session over h.
func callVerify(t *testing.T, h host.Host, args ...starlark.Value) (starlark.Value, *engine.Session, error) {
	t.Helper()
	s := engine.NewSession(context.Background(), engine.SessionOptions{Host: h})
	th := &starlark.Thread{Name: "test"}
	s.Attach(th)
	s.SetPhase(engine.PhaseCheck)
	var b engine.Builtin
	for _, x := range fixturesModule().Builtins {
		if x.Name == "verify" {
			b = x
		}
	}
	if b.Fn == nil {
		t.Fatal("fixtures.verify is not defined")
	}
	fn := starlark.NewBuiltin("fixtures.verify", b.Fn)
	v, err := starlark.Call(th, fn, starlark.Tuple(args), nil)
	return v, s, err
}

func attr(t *testing.T, v starlark.Value, name string) starlark.Value {
	t.Helper()
	st, ok := v.(*starlarkstruct.Struct)
	if !ok {
		t.Fatalf("result %v is a %s, not a struct", v, v.Type())
	}
	a, err := st.Attr(name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func strs(t *testing.T, v starlark.Value) []string {
	t.Helper()
	var out []string
	l := v.(*starlark.List)
	for i := 0; i < l.Len(); i++ {
		s, _ := starlark.AsString(l.Index(i))
		out = append(out, s)
	}
	return out
}

func TestFixturesVerifyLocal(t *testing.T) {
	dir := t.TempDir()
	for p, c := range map[string]string{"alpine/a.apk": "a", "kernel/Image": "kernel", "x y": "space"} {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := fixturelock.LockDir(context.Background(), dir, "", fixturelock.Options{}); err != nil {
		t.Fatal(err)
	}
	h, err := darwin.New(darwin.Options{})
	if err != nil {
		t.Fatal(err)
	}
	v, s, err := callVerify(t, h, starlark.String(dir))
	if err != nil {
		t.Fatal(err)
	}
	if attr(t, v, "ok") != starlark.True || attr(t, v, "files") != starlark.MakeInt(3) {
		t.Errorf("clean tree: %v", v)
	}
	tr := s.Recorder().Transcript()
	want := []string{fixturelock.OpVerifyTree, dir, fixturelock.DefaultManifest(dir)}
	if len(tr) != 1 || !reflect.DeepEqual(tr[0].Argv, want) || tr[0].Exit != 0 || tr[0].User != host.Root {
		t.Errorf("transcript %+v, want one %v", tr, want)
	}

	if err := os.WriteFile(filepath.Join(dir, "kernel/Image"), []byte("kernem"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "x y")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "new"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	v, s, err = callVerify(t, h, starlark.String(dir), starlark.String(fixturelock.DefaultManifest(dir)))
	if err != nil {
		t.Fatal(err)
	}
	if attr(t, v, "ok") != starlark.False {
		t.Errorf("changed tree verified: %v", v)
	}
	if got := strs(t, attr(t, v, "missing")); !reflect.DeepEqual(got, []string{"x%20y"}) {
		t.Errorf("missing = %q", got)
	}
	if got := strs(t, attr(t, v, "extra")); !reflect.DeepEqual(got, []string{"new"}) {
		t.Errorf("extra = %q", got)
	}
	if got := strs(t, attr(t, v, "changed")); !reflect.DeepEqual(got, []string{"kernel/Image"}) {
		t.Errorf("changed = %q", got)
	}
	if tr := s.Recorder().Transcript(); len(tr) != 1 || tr[0].Exit != 1 {
		t.Errorf("transcript %+v, want exit 1", tr)
	}

	// A malformed manifest fails the check, with its line.
	if err := os.WriteFile(fixturelock.DefaultManifest(dir), []byte(fixturelock.Header+"\nf 1 nothex a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := callVerify(t, h, starlark.String(dir)); err == nil || !strings.Contains(err.Error(), fixturelock.DefaultManifest(dir)+":2: bad SHA-256") {
		t.Errorf("malformed manifest: %v", err)
	}
	// No manifest: unknown, not a pass.
	if err := os.Remove(fixturelock.DefaultManifest(dir)); err != nil {
		t.Fatal(err)
	}
	v, _, err = callVerify(t, h, starlark.String(dir))
	if u, ok := v.(*engine.Unknown); err != nil || !ok || !strings.Contains(u.Reason, "does not exist") {
		t.Errorf("no manifest: %v, %v; want unknown", v, err)
	}
}

func TestFixturesVerifyNoCapability(t *testing.T) {
	v, s, err := callVerify(t, plainHost{}, starlark.String("/Library/Caches/elfuse-ci/test-fixtures"))
	if err != nil {
		t.Fatal(err)
	}
	u, ok := v.(*engine.Unknown)
	if !ok || !strings.Contains(u.Reason, "cannot verify a fixture tree") {
		t.Errorf("got %v, want unknown", v)
	}
	if tr := s.Recorder().Transcript(); len(tr) != 0 {
		t.Errorf("transcript %+v, want empty", tr)
	}
}

func TestFixturesVerifyBadArgs(t *testing.T) {
	for _, args := range [][]starlark.Value{
		{starlark.String("relative/dir")},
		{starlark.String("/a/../b")},
		{starlark.String("/a"), starlark.String("rel.lock")},
		{starlark.String("/a"), starlark.MakeInt(1)},
		{},
	} {
		if v, _, err := callVerify(t, plainHost{}, args...); err == nil {
			t.Errorf("fixtures.verify%v = %v, want an error", args, v)
		}
	}
}

func TestFixturesVerifyFake(t *testing.T) {
	ctx := context.Background()
	m, err := fakemac.New("fresh-m4")
	if err != nil {
		t.Fatal(err)
	}
	const dir = "/Users/Shared/fixtures"
	if res, err := m.Run(ctx, host.Command{Argv: []string{"/bin/mkdir", "-p", "-m", "755", dir + "/alpine"}}); err != nil || res.Exit != 0 {
		t.Fatalf("mkdir: %+v, %v", res, err)
	}
	write := func(p, content string) {
		t.Helper()
		if err := m.WriteFile(ctx, host.WriteRequest{Path: p, Data: []byte(content), Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
			t.Fatal(err)
		}
	}
	write(dir+"/alpine/a.apk", "apk")
	sum, _, err := SHA256Of(strings.NewReader("apk"))
	if err != nil {
		t.Fatal(err)
	}
	write(dir+".lock", fixturelock.Header+"\nf 3 "+sum+" alpine/a.apk\n")
	v, s, err := callVerify(t, m, starlark.String(dir), starlark.String(dir+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	if attr(t, v, "ok") != starlark.True {
		t.Errorf("fake tree: %v", v)
	}
	if tr := s.Recorder().Transcript(); len(tr) != 1 || tr[0].Argv[0] != fixturelock.OpVerifyTree {
		t.Errorf("transcript %+v", tr)
	}
	write(dir+"/alpine/a.apk", "APK")
	v, _, err = callVerify(t, m, starlark.String(dir), starlark.String(dir+".lock"))
	if err != nil {
		t.Fatal(err)
	}
	reasons := attr(t, v, "reasons").(*starlark.Dict)
	r, found, _ := reasons.Get(starlark.String("alpine/a.apk"))
	if attr(t, v, "ok") != starlark.False || !found || !strings.Contains(r.String(), "content differs") {
		t.Errorf("changed fake tree: %v", v)
	}
}
