package darwin

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestACLReadIsTheWalkedObject reads ACLs the way files.acl does on the
// real backend: relative to the directory handle of the safe walk, the
// final component never followed, and the answer matched to the object
// the walk saw. An entry swapped in between the walk and the read (a
// CI job renaming another file over it) is an error, never another
// object's ACL; a symlink is read itself; a link in the middle of the
// path is refused like Lstat refuses it. (On Linux the attribute read
// answers as macOS does for an object without an ACL.)
func TestACLReadIsTheWalkedObject(t *testing.T) {
	s := newScene(t)
	h := &Host{}
	ctx := context.Background()
	file := s.plant(t, "file", func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) })
	link := s.plant(t, "link", func(p string) error { return os.Symlink(s.secret, p) })
	mid := s.plant(t, "mid", func(p string) error { return os.Symlink(s.sys, p) })

	as, err := h.ACLPaths(ctx, []string{file, link, s.sys, "/", filepath.Join(mid, "sudoers"), filepath.Join(s.home, "gone")})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"", "", "", "", "not made by root", "no such file"} {
		a := as[i]
		switch {
		case want == "" && (a.Err != nil || a.Entries == nil || len(a.Entries) != 0):
			t.Errorf("%s: %v %q, want no entries", a.Path, a.Err, a.Entries)
		case want != "" && (a.Err == nil || !strings.Contains(a.Err.Error(), want)):
			t.Errorf("%s: %v, want an error with %q", a.Path, a.Err, want)
		}
	}
	if !errors.Is(as[4].Err, host.ErrUntrustedLink) {
		t.Errorf("the link in the middle: %v does not wrap ErrUntrustedLink", as[4].Err)
	}

	e, err := lookup(file)
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if _, err := e.acl(); err != nil {
		t.Fatalf("the entry as walked: %v", err)
	}
	other := s.plant(t, "other", func(p string) error { return os.WriteFile(p, []byte("y"), 0o644) })
	if err := os.Rename(other, file); err != nil {
		t.Fatal(err)
	}
	if aces, err := e.acl(); err == nil || !strings.Contains(err.Error(), "changed while it was read") {
		t.Fatalf("after a swap the read gave %v, %v; want the change reported", aces, err)
	}
}

// TestLocalACL: LocalTrust's reader answers for an entry without
// following it (a symlink is read itself, a missing entry is an error);
// on Linux, where the tests run, no object has an ACL.
func TestLocalACL(t *testing.T) {
	d := t.TempDir()
	if err := os.WriteFile(d+"/f", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nonexistent", d+"/l"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/", d, d + "/f", d + "/l"} {
		if got, err := LocalACL(p, p != d+"/f" && p != d+"/l"); err != nil || got != "" {
			t.Errorf("LocalACL(%s) = %q, %v", p, got, err)
		}
	}
	if _, err := LocalACL(d+"/missing", false); err == nil {
		t.Error("a missing entry gave an answer")
	}
}
