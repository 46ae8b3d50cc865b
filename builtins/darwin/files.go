package darwin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// writeChunk is how much WriteFile writes between two cancellation checks.
const writeChunk = 64 << 10

// maxLinkDepth bounds how many trusted symlinks a parent chain may cross.
const maxLinkDepth = 8

// ReadFile implements host.Host: it reads path (following symlinks, as
// root) and fails when the file holds more than max bytes.
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
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	if err := requireRegular(f, path); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
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
// removed and the destination is untouched. The destination's parent
// chain may cross only symlinks that root owns in directories that only
// root can change (such as /tmp -> private/tmp on macOS).
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

// Hash implements host.Host: the SHA-256 of the file's bytes (following
// symlinks, like shasum -a 256) and its size.
func (h *Host) Hash(ctx context.Context, path string) (string, int64, error) {
	if err := checkPath("sha256", path); err != nil {
		return "", 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("sha256: %w", err)
	}
	defer f.Close()
	if err := requireRegular(f, path); err != nil {
		return "", 0, fmt.Errorf("sha256: %w", err)
	}
	sum := sha256.New()
	n, err := io.Copy(sum, ctxReader{ctx, f})
	if err != nil {
		return "", 0, fmt.Errorf("sha256 %s: %w", path, err)
	}
	return hex.EncodeToString(sum.Sum(nil)), n, nil
}

// owner validates a mode and resolves an owner and group to ids.
func (h *Host) owner(path string, mode fs.FileMode, owner, group string) (int, int, error) {
	if mode&^fs.ModePerm != 0 {
		return 0, 0, fmt.Errorf("mode %v has bits beyond the permission bits", mode)
	}
	if owner == "" || group == "" {
		return 0, 0, errors.New("owner and group are required")
	}
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
// syncs the directory. Whatever fails, the temporary file is removed.
func (h *Host) atomicReplace(ctx context.Context, path string, uid, gid int, mode fs.FileMode, fill func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	if err := checkParentChain(dir); err != nil {
		return err
	}
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	// os.CreateTemp opens with O_CREATE|O_EXCL and mode 0600, so it never
	// follows or reuses an existing name.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".hvfctl-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := fill(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	// chown before chmod: chown clears set-id bits on some systems.
	if err := f.Chown(uid, gid); err != nil {
		return fmt.Errorf("chown %s: %w", tmp, err)
	}
	if err := f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if err := syncDir(dir); err != nil {
		// The file is in place; only its durability is in doubt.
		return err
	}
	return nil
}

// syncDir flushes a directory's entries to disk.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// checkParentChain walks every component of dir (absolute, clean) without
// following symlinks. A symlink is crossed only when root owns it and the
// directory holding it is owned by root and not writable by others unless
// sticky; anything else could let another account redirect the write.
func checkParentChain(dir string) error {
	return checkChain(dir, 0)
}

func checkChain(dir string, depth int) error {
	if depth > maxLinkDepth {
		return fmt.Errorf("%s: too many symlinks in the parent chain", dir)
	}
	cur := "/"
	for _, part := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if err != nil {
			return fmt.Errorf("parent directory: %w", err)
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if err := trustedLink(cur, next, fi); err != nil {
				return err
			}
			target, err := filepath.EvalSymlinks(next)
			if err != nil {
				return fmt.Errorf("parent directory: %w", err)
			}
			if err := checkChain(target, depth+1); err != nil {
				return err
			}
			cur = target
			continue
		}
		if !fi.IsDir() {
			return fmt.Errorf("parent %s is not a directory", next)
		}
		cur = next
	}
	return nil
}

// trustedLink accepts the symlink link, found in directory parent, when
// only root could have put it there.
func trustedLink(parent, link string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid != 0 {
		return fmt.Errorf("refusing to write through symlink %s: it is not owned by root", link)
	}
	pfi, err := os.Stat(parent)
	if err != nil {
		return fmt.Errorf("parent directory: %w", err)
	}
	pst, ok := pfi.Sys().(*syscall.Stat_t)
	if !ok || pst.Uid != 0 {
		return fmt.Errorf("refusing to write through symlink %s: %s is not owned by root", link, parent)
	}
	if pfi.Mode().Perm()&0o022 != 0 && pfi.Mode()&fs.ModeSticky == 0 {
		return fmt.Errorf("refusing to write through symlink %s: %s is writable by others", link, parent)
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

// requireRegular fails unless the open file is a regular file.
func requireRegular(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file (%s)", path, fi.Mode().Type())
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
