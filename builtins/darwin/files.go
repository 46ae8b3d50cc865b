package darwin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// writeChunk is how much WriteFile writes between two cancellation checks.
const writeChunk = 64 << 10

// maxLinkDepth bounds how many trusted symlinks a parent chain may cross.
const maxLinkDepth = 8

// ReadFile implements host.Host: it reads path as root, following only
// trusted symlinks (see openRegular), and fails when the file holds more
// than max bytes. A FIFO, socket or device is refused at once, never
// opened for reading; so is a regular file with more than one hard link
// (it may be an alias of a file the caller could not name).
func (h *Host) ReadFile(ctx context.Context, path string, max int64) ([]byte, error) {
	if err := checkPath("read", path); err != nil {
		return nil, err
	}
	if max <= 0 {
		return nil, fmt.Errorf("read %s: size limit %d is not positive", path, max)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(ctxReader{ctx, f}, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("read %s: larger than the limit of %d bytes", path, max)
	}
	return b, nil
}

// WriteFile implements host.Host: the data goes to a temporary file
// created exclusively (mode 0600) in the destination's directory, which
// is synced, given its owner and then its mode, and renamed over the
// destination; the directory is synced last. A reader sees the old file
// or the new one, never a part. On any failure the temporary file is
// removed and the destination is untouched. The destination's directory
// is reached with directory handles, crossing only symlinks that root
// owns in directories that only root can change (such as /tmp ->
// private/tmp on macOS); a symlink at the destination is replaced, never
// followed.
func (h *Host) WriteFile(ctx context.Context, req host.WriteRequest) error {
	if err := checkPath("write", req.Path); err != nil {
		return err
	}
	uid, gid, err := h.owner(req.Path, req.Mode, req.Owner, req.Group)
	if err != nil {
		return fmt.Errorf("write %s: %w", req.Path, err)
	}
	err = h.atomicReplace(ctx, req.Path, uid, gid, req.Mode, func(f *os.File) error {
		for off := 0; off < len(req.Data); off += writeChunk {
			if err := ctx.Err(); err != nil {
				return err
			}
			end := min(off+writeChunk, len(req.Data))
			if _, err := f.Write(req.Data[off:end]); err != nil {
				return err
			}
		}
		return ctx.Err()
	})
	if err != nil {
		return fmt.Errorf("write %s: %w", req.Path, err)
	}
	return nil
}

// Hash implements host.Host: the SHA-256 of the file's bytes and its
// size; the file is opened like ReadFile opens it.
func (h *Host) Hash(ctx context.Context, path string) (string, int64, error) {
	if err := checkPath("sha256", path); err != nil {
		return "", 0, err
	}
	f, err := openRegular(path)
	if err != nil {
		return "", 0, fmt.Errorf("sha256: %w", err)
	}
	defer f.Close()
	sum := sha256.New()
	n, err := io.Copy(sum, ctxReader{ctx, f})
	if err != nil {
		return "", 0, fmt.Errorf("sha256 %s: %w", path, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), n, nil
}

// ListArchive implements host.Host: the archive is opened like ReadFile
// opens a file and its member headers are read in-process.
func (h *Host) ListArchive(ctx context.Context, path string) ([]tarcheck.Entry, error) {
	if err := checkPath("tar-list", path); err != nil {
		return nil, err
	}
	f, err := openRegular(path)
	if err != nil {
		return nil, fmt.Errorf("tar-list: %w", err)
	}
	defer f.Close()
	es, err := tarcheck.Read(ctxReader{ctx, f})
	if err != nil {
		return nil, fmt.Errorf("tar-list %s: %w", path, err)
	}
	return es, nil
}

// openRegular opens the regular file path for reading without blocking:
// the parent chain is walked with directory handles, a final symlink is
// followed only when trusted (root's, in a root-only directory),
// anything but a regular file is refused before it is opened, and a file
// with more than one hard link once it is (every read, hash and archive
// listing goes through it, as in the fake's rootOpen).
func openRegular(path string) (*os.File, error) {
	for hops := 0; ; hops++ {
		if hops > maxLinkDepth {
			return nil, fmt.Errorf("%s: too many symlinks", path)
		}
		e, err := lookup(path)
		if err != nil {
			return nil, err
		}
		if !e.exists {
			e.close()
			return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrNotExist}
		}
		if isType(&e.st, unix.S_IFLNK) {
			if err := trustedLinkAt(e.dirfd, e.name, path, &e.st); err != nil {
				e.close()
				return nil, err
			}
			target, err := readlinkat(e.dirfd, e.name)
			e.close()
			if err != nil {
				return nil, &fs.PathError{Op: "readlink", Path: path, Err: err}
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(path), target)
			}
			path = filepath.Clean(target)
			continue
		}
		if !isType(&e.st, unix.S_IFREG) {
			e.close()
			return nil, fmt.Errorf("%s is not a regular file (a %s)", path, e.typ())
		}
		fd, err := e.open()
		e.close()
		if err != nil {
			return nil, err
		}
		f := os.NewFile(uintptr(fd), path)
		// On the descriptor: a hard link may be an alias of a root-only
		// file anywhere on the volume, which the runner account could
		// make without reading it. No read, hash or listing of it.
		if n, err := linkCount(f); err != nil || n > 1 {
			f.Close()
			if err == nil {
				err = fmt.Errorf("%s has %d hard links; hvfctl does not read a file that may be another file's alias", path, n)
			}
			return nil, err
		}
		return f, nil
	}
}

// linkCount is the number of hard links of an open file.
func linkCount(f *os.File) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return 0, err
	}
	return uint64(st.Nlink), nil
}

// owner validates a mode and resolves an owner and group to ids.
func (h *Host) owner(path string, mode fs.FileMode, owner, group string) (int, int, error) {
	if mode&^fs.ModePerm != 0 {
		return 0, 0, fmt.Errorf("mode %v has bits beyond the permission bits", mode)
	}
	if owner == "" || group == "" {
		return 0, 0, errors.New("owner and group are required")
	}
	return h.lookupIDs(owner, group)
}

// lookupIDs resolves an owner and a group name to ids.
func (h *Host) lookupIDs(owner, group string) (int, int, error) {
	uid, _, _, _, err := h.opts.Lookup(owner)
	if err != nil {
		return 0, 0, fmt.Errorf("owner %q: %w", owner, err)
	}
	gid, err := h.opts.LookupGroup(group)
	if err != nil {
		return 0, 0, fmt.Errorf("group %q: %w", group, err)
	}
	return uid, gid, nil
}

// atomicReplace creates a temporary file next to path, lets fill write
// it, then syncs it, sets its owner and mode, renames it over path and
// syncs the directory, all relative to a handle of the directory.
// Whatever fails, the temporary file is removed.
func (h *Host) atomicReplace(ctx context.Context, path string, uid, gid int, mode fs.FileMode, fill func(*os.File) error) (err error) {
	e, err := lookup(path)
	if err != nil {
		return err
	}
	defer e.close()
	if e.exists && isType(&e.st, unix.S_IFDIR) {
		return fmt.Errorf("%s is a directory", path)
	}
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return err
	}
	tmp := "." + e.name + ".hvfctl-" + hex.EncodeToString(rnd[:])
	// O_EXCL|O_NOFOLLOW: never follows or reuses an existing name.
	fd, err := unix.Openat(e.dirfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create temporary file: %w", &fs.PathError{Op: "open", Path: filepath.Join(filepath.Dir(path), tmp), Err: err})
	}
	f := os.NewFile(uintptr(fd), filepath.Join(filepath.Dir(path), tmp))
	defer func() {
		if err != nil {
			f.Close()
			unix.Unlinkat(e.dirfd, tmp, 0)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", f.Name(), err)
	}
	// chown before chmod: chown clears set-id bits on some systems.
	if err := f.Chown(uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", f.Name(), err)
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", f.Name(), err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", f.Name(), err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := unix.Renameat(e.dirfd, tmp, e.dirfd, e.name); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if err := unix.Fsync(e.dirfd); err != nil {
		// The file is in place; only its durability is in doubt.
		return fmt.Errorf("sync directory %s: %w", filepath.Dir(path), err)
	}
	return nil
}

// checkPath rejects a path that is not absolute and clean.
func checkPath(op, path string) error {
	if !filepath.IsAbs(path) || filepath.Clean(path) != path || path == "/" {
		return fmt.Errorf("%s %q: not a clean absolute file path", op, path)
	}
	return nil
}

// ctxReader stops reading once its context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
