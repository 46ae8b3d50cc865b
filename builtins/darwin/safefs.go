package darwin

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// This file holds the descriptor-relative file operations that root
// performs itself (docs/security.md): a path is walked from "/" one
// component at a time with openat(O_NOFOLLOW|O_DIRECTORY); a symlink in
// the parent chain is crossed only when only root could have made it
// (trustedLinkAt); the last component is never followed, and an object
// is acted on through a descriptor whose identity is compared with what
// the walk saw, or through the *at call with AT_SYMLINK_NOFOLLOW.

// maxTreeDepth bounds how deep a recursive walk descends (each level
// holds one descriptor).
const maxTreeDepth = 256

// maxTreeErrors is how many problems a recursive walk reports by name.
const maxTreeErrors = 10

const (
	dirFlags  = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK
	fileFlags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK | unix.O_NOCTTY
)

// errLink is wrapped by errors about a symlink hvfctl refused to cross or
// act through.
var errLink = errors.New("symlink")

// fileType names the type of a stat mode for messages.
func fileType(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return "regular file"
	case unix.S_IFDIR:
		return "directory"
	case unix.S_IFLNK:
		return "symlink"
	case unix.S_IFIFO:
		return "FIFO"
	case unix.S_IFSOCK:
		return "socket"
	case unix.S_IFCHR:
		return "character device"
	case unix.S_IFBLK:
		return "block device"
	}
	return "special file"
}

func isType(st *unix.Stat_t, t uint32) bool { return uint32(st.Mode)&unix.S_IFMT == t }

// components splits a path into its non-empty, non-"." parts.
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// openDir opens the directory dir (absolute) walking from "/" without
// following any symlink but a trusted one. With create, missing
// components are made (mode 0755, as `mkdir -p` does under umask 022).
// An untrusted symlink on the way gives an error wrapping
// host.ErrUntrustedLink that names it; a non-directory, one wrapping
// ENOTDIR.
func openDir(dir string, create bool) (int, error) {
	if !filepath.IsAbs(dir) {
		return -1, fmt.Errorf("%s: not an absolute path", dir)
	}
	fd, err := unix.Open("/", dirFlags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: "/", Err: err}
	}
	queue := components(dir)
	// shown is the real path of fd, for messages.
	shown := "/"
	hops, made := 0, 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		nfd, err := unix.Openat(fd, c, dirFlags, 0)
		if err == nil {
			unix.Close(fd)
			fd = nfd
			shown = path.Join(shown, c)
			continue
		}
		var st unix.Stat_t
		if serr := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); serr != nil {
			if errors.Is(serr, unix.ENOENT) && create && made < 4096 {
				made++
				if merr := unix.Mkdirat(fd, c, 0o755); merr != nil && !errors.Is(merr, unix.EEXIST) {
					unix.Close(fd)
					return -1, &fs.PathError{Op: "mkdir", Path: dir, Err: merr}
				}
				queue = append([]string{c}, queue...)
				continue
			}
			unix.Close(fd)
			return -1, &fs.PathError{Op: "open", Path: dir, Err: serr}
		}
		if !isType(&st, unix.S_IFLNK) {
			unix.Close(fd)
			if isType(&st, unix.S_IFDIR) {
				return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
			}
			return -1, &notDirError{fmt.Sprintf("%s: %s is a %s, not a directory", dir, path.Join(shown, c), fileType(uint32(st.Mode)))}
		}
		if terr := trustedLinkAt(fd, c, path.Join(shown, c), &st); terr != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: %w", dir, terr)
		}
		hops++
		if hops > maxLinkDepth {
			unix.Close(fd)
			return -1, fmt.Errorf("%s: too many symlinks", dir)
		}
		target, rerr := readlinkat(fd, c)
		if rerr != nil {
			unix.Close(fd)
			return -1, &fs.PathError{Op: "readlink", Path: dir, Err: rerr}
		}
		if strings.HasPrefix(target, "/") {
			unix.Close(fd)
			if fd, err = unix.Open("/", dirFlags, 0); err != nil {
				return -1, &fs.PathError{Op: "open", Path: "/", Err: err}
			}
			shown = "/"
		}
		queue = append(components(target), queue...)
	}
	return fd, nil
}

// notDirError is a non-directory met in the middle of a path; it
// satisfies errors.Is(err, ENOTDIR).
type notDirError struct{ msg string }

func (e *notDirError) Error() string { return e.msg }
func (e *notDirError) Unwrap() error { return unix.ENOTDIR }

// trustedLinkAt accepts the symlink name in the directory dirfd (shown
// as link in messages) when only root could have put it there: root owns
// it, it has a single link, and root owns the directory, which others
// cannot write (or which is sticky, like /tmp). Otherwise the error wraps
// host.ErrUntrustedLink.
func trustedLinkAt(dirfd int, name, link string, st *unix.Stat_t) error {
	var dst unix.Stat_t
	if err := unix.Fstat(dirfd, &dst); err != nil {
		return err
	}
	why := ""
	switch {
	case st.Uid != 0:
		why = "it is not owned by root"
	case st.Nlink != 1:
		// Any account can hard link a root-owned symlink into a sticky
		// directory (linkat without AT_SYMLINK_FOLLOW): the alias looks
		// root's own.
		why = fmt.Sprintf("it has %d hard links", st.Nlink)
	case dst.Uid != 0:
		why = "its directory is not owned by root"
	case dst.Mode&0o022 != 0 && dst.Mode&unix.S_ISVTX == 0:
		why = "its directory is writable by others"
	default:
		return nil
	}
	target, err := readlinkat(dirfd, name)
	if err != nil {
		target = "?"
	}
	return fmt.Errorf("%s is a %w (-> %s; %s): hvfctl does not read or change anything through it", link, host.ErrUntrustedLink, target, why)
}

func readlinkat(dirfd int, name string) (string, error) {
	buf := make([]byte, 1024)
	for {
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		if len(buf) >= 64<<10 {
			return "", errors.New("symlink target too long")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// entry is the last component of a path, seen from its directory.
type entry struct {
	path   string
	dirfd  int
	name   string
	st     unix.Stat_t
	exists bool
}

// lookup opens path's parent directory safely and lstats its last
// component. The caller closes the entry.
func lookup(path string) (*entry, error) {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return nil, fmt.Errorf("%q: not a clean absolute file path", path)
	}
	dirfd, err := openDir(filepath.Dir(path), false)
	if err != nil {
		return nil, err
	}
	e := &entry{path: path, dirfd: dirfd, name: filepath.Base(path)}
	err = unix.Fstatat(dirfd, e.name, &e.st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == nil:
		e.exists = true
	case errors.Is(err, unix.ENOENT):
	default:
		unix.Close(dirfd)
		return nil, &fs.PathError{Op: "lstat", Path: path, Err: err}
	}
	return e, nil
}

func (e *entry) close() { unix.Close(e.dirfd) }

func (e *entry) typ() string { return fileType(uint32(e.st.Mode)) }

// open opens the entry without following it and checks that the
// descriptor is the object lookup saw.
func (e *entry) open() (int, error) {
	flags := fileFlags
	if isType(&e.st, unix.S_IFDIR) {
		flags = dirFlags
	}
	fd, err := unix.Openat(e.dirfd, e.name, flags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: e.path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "fstat", Path: e.path, Err: err}
	}
	if st.Dev != e.st.Dev || st.Ino != e.st.Ino {
		unix.Close(fd)
		return -1, fmt.Errorf("%s changed while hvfctl looked at it", e.path)
	}
	e.st = st
	return fd, nil
}

// changeable returns a descriptor of the entry for root to chown or
// chmod: a directory, or a regular file with a single link. A symlink, a
// multiply linked file and any special file are refused (callers that
// act on a symlink itself check for one first).
func (e *entry) changeable(op string) (int, error) {
	if !e.exists {
		return -1, &fs.PathError{Op: op, Path: e.path, Err: fs.ErrNotExist}
	}
	switch {
	case isType(&e.st, unix.S_IFLNK):
		return -1, fmt.Errorf("%s %s: it is a %w; hvfctl does not change an object through a link (remove the link)", op, e.path, errLink)
	case isType(&e.st, unix.S_IFDIR), isType(&e.st, unix.S_IFREG):
	default:
		return -1, fmt.Errorf("%s %s: it is a %s, not a file or directory", op, e.path, e.typ())
	}
	fd, err := e.open()
	if err != nil {
		return -1, err
	}
	if isType(&e.st, unix.S_IFREG) && e.st.Nlink > 1 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s %s: it has %d hard links; root never changes a file that may be another file's alias", op, e.path, e.st.Nlink)
	}
	return fd, nil
}

// safeChown changes the owner of path (a directory or a singly linked
// regular file) without following it. With self (chown -h), a symlink
// is re-owned itself, which never touches its target.
func safeChown(path string, uid, gid int, self bool) error {
	e, err := lookup(path)
	if err != nil {
		return err
	}
	defer e.close()
	if self && e.exists && isType(&e.st, unix.S_IFLNK) {
		if err := unix.Fchownat(e.dirfd, e.name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "chown", Path: path, Err: err}
		}
		return nil
	}
	fd, err := e.changeable("chown")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return &fs.PathError{Op: "chown", Path: path, Err: err}
	}
	return nil
}

// safeChmod changes the mode of path (a directory or a singly linked
// regular file) without following it. With self (chmod -h), a symlink's
// own mode is changed (lchmod; where the system has none, an error),
// never its target's.
func safeChmod(path string, mode uint32, self bool) error {
	e, err := lookup(path)
	if err != nil {
		return err
	}
	defer e.close()
	if self && e.exists && isType(&e.st, unix.S_IFLNK) {
		if err := unix.Fchmodat(e.dirfd, e.name, mode, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "chmod", Path: path, Err: err}
		}
		return nil
	}
	fd, err := e.changeable("chmod")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode); err != nil {
		return &fs.PathError{Op: "chmod", Path: path, Err: err}
	}
	return nil
}

// safeCheckACLTarget checks what `chmod [-h] -N` will act on: a
// directory or a singly linked regular file (or, with self, a symlink,
// which chmod -h does not follow) reached through trusted links only.
func safeCheckACLTarget(path string, self bool) error {
	e, err := lookup(path)
	if err != nil {
		return err
	}
	defer e.close()
	if self && e.exists && isType(&e.st, unix.S_IFLNK) {
		return nil
	}
	fd, err := e.changeable("chmod -N")
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// safeMkdirAll makes path and its missing parents like `mkdir -p -m
// MODE`: the parents get 0755, path itself gets mode; an existing
// directory is left as it is. No untrusted symlink is crossed.
func safeMkdirAll(path string, mode uint32) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return fmt.Errorf("%q: not a clean absolute path", path)
	}
	dirfd, err := openDir(filepath.Dir(path), true)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	name := filepath.Base(path)
	if err := unix.Mkdirat(dirfd, name, 0o700); err != nil {
		if !errors.Is(err, unix.EEXIST) {
			return &fs.PathError{Op: "mkdir", Path: path, Err: err}
		}
		// mkdir -p accepts an existing directory, and a trusted link
		// to one; anything else is an error.
		fd, err := openDir(path, false)
		if err != nil {
			return err
		}
		unix.Close(fd)
		return nil
	}
	fd, err := unix.Openat(dirfd, name, dirFlags, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fchmod(fd, mode); err != nil {
		return &fs.PathError{Op: "chmod", Path: path, Err: err}
	}
	return nil
}

// safeRemove removes one file, symlink or special file by name in its
// safely opened directory (rm -f: a directory is an error), or with
// recursive the entry and everything under it (rm -rf: no link inside is
// followed, a link is removed itself, the walk never leaves the tree). A
// missing path is not an error.
func safeRemove(path string, recursive bool) error {
	e, err := lookup(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer e.close()
	if !e.exists {
		return nil
	}
	if isType(&e.st, unix.S_IFDIR) {
		if !recursive {
			return fmt.Errorf("%s: is a directory", path)
		}
		return removeTreeAt(e.dirfd, e.name, path, uint64(e.st.Dev), 0)
	}
	if err := unix.Unlinkat(e.dirfd, e.name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: path, Err: err}
	}
	return nil
}

// removeTreeAt removes the directory name in dirfd (shown as p) and its
// contents; it stays on device dev.
func removeTreeAt(dirfd int, name, p string, dev uint64, depth int) error {
	if depth >= maxTreeDepth {
		return fmt.Errorf("%s: deeper than %d levels", p, maxTreeDepth)
	}
	fd, err := unix.Openat(dirfd, name, dirFlags, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: p, Err: err}
	}
	d := os.NewFile(uintptr(fd), p)
	defer d.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if uint64(st.Dev) != dev {
		return fmt.Errorf("%s: on another file system; not removed", p)
	}
	var errs []error
	for {
		names, rerr := d.Readdirnames(1024)
		for _, c := range names {
			var cst unix.Stat_t
			if err := unix.Fstatat(fd, c, &cst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if !errors.Is(err, unix.ENOENT) {
					errs = append(errs, &fs.PathError{Op: "lstat", Path: p + "/" + c, Err: err})
				}
				continue
			}
			if isType(&cst, unix.S_IFDIR) {
				if err := removeTreeAt(fd, c, p+"/"+c, dev, depth+1); err != nil {
					errs = append(errs, err)
				}
				continue
			}
			if err := unix.Unlinkat(fd, c, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, &fs.PathError{Op: "remove", Path: p + "/" + c, Err: err})
			}
		}
		if rerr != nil {
			break
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return &fs.PathError{Op: "remove", Path: p, Err: err}
	}
	return nil
}

// safeRename moves src to dst like `mv SRC DST` (both entries named in
// their safely opened directories; rename(2) never follows either). A
// directory at dst is an error rather than a destination to move into.
func safeRename(src, dst string) error {
	s, err := lookup(src)
	if err != nil {
		return err
	}
	defer s.close()
	if !s.exists {
		return &fs.PathError{Op: "rename", Path: src, Err: fs.ErrNotExist}
	}
	d, err := lookup(dst)
	if err != nil {
		return err
	}
	defer d.close()
	if d.exists && isType(&d.st, unix.S_IFDIR) && !isType(&s.st, unix.S_IFDIR) {
		return fmt.Errorf("%s: is a directory; hvfctl does not move into it", dst)
	}
	if err := unix.Renameat(s.dirfd, s.name, d.dirfd, d.name); err != nil {
		return &fs.PathError{Op: "rename", Path: src + " to " + dst, Err: err}
	}
	return nil
}

// safeSymlink points the symlink link at target like `ln -sfh`: a new
// link is made under a temporary name and renamed over link, so an
// existing file or symlink at link is replaced and never followed. An
// existing directory at link is an error.
func safeSymlink(target, link string) error {
	e, err := lookup(link)
	if err != nil {
		return err
	}
	defer e.close()
	if e.exists && isType(&e.st, unix.S_IFDIR) {
		return fmt.Errorf("%s: is a directory; hvfctl does not replace a directory with a link", link)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + e.name + ".hvfctl-" + hex.EncodeToString(rnd[:])
	if err := unix.Symlinkat(target, e.dirfd, tmp); err != nil {
		return &fs.PathError{Op: "symlink", Path: link, Err: err}
	}
	if err := unix.Renameat(e.dirfd, tmp, e.dirfd, e.name); err != nil {
		unix.Unlinkat(e.dirfd, tmp, 0)
		return &fs.PathError{Op: "rename", Path: link, Err: err}
	}
	return nil
}

// safeChownTree is `chown -R` done with directory handles: the tree is
// walked without following any symlink (a link itself is re-owned, never
// its target), never leaves the device it starts on, and skips (and
// reports) devices and multiply linked files. Every other entry is
// changed even when some fail; the error names the failures.
func safeChownTree(path string, uid, gid int) error {
	e, err := lookup(path)
	if err != nil {
		return err
	}
	defer e.close()
	fd, err := e.changeable("chown -R")
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	w := &treeWalk{uid: uid, gid: gid, dev: uint64(e.st.Dev)}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		w.fail(path, err)
	}
	if isType(&e.st, unix.S_IFDIR) {
		w.dir(fd, path, 0)
	}
	return w.err()
}

type treeWalk struct {
	uid, gid int
	dev      uint64
	errs     []string
	nerrs    int
}

func (w *treeWalk) fail(p string, err error) {
	w.nerrs++
	if len(w.errs) < maxTreeErrors {
		w.errs = append(w.errs, fmt.Sprintf("%s: %v", p, err))
	}
}

func (w *treeWalk) err() error {
	if w.nerrs == 0 {
		return nil
	}
	msg := strings.Join(w.errs, "; ")
	if w.nerrs > len(w.errs) {
		msg += fmt.Sprintf("; and %d more", w.nerrs-len(w.errs))
	}
	return errors.New(msg)
}

// dir re-owns every entry of the open directory fd (shown as p).
func (w *treeWalk) dir(fd int, p string, depth int) {
	if depth >= maxTreeDepth {
		w.fail(p, fmt.Errorf("deeper than %d levels; not descended", maxTreeDepth))
		return
	}
	dup, err := host.DupCloexec(fd)
	if err != nil {
		w.fail(p, err)
		return
	}
	d := os.NewFile(uintptr(dup), p)
	defer d.Close()
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			w.one(fd, p, name, depth)
		}
		if err != nil {
			return
		}
	}
}

func (w *treeWalk) one(dirfd int, parent, name string, depth int) {
	p := parent + "/" + name
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			w.fail(p, err)
		}
		return
	}
	switch {
	case uint64(st.Dev) != w.dev:
		w.fail(p, errors.New("on another file system; not changed"))
	case isType(&st, unix.S_IFDIR):
		fd, err := unix.Openat(dirfd, name, dirFlags, 0)
		if err != nil {
			w.fail(p, err)
			return
		}
		defer unix.Close(fd)
		var fst unix.Stat_t
		if err := unix.Fstat(fd, &fst); err != nil || fst.Ino != st.Ino || fst.Dev != st.Dev {
			w.fail(p, errors.New("changed while hvfctl walked the tree"))
			return
		}
		if err := unix.Fchown(fd, w.uid, w.gid); err != nil {
			w.fail(p, err)
		}
		w.dir(fd, p, depth+1)
	case isType(&st, unix.S_IFLNK):
		if err := unix.Fchownat(dirfd, name, w.uid, w.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			w.fail(p, err)
		}
	case isType(&st, unix.S_IFREG):
		fd, err := unix.Openat(dirfd, name, fileFlags, 0)
		if err != nil {
			w.fail(p, err)
			return
		}
		defer unix.Close(fd)
		var fst unix.Stat_t
		if err := unix.Fstat(fd, &fst); err != nil || fst.Ino != st.Ino || fst.Dev != st.Dev || !isType(&fst, unix.S_IFREG) {
			w.fail(p, errors.New("changed while hvfctl walked the tree"))
			return
		}
		if fst.Nlink > 1 {
			w.fail(p, fmt.Errorf("has %d hard links; root never changes a file that may be another file's alias", fst.Nlink))
			return
		}
		if err := unix.Fchown(fd, w.uid, w.gid); err != nil {
			w.fail(p, err)
		}
	case isType(&st, unix.S_IFIFO), isType(&st, unix.S_IFSOCK):
		if st.Nlink > 1 {
			w.fail(p, fmt.Errorf("a %s with %d hard links; not changed", fileType(uint32(st.Mode)), st.Nlink))
			return
		}
		if err := unix.Fchownat(dirfd, name, w.uid, w.gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			w.fail(p, err)
		}
	default:
		w.fail(p, fmt.Errorf("is a %s; root never hands a device to another account", fileType(uint32(st.Mode))))
	}
}
