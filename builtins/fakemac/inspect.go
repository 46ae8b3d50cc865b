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
	"github.com/sysprog21/hvfctl/builtins/kauth"
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
	aces, err := m.aces(n.ACL)
	if err != nil {
		return host.FileInfo{}, fmt.Errorf("lstat %s: %w", p, err)
	}
	return host.FileInfo{Type: n.Type, Mode: fs.FileMode(n.Mode), UID: uid, GID: gid, Owner: n.Owner, Group: n.Group, Size: size, Nlink: m.nlink(real, n), Target: n.Target, ACLAllow: kauth.Allowed(aces, n.Type == TypeDir)}, nil
}

// aces reads a node's ACL model (entries in the form chmod(1) takes:
// "user:ghrunner allow add_file") into the entries the kernel stores: a
// user's GUID is its GeneratedUID (random for the accounts sysadminctl
// creates, the compatibility GUID for root and the system accounts), a
// group's the compatibility GUID of its gid (the built-in groups' GUIDs,
// kauth_wellknown_guid). An entry naming an unknown account is an error.
func (m *Mac) aces(acl []string) ([]kauth.ACE, error) {
	out := make([]kauth.ACE, 0, len(acl))
	for _, e := range acl {
		a, err := kauth.ParseText(e, m.guidOf)
		if err != nil {
			return nil, fmt.Errorf("the fake's ACL model: %w", err)
		}
		out = append(out, a)
	}
	return out, nil
}

// guidOf is the GUID of an account named in an ACL entry.
func (m *Mac) guidOf(kind, name string) (kauth.GUID, error) {
	if kind == "group" {
		g := m.st.Groups[name]
		if g == nil {
			return kauth.GUID{}, fmt.Errorf("no such group %q", name)
		}
		return kauth.GroupGUID(uint32(g.GID)), nil
	}
	u := m.st.Users[m.canonicalUser(name)]
	if u == nil {
		return kauth.GUID{}, fmt.Errorf("no such user %q", name)
	}
	if u.GeneratedUID == "" {
		return kauth.UserGUID(uint32(u.UID)), nil
	}
	return kauth.ParseGUID(u.GeneratedUID)
}

// namer names compatibility GUIDs by the fake's accounts, as the real
// backend names them through the system's account lookups.
func (m *Mac) namer() kauth.Namer {
	return kauth.CompatNamer(func(id uint32) (string, bool) {
		for _, name := range sortedKeys(m.st.Users) {
			if uint32(m.st.Users[name].UID) == id {
				return name, true
			}
		}
		return "", false
	}, func(id uint32) (string, bool) {
		for _, name := range sortedKeys(m.st.Groups) {
			if uint32(m.st.Groups[name].GID) == id {
				return name, true
			}
		}
		return "", false
	})
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

// ACLPaths implements host.FileQuerier: a scripted reply to
// `<acl> PATH...` (a fault, or the answers a recording kept), else the
// ACL model of the node each path reaches the way Lstat reaches it (a
// final symlink's own), rendered as the real backend renders what the
// kernel returns (kauth.Texts).
func (m *Mac) ACLPaths(ctx context.Context, paths []string) ([]host.PathACL, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted(append([]string{host.OpACL}, paths...)); ok {
		if err := scriptedErr("acl", r); err != nil {
			return nil, err
		}
		return host.DecodeACLs(r.Stdout)
	}
	out := make([]host.PathACL, 0, len(paths))
	name := m.namer()
	for _, p := range paths {
		a := host.PathACL{Path: p}
		if _, n, err := m.rootEntry(p); err != nil {
			a.Err = fmt.Errorf("acl %w", err)
		} else if aces, err := m.aces(n.ACL); err != nil {
			a.Err = fmt.Errorf("acl %s: %w", p, err)
		} else {
			a.Entries = kauth.Texts(aces, n.Type == TypeDir, name)
		}
		out = append(out, a)
	}
	return out, nil
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
