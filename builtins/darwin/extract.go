package darwin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/kauth"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// ExtractArchive implements host.Host: the archive is extracted as root
// in-process (docs/security.md, "tar.extract"). It is opened once like
// ReadFile opens a file and must be a regular file only root can change.
// A first pass over that descriptor hashes every byte (compared with the
// pin when one is given) and reads every member header, which
// tarcheck.Check decides on; nothing is created before both pass. A
// second pass over the same descriptor extracts, checking that each
// member is the one decided on and that the bytes hash the same. Every
// entry is created relative to a directory handle of the destination
// (reached by the safe walker and required to be root's, writable by no
// one else): parents are opened one component at a time with
// O_NOFOLLOW|O_DIRECTORY, and a symlink met on the way, whether the
// destination held it or the archive made it, is an error, never
// crossed. An existing entry is unlinked before its replacement is made
// (a file is created O_CREAT|O_EXCL|O_NOFOLLOW), an existing directory
// is never replaced by a non-directory, and a directory the extraction
// enters becomes root's (and loses group/other write) before anything is
// created in it. Owner and mode are set on the new descriptor (or with
// AT_SYMLINK_NOFOLLOW on a symlink); hard links go only to regular files
// this extraction created, checked by device and inode.
func (h *Host) ExtractArchive(ctx context.Context, req host.ExtractRequest) error {
	return extractArchive(ctx, req, nil)
}

// extractArchive is ExtractArchive; hook, when set, runs right before
// each member is created (tests use it as a CI job racing the
// extraction).
func extractArchive(ctx context.Context, req host.ExtractRequest, hook func(i int, name string)) error {
	if err := checkPath("tar-extract", req.Archive); err != nil {
		return err
	}
	if err := checkPath("tar-extract", req.Dest); err != nil {
		return err
	}
	if req.SHA256 != "" && !isSHA256(req.SHA256) {
		return fmt.Errorf("tar-extract %s: the pin %q is not 64 lower-case hex digits", req.Archive, req.SHA256)
	}
	f, err := openRegular(req.Archive)
	if err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	defer f.Close()
	if err := rootOnlyFile(f); err != nil {
		return fmt.Errorf("tar-extract %s: %w", req.Archive, err)
	}

	// Pass 1: hash everything, decide on every member.
	sum := sha256.New()
	es, err := tarcheck.Read(io.TeeReader(ctxReader{ctx, f}, sum))
	if err != nil {
		return fmt.Errorf("tar-extract %s: %w", req.Archive, err)
	}
	decided, err := drain(ctx, f, sum)
	if err != nil {
		return fmt.Errorf("tar-extract %s: %w", req.Archive, err)
	}
	if req.SHA256 != "" && decided != req.SHA256 {
		return fmt.Errorf("tar-extract %s: %w: its SHA-256 is %s, pinned %s; nothing was extracted", req.Archive, host.ErrChecksum, decided, req.SHA256)
	}
	if err := tarcheck.Check(req.Dest, es); err != nil {
		return fmt.Errorf("refusing to extract %s: %w", req.Archive, err)
	}

	// Pass 2: extract what was decided on, from the same descriptor.
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("tar-extract %s: %w", req.Archive, err)
	}
	destfd, err := openDir(req.Dest, false)
	if err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	defer unix.Close(destfd)
	var dst unix.Stat_t
	if err := unix.Fstat(destfd, &dst); err != nil {
		return &fs.PathError{Op: "fstat", Path: req.Dest, Err: err}
	}
	if dst.Uid != 0 || dst.Mode&0o022 != 0 {
		return fmt.Errorf("tar-extract: %s is owned by uid %d with mode %04o: root extracts only into a directory that only root can change", req.Dest, dst.Uid, dst.Mode&0o7777)
	}
	if err := aclWriteCheck(destfd, req.Dest, &dst); err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	x := &extractor{ctx: ctx, dest: req.Dest, destfd: destfd, dev: uint64(dst.Dev), files: map[string]fileID{}}
	again := sha256.New()
	i := 0
	err = tarcheck.Walk(io.TeeReader(ctxReader{ctx, f}, again), func(m tarcheck.Member) error {
		if i >= len(es) || m.Entry != es[i] {
			return fmt.Errorf("member %d changed after hvfctl decided on the archive", i+1)
		}
		if hook != nil {
			hook(i, m.Name)
		}
		if err := x.member(m); err != nil {
			return fmt.Errorf("archive member %d %s: %w", i+1, strconv.Quote(m.Name), err)
		}
		i++
		return nil
	})
	if err == nil && i != len(es) {
		err = fmt.Errorf("the archive has %d members, %d when hvfctl decided on it", i, len(es))
	}
	if err == nil {
		var extracted string
		if extracted, err = drain(ctx, f, again); err == nil && extracted != decided {
			err = fmt.Errorf("%w: its bytes changed while hvfctl extracted it (SHA-256 %s, then %s)", host.ErrChecksum, decided, extracted)
		}
	}
	if err == nil {
		err = x.dirTimes()
	}
	if err != nil {
		return fmt.Errorf("tar-extract %s into %s: %w", req.Archive, req.Dest, err)
	}
	return nil
}

// drain hashes the rest of f into sum and returns the hex digest.
func drain(ctx context.Context, f *os.File, sum hash.Hash) (string, error) {
	if _, err := io.Copy(sum, ctxReader{ctx, f}); err != nil {
		return "", err
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// rootOnlyFile refuses an archive that another account could change
// between the two passes: it must be root's, writable by no one else,
// with a single link.
func rootOnlyFile(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return err
	}
	switch {
	case st.Uid != 0:
		return fmt.Errorf("the archive is owned by uid %d: root extracts only an archive that only root can change", st.Uid)
	case st.Mode&0o022 != 0:
		return fmt.Errorf("the archive has mode %04o: root extracts only an archive that only root can change", st.Mode&0o7777)
	case st.Nlink != 1:
		return fmt.Errorf("the archive has %d hard links; hvfctl does not read a file that may be another file's alias", st.Nlink)
	}
	return nil
}

// fileID is a regular file the extraction created.
type fileID struct{ dev, ino uint64 }

// dirTime is a directory member whose mtime is set once its contents
// are in place (creating them changes it).
type dirTime struct {
	comps []string
	mtime time.Time
}

// extractor creates members under one destination handle.
type extractor struct {
	ctx    context.Context
	dest   string
	destfd int
	dev    uint64
	// files are the regular files created so far, by member path: the
	// only sources a hard link may name.
	files map[string]fileID
	dirs  []dirTime
}

// extractMode is the mode an extracted entry gets: the archive's
// permission bits less setuid, setgid, sticky and group/other write.
func extractMode(m int64) uint32 { return uint32(m) & 0o7777 &^ 0o7022 }

func (x *extractor) show(comps []string) string {
	return path.Join(append([]string{x.dest}, comps...)...)
}

// parents opens the directory comps (relative to the destination)
// without following any symlink. With create, a missing directory is
// made (root:wheel 0755, as tar makes a missing parent) and an existing
// one becomes root's and loses group/other write before it is returned,
// so that nothing created in it can be changed by another account.
func (x *extractor) parents(comps []string, create bool) (int, error) {
	fd, err := unix.Openat(x.destfd, ".", dirFlags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: x.dest, Err: err}
	}
	for i, c := range comps {
		shown := x.show(comps[:i+1])
		nfd, err := unix.Openat(fd, c, dirFlags, 0)
		if err != nil {
			var st unix.Stat_t
			serr := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW)
			switch {
			case errors.Is(serr, unix.ENOENT) && create:
				nfd, err = mkdirRootOwned(fd, c, shown, 0o755)
			case serr == nil && isType(&st, unix.S_IFLNK):
				err = fmt.Errorf("cannot extract through the %w %s", errLink, shown)
			case serr == nil && !isType(&st, unix.S_IFDIR):
				err = &notDirError{fmt.Sprintf("%s is a %s, not a directory", shown, fileType(uint32(st.Mode)))}
			default:
				err = &fs.PathError{Op: "open", Path: shown, Err: err}
			}
			if err != nil {
				unix.Close(fd)
				return -1, err
			}
		} else if err := x.own(nfd, shown, create, -1); err != nil {
			unix.Close(nfd)
			unix.Close(fd)
			return -1, err
		}
		unix.Close(fd)
		fd = nfd
	}
	return fd, nil
}

// own makes the open directory fd root's (uid 0, gid 0) without group or
// other write, unless it already is root's and so restricted; with mode
// >= 0 its mode becomes mode. A directory on another file system is
// refused. Without change nothing is changed, only the device checked.
func (x *extractor) own(fd int, shown string, change bool, mode int64) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return &fs.PathError{Op: "fstat", Path: shown, Err: err}
	}
	if uint64(st.Dev) != x.dev {
		return fmt.Errorf("%s is on another file system", shown)
	}
	if !change {
		return nil
	}
	if err := aclWriteCheck(fd, shown, &st); err != nil {
		return err
	}
	if st.Uid != 0 {
		if err := unix.Fchown(fd, 0, 0); err != nil {
			return &fs.PathError{Op: "chown", Path: shown, Err: err}
		}
	}
	want := uint32(st.Mode) & 0o7777 &^ 0o022
	if mode >= 0 {
		want = extractMode(mode)
	}
	if uint32(st.Mode)&0o7777 != want || st.Uid != 0 {
		if err := unix.Fchmod(fd, want); err != nil {
			return &fs.PathError{Op: "chmod", Path: shown, Err: err}
		}
	}
	return nil
}

// extractACLWrites are the rights an ACL entry may grant another account
// on a directory that let it change the directory's entries or what root
// creates there (the point-of-use rule's list, builtins/host/rootonly.go).
var extractACLWrites = []string{"add_file", "add_subdirectory", "delete_child", "writesecurity", "chown", "writeattr", "writeextattr"}

// aclWriteCheck refuses the directory open on fd (stat st, shown as
// shown) when its ACL lets an account other than root or wheel change
// its entries, or would give what root creates there such an entry
// (inheritable entries count): hvfctl takes a directory back by owner
// and mode, but does not rewrite an ACL.
func aclWriteCheck(fd int, shown string, st *unix.Stat_t) error {
	buf := make([]byte, kauth.BufSize)
	if err := fgetattrlist(fd, buf); err != nil {
		return &fs.PathError{Op: "getattrlist", Path: shown, Err: err}
	}
	aces, err := checkedACL(shown, buf, st)
	if err != nil {
		return err
	}
	allow := kauth.Allowed(aces, true)
	for _, r := range strings.Split(allow, ",") {
		if slices.Contains(extractACLWrites, r) {
			return fmt.Errorf("%s has an ACL entry allowing %s to another account: root does not extract into it (remove the entry with chmod -N)", shown, allow)
		}
	}
	return nil
}

// mkdirRootOwned makes the directory name in dirfd (0700 until it is
// root:wheel with mode) and returns a handle of it.
func mkdirRootOwned(dirfd int, name, shown string, mode uint32) (int, error) {
	if err := unix.Mkdirat(dirfd, name, 0o700); err != nil {
		return -1, &fs.PathError{Op: "mkdir", Path: shown, Err: err}
	}
	fd, err := unix.Openat(dirfd, name, dirFlags, 0)
	if err != nil {
		return -1, &fs.PathError{Op: "open", Path: shown, Err: err}
	}
	if err := unix.Fchown(fd, 0, 0); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "chown", Path: shown, Err: err}
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		unix.Close(fd)
		return -1, &fs.PathError{Op: "chmod", Path: shown, Err: err}
	}
	return fd, nil
}

// member creates one archive member.
func (x *extractor) member(m tarcheck.Member) error {
	if err := x.ctx.Err(); err != nil {
		return err
	}
	comps := components(m.Name)
	if len(comps) == 0 {
		// The destination itself ("./"): tarcheck accepts only a
		// directory here, and the destination keeps its owner and mode.
		return nil
	}
	key := strings.Join(comps, "/")
	parent, err := x.parents(comps[:len(comps)-1], true)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	name := comps[len(comps)-1]
	shown := x.show(comps)
	var st unix.Stat_t
	exists := true
	if err := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if !errors.Is(err, unix.ENOENT) {
			return &fs.PathError{Op: "lstat", Path: shown, Err: err}
		}
		exists = false
	}
	isDir := exists && isType(&st, unix.S_IFDIR)
	if exists && isDir && m.Type != tarcheck.Dir {
		return fmt.Errorf("%s is a directory; it is not replaced by a %s", shown, m.Type)
	}
	if exists && !isDir {
		// Replaced, never opened or followed.
		if err := unix.Unlinkat(parent, name, 0); err != nil {
			return &fs.PathError{Op: "remove", Path: shown, Err: err}
		}
	}
	delete(x.files, key)
	switch m.Type {
	case tarcheck.Dir:
		var fd int
		if isDir {
			if fd, err = unix.Openat(parent, name, dirFlags, 0); err != nil {
				return &fs.PathError{Op: "open", Path: shown, Err: err}
			}
			err = x.own(fd, shown, true, m.Mode)
		} else {
			fd, err = mkdirRootOwned(parent, name, shown, extractMode(m.Mode))
		}
		if fd >= 0 {
			unix.Close(fd)
		}
		if err != nil {
			return err
		}
		x.dirs = append(x.dirs, dirTime{comps: comps, mtime: m.ModTime})
		return nil
	case tarcheck.File:
		id, err := x.file(parent, name, shown, m)
		if err != nil {
			return err
		}
		x.files[key] = id
		return nil
	case tarcheck.Symlink:
		if err := unix.Symlinkat(m.Linkname, parent, name); err != nil {
			return &fs.PathError{Op: "symlink", Path: shown, Err: err}
		}
		if err := unix.Fchownat(parent, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "chown", Path: shown, Err: err}
		}
		ts := unix.NsecToTimespec(m.ModTime.UnixNano())
		if err := unix.UtimesNanoAt(parent, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return &fs.PathError{Op: "utimes", Path: shown, Err: err}
		}
		return nil
	case tarcheck.Hard:
		id, err := x.link(parent, name, shown, m.Linkname)
		if err != nil {
			return err
		}
		x.files[key] = id
		return nil
	}
	return fmt.Errorf("is a %s; only files, directories and links are extracted", m.Type)
}

// file creates a regular file exclusively and fills it with the
// member's bytes.
func (x *extractor) file(parent int, name, shown string, m tarcheck.Member) (fileID, error) {
	fd, err := unix.Openat(parent, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY, 0o600)
	if err != nil {
		return fileID{}, &fs.PathError{Op: "create", Path: shown, Err: err}
	}
	f := os.NewFile(uintptr(fd), shown)
	defer f.Close()
	n, err := io.Copy(f, ctxReader{x.ctx, m.Body})
	if err != nil {
		return fileID{}, fmt.Errorf("write %s: %w", shown, err)
	}
	if n != m.Size {
		return fileID{}, fmt.Errorf("write %s: %d bytes, the header says %d", shown, n, m.Size)
	}
	// chown before chmod: chown clears set-id bits on some systems.
	if err := unix.Fchown(fd, 0, 0); err != nil {
		return fileID{}, &fs.PathError{Op: "chown", Path: shown, Err: err}
	}
	if err := unix.Fchmod(fd, extractMode(m.Mode)); err != nil {
		return fileID{}, &fs.PathError{Op: "chmod", Path: shown, Err: err}
	}
	tv := unix.NsecToTimeval(m.ModTime.UnixNano())
	if err := unix.Futimes(fd, []unix.Timeval{tv, tv}); err != nil {
		return fileID{}, &fs.PathError{Op: "utimes", Path: shown, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fileID{}, &fs.PathError{Op: "fstat", Path: shown, Err: err}
	}
	if err := f.Close(); err != nil {
		return fileID{}, fmt.Errorf("close %s: %w", shown, err)
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, nil
}

// link makes name in parent a hard link to source, which must be a
// regular file this extraction created (same device and inode).
func (x *extractor) link(parent int, name, shown, source string) (fileID, error) {
	comps := components(source)
	id, ok := x.files[strings.Join(comps, "/")]
	if !ok || len(comps) == 0 {
		return fileID{}, fmt.Errorf("%s: a hard link to %s, which is not a regular file this extraction created", shown, strconv.Quote(source))
	}
	sp, err := x.parents(comps[:len(comps)-1], false)
	if err != nil {
		return fileID{}, err
	}
	defer unix.Close(sp)
	sname := comps[len(comps)-1]
	same := func(dirfd int, n string) bool {
		var st unix.Stat_t
		return unix.Fstatat(dirfd, n, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && isType(&st, unix.S_IFREG) &&
			uint64(st.Dev) == id.dev && uint64(st.Ino) == id.ino
	}
	if !same(sp, sname) {
		return fileID{}, fmt.Errorf("%s: the hard-link source %s is no longer the file this extraction created", shown, x.show(comps))
	}
	if err := unix.Linkat(sp, sname, parent, name, 0); err != nil {
		return fileID{}, &fs.PathError{Op: "link", Path: shown, Err: err}
	}
	if !same(parent, name) {
		unix.Unlinkat(parent, name, 0)
		return fileID{}, fmt.Errorf("%s: the hard-link source %s changed while it was linked", shown, x.show(comps))
	}
	return id, nil
}

// dirTimes gives the directory members their mtimes, deepest first,
// once everything under them is in place.
func (x *extractor) dirTimes() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		d := x.dirs[i]
		parent, err := x.parents(d.comps[:len(d.comps)-1], false)
		if err != nil {
			return err
		}
		ts := unix.NsecToTimespec(d.mtime.UnixNano())
		err = unix.UtimesNanoAt(parent, d.comps[len(d.comps)-1], []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
		unix.Close(parent)
		if err != nil {
			return &fs.PathError{Op: "utimes", Path: x.show(d.comps), Err: err}
		}
	}
	return nil
}
