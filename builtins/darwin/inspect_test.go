package darwin

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestQueriesRefuseLinksInTheMiddle looks at paths through every kind of
// symlink a CI job can plant, in the middle of the path and at its end,
// with the queries hvfctl answers in-process as root (Lstat, ReadDir and
// the batched StatPaths, ListDir): a link the runner account made, or
// one in a directory it can change, is never crossed (the error names
// it); a link root made in a root-only directory is crossed; a final link
// is described, never followed.
func TestQueriesRefuseLinksInTheMiddle(t *testing.T) {
	requireRoot(t)
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := newScene(t)
	runnerLink := s.plant(t, "actions-runner", symlinkTo(s.sys))
	// A root-owned link in the runner's (runner-owned) directory: the
	// runner can replace it at will.
	rootLinkInHome := filepath.Join(s.home, "rootlink")
	if err := os.Symlink(s.sys, rootLinkInHome); err != nil {
		t.Fatal(err)
	}
	// A root-owned link in a root-only directory (think /tmp ->
	// private/tmp): root made it, nobody else can change it.
	trusted := filepath.Join(filepath.Dir(s.sys), "trusted")
	if err := os.Symlink("sys", trusted); err != nil {
		t.Fatal(err)
	}
	file := s.plant(t, "file", func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) })

	for _, tc := range []struct {
		name, path string
		want       error  // nil: the path is described
		text       string // in the error, or the type described
	}{
		{"runner's link in the middle", filepath.Join(runnerLink, "sudoers"), host.ErrUntrustedLink, runnerLink + " is a symlink not made by root (-> " + s.sys + "; it is not owned by root)"},
		{"runner's link in the middle, deeper", filepath.Join(runnerLink, "a", "b"), host.ErrUntrustedLink, runnerLink + " is a symlink not made by root"},
		{"root's link in a runner directory", filepath.Join(rootLinkInHome, "sudoers"), host.ErrUntrustedLink, "its directory is not owned by root"},
		{"runner's link at the end", runnerLink, nil, host.TypeSymlink},
		{"trusted link in the middle", filepath.Join(trusted, "sudoers"), nil, host.TypeFile},
		{"below a file", filepath.Join(file, "x"), syscall.ENOTDIR, "is a regular file, not a directory"},
		{"missing", filepath.Join(s.home, "gone"), fs.ErrNotExist, ""},
		{"root", "/", nil, host.TypeDir},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fi, err := h.Lstat(ctx, tc.path)
			if tc.want == nil {
				if err != nil || fi.Type != tc.text {
					t.Fatalf("Lstat = %+v, %v; want a %s", fi, err, tc.text)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("Lstat error %v; want %v holding %q", err, tc.want, tc.text)
			}
			sts, err := h.StatPaths(ctx, []string{tc.path})
			if err != nil || len(sts) != 1 || !errors.Is(sts[0].Err, tc.want) {
				t.Fatalf("StatPaths = %+v, %v", sts, err)
			}
			if _, err := h.ReadDir(ctx, tc.path); err == nil {
				t.Fatalf("ReadDir of %s succeeded", tc.path)
			}
		})
	}

	// What the final link is, not what it leads to.
	fi, err := h.Lstat(ctx, runnerLink)
	if err != nil || fi.Target != s.sys || fi.UID != runnerUID || fi.Size != int64(len(s.sys)) {
		t.Errorf("Lstat of the runner's link: %+v %v", fi, err)
	}
	fi, err = h.Lstat(ctx, s.secret)
	if err != nil || fi.Type != host.TypeFile || fi.Mode != 0o440 || fi.Owner != "root" || fi.Group == "" || fi.Size != int64(len("root ALL=(ALL) ALL\n")) || fi.Nlink != 1 {
		t.Errorf("Lstat of a root file: %+v %v", fi, err)
	}
	// Listing: a directory through a trusted link is listed; a final
	// link (even to a directory) and a directory behind a planted link
	// are refused.
	names, err := h.ListDir(ctx, filepath.Join(trusted))
	if err == nil {
		t.Errorf("ListDir of a final link listed %v", names)
	}
	names, err = h.ListDir(ctx, s.sys)
	if err != nil || !slices.Equal(names, []string{"sudoers"}) {
		t.Errorf("ListDir of a directory: %v %v", names, err)
	}
	if names, err := h.ListDir(ctx, runnerLink); err == nil {
		t.Errorf("ListDir of a planted link listed %v", names)
	}
	other := filepath.Join(filepath.Dir(s.sys), "other")
	if err := os.MkdirAll(filepath.Join(other, "sub", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("other", filepath.Join(filepath.Dir(s.sys), "trusted2")); err != nil {
		t.Fatal(err)
	}
	if names, err := h.ListDir(ctx, filepath.Join(filepath.Dir(s.sys), "trusted2", "sub")); err != nil || !slices.Equal(names, []string{"x"}) {
		t.Errorf("ListDir through a trusted link: %v %v", names, err)
	}
	runnerSub := s.plant(t, "sub", symlinkTo(s.sys))
	if _, err := h.ListDir(ctx, filepath.Join(runnerSub, "sub")); !errors.Is(err, host.ErrUntrustedLink) {
		t.Errorf("ListDir below a planted link: %v", err)
	}
	s.unchanged(t)
}

// TestVerifyTreeRefusesALinkInItsPath verifies a fixture tree whose path
// crosses a symlink the runner account planted: the tree behind it is
// never read (the error names the link), while the same tree reached
// without the link verifies.
func TestVerifyTreeRefusesALinkInItsPath(t *testing.T) {
	requireRoot(t)
	h, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := newScene(t)
	tree := filepath.Join(filepath.Dir(s.sys), "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tree, "sub", "f"), []byte("fixture"), 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := filepath.Join(filepath.Dir(s.sys), "tree.lock")
	if _, err := fixturelock.LockDir(ctx, tree, manifest, fixturelock.Options{}); err != nil {
		t.Fatal(err)
	}
	if rep, err := h.VerifyTree(ctx, tree, manifest, nil); err != nil || !rep.OK() || rep.Files != 1 {
		t.Fatalf("the tree itself: %+v %v", rep, err)
	}
	link := s.plant(t, "cache", symlinkTo(filepath.Dir(s.sys)))
	_, err = h.VerifyTree(ctx, filepath.Join(link, "tree"), manifest, nil)
	if !errors.Is(err, host.ErrUntrustedLink) || !strings.Contains(err.Error(), link+" is a symlink not made by root") {
		t.Fatalf("VerifyTree through a planted link: %v", err)
	}
	// Nor is a manifest behind a planted link.
	_, err = h.VerifyTree(ctx, tree, filepath.Join(link, "tree.lock"), nil)
	if !errors.Is(err, host.ErrUntrustedLink) || !strings.Contains(err.Error(), link+" is a symlink not made by root") {
		t.Fatalf("VerifyTree with a manifest through a planted link: %v", err)
	}
	// A tree whose root is itself a link is not read either.
	if _, err := h.VerifyTree(ctx, s.plant(t, "tree", symlinkTo(tree)), manifest, nil); err == nil || !strings.Contains(err.Error(), "symlink") {
		t.Fatalf("VerifyTree of a linked root: %v", err)
	}
}
