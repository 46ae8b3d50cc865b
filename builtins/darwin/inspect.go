package darwin

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
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
		return h.fileInfo(&st, ""), nil
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
	return h.fileInfo(&e.st, target), nil
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
// itself when the system does not know it. Answers are kept for the
// life of the Host.
func (h *Host) idName(kind string, id int) string {
	key := kind + strconv.Itoa(id)
	if v, ok := h.names.Load(key); ok {
		return v.(string)
	}
	name := strconv.Itoa(id)
	if kind == "u" {
		if u, err := user.LookupId(name); err == nil {
			name = u.Username
		}
	} else if g, err := user.LookupGroupId(name); err == nil {
		name = g.Name
	}
	h.names.Store(key, name)
	return name
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
