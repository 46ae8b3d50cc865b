package fakemac

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"strconv"

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
