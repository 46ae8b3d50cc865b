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

// Lstat implements host.Inspector with lstat(2).
func (h *Host) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return host.FileInfo{}, err
	}
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		return host.FileInfo{}, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	fi := host.FileInfo{
		Mode:  fs.FileMode(uint32(st.Mode) & 0o7777),
		UID:   int(st.Uid),
		GID:   int(st.Gid),
		Owner: strconv.Itoa(int(st.Uid)),
		Nlink: int(st.Nlink),
	}
	if u, err := user.LookupId(fi.Owner); err == nil {
		fi.Owner = u.Username
	}
	switch uint32(st.Mode) & unix.S_IFMT {
	case unix.S_IFREG:
		fi.Type = host.TypeFile
	case unix.S_IFDIR:
		fi.Type = host.TypeDir
	case unix.S_IFLNK:
		fi.Type = host.TypeSymlink
		t, err := os.Readlink(p)
		if err != nil {
			return host.FileInfo{}, err
		}
		fi.Target = t
	case unix.S_IFIFO:
		fi.Type = host.TypeFIFO
	case unix.S_IFCHR:
		fi.Type = host.TypeChar
	case unix.S_IFBLK:
		fi.Type = host.TypeBlock
	default:
		fi.Type = host.TypeSocket
	}
	return fi, nil
}

// ReadDir implements host.Inspector: the names in dir, opened without
// following a final symlink.
func (h *Host) ReadDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	f := os.NewFile(uintptr(fd), dir)
	defer f.Close()
	return f.Readdirnames(-1)
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
