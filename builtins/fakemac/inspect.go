package fakemac

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Lstat implements host.Inspector: lstat(2) as root, the final
// component never followed, the parent reached the way the real backend
// walks it (rootWalk: only trusted symlinks crossed).
func (m *Mac) Lstat(ctx context.Context, p string) (host.FileInfo, error) {
	if err := ctx.Err(); err != nil {
		return host.FileInfo{}, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lstat(p)
}

// lstat is Lstat with m.mu held.
func (m *Mac) lstat(p string) (host.FileInfo, error) {
	real, n, err := m.rootEntry(p)
	if err != nil {
		return host.FileInfo{}, fmt.Errorf("lstat %w", err)
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
	size := n.size()
	if n.Type == TypeDir {
		size = m.dirSize(real)
	}
	return host.FileInfo{Type: n.Type, Mode: fs.FileMode(n.Mode), UID: uid, GID: gid, Owner: n.Owner, Group: n.Group, Size: size, Nlink: m.nlink(real, n), Target: n.Target, ACLAllow: aclAllowed(n.ACL)}, nil
}

// rootEntry finds the entry p (clean and absolute) the way the real
// backend looks at one as root (builtins/darwin lookup): its parent is
// reached with rootWalk, crossing only trusted links; the entry itself
// is never followed.
func (m *Mac) rootEntry(p string) (string, *Node, error) {
	if !path.IsAbs(p) || path.Clean(p) != p {
		return "", nil, fmt.Errorf("%q: not a clean absolute path", p)
	}
	real := "/"
	if p != "/" {
		dir, err := m.rootWalk(path.Dir(p))
		if err != nil {
			return "", nil, fmt.Errorf("%s: %w", p, err)
		}
		if d := m.st.Files[dir]; d == nil {
			return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
		} else if d.Type != TypeDir {
			return "", nil, fmt.Errorf("%s: %w", p, errNotDir)
		}
		real = path.Join(dir, path.Base(p))
	}
	n := m.st.Files[real]
	if n == nil {
		return "", nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return real, n, nil
}

// aclAllowed returns, sorted and comma-separated, every right an "allow" entry of an ACL
// ("user:ghrunner allow add_file,delete_child"; chmod(1), "ACL
// MANIPULATION OPTIONS") grants; "deny" entries grant nothing.
func aclAllowed(acl []string) string {
	set := map[string]bool{}
	for _, e := range acl {
		f := strings.Fields(e)
		if len(f) < 3 || f[1] != "allow" {
			continue
		}
		for _, r := range strings.Split(f[2], ",") {
			set[r] = true
		}
	}
	return strings.Join(sortedKeys(set), ",")
}

// lockedLstater is the fake's Lstat for callers that hold the lock.
type lockedLstater struct{ m *Mac }

func (l lockedLstater) Lstat(_ context.Context, p string) (host.FileInfo, error) {
	return l.m.lstat(p)
}

// ReadDir implements host.Inspector: the names in a directory, which
// must not be a symlink, reached like Lstat reaches a path.
func (m *Mac) ReadDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.readDir(dir)
}

// readDir is ReadDir with m.mu held.
func (m *Mac) readDir(dir string) ([]string, error) {
	real, n, err := m.rootEntry(dir)
	if err != nil {
		return nil, fmt.Errorf("read directory %w", err)
	}
	if n.Type == TypeSymlink {
		return nil, fmt.Errorf("read directory %s: it is a symlink; hvfctl does not list through a link", dir)
	}
	if n.Type != TypeDir {
		return nil, fmt.Errorf("read directory %s: %w", dir, errNotDir)
	}
	return m.children(path.Clean(real)), nil
}

// StatPaths implements host.FileQuerier: a scripted reply to
// `<stat> PATH...` (a fault, or the answers a recording kept), else
// Lstat of every path.
func (m *Mac) StatPaths(ctx context.Context, paths []string) ([]host.PathStat, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted(append([]string{host.OpStat}, paths...)); ok {
		if err := scriptedErr("stat", r); err != nil {
			return nil, err
		}
		return host.DecodeStats(r.Stdout)
	}
	out := make([]host.PathStat, 0, len(paths))
	for _, p := range paths {
		fi, err := m.lstat(p)
		out = append(out, host.PathStat{Path: p, Info: fi, Err: err})
	}
	return out, nil
}

// ListDir implements host.FileQuerier: a scripted reply to `<list> DIR`
// (its stdout a JSON list of names), else ReadDir.
func (m *Mac) ListDir(ctx context.Context, dir string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted([]string{host.OpList, dir}); ok {
		if err := scriptedErr("list "+dir, r); err != nil {
			return nil, err
		}
		var names []string
		if err := json.Unmarshal([]byte(r.Stdout), &names); err != nil {
			return nil, fmt.Errorf("list %s: the scripted reply is not a JSON list of names: %w", dir, err)
		}
		return names, nil
	}
	return m.readDir(dir)
}

var _ host.FileQuerier = (*Mac)(nil)

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

// untrusted says why root must not cross the symlink n in the real
// directory dir, in the real backend's words, or "" when it may: root
// owns it and the directory, which nobody else can write unless it is
// sticky, and it has a single link: any account can hard link a
// root-owned symlink into a sticky directory, where the alias looks
// root's (the real backend's rule, see builtins/darwin trustedLinkAt).
func (m *Mac) untrusted(dir string, n *Node) string {
	d := m.st.Files[dir]
	switch {
	case !m.superuser(n.Owner):
		return "it is not owned by root"
	case m.links(n) > 1:
		return fmt.Sprintf("it has %d hard links", m.links(n))
	case d == nil || !m.superuser(d.Owner):
		return "its directory is not owned by root"
	case d.Mode&0o022 != 0 && d.Mode&0o1000 == 0:
		return "its directory is writable by others"
	}
	return ""
}

// rootWalk resolves p the way the real backend walks a path as root
// (builtins/darwin openDir and openRegular): from "/", one component at a
// time, crossing only trusted symlinks (a final one included). The final
// component may be missing.
func (m *Mac) rootWalk(p string) (string, error) {
	real, err := m.walk(p, true, func(*Node) error { return nil }, func(dir, link string, n *Node) error {
		if why := m.untrusted(dir, n); why != "" {
			return fmt.Errorf("%s is a %w (-> %s; %s): hvfctl does not read or change anything through it", link, host.ErrUntrustedLink, n.Target, why)
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
