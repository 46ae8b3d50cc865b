package darwin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// scene is a directory tree with the plantings a CI job can make: a
// root-owned "system" directory and file outside the runner's tree, and a
// runner-owned home where links, FIFOs and hard links point at them.
type scene struct {
	sys     string // root-owned directory (think /Library/LaunchDaemons)
	secret  string // root-owned file in it (think /etc/sudoers)
	home    string // runner-owned directory (think /Users/ghrunner)
	outside os.FileInfo
}

func newScene(t *testing.T) *scene {
	t.Helper()
	base := worldReadableTempDir(t)
	s := &scene{sys: filepath.Join(base, "sys"), home: filepath.Join(base, "home")}
	s.secret = filepath.Join(s.sys, "sudoers")
	if err := os.Mkdir(s.sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.secret, []byte("root ALL=(ALL) ALL\n"), 0o440); err != nil {
		t.Fatal(err)
	}
	mkdirOwned(t, s.home, runnerUID, runnerGID)
	return s
}

// plant makes an object as the runner account would: owned by it.
func (s *scene) plant(t *testing.T, name string, make func(p string) error) string {
	t.Helper()
	p := filepath.Join(s.home, name)
	if err := make(p); err != nil {
		t.Fatal(err)
	}
	// A hard link shares the root file's inode: the runner cannot (and
	// the test must not) re-own it.
	if fi, err := os.Lstat(p); err == nil && fi.Sys().(*syscall.Stat_t).Nlink > 1 && fi.Mode().IsRegular() {
		return p
	}
	if err := os.Lchown(p, runnerUID, runnerGID); err != nil {
		t.Fatal(err)
	}
	return p
}

func symlinkTo(target string) func(string) error {
	return func(p string) error { return os.Symlink(target, p) }
}

func hardlinkTo(target string) func(string) error {
	return func(p string) error { return os.Link(target, p) }
}

func fifo(p string) error { return syscall.Mkfifo(p, 0o644) }

// unchanged asserts the root-owned objects kept owner, mode and content.
func (s *scene) unchanged(t *testing.T) {
	t.Helper()
	for p, want := range map[string]os.FileMode{s.sys: os.ModeDir | 0o755, s.secret: 0o440} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 0 || st.Gid != 0 || fi.Mode() != want {
			t.Errorf("%s is now %v %d:%d, want %v 0:0", p, fi.Mode(), st.Uid, st.Gid, want)
		}
	}
	if b, err := os.ReadFile(s.secret); err != nil || string(b) != "root ALL=(ALL) ALL\n" {
		t.Errorf("%s content changed: %q %v", s.secret, b, err)
	}
	if ents, _ := os.ReadDir(s.sys); len(ents) != 1 {
		t.Errorf("%s gained entries: %v", s.sys, ents)
	}
}

// TestRootFileCommandsRefusePlantings runs the file commands hvfctl
// builds as root over every kind of planting and checks both the answer
// and that nothing outside the runner's tree changed.
func TestRootFileCommandsRefusePlantings(t *testing.T) {
	r := newRig(t, nil)
	tests := []struct {
		name    string
		plant   func(t *testing.T, s *scene) []string // returns the argv
		errText string                                // "" means success
	}{
		{"chown through a planted dir symlink", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "ghrunner:staff", s.plant(t, "_work", symlinkTo(s.sys))}
		}, "symlink"},
		{"chown through a planted file symlink", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "ghrunner:staff", s.plant(t, ".runner", symlinkTo(s.secret))}
		}, "symlink"},
		{"chown of a path under a planted link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "logs", symlinkTo(s.sys))
			return []string{"/usr/sbin/chown", "ghrunner:staff", filepath.Join(l, "sudoers")}
		}, "not owned by root"},
		{"chown of a hard link to a root file", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "ghrunner:staff", s.plant(t, "hl", hardlinkTo(s.secret))}
		}, "hard links"},
		{"chown of a FIFO", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "ghrunner:staff", s.plant(t, "p", fifo)}
		}, "FIFO"},
		{"chown -R of a planted link", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "-R", "ghrunner:staff", s.plant(t, "_work", symlinkTo(s.sys))}
		}, "symlink"},
		{"chmod through a planted link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/chmod", "777", s.plant(t, "x", symlinkTo(s.secret))}
		}, "symlink"},
		{"chmod of a hard link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/chmod", "666", s.plant(t, "x", hardlinkTo(s.secret))}
		}, "hard links"},
		{"mkdir under a planted link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "cache", symlinkTo(s.sys))
			return []string{"/bin/mkdir", "-p", "-m", "755", filepath.Join(l, "evil", "deeper")}
		}, "not owned by root"},
		{"mkdir over a planted link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/mkdir", "-p", "-m", "755", s.plant(t, "cache", symlinkTo(s.sys))}
		}, "not owned by root"},
		{"rm under a planted link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "l", symlinkTo(s.sys))
			return []string{"/bin/rm", "-f", filepath.Join(l, "sudoers")}
		}, "not owned by root"},
		{"rm of a planted link removes the link only", func(t *testing.T, s *scene) []string {
			return []string{"/bin/rm", "-f", s.plant(t, "l", symlinkTo(s.secret))}
		}, ""},
		{"ln over a planted link replaces it", func(t *testing.T, s *scene) []string {
			return []string{"/bin/ln", "-sfh", "/opt/toolchain/dist/x", s.plant(t, "link", symlinkTo(s.sys))}
		}, ""},
		{"ln into a planted link's directory", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "link", symlinkTo(s.sys))
			return []string{"/bin/ln", "-sfh", "/x", filepath.Join(l, "evil")}
		}, "not owned by root"},
		{"chown -h of a planted link re-owns the link only", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "-h", "ghrunner:staff", s.plant(t, "_work", symlinkTo(s.sys))}
		}, ""},
		{"chown -h of a hard link", func(t *testing.T, s *scene) []string {
			return []string{"/usr/sbin/chown", "-h", "ghrunner:staff", s.plant(t, "hl", hardlinkTo(s.secret))}
		}, "hard links"},
		{"chmod -h of a hard link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/chmod", "-h", "666", s.plant(t, "hl", hardlinkTo(s.secret))}
		}, "hard links"},
		{"rm -rf of a tree holding links out", func(t *testing.T, s *scene) []string {
			d := s.plant(t, "_work", func(p string) error { return os.MkdirAll(filepath.Join(p, "x"), 0o755) })
			for name, mk := range map[string]func(string) error{"dir": symlinkTo(s.sys), "file": symlinkTo(s.secret), "hl": hardlinkTo(s.secret)} {
				if err := mk(filepath.Join(d, "x", name)); err != nil {
					t.Fatal(err)
				}
			}
			return []string{"/bin/rm", "-rf", d}
		}, ""},
		{"rm -rf under a planted link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "l", symlinkTo(s.sys))
			return []string{"/bin/rm", "-rf", filepath.Join(l, "sudoers")}
		}, "not owned by root"},
		{"rm -rf of a planted link removes the link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/rm", "-rf", s.plant(t, "l", symlinkTo(s.sys))}
		}, ""},
		{"mv of a planted link moves the link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "l", symlinkTo(s.sys))
			return []string{"/bin/mv", l, filepath.Join(s.home, "moved")}
		}, ""},
		{"mv into a planted link's directory", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "l", symlinkTo(s.sys))
			src := s.plant(t, "f", func(p string) error { return os.WriteFile(p, []byte("x"), 0o644) })
			return []string{"/bin/mv", src, filepath.Join(l, "evil")}
		}, "not owned by root"},
		{"chmod -h -N on a planted link", func(t *testing.T, s *scene) []string {
			l := s.plant(t, "l", symlinkTo(s.sys))
			return []string{"/bin/chmod", "-h", "-N", filepath.Join(l, "sudoers")}
		}, "not owned by root"},
		{"chmod -N on a planted link", func(t *testing.T, s *scene) []string {
			return []string{"/bin/chmod", "-N", s.plant(t, "l", symlinkTo(s.sys))}
		}, "symlink"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newScene(t)
			argv := tt.plant(t, s)
			res, err := r.h.Run(t.Context(), host.Command{Argv: argv, User: host.Root})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tt.errText == "" {
				if res.Exit != 0 {
					t.Fatalf("exit %d: %s", res.Exit, res.Stderr)
				}
			} else if res.Exit != 1 || !strings.Contains(res.Stderr, tt.errText) {
				t.Fatalf("exit %d stderr %q, want exit 1 and %q", res.Exit, res.Stderr, tt.errText)
			}
			s.unchanged(t)
		})
	}
}

func TestRootFileCommandsWork(t *testing.T) {
	r := newRig(t, nil)
	s := newScene(t)
	run := func(argv ...string) {
		t.Helper()
		res, err := r.h.Run(t.Context(), host.Command{Argv: argv})
		if err != nil || res.Exit != 0 {
			t.Fatalf("%q: exit %d %v %s", argv, res.Exit, err, res.Stderr)
		}
	}
	owner := func(p string) (uint32, uint32, os.FileMode) {
		t.Helper()
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		return st.Uid, st.Gid, fi.Mode()
	}
	root := filepath.Join(s.home, "actions-runner")
	run("/bin/mkdir", "-p", "-m", "750", filepath.Join(root, "_work"))
	if uid, _, mode := owner(filepath.Join(root, "_work")); uid != 0 || mode != os.ModeDir|0o750 {
		t.Errorf("mkdir: %d %v", uid, mode)
	}
	if _, _, mode := owner(root); mode != os.ModeDir|0o755 {
		t.Errorf("mkdir parent: %v", mode)
	}
	run("/bin/mkdir", "-p", "-m", "700", filepath.Join(root, "_work")) // exists: unchanged
	if _, _, mode := owner(filepath.Join(root, "_work")); mode != os.ModeDir|0o750 {
		t.Errorf("mkdir -p changed an existing directory: %v", mode)
	}
	run("/usr/sbin/chown", "ghrunner:staff", root)
	if uid, gid, _ := owner(root); uid != runnerUID || gid != staffGID {
		t.Errorf("chown: %d:%d", uid, gid)
	}
	run("/bin/chmod", "2775", root)
	if _, _, mode := owner(root); mode != os.ModeDir|os.ModeSetgid|0o775 {
		t.Errorf("chmod: %v", mode)
	}
	// A tree with a link out, a hard link to a root file, a FIFO and a
	// nested directory: chown -R re-owns what is in the tree, the link
	// itself rather than its target, and skips the hard link.
	work := filepath.Join(root, "_work")
	if err := os.MkdirAll(filepath.Join(work, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "a", "b", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, mk := range map[string]func(string) error{"out": symlinkTo(s.sys), "secret": symlinkTo(s.secret), "hl": hardlinkTo(s.secret), "p": fifo} {
		if err := mk(filepath.Join(work, "a", name)); err != nil {
			t.Fatal(err)
		}
	}
	res, err := r.h.Run(t.Context(), host.Command{Argv: []string{"/usr/sbin/chown", "-R", "ghrunner:ghrunner", work}})
	if err != nil || res.Exit != 1 || !strings.Contains(res.Stderr, "hl: has 2 hard links") {
		t.Fatalf("chown -R: exit %d %v %q, want the hard link reported", res.Exit, err, res.Stderr)
	}
	for _, p := range []string{work, filepath.Join(work, "a"), filepath.Join(work, "a", "b", "f"), filepath.Join(work, "a", "out"), filepath.Join(work, "a", "p")} {
		if uid, gid, _ := owner(p); uid != runnerUID || gid != runnerGID {
			t.Errorf("chown -R left %s %d:%d", p, uid, gid)
		}
	}
	s.unchanged(t)
	run("/bin/ln", "-sfh", "/opt/x", filepath.Join(root, "link"))
	run("/bin/ln", "-sfh", "/opt/y", filepath.Join(root, "link"))
	if got, _ := os.Readlink(filepath.Join(root, "link")); got != "/opt/y" {
		t.Errorf("ln -sfh: %q", got)
	}
	run("/bin/rm", "-f", filepath.Join(root, "link"))
	run("/bin/rm", "-f", filepath.Join(root, "link")) // missing: fine
	if _, err := os.Lstat(filepath.Join(root, "link")); !os.IsNotExist(err) {
		t.Errorf("rm: %v", err)
	}
	// Another form of a file tool as root is refused outright.
	if _, err := r.h.Run(t.Context(), host.Command{Argv: []string{"/bin/chmod", "-R", "777", root}}); err == nil || !strings.Contains(err.Error(), "only in the forms") {
		t.Errorf("chmod -R: %v", err)
	}
}

func TestReadRefusesPlantings(t *testing.T) {
	r := newRig(t, nil)
	s := newScene(t)
	// A trusted link (root's, in a root-only directory) is followed.
	trusted := filepath.Join(s.sys, "alias")
	if err := os.Symlink(s.secret, trusted); err != nil {
		t.Fatal(err)
	}
	if b, err := r.h.ReadFile(t.Context(), trusted, 1<<10); err != nil || !strings.HasPrefix(string(b), "root") {
		t.Errorf("trusted link: %q %v", b, err)
	}
	if err := os.Remove(trusted); err != nil {
		t.Fatal(err)
	}
	for name, tt := range map[string]struct {
		mk      func(string) error
		errText string
	}{
		"fifo":           {fifo, "not a regular file (a FIFO)"},
		"link to secret": {symlinkTo(s.secret), "not owned by root"},
		"hard link":      {hardlinkTo(s.secret), "hard links"},
		"device link":    {symlinkTo("/dev/zero"), "not owned by root"},
		"directory":      {func(p string) error { return os.Mkdir(p, 0o755) }, "not a regular file"},
	} {
		t.Run(name, func(t *testing.T) {
			p := s.plant(t, strings.ReplaceAll(name, " ", "-"), tt.mk)
			_, err := r.h.ReadFile(t.Context(), p, 1<<10)
			if err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Fatalf("ReadFile: %v, want %q", err, tt.errText)
			}
			// A digest is read too: the hard link's (the root file's)
			// would be a digest of a file the runner cannot read, and a
			// low-entropy secret falls to guesses hashed offline. The
			// archive readers open files the same way.
			if _, _, err := r.h.Hash(t.Context(), p); err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("Hash of the %s: %v, want %q", name, err, tt.errText)
			}
			if _, err := r.h.ListArchive(t.Context(), p); err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("ListArchive of the %s: %v, want %q", name, err, tt.errText)
			}
			if _, err := r.h.HashArchive(t.Context(), p); err == nil || !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("HashArchive of the %s: %v, want %q", name, err, tt.errText)
			}
		})
	}
	// /dev/zero itself is a device: refused before it is opened.
	if _, err := r.h.ReadFile(t.Context(), "/dev/zero", 10); err == nil || !strings.Contains(err.Error(), "character device") {
		t.Errorf("/dev/zero: %v", err)
	}
	s.unchanged(t)
}

func TestListArchive(t *testing.T) {
	r := newRig(t, nil)
	s := newScene(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range []*tar.Header{
		{Name: "bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "bin/x -> ok", Typeflag: tar.TypeSymlink, Linkname: s.sys},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(s.sys, "a.tar.gz")
	if err := os.WriteFile(archive, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	es, err := r.h.ListArchive(t.Context(), archive)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[1].Name != "bin/x -> ok" || es[1].Linkname != s.sys {
		t.Fatalf("entries %+v", es)
	}
	if err := tarcheck.Check("/dest", es); err == nil || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("Check: %v", err)
	}
	p := s.plant(t, "a.tar.gz", fifo)
	if _, err := r.h.ListArchive(t.Context(), p); err == nil || !strings.Contains(err.Error(), "FIFO") {
		t.Errorf("FIFO archive: %v", err)
	}
}

// TestRootRefusesHardLinkedRootSymlink: any account may hard link a
// root-owned symlink (linkat without AT_SYMLINK_FOLLOW; xnu's link
// authorization checks only immutability) into a sticky directory such as
// /tmp, where the alias is root's and the directory root's: a walk as
// root must not cross it, for a change or for a read.
func TestRootRefusesHardLinkedRootSymlink(t *testing.T) {
	r := newRig(t, nil)
	s := newScene(t)
	base := filepath.Dir(s.sys)
	tmp := filepath.Join(base, "tmp")
	if err := os.Mkdir(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Chmod(tmp, 0o1777); err != nil {
		t.Fatal(err)
	}
	// Root's own link, as macOS has them (/private/var/select/sh).
	rootLink := filepath.Join(base, "rootlink")
	if err := os.Symlink(s.sys, rootLink); err != nil {
		t.Fatal(err)
	}
	alias := filepath.Join(tmp, "cache")
	if err := unix.Linkat(unix.AT_FDCWD, rootLink, unix.AT_FDCWD, alias, 0); err != nil {
		t.Fatal(err)
	}
	// Before the alias exists a root link in a sticky root directory is
	// crossed; this one has two links.
	for _, argv := range [][]string{
		{"/usr/sbin/chown", "ghrunner:staff", filepath.Join(alias, "sudoers")},
		{"/bin/chmod", "666", filepath.Join(alias, "sudoers")},
		{"/bin/mkdir", "-p", "-m", "755", filepath.Join(alias, "evil")},
		{"/bin/rm", "-rf", filepath.Join(alias, "sudoers")},
	} {
		res, err := r.h.Run(t.Context(), host.Command{Argv: argv, User: host.Root})
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if res.Exit != 1 || !strings.Contains(res.Stderr, "hard links") {
			t.Errorf("%v: exit %d %q, want a refusal naming the hard links", argv, res.Exit, res.Stderr)
		}
	}
	if _, err := r.h.ReadFile(t.Context(), filepath.Join(alias, "sudoers"), 1<<10); err == nil || !strings.Contains(err.Error(), "hard links") {
		t.Errorf("read through the alias: %v", err)
	}
	s.unchanged(t)
}
