package fixturelock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// writeTree creates files (path → content) and links (path → target)
// under a new temporary directory and returns it.
func writeTree(t *testing.T, files map[string]string, links map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for p, content := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func baseTree(t *testing.T) string {
	return writeTree(t, map[string]string{
		"alpine/apk-tools.apk":   "apk tools bytes",
		"alpine/busybox.apk":     "busybox bytes, a little longer",
		"kernel/Image":           strings.Repeat("K", 3*DefaultBufferSize+17),
		"rosetta/hello-x86_64":   "\x7fELF x86",
		"rosetta/empty":          "",
		"odd/with space":         "space",
		"odd/new\nline":          "newline",
		"odd/100%":               "percent",
		"odd/caf\xc3\xa9":        "accent",
		"deep/a/b/c/d/e/f/g.txt": "deep",
	}, map[string]string{
		"alpine/latest.apk": "apk-tools.apk",
		"outside":           "/etc/hostname",
		"dangling":          "no/such/target",
	})
}

func TestLockGolden(t *testing.T) {
	dir := baseTree(t)
	m, err := LockDir(context.Background(), dir, "", Options{Workers: 3, BufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(DefaultManifest(dir))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "base.lock")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("manifest differs from %s:\n%s", golden, got)
	}
	if len(m.Entries) != 13 {
		t.Errorf("locked %d entries, want 13 (10 files, 3 links, not the manifest itself)", len(m.Entries))
	}
	e, ok := m.Lookup("rosetta/hello-x86_64")
	if !ok || e.SHA256 != sum("\x7fELF x86") || e.Size != 8 {
		t.Errorf("rosetta/hello-x86_64 = %+v, want size 8 and its SHA-256", e)
	}
	info, err := os.Stat(DefaultManifest(dir))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != ManifestMode {
		t.Errorf("manifest mode %v, want %v", info.Mode().Perm(), ManifestMode)
	}
	// Locking again with the manifest present excludes it and gives the
	// same bytes.
	if _, err := LockDir(context.Background(), dir, "", Options{}); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(DefaultManifest(dir))
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(got) {
		t.Errorf("second lock differs:\n%s", again)
	}
}

func TestVerify(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(t *testing.T, dir string)
		missing []string
		extra   []string
		changed map[string]string // path → reason prefix
	}{
		{name: "unchanged"},
		{
			name: "changed byte, same size",
			mutate: func(t *testing.T, dir string) {
				flipByte(t, filepath.Join(dir, "kernel/Image"), 2*DefaultBufferSize+5)
			},
			changed: map[string]string{"kernel/Image": "content differs: sha256 "},
		},
		{
			name:    "truncated file",
			mutate:  func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, "alpine/busybox.apk"), 4)) },
			changed: map[string]string{"alpine/busybox.apk": "size 4, want 30"},
		},
		{
			name:    "emptied file",
			mutate:  func(t *testing.T, dir string) { must(t, os.Truncate(filepath.Join(dir, "rosetta/hello-x86_64"), 0)) },
			changed: map[string]string{"rosetta/hello-x86_64": "size 0, want 8"},
		},
		{
			name: "extra files",
			mutate: func(t *testing.T, dir string) {
				must(t, os.WriteFile(filepath.Join(dir, "alpine/evil.apk"), []byte("x"), 0o644))
				must(t, os.MkdirAll(filepath.Join(dir, "new/dir"), 0o755))
				must(t, os.WriteFile(filepath.Join(dir, "new/dir/f"), nil, 0o644))
				must(t, os.Symlink("/", filepath.Join(dir, "new/root")))
			},
			extra: []string{"alpine/evil.apk", "new/dir/f", "new/root"},
		},
		{
			name:   "empty extra directory is not an entry",
			mutate: func(t *testing.T, dir string) { must(t, os.Mkdir(filepath.Join(dir, "emptydir"), 0o755)) },
		},
		{
			name: "missing files",
			mutate: func(t *testing.T, dir string) {
				must(t, os.Remove(filepath.Join(dir, "odd/new\nline")))
				must(t, os.RemoveAll(filepath.Join(dir, "deep")))
			},
			missing: []string{"deep/a/b/c/d/e/f/g.txt", "odd/new\nline"},
		},
		{
			name: "symlink retargeted",
			mutate: func(t *testing.T, dir string) {
				must(t, os.Remove(filepath.Join(dir, "alpine/latest.apk")))
				must(t, os.Symlink("busybox.apk", filepath.Join(dir, "alpine/latest.apk")))
			},
			changed: map[string]string{"alpine/latest.apk": "link target busybox.apk, want apk-tools.apk"},
		},
		{
			name: "file replaced by a symlink to identical content",
			mutate: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "odd/with space")
				must(t, os.WriteFile(filepath.Join(dir, "copy"), []byte("space"), 0o644))
				must(t, os.Remove(p))
				must(t, os.Symlink("../copy", p))
			},
			extra:   []string{"copy"},
			changed: map[string]string{"odd/with space": "is a link, want a file"},
		},
		{
			name: "symlink replaced by the file it named",
			mutate: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "alpine/latest.apk")
				must(t, os.Remove(p))
				must(t, os.WriteFile(p, []byte("apk tools bytes"), 0o644))
			},
			changed: map[string]string{"alpine/latest.apk": "is a file, want a link"},
		},
		{
			name:    "file replaced by a directory",
			mutate:  func(t *testing.T, dir string) { replaceWithDir(t, filepath.Join(dir, "rosetta/empty")) },
			missing: []string{"rosetta/empty"},
			extra:   []string{"rosetta/empty/x"},
		},
		{
			name: "named pipe where a file was",
			mutate: func(t *testing.T, dir string) {
				p := filepath.Join(dir, "rosetta/empty")
				must(t, os.Remove(p))
				must(t, syscall.Mkfifo(p, 0o644))
			},
			changed: map[string]string{"rosetta/empty": "is a named pipe, want a file"},
		},
		{
			name: "links are never followed",
			mutate: func(t *testing.T, dir string) {
				// The link "outside" names /etc/hostname; what it points at is
				// not part of the tree, so nothing here can change it.
				must(t, os.Chmod(filepath.Join(dir, "alpine"), 0o755))
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := baseTree(t)
			if _, err := LockDir(context.Background(), dir, "", Options{}); err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(t, dir)
			}
			rep, err := VerifyDir(context.Background(), dir, "", Options{Workers: 2, BufferSize: 64 * 1024})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Missing, tt.missing) {
				t.Errorf("missing = %q, want %q", rep.Missing, tt.missing)
			}
			if !reflect.DeepEqual(rep.Extra, tt.extra) {
				t.Errorf("extra = %q, want %q", rep.Extra, tt.extra)
			}
			if len(rep.Changed) != len(tt.changed) {
				t.Errorf("changed = %+v, want %v", rep.Changed, tt.changed)
			}
			for _, c := range rep.Changed {
				want, ok := tt.changed[c.Path]
				if !ok || !strings.HasPrefix(c.Reason, want) {
					t.Errorf("changed %q: %q, want prefix %q", c.Path, c.Reason, want)
				}
			}
			wantOK := len(tt.missing)+len(tt.extra)+len(tt.changed) == 0
			if rep.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", rep.OK(), wantOK)
			}
			if rep.Files != 10 || rep.Links != 3 {
				t.Errorf("counted %d files and %d links, want 10 and 3", rep.Files, rep.Links)
			}
		})
	}
}

func TestVerifyEmptyTree(t *testing.T) {
	dir := t.TempDir()
	m, err := LockDir(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 0 {
		t.Errorf("empty tree locked as %v", m.Entries)
	}
	rep, err := VerifyDir(context.Background(), dir, "", Options{})
	if err != nil || !rep.OK() {
		t.Fatalf("VerifyDir = %+v, %v; want OK", rep, err)
	}
	must(t, os.WriteFile(filepath.Join(dir, "late"), nil, 0o644))
	rep, err = VerifyDir(context.Background(), dir, "", Options{})
	if err != nil || rep.OK() || !reflect.DeepEqual(rep.Extra, []string{"late"}) {
		t.Fatalf("VerifyDir = %+v, %v; want extra [late]", rep, err)
	}
}

func TestManifestOutsideTree(t *testing.T) {
	dir := baseTree(t)
	out := filepath.Join(t.TempDir(), "fixtures.lock")
	if _, err := LockDir(context.Background(), dir, out, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(DefaultManifest(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock --out wrote into the tree: %v", err)
	}
	rep, err := VerifyDir(context.Background(), dir, out, Options{})
	if err != nil || !rep.OK() {
		t.Fatalf("VerifyDir = %+v, %v", rep, err)
	}
	// A manifest of another name inside the tree is excluded too.
	in := filepath.Join(dir, "alpine", "my.lock")
	if _, err := LockDir(context.Background(), dir, in, Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyDir(context.Background(), dir, in, Options{})
	if err != nil || !rep.OK() {
		t.Fatalf("VerifyDir = %+v, %v", rep, err)
	}
	// The default manifest is not excluded when another one is named: it
	// is then a file like any other.
	if _, err := LockDir(context.Background(), dir, "", Options{}); err != nil {
		t.Fatal(err)
	}
	rep, err = VerifyDir(context.Background(), dir, in, Options{})
	if err != nil || !reflect.DeepEqual(rep.Extra, []string{DefaultName}) {
		t.Fatalf("VerifyDir = %+v, %v; want extra %s", rep, err, DefaultName)
	}
}

func TestVerifyBadInput(t *testing.T) {
	dir := baseTree(t)
	ctx := context.Background()
	if _, err := VerifyDir(ctx, dir, "", Options{}); err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), DefaultManifest(dir)) {
		t.Errorf("no manifest: err = %v, want it named as missing", err)
	}
	if _, err := VerifyDir(ctx, filepath.Join(dir, "nope"), filepath.Join(dir, "nope.lock"), Options{}); err == nil {
		t.Error("missing manifest and directory: no error")
	}
	if _, err := LockDir(ctx, dir, "", Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyDir(ctx, filepath.Join(dir, "alpine", "busybox.apk"), DefaultManifest(dir), Options{}); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as tree: err = %v", err)
	}
	// Tampering: a manifest with one malformed line never verifies.
	lock := DefaultManifest(dir)
	data, err := os.ReadFile(lock)
	if err != nil {
		t.Fatal(err)
	}
	tampered := strings.Replace(string(data), "f 15 ", "f 15  ", 1)
	must(t, os.WriteFile(lock, []byte(tampered), 0o644))
	if _, err := VerifyDir(ctx, dir, "", Options{}); err == nil || !strings.Contains(err.Error(), lock+":") {
		t.Errorf("tampered manifest: err = %v, want FILE:LINE", err)
	}
	// A hash edited in a well-formed manifest is a change, not a pass.
	edited := strings.Replace(string(data), sum("apk tools bytes"), sum("evil"), 1)
	must(t, os.WriteFile(lock, []byte(edited), 0o644))
	rep, err := VerifyDir(ctx, dir, "", Options{})
	if err != nil || rep.OK() || len(rep.Changed) != 1 || rep.Changed[0].Path != "alpine/apk-tools.apk" {
		t.Errorf("edited hash: %+v, %v", rep, err)
	}
	// An entry dropped from the manifest shows as extra.
	var kept []string
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasSuffix(l, " kernel/Image\n") {
			kept = append(kept, l)
		}
	}
	must(t, os.WriteFile(lock, []byte(strings.Join(kept, "")), 0o644))
	rep, err = VerifyDir(ctx, dir, "", Options{})
	if err != nil || !reflect.DeepEqual(rep.Extra, []string{"kernel/Image"}) {
		t.Errorf("dropped entry: %+v, %v", rep, err)
	}
}

// faultySource makes some files unreadable, whoever runs the test (root
// reads files whatever their mode).
type faultySource struct {
	DirSource
	deny map[string]bool
}

func (f faultySource) Open(ctx context.Context, p string) (io.ReadCloser, error) {
	if f.deny[p] {
		return nil, &fs.PathError{Op: "open", Path: filepath.Join(f.Dir, p), Err: fs.ErrPermission}
	}
	return f.DirSource.Open(ctx, p)
}

func TestUnreadableFile(t *testing.T) {
	dir := baseTree(t)
	ctx := context.Background()
	m, err := Lock(ctx, DirSource{Dir: dir}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	src := faultySource{DirSource: DirSource{Dir: dir}, deny: map[string]bool{"kernel/Image": true, "odd/with space": true}}
	for name, run := range map[string]func() error{
		"verify": func() error { _, err := Verify(ctx, src, m, Options{}); return err },
		"lock":   func() error { _, err := Lock(ctx, src, Options{}); return err },
	} {
		err := run()
		if err == nil {
			t.Fatalf("%s: no error for unreadable files", name)
		}
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s: %v does not wrap fs.ErrPermission", name, err)
		}
		for _, p := range []string{"cannot read kernel/Image", "cannot read odd/with%20space"} {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q does not say %q", name, err, p)
			}
		}
	}
}

func TestUnreadableFileMode(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode; TestUnreadableFile covers this with a faulty source")
	}
	dir := baseTree(t)
	ctx := context.Background()
	if _, err := LockDir(ctx, dir, "", Options{}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "alpine", "busybox.apk")
	must(t, os.Chmod(p, 0))
	_, err := VerifyDir(ctx, dir, "", Options{})
	if err == nil || !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "alpine/busybox.apk") {
		t.Errorf("err = %v, want permission denied naming the file", err)
	}
}

func TestLockRefusesSpecialFiles(t *testing.T) {
	dir := baseTree(t)
	must(t, syscall.Mkfifo(filepath.Join(dir, "pipe"), 0o644))
	_, err := LockDir(context.Background(), dir, "", Options{})
	if err == nil || !strings.Contains(err.Error(), "pipe is a named pipe") {
		t.Errorf("err = %v, want the pipe refused", err)
	}
	if _, err := os.Lstat(DefaultManifest(dir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed lock left a manifest: %v", err)
	}
}

// TestHardLinkNeverRead: a file of the tree with another name (a hard
// link a job made of a file it cannot read, say /etc/kcpassword, on the
// same volume) is neither hashed nor sized: Lock refuses it, Verify
// reports it without its digest or size, Open refuses it (the link made
// between the listing and the read).
func TestHardLinkNeverRead(t *testing.T) {
	dir := baseTree(t)
	m, err := LockDir(context.Background(), dir, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	before, err := Verify(context.Background(), dirSource(dir, DefaultManifest(dir), Options{}), m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("root's secret bytes"), 0o600))
	sum := fmt.Sprintf("%x", sha256.Sum256([]byte("root's secret bytes")))
	must(t, os.Link(outside, filepath.Join(dir, "planted")))
	if _, err := LockDir(context.Background(), dir, filepath.Join(t.TempDir(), "m.lock"), Options{}); err == nil || !strings.Contains(err.Error(), "planted is a file with 2 hard links") {
		t.Errorf("Lock: %v, want the hard link refused", err)
	}
	rep, err := Verify(context.Background(), dirSource(dir, DefaultManifest(dir), Options{}), m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprintf("%+v", rep)
	if !strings.Contains(text, "planted") || strings.Contains(text, sum) || rep.Bytes != before.Bytes {
		t.Errorf("Verify: %s", text)
	}
	if _, err := (DirSource{Dir: dir}).Open(context.Background(), "planted"); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("Open: %v, want a refusal", err)
	}
}

// countingProgress checks that progress sees every hashed byte.
type countingProgress struct {
	total, added atomic.Int64
	finished     atomic.Int32
}

func (c *countingProgress) Start(n int64) { c.total.Store(n) }
func (c *countingProgress) Add(n int64)   { c.added.Add(n) }
func (c *countingProgress) Finish()       { c.finished.Add(1) }

func TestProgressAndWorkers(t *testing.T) {
	dir := baseTree(t)
	for _, workers := range []int{1, 2, 7, 64} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			p := &countingProgress{}
			m, err := Lock(context.Background(), DirSource{Dir: dir}, Options{Workers: workers, BufferSize: 1000, Progress: p})
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			for _, e := range m.Entries {
				want += e.Size
			}
			if p.total.Load() != want || p.added.Load() != want || p.finished.Load() != 1 {
				t.Errorf("progress total %d added %d finished %d, want %d %d 1", p.total.Load(), p.added.Load(), p.finished.Load(), want, want)
			}
			e, _ := m.Lookup("kernel/Image")
			if e.SHA256 != sum(strings.Repeat("K", 3*DefaultBufferSize+17)) {
				t.Errorf("kernel/Image hashed as %s", e.SHA256)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	dir := baseTree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := LockDir(ctx, dir, "", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestDiff(t *testing.T) {
	a := &Manifest{Entries: []Entry{
		{Path: "gone", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "kept", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "link", Type: TypeLink, Target: "kept"},
		{Path: "resized", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "retyped", Type: TypeLink, Target: "kept"},
		{Path: "rewritten", Type: TypeFile, Size: 1, SHA256: sumA},
	}}
	b := &Manifest{Entries: []Entry{
		{Path: "kept", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "link", Type: TypeLink, Target: "new"},
		{Path: "new", Type: TypeFile, Size: 2, SHA256: sumB},
		{Path: "resized", Type: TypeFile, Size: 2, SHA256: sumB},
		{Path: "retyped", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "rewritten", Type: TypeFile, Size: 1, SHA256: sumB},
	}}
	d := Diff(a, b)
	if len(d.Added) != 1 || d.Added[0].Path != "new" || len(d.Removed) != 1 || d.Removed[0].Path != "gone" {
		t.Errorf("added %v removed %v", d.Added, d.Removed)
	}
	want := []Change{
		{Path: "link", Reason: "link target kept → new"},
		{Path: "resized", Reason: "size 1 → 2, sha256 " + sumA + " → " + sumB},
		{Path: "retyped", Reason: "link → file"},
		{Path: "rewritten", Reason: "sha256 " + sumA + " → " + sumB},
	}
	if !reflect.DeepEqual(d.Changed, want) {
		t.Errorf("changed = %+v\nwant %+v", d.Changed, want)
	}
	if d.Empty() || !Diff(a, a).Empty() {
		t.Error("Empty() is wrong")
	}
}

func TestInside(t *testing.T) {
	tests := []struct {
		dir, manifest, rel string
		ok                 bool
	}{
		{"/a/b", "/a/b/x.lock", "x.lock", true},
		{"/a/b/", "/a/b/c/../x.lock", "x.lock", true},
		{"/a/b", "/a/b", "", false},
		{"/a/b", "/a/bc/x.lock", "", false},
		{"/a/b", "/a/x.lock", "", false},
		{"/a/b", "/a/b/sub/x.lock", "sub/x.lock", true},
	}
	for _, tt := range tests {
		rel, ok := Inside(tt.dir, tt.manifest)
		if rel != tt.rel || ok != tt.ok {
			t.Errorf("Inside(%q, %q) = %q, %v; want %q, %v", tt.dir, tt.manifest, rel, ok, tt.rel, tt.ok)
		}
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	must(t, err)
	defer f.Close()
	b := make([]byte, 1)
	_, err = f.ReadAt(b, off)
	must(t, err)
	b[0] ^= 0x01
	_, err = f.WriteAt(b, off)
	must(t, err)
}

func replaceWithDir(t *testing.T, path string) {
	t.Helper()
	must(t, os.Remove(path))
	must(t, os.Mkdir(path, 0o755))
	must(t, os.WriteFile(filepath.Join(path, "x"), nil, 0o644))
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestListedSource(t *testing.T) {
	m := &Manifest{Entries: []Entry{
		{Path: "a", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "b", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "l", Type: TypeLink, Target: "a"},
	}}
	src := ListedSource{Name: "/fake/tree", Nodes: []Node{
		{Path: "b", Type: TypeFile, Size: 1, SHA256: sumB},
		{Path: "a", Type: TypeFile, Size: 1, SHA256: sumA},
		{Path: "l", Type: TypeLink, Target: "a"},
		{Path: "sock", Type: TypeOther, Kind: "socket"},
	}}
	rep, err := Verify(context.Background(), src, m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK() || !reflect.DeepEqual(rep.ChangedPaths(), []string{"b"}) || !reflect.DeepEqual(rep.Extra, []string{"sock"}) {
		t.Errorf("report %+v", rep)
	}
	// A listed file without a digest would have to be opened: an error
	// naming it, not a silent pass.
	src.Nodes[0].SHA256 = ""
	if _, err := Verify(context.Background(), src, m, Options{}); err == nil || !strings.Contains(err.Error(), "cannot read b") {
		t.Errorf("err = %v", err)
	}
	src.Nodes = append(src.Nodes, Node{Path: "a", Type: TypeFile, SHA256: sumA})
	if _, err := Verify(context.Background(), src, m, Options{}); err == nil || !strings.Contains(err.Error(), "listed twice") {
		t.Errorf("duplicate node: err = %v", err)
	}
}
