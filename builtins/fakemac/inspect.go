package fakemac

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Lstat implements host.Inspector: lstat(2) as root, the final component
// never followed.
func (m *Mac) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return host.FileInfo{}, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	real, n, err := m.lookup(host.Root, p, false)
	if err != nil {
		return host.FileInfo{}, fmt.Errorf("lstat %s: %w", p, err)
	}
	uid, gid := -1, -1
	if u := m.st.Users[n.Owner]; u != nil {
		uid = u.UID
	} else if isNumber(n.Owner) {
		uid, _ = strconv.Atoi(n.Owner)
	}
	if g := m.st.Groups[n.Group]; g != nil {
		gid = g.GID
	} else if isNumber(n.Group) {
		gid, _ = strconv.Atoi(n.Group)
	}
	return host.FileInfo{Type: n.Type, Mode: fs.FileMode(n.Mode), UID: uid, GID: gid, Owner: n.Owner, Nlink: m.nlink(real, n), Target: n.Target}, nil
}

// ReadDir implements host.Inspector: the names in a directory, which
// must not be a symlink.
func (m *Mac) ReadDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	real, n, err := m.lookup(host.Root, dir, false)
	if err != nil {
		return nil, fmt.Errorf("read directory %s: %w", dir, err)
	}
	if n.Type != TypeDir {
		return nil, fmt.Errorf("read directory %s: %w", dir, errNotDir)
	}
	return m.children(path.Clean(real)), nil
}

// UserID implements host.Inspector: the uid of an account, its name
// matched as Open Directory matches it (see canonicalUser).
func (m *Mac) UserID(ctx context.Context, name string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.st.Users[m.canonicalUser(name)]
	if u == nil {
		return 0, fmt.Errorf("no such user %q", name)
	}
	return u.UID, nil
}

var _ host.Inspector = (*Mac)(nil)

// trustedLink reports whether the symlink n in the real directory dir is
// one root may cross: root owns it and the directory, which nobody else
// can write unless it is sticky, and it has a single link: any account
// can hard link a root-owned symlink into a sticky directory, where the
// alias looks root's (the real backend's rule, see builtins/darwin
// trustedLinkAt).
func (m *Mac) trustedLink(dir string, n *Node) bool {
	d := m.st.Files[dir]
	return d != nil && m.superuser(n.Owner) && m.superuser(d.Owner) && (d.Mode&0o022 == 0 || d.Mode&0o1000 != 0) && m.links(n) <= 1
}

// rootWalk resolves p the way the real backend walks a path as root
// (builtins/darwin openDir and openRegular): from "/", one component at a
// time, crossing only trusted symlinks (a final one included). The final
// component may be missing.
func (m *Mac) rootWalk(p string) (string, error) {
	real, err := m.walk(p, true, func(*Node) error { return nil }, func(dir, link string, n *Node) error {
		if !m.trustedLink(dir, n) {
			return fmt.Errorf("refusing to follow the symlink %s (-> %s, owned by %s): only links root made in directories only root can change are crossed", link, n.Target, n.Owner)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("%s: %w", p, err)
	}
	return real, nil
}

// rootDir resolves the directory dir like rootWalk; it must exist.
func (m *Mac) rootDir(dir string) (string, error) {
	real, err := m.rootWalk(dir)
	if err != nil {
		return "", err
	}
	if n := m.st.Files[real]; n == nil || n.Type != TypeDir {
		return "", fmt.Errorf("%s: not a directory: %w", dir, fs.ErrNotExist)
	}
	return real, nil
}

// rootOpen finds the regular file p the way the real backend opens a
// file as root (builtins/darwin openRegular): see rootWalk; anything but
// a regular file with a single link is refused.
func (m *Mac) rootOpen(p string) (string, *Node, error) {
	cur, err := m.rootWalk(p)
	if err != nil {
		return "", nil, err
	}
	n := m.st.Files[cur]
	switch {
	case n == nil:
		return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	case n.Type == TypeDir:
		return "", nil, fmt.Errorf("%s: is a directory", p)
	case n.Type != TypeFile:
		// Opened without O_NONBLOCK a FIFO blocks until a writer comes
		// and a device reads forever: refused, as the real backend does.
		return "", nil, fmt.Errorf("%s: is a %s, not a regular file", p, fileType(n))
	case n.Ino != 0 && m.links(n) > 1:
		return "", nil, fmt.Errorf("%s has %d hard links; hvfctl does not read a file that may be another file's alias", p, m.links(n))
	}
	return cur, n, nil
}

// HashArchive implements host.ArchiveHasher: the modelled members of the
// archive at p, hashed as extraction gives them their bytes.
func (m *Mac) HashArchive(ctx context.Context, p string) (map[string]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, n, err := m.rootOpen(p)
	if err != nil {
		return nil, fmt.Errorf("hash archive: %w", err)
	}
	entries, ok := m.st.Archives[n.Archive]
	if !ok {
		return nil, fmt.Errorf("hash archive %s: Unrecognized archive format", p)
	}
	out := map[string]string{}
	for _, e := range entries {
		if e.Type == TypeFile {
			out[strings.TrimPrefix(e.Name, "./")] = synthSum(n.Archive, e.Name)
		}
	}
	return out, nil
}

var _ host.ArchiveHasher = (*Mac)(nil)
