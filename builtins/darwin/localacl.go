package darwin

import (
	"io/fs"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/kauth"
)

// LocalACL is host.LocalTrust's ACL reader on macOS: the rights the allow
// entries of the local path p's ACL grant principals other than root and
// wheel (kauth.Allowed), read without following p (getattrlistat with
// FSOPT_NOFOLLOW relative to its directory, the answer matched to the
// entry's fstatat). The directory is opened by path: LocalTrust has
// walked and checked every component above p with lstat before it asks.
func LocalACL(p string, dir bool) (string, error) {
	if p == "/" {
		fd, err := unix.Open("/", dirFlags, 0)
		if err != nil {
			return "", &fs.PathError{Op: "open", Path: p, Err: err}
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return "", &fs.PathError{Op: "fstat", Path: p, Err: err}
		}
		aces, err := rootACL(fd, &st)
		if err != nil {
			return "", err
		}
		return kauth.Allowed(aces, dir), nil
	}
	parent, name := filepath.Split(filepath.Clean(p))
	fd, err := unix.Open(parent, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return "", &fs.PathError{Op: "open", Path: parent, Err: err}
	}
	defer unix.Close(fd)
	e := &entry{path: p, dirfd: fd, name: name}
	if err := unix.Fstatat(fd, name, &e.st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	aces, err := e.acl()
	if err != nil {
		return "", err
	}
	return kauth.Allowed(aces, dir), nil
}
