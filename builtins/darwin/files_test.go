package darwin

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// listDir names the entries of dir.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// checkFile asserts a file's content, permission bits and owner.
func checkFile(t *testing.T, path string, data []byte, mode fs.FileMode, uid, gid int) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !fi.Mode().IsRegular() {
		t.Fatalf("%s is %v, want a regular file", path, fi.Mode().Type())
	}
	if fi.Mode() != mode {
		t.Errorf("%s mode %v, want %v", path, fi.Mode(), mode)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid {
		t.Errorf("%s owner %d:%d, want %d:%d", path, st.Uid, st.Gid, uid, gid)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("%s holds %q, want %q", path, got, data)
	}
}

func TestWriteFile(t *testing.T) {
	r := newRig(t, nil)
	dir := t.TempDir()
	outside := t.TempDir()
	// A symlink root owns in a root-only directory is trusted (like
	// /tmp -> private/tmp on macOS); one owned by another account is not.
	trusted := filepath.Join(dir, "trusted")
	if err := os.Symlink(outside, trusted); err != nil {
		t.Fatal(err)
	}
	untrusted := filepath.Join(dir, "untrusted")
	if err := os.Symlink(outside, untrusted); err != nil {
		t.Fatal(err)
	}
	if err := os.Lchown(untrusted, runnerUID, runnerGID); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.Mkdir(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(open, "link")); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(outside, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(dir, "dest-link")); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		req     host.WriteRequest
		uid     int
		gid     int
		errText string
	}{
		{name: "new file, exact mode and owner", uid: runnerUID, gid: staffGID,
			req: host.WriteRequest{Path: filepath.Join(dir, "a.json"), Data: []byte(`{"a":1}`), Mode: 0o640, Owner: "ghrunner", Group: "staff"}},
		{name: "empty file, mode wider than the temp file's", uid: 0, gid: 0,
			req: host.WriteRequest{Path: filepath.Join(dir, "marker"), Mode: 0o755, Owner: "root", Group: "wheel"}},
		{name: "through a trusted symlink", uid: 0, gid: 0,
			req: host.WriteRequest{Path: filepath.Join(trusted, "b"), Data: []byte("b"), Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "a symlink at the destination is replaced, not followed", uid: 0, gid: 0,
			req: host.WriteRequest{Path: filepath.Join(dir, "dest-link"), Data: []byte("new"), Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "symlink owned by another account", errText: "not owned by root",
			req: host.WriteRequest{Path: filepath.Join(untrusted, "c"), Data: []byte("c"), Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "symlink in a world-writable directory", errText: "writable by others",
			req: host.WriteRequest{Path: filepath.Join(open, "link", "d"), Data: []byte("d"), Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "missing parent", errText: "no such file",
			req: host.WriteRequest{Path: filepath.Join(dir, "nope", "e"), Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "set-id bits refused", errText: "beyond the permission bits",
			req: host.WriteRequest{Path: filepath.Join(dir, "f"), Mode: 0o644 | fs.ModeSetuid, Owner: "root", Group: "wheel"}},
		{name: "unknown owner", errText: "no such user",
			req: host.WriteRequest{Path: filepath.Join(dir, "g"), Mode: 0o644, Owner: "nobody-here", Group: "wheel"}},
		{name: "owner required", errText: "owner and group are required",
			req: host.WriteRequest{Path: filepath.Join(dir, "h"), Mode: 0o644}},
		{name: "relative path", errText: "not a clean absolute file path",
			req: host.WriteRequest{Path: "etc/x", Mode: 0o644, Owner: "root", Group: "wheel"}},
		{name: "directory destination", errText: "is a directory",
			req: host.WriteRequest{Path: open, Mode: 0o644, Owner: "root", Group: "wheel"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.h.WriteFile(t.Context(), tt.req)
			if tt.errText != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %q", err, tt.errText)
				}
				if _, serr := os.Lstat(tt.req.Path); serr == nil && tt.req.Path != open {
					t.Errorf("%s exists after a refused write", tt.req.Path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkFile(t, tt.req.Path, tt.req.Data, tt.req.Mode, tt.uid, tt.gid)
		})
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the symlink's target was written: %q", b)
	}
	for _, d := range []string{dir, outside, open} {
		for _, n := range listDir(t, d) {
			if strings.Contains(n, ".hvfctl-") {
				t.Errorf("temporary file %s left in %s", n, d)
			}
		}
	}
}

// failAfter is a context whose Err turns non-nil after n calls, to make
// a write fail midway deterministically.
type failAfter struct {
	context.Context
	n atomic.Int32
}

func (c *failAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return errors.New("injected failure")
	}
	return nil
}

func TestWriteFileFailsMidway(t *testing.T) {
	r := newRig(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	old := []byte("old content\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("new"), 3*writeChunk)
	for _, n := range []int32{0, 1, 2, 4} {
		ctx := &failAfter{Context: t.Context()}
		ctx.n.Store(n)
		err := r.h.WriteFile(ctx, host.WriteRequest{Path: path, Data: data, Mode: 0o600, Owner: "root", Group: "wheel"})
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("after %d checks: err = %v, want the injected failure", n, err)
		}
		checkFile(t, path, old, 0o644, 0, 0)
		if names := listDir(t, dir); len(names) != 1 {
			t.Errorf("after %d checks: directory holds %q, want only config", n, names)
		}
	}
}

func TestWriteFileAtomicForReaders(t *testing.T) {
	r := newRig(t, nil)
	path := filepath.Join(t.TempDir(), "state.json")
	a := bytes.Repeat([]byte("A"), 256<<10)
	b := bytes.Repeat([]byte("B"), 128<<10)
	write := func(data []byte) {
		if err := r.h.WriteFile(t.Context(), host.WriteRequest{Path: path, Data: data, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
			t.Error(err)
		}
	}
	write(a)
	var stop atomic.Bool
	var wg sync.WaitGroup
	var reads, bad atomic.Int64
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				got, err := os.ReadFile(path)
				if err != nil {
					bad.Add(1)
					continue
				}
				reads.Add(1)
				if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
					bad.Add(1)
				}
			}
		}()
	}
	for i := range 60 {
		if i%2 == 0 {
			write(b)
		} else {
			write(a)
		}
	}
	stop.Store(true)
	wg.Wait()
	if bad.Load() != 0 {
		t.Errorf("%d of %d reads saw a missing or partial file", bad.Load(), reads.Load()+bad.Load())
	}
	if reads.Load() == 0 {
		t.Error("the readers never read")
	}
}

func TestReadFile(t *testing.T) {
	r := newRig(t, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, ".runner")
	if err := os.WriteFile(path, []byte("\xef\xbb\xbf{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path    string
		max     int64
		want    string
		errIs   error
		errText string
	}{
		{path: path, max: 5, want: "\xef\xbb\xbf{}"},
		{path: path, max: 100, want: "\xef\xbb\xbf{}"},
		{path: path, max: 4, errText: "larger than the limit of 4 bytes"},
		{path: path, max: 0, errText: "not positive"},
		{path: filepath.Join(dir, "missing"), max: 10, errIs: fs.ErrNotExist},
		{path: dir, max: 10, errText: "not a regular file"},
		{path: "relative", max: 10, errText: "not a clean absolute"},
	}
	for _, tt := range tests {
		got, err := r.h.ReadFile(t.Context(), tt.path, tt.max)
		switch {
		case tt.errIs != nil:
			if !errors.Is(err, tt.errIs) {
				t.Errorf("ReadFile(%s, %d) err = %v, want %v", tt.path, tt.max, err, tt.errIs)
			}
		case tt.errText != "":
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("ReadFile(%s, %d) err = %v, want %q", tt.path, tt.max, err, tt.errText)
			}
		case err != nil || string(got) != tt.want:
			t.Errorf("ReadFile(%s, %d) = %q, %v; want %q", tt.path, tt.max, got, err, tt.want)
		}
	}
}

func TestHash(t *testing.T) {
	r := newRig(t, nil)
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	abc := write("abc", "abc")
	link := filepath.Join(dir, "link")
	if err := os.Symlink(abc, link); err != nil {
		t.Fatal(err)
	}
	big := write("big", strings.Repeat("a", 1000000))
	tests := []struct {
		path string
		sum  string
		size int64
		err  bool
	}{
		{abc, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3, false},
		{link, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", 3, false},
		{write("empty", ""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", 0, false},
		{big, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", 1000000, false},
		{filepath.Join(dir, "missing"), "", 0, true},
		{dir, "", 0, true},
	}
	for _, tt := range tests {
		sum, size, err := r.h.Hash(t.Context(), tt.path)
		if tt.err {
			if err == nil {
				t.Errorf("Hash(%s): want an error", tt.path)
			}
			continue
		}
		if err != nil || sum != tt.sum || size != tt.size {
			t.Errorf("Hash(%s) = %s, %d, %v; want %s, %d", tt.path, sum, size, err, tt.sum, tt.size)
		}
	}
	if _, _, err := r.h.Hash(t.Context(), filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v, want fs.ErrNotExist", err)
	}
}
