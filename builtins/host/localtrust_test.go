package host

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// runnerUID stands for the runner account in these tests.
const runnerUID, staffGID = 1001, 20

// TestLocalTrust plants, with real files, what the runner account could
// leave where root reads a recipe, a plan or a token file, and checks
// each is refused (or, for what only trusted accounts can change,
// accepted). It needs root, to give files to another uid.
func TestLocalTrust(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create files owned by another account")
	}
	trust := &LocalTrust{UIDs: []int{0}, GIDs: []int{0}}
	type setup func(t *testing.T, dir string) string
	file := func(t *testing.T, p string, mode os.FileMode, uid, gid int) string {
		t.Helper()
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte("x = 1\n"), 0o600))
		must(t, os.Chmod(p, mode))
		must(t, os.Lchown(p, uid, gid))
		return p
	}
	dirm := func(t *testing.T, p string, mode os.FileMode, uid, gid int) {
		t.Helper()
		must(t, os.MkdirAll(p, 0o755))
		must(t, syscall.Chmod(p, uint32(mode)))
		must(t, os.Chown(p, uid, gid))
	}
	cases := []struct {
		name   string
		setup  setup
		output bool
		want   string // "" accepted, else a word of the error
	}{
		{"root's file", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o644, 0, 0) }, false, ""},
		{"maintainer's file (SUDO_UID)", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o644, 501, staffGID) }, false, ""},
		{"runner's file", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o644, runnerUID, staffGID) }, false, "owned by uid 1001"},
		{"group staff writable", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o664, 0, staffGID) }, false, "group gid 20"},
		{"group wheel writable", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o664, 0, 0) }, false, ""},
		{"world writable", func(t *testing.T, d string) string { return file(t, d+"/r.star", 0o646, 0, 0) }, false, "everyone"},
		{"in the runner's directory", func(t *testing.T, d string) string {
			dirm(t, d+"/home", 0o755, runnerUID, staffGID)
			return file(t, d+"/home/r.star", 0o644, 0, 0)
		}, false, "directory"},
		{"in a staff-writable directory", func(t *testing.T, d string) string {
			dirm(t, d+"/src", 0o775, 0, staffGID)
			return file(t, d+"/src/r.star", 0o644, 0, 0)
		}, false, "group gid 20"},
		{"in a world-writable directory", func(t *testing.T, d string) string {
			dirm(t, d+"/src", 0o777, 0, 0)
			return file(t, d+"/src/r.star", 0o644, 0, 0)
		}, false, "everyone"},
		{"root's file in a sticky directory", func(t *testing.T, d string) string {
			dirm(t, d+"/tmp", 0o1777, 0, 0)
			return file(t, d+"/tmp/r.star", 0o644, 0, 0)
		}, false, ""},
		{"runner's file in a sticky directory", func(t *testing.T, d string) string {
			dirm(t, d+"/tmp", 0o1777, 0, 0)
			return file(t, d+"/tmp/r.star", 0o644, runnerUID, staffGID)
		}, false, "owned by uid 1001"},
		{"hard link of root's file in a sticky directory", func(t *testing.T, d string) string {
			dirm(t, d+"/tmp", 0o1777, 0, 0)
			src := file(t, d+"/etc/secret", 0o600, 0, 0)
			must(t, os.Link(src, d+"/tmp/r.star"))
			return d + "/tmp/r.star"
		}, false, "hard links"},
		{"hard link of root's symlink in a sticky directory", func(t *testing.T, d string) string {
			dirm(t, d+"/tmp", 0o1777, 0, 0)
			file(t, d+"/etc/r.star", 0o644, 0, 0)
			must(t, os.Symlink(d+"/etc", d+"/etc-link"))
			must(t, linkNoFollow(d+"/etc-link", d+"/tmp/x"))
			return d + "/tmp/x/r.star"
		}, false, "hard links"},
		{"root's symlink in root's directory", func(t *testing.T, d string) string {
			file(t, d+"/etc/r.star", 0o644, 0, 0)
			must(t, os.Symlink("etc/r.star", d+"/link.star"))
			return d + "/link.star"
		}, false, ""},
		{"runner's symlink in the runner's directory", func(t *testing.T, d string) string {
			file(t, d+"/etc/r.star", 0o644, 0, 0)
			dirm(t, d+"/home", 0o755, runnerUID, staffGID)
			must(t, os.Symlink(d+"/etc", d+"/home/x"))
			return d + "/home/x/r.star"
		}, false, "owned by uid 1001"},
		{"dotdot after a link", func(t *testing.T, d string) string {
			dirm(t, d+"/home/sub", 0o755, runnerUID, staffGID)
			file(t, d+"/home/r.star", 0o644, 0, 0)
			must(t, os.Symlink(d+"/home/sub", d+"/s"))
			return d + "/s/../r.star"
		}, false, "owned by uid 1001"},
		{"FIFO", func(t *testing.T, d string) string {
			must(t, syscall.Mkfifo(d+"/r.star", 0o644))
			return d + "/r.star"
		}, false, "FIFO"},
		{"output in root's directory", func(t *testing.T, d string) string { return d + "/new.plan" }, true, ""},
		{"output in the runner's directory", func(t *testing.T, d string) string {
			dirm(t, d+"/home", 0o755, runnerUID, staffGID)
			return d + "/home/new.plan"
		}, true, "owned by uid 1001"},
		{"output through the runner's link", func(t *testing.T, d string) string {
			dirm(t, d+"/home", 0o755, runnerUID, staffGID)
			dirm(t, d+"/daemons", 0o755, 0, 0)
			must(t, os.Symlink(d+"/daemons", d+"/home/out"))
			return d + "/home/out/new.plan"
		}, true, "owned by uid 1001"},
		{"output in a sticky directory", func(t *testing.T, d string) string {
			dirm(t, d+"/tmp", 0o1777, 0, 0)
			return d + "/tmp/new.plan"
		}, true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			p := tc.setup(t, d)
			tr := &LocalTrust{UIDs: append(append([]int(nil), trust.UIDs...), 501), GIDs: trust.GIDs}
			var err error
			if tc.output {
				err = tr.CheckOutput(p)
			} else {
				_, err = ReadTrustedLocalFile(tr, p, 1<<20)
			}
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && err == nil:
				t.Fatalf("accepted, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("error %q, want %q", err, tc.want)
			}
			if tc.want != "" && !tc.output && !errors.Is(err, ErrUntrustedLocal) && !errors.Is(err, ErrNotRegular) {
				t.Fatalf("error %v wraps neither ErrUntrustedLocal nor ErrNotRegular", err)
			}
		})
	}
}

func TestProcessLocalTrust(t *testing.T) {
	if ProcessLocalTrust(501, "501") != nil {
		t.Fatal("a policy for a process that is not root")
	}
	tr := ProcessLocalTrust(0, "501")
	if tr == nil || len(tr.UIDs) != 2 || tr.UIDs[0] != 0 || tr.UIDs[1] != 501 {
		t.Fatalf("policy %+v, want uids 0 and 501", tr)
	}
	if tr := ProcessLocalTrust(0, "0"); len(tr.UIDs) != 1 {
		t.Fatalf("SUDO_UID 0 added twice: %+v", tr)
	}
	if tr := ProcessLocalTrust(0, "x"); len(tr.UIDs) != 1 {
		t.Fatalf("a SUDO_UID that is no number trusted: %+v", tr)
	}
	var nilTrust *LocalTrust
	if err := nilTrust.CheckFile("/nonexistent"); err != nil {
		t.Fatalf("nil policy checked: %v", err)
	}
}

// linkNoFollow makes a hard link to the symlink old itself (linkat
// without AT_SYMLINK_FOLLOW), as any account can on macOS.
func linkNoFollow(old, new string) error {
	return unix.Linkat(unix.AT_FDCWD, old, unix.AT_FDCWD, new, 0)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestLocalTrustReadsACLs: an ACL entry that lets another account change
// a directory on the way, a symlink crossed or the file itself makes
// the file untrusted whatever its owner and mode; entries that only
// read, and no ACL reader (Linux), change nothing.
func TestLocalTrustReadsACLs(t *testing.T) {
	d := t.TempDir()
	must(t, os.MkdirAll(d+"/src", 0o755))
	must(t, os.WriteFile(d+"/src/r.star", []byte("x = 1\n"), 0o644))
	must(t, os.Symlink("src", d+"/link"))
	for _, tc := range []struct {
		name string
		acls map[string]string
		path string
		want string
	}{
		{"no ACL", nil, d + "/src/r.star", ""},
		{"read-only entries", map[string]string{d + "/src": "list,readattr,search", d + "/src/r.star": "read,readsecurity"}, d + "/src/r.star", ""},
		{"staff may add files to the directory", map[string]string{d + "/src": "add_file,delete_child"}, d + "/src/r.star", "the directory " + d + "/src has an ACL entry allowing add_file,delete_child"},
		{"another account may write the file", map[string]string{d + "/src/r.star": "append,write"}, d + "/src/r.star", "the file " + d + "/src/r.star has an ACL entry allowing append,write"},
		{"another account may take the file", map[string]string{d + "/src/r.star": "chown"}, d + "/src/r.star", "allowing chown"},
		{"another account may rewrite the link's ACL", map[string]string{d + "/link": "writesecurity"}, d + "/link/r.star", "the symlink " + d + "/link has an ACL entry allowing writesecurity"},
		{"a parent directory", map[string]string{d: "add_subdirectory"}, d + "/src/r.star", "allowing add_subdirectory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &LocalTrust{UIDs: []int{0, os.Geteuid()}, GIDs: []int{0, os.Getegid()}, ACL: func(p string, dir bool) (string, error) {
				return tc.acls[p], nil
			}}
			_, err := ReadTrustedLocalFile(tr, tc.path, 1<<20)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrUntrustedLocal)):
				t.Fatalf("got %v, want an ErrUntrustedLocal saying %q", err, tc.want)
			}
		})
	}
	failing := &LocalTrust{UIDs: []int{0, os.Geteuid()}, GIDs: []int{0}, ACL: func(string, bool) (string, error) { return "", errors.New("getattrlist: bad answer") }}
	if _, err := ReadTrustedLocalFile(failing, d+"/src/r.star", 1<<20); err == nil || !strings.Contains(err.Error(), "cannot be read") {
		t.Fatalf("an unreadable ACL: %v", err)
	}
}
