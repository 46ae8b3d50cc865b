package darwin

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/kauth"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// Lstat implements host.Inspector: the parent chain is walked from "/"
// with directory handles, crossing only symlinks root made in
// directories only root can change (openDir), and the final component
// is looked at with fstatat(AT_SYMLINK_NOFOLLOW) in its directory. A
// symlink the runner account planted in the middle of path is an error
// naming it (host.ErrUntrustedLink), never the metadata behind it.
func (h *Host) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return host.FileInfo{}, err
	}
	if p == "/" {
		fd, err := unix.Open("/", dirFlags, 0)
		if err != nil {
			return host.FileInfo{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return host.FileInfo{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
		}
		aces, err := rootACL(fd, &st)
		if err != nil {
			return host.FileInfo{}, err
		}
		fi := h.fileInfo(&st, "")
		fi.ACLAllow = kauth.Allowed(aces, true)
		return fi, nil
	}
	e, err := lookup(p)
	if err != nil {
		return host.FileInfo{}, fmt.Errorf("lstat %w", err)
	}
	defer e.close()
	if !e.exists {
		return host.FileInfo{}, &fs.PathError{Op: "lstat", Path: p, Err: unix.ENOENT}
	}
	target := ""
	if isType(&e.st, unix.S_IFLNK) {
		if target, err = readlinkat(e.dirfd, e.name); err != nil {
			return host.FileInfo{}, &fs.PathError{Op: "readlink", Path: p, Err: err}
		}
	}
	aces, err := e.acl()
	if err != nil {
		return host.FileInfo{}, err
	}
	fi := h.fileInfo(&e.st, target)
	fi.ACLAllow = kauth.Allowed(aces, isType(&e.st, unix.S_IFDIR))
	return fi, nil
}

// acl reads the ACL of the entry lookup found, relative to the directory
// handle the safe walk opened (getattrlistat with FSOPT_NOFOLLOW: a
// final symlink's own ACL), and checks that the answer describes the
// object lookup saw (same device and file id): an entry swapped in
// between is an error, never another object's ACL.
func (e *entry) acl() ([]kauth.ACE, error) {
	buf := make([]byte, kauth.BufSize)
	if err := getattrlistat(e.dirfd, e.name, buf); err != nil {
		return nil, &fs.PathError{Op: "getattrlist", Path: e.path, Err: err}
	}
	return checkedACL(e.path, buf, &e.st)
}

// rootACL reads the ACL of "/" open on fd (fgetattrlist).
func rootACL(fd int, st *unix.Stat_t) ([]kauth.ACE, error) {
	buf := make([]byte, kauth.BufSize)
	if err := fgetattrlist(fd, buf); err != nil {
		return nil, &fs.PathError{Op: "getattrlist", Path: "/", Err: err}
	}
	return checkedACL("/", buf, st)
}

// checkedACL parses a getattrlist answer (host byte order) and matches
// it to the stat of the object the walk reached.
func checkedACL(p string, buf []byte, st *unix.Stat_t) ([]kauth.ACE, error) {
	r, err := kauth.ParseReply(buf, binary.NativeEndian)
	if err != nil {
		return nil, fmt.Errorf("acl %s: %w", p, err)
	}
	if r.DevID != uint32(st.Dev) || r.FileID != uint64(st.Ino) {
		return nil, fmt.Errorf("acl %s: the entry changed while it was read (file id %d, was %d): read it again", p, r.FileID, uint64(st.Ino))
	}
	return r.Entries, nil
}

// ACLPaths implements host.FileQuerier: each path is walked like Lstat
// walks it and the ACL is read from the entry the walk reached
// (entry.acl), rendered as ls -le renders it, the compatibility GUIDs of
// known uids and gids named through the system's account lookups (any
// other GUID shown as such: naming it needs the membership API, which
// needs cgo).
func (h *Host) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	out := make([]host.PathACL, 0, len(paths))
	name := kauth.CompatNamer(func(id uint32) (string, bool) { return h.lookupName("u", int(id)) },
		func(id uint32) (string, bool) { return h.lookupName("g", int(id)) })
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		aces, dir, err := h.aclOf(p)
		a := host.PathACL{Path: p, Err: err}
		if err == nil {
			a.Entries = kauth.Texts(aces, dir, name)
		}
		out = append(out, a)
	}
	return out, nil
}

// aclOf reads the entries of path's ACL and whether it is a directory.
func (h *Host) aclOf(p string) ([]kauth.ACE, bool, error) {
	if p == "/" {
		fd, err := unix.Open("/", dirFlags, 0)
		if err != nil {
			return nil, false, &fs.PathError{Op: "open", Path: p, Err: err}
		}
		defer unix.Close(fd)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return nil, false, &fs.PathError{Op: "fstat", Path: p, Err: err}
		}
		aces, err := rootACL(fd, &st)
		return aces, true, err
	}
	e, err := lookup(p)
	if err != nil {
		return nil, false, fmt.Errorf("acl %w", err)
	}
	defer e.close()
	if !e.exists {
		return nil, false, &fs.PathError{Op: "acl", Path: p, Err: unix.ENOENT}
	}
	aces, err := e.acl()
	return aces, isType(&e.st, unix.S_IFDIR), err
}

// fileInfo converts a stat buffer; owner and group are named when the
// system knows the ids, as stat's %Su and %Sg do, else their numbers.
func (h *Host) fileInfo(st *unix.Stat_t, target string) host.FileInfo {
	fi := host.FileInfo{
		Mode:   fs.FileMode(uint32(st.Mode) & 0o7777),
		UID:    int(st.Uid),
		GID:    int(st.Gid),
		Owner:  h.idName("u", int(st.Uid)),
		Group:  h.idName("g", int(st.Gid)),
		Size:   st.Size,
		Nlink:  int(st.Nlink),
		Target: target,
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG:
		fi.Type = host.TypeFile
	case unix.S_IFDIR:
		fi.Type = host.TypeDir
	case unix.S_IFLNK:
		fi.Type = host.TypeSymlink
	case unix.S_IFIFO:
		fi.Type = host.TypeFIFO
	case unix.S_IFCHR:
		fi.Type = host.TypeChar
	case unix.S_IFBLK:
		fi.Type = host.TypeBlock
	default:
		fi.Type = host.TypeSocket
	}
	return fi
}

// idName returns the name of a user ("u") or group ("g") id, or the id
// itself when the system does not know it.
func (h *Host) idName(kind string, id int) string {
	if name, ok := h.lookupName(kind, id); ok {
		return name
	}
	return strconv.Itoa(id)
}

// lookupName returns the name of a user ("u") or group ("g") id, ok
// false when the system does not know it. Answers are kept for the life
// of the Host.
func (h *Host) lookupName(kind string, id int) (string, bool) {
	type known struct {
		name string
		ok   bool
	}
	key := kind + strconv.Itoa(id)
	if v, ok := h.names.Load(key); ok {
		k := v.(known)
		return k.name, k.ok
	}
	var k known
	if kind == "u" {
		if u, err := user.LookupId(strconv.Itoa(id)); err == nil {
			k = known{u.Username, true}
		}
	} else if g, err := user.LookupGroupId(strconv.Itoa(id)); err == nil {
		k = known{g.Name, true}
	}
	h.names.Store(key, k)
	return k.name, k.ok
}

// ReadDir implements host.Inspector: the names in dir, opened with
// OpenDir.
func (h *Host) ReadDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read directory %w", err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	return names, nil
}

// OpenDir opens the directory dir (clean and absolute) for reading the
// way root walks a path: from "/" with directory handles, crossing only
// symlinks root made in directories only root can change (an untrusted
// one is an error wrapping host.ErrUntrustedLink that names it); dir
// itself must be a directory, not a link to one, and the handle is
// checked to be the directory the walk saw. Code that reads below a
// directory as root (hvfctl prune, the fixture-tree listing) walks
// relative to this handle.
func OpenDir(dir string) (*os.File, error) {
	if dir == "/" {
		fd, err := unix.Open("/", dirFlags, 0)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
		}
		return os.NewFile(uintptr(fd), dir), nil
	}
	e, err := lookup(dir)
	if err != nil {
		return nil, err
	}
	defer e.close()
	switch {
	case !e.exists:
		return nil, &fs.PathError{Op: "open", Path: dir, Err: unix.ENOENT}
	case isType(&e.st, unix.S_IFLNK):
		return nil, fmt.Errorf("%s: it is a %w; hvfctl does not read a directory through a link", dir, errLink)
	case !isType(&e.st, unix.S_IFDIR):
		return nil, &notDirError{fmt.Sprintf("%s: it is a %s, not a directory", dir, e.typ())}
	}
	fd, err := e.open()
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), dir), nil
}

// UserID implements host.Inspector through the system's directory
// services (os/user), which match names as macOS does.
func (h *Host) UserID(ctx context.Context, name string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("account %q: %w", name, err)
	}
	return strconv.Atoi(u.Uid)
}

var _ host.Inspector = (*Host)(nil)

// HashArchive implements host.ArchiveHasher: the archive is opened as
// ListArchive opens it and every regular member is hashed as it streams
// by; nothing is extracted.
func (h *Host) HashArchive(ctx context.Context, p string) (map[string]string, error) {
	if err := checkPath("hash archive", p); err != nil {
		return nil, err
	}
	f, err := openRegular(p)
	if err != nil {
		return nil, fmt.Errorf("hash archive: %w", err)
	}
	defer f.Close()
	br := bufio.NewReader(ctxReader{ctx, f})
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("hash archive %s: gzip: %w", p, err)
		}
		defer zr.Close()
		src = zr
	}
	tr := tar.NewReader(src)
	out := map[string]string{}
	for {
		hd, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("hash archive %s: %w", p, err)
		}
		if len(out) >= tarcheck.MaxEntries {
			return nil, fmt.Errorf("hash archive %s: more than %d members", p, tarcheck.MaxEntries)
		}
		if hd.Typeflag != tar.TypeReg {
			continue
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, fmt.Errorf("hash archive %s: %s: %w", p, hd.Name, err)
		}
		out[strings.TrimPrefix(hd.Name, "./")] = hex.EncodeToString(sum.Sum(nil))
	}
}

var _ host.ArchiveHasher = (*Host)(nil)

// StatPaths implements host.FileQuerier with Lstat, path by path.
func (h *Host) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	return host.StatEach(ctx, h, paths)
}

// ListDir implements host.FileQuerier with ReadDir.
func (h *Host) ListDir(ctx context.Context, dir string) ([]string, error) {
	return h.ReadDir(ctx, dir)
}

var _ host.FileQuerier = (*Host)(nil)
