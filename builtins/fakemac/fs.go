package fakemac

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"syscall"
)

// errLoop is returned when symlinks nest too deeply. Its text is macOS's
// strerror(ELOOP), as the emulated tools print it.
//
//lint:ignore ST1005 the text is macOS's own strerror wording
var errLoop = errors.New("Too many levels of symbolic links")

// errNotDir is returned when a path component is not a directory (macOS's
// strerror(ENOTDIR)); it satisfies errors.Is(err, syscall.ENOTDIR), as
// the real backend's errors do.
var errNotDir error = errnoError{"Not a directory", syscall.ENOTDIR}

// errnoError is an error with macOS's strerror wording that is also the
// errno it names.
type errnoError struct {
	text  string
	errno syscall.Errno
}

func (e errnoError) Error() string        { return e.text }
func (e errnoError) Is(target error) bool { return target == e.errno }

// clean makes p absolute, resolving it against dir when relative. It
// drops empty and "." components but keeps "..": the kernel resolves
// ".." against the real directory reached so far (after a symlink, the
// parent of the link's target), never lexically, and so does resolve.
func clean(dir, p string) string {
	if !path.IsAbs(p) {
		if dir == "" {
			dir = "/"
		}
		p = dir + "/" + p
	}
	parts := splitParts(p)
	if len(parts) == 0 {
		return "/"
	}
	return "/" + strings.Join(parts, "/")
}

// splitParts returns the components of p without empty ones and ".".
// Every path operation of the fake walks through it, so it makes one
// allocation: the result.
func splitParts(p string) []string {
	out := make([]string, 0, strings.Count(p, "/")+1)
	for p != "" {
		c := p
		if i := strings.IndexByte(p, '/'); i >= 0 {
			c, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// child is path.Join(dir, name) for a clean absolute dir and a name
// that is one component (not empty, ".", ".." and without a slash),
// without path.Join's cleaning.
func child(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// maxSymlinks is MAXSYMLINKS of macOS's sys/param.h.
const maxSymlinks = 32

// resolve returns the real path of p, following symlinks in every
// directory position and in the last one when follow is set (a trailing
// slash forces it), the way the kernel's namei does: components are taken
// one at a time, ".." goes to the parent of the real directory reached so
// far (after a symlink that is the parent of the link's target, not a
// lexical step back), a relative target is resolved in the link's
// directory, and more than 32 links give ELOOP. The returned path may not
// exist (only its parent was resolved). A non-root user needs search
// permission on every directory it walks through.
func (m *Mac) resolve(user, p string, follow bool) (string, error) {
	return m.walk(p, follow, func(dir *Node) error {
		if !m.may(user, dir, 1) {
			return fs.ErrPermission
		}
		return nil
	}, nil)
}

// walk is the component walk of resolve and rootWalk: search checks each
// directory walked through, and cross, when not nil, each symlink before
// it is followed (in real directory dir).
func (m *Mac) walk(p string, follow bool, search func(dir *Node) error, cross func(dir, link string, n *Node) error) (string, error) {
	if m.traced != nil && path.IsAbs(p) {
		m.traced[path.Clean(p)] = true
	}
	if strings.HasSuffix(p, "/") && len(p) > 1 {
		follow = true
	}
	rest := splitParts(p)
	cur := "/"
	hops := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		dirNode := m.st.Files[cur]
		if dirNode == nil {
			return "", fs.ErrNotExist
		}
		if dirNode.Type != TypeDir {
			return "", errNotDir
		}
		if err := search(dirNode); err != nil {
			return "", err
		}
		if part == ".." {
			cur = path.Dir(cur)
			continue
		}
		next := child(cur, part) // cur is always clean and absolute
		n := m.st.Files[next]
		last := len(rest) == 0
		if n != nil && n.Type == TypeSymlink && (!last || follow) {
			if cross != nil {
				if err := cross(cur, next, n); err != nil {
					return "", err
				}
			}
			hops++
			if hops > maxSymlinks {
				return "", errLoop
			}
			if path.IsAbs(n.Target) {
				cur = "/"
			}
			rest = append(splitParts(n.Target), rest...)
			continue
		}
		if n == nil && !last {
			return "", fs.ErrNotExist
		}
		cur = next
	}
	return cur, nil
}

// lookup resolves p and returns its node.
func (m *Mac) lookup(user, p string, follow bool) (string, *Node, error) {
	real, err := m.resolve(user, p, follow)
	if err != nil {
		return "", nil, err
	}
	n := m.st.Files[real]
	if n == nil {
		return real, nil, fs.ErrNotExist
	}
	return real, n, nil
}

// groupsOf returns the names of every group user belongs to, primary
// group first.
func (m *Mac) groupsOf(user string) []string {
	u := m.st.Users[user]
	if u == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(g string) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	if g := m.groupName(u.GID); g != "" {
		add(g)
	}
	if user != "root" {
		add("everyone")
		add("localaccounts")
	}
	names := make([]string, 0, len(m.st.Groups))
	for name := range m.st.Groups {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool {
		gi, gj := m.st.Groups[names[i]], m.st.Groups[names[j]]
		if gi.GID != gj.GID {
			return gi.GID < gj.GID
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		for _, mem := range m.st.Groups[name].Members {
			if mem == user {
				add(name)
			}
		}
	}
	return out
}

func (m *Mac) groupName(gid int) string {
	best := ""
	for name, g := range m.st.Groups {
		if g.GID == gid && (best == "" || name < best) {
			best = name
		}
	}
	return best
}

func (m *Mac) inGroup(user, group string) bool {
	for _, g := range m.groupsOf(user) {
		if g == group {
			return true
		}
	}
	return false
}

// may reports whether user has the permission bit want (4 read, 2 write,
// 1 execute/search) on n. Root may do anything except execute a file
// without any execute bit.
func (m *Mac) may(user string, n *Node, want Mode) bool {
	if m.superuser(user) {
		if want == 1 && n.Type == TypeFile {
			return n.Mode&0111 != 0
		}
		return true
	}
	switch {
	case n.Owner == user:
		return n.Mode>>6&want != 0
	case m.inGroup(user, n.Group):
		return n.Mode>>3&want != 0
	default:
		return n.Mode&want != 0
	}
}

// canCreateIn reports whether user may create or remove entries of the
// directory at real path dir.
func (m *Mac) canCreateIn(user, dir string) bool {
	n := m.st.Files[dir]
	return n != nil && n.Type == TypeDir && m.may(user, n, 2) && m.may(user, n, 1)
}

// children returns the sorted names directly inside real directory dir.
func (m *Mac) children(dir string) []string {
	prefix := dir + "/"
	if dir == "/" {
		prefix = "/"
	}
	var out []string
	for p := range m.st.Files {
		if p == "/" || !strings.HasPrefix(p, prefix) {
			continue
		}
		rest := p[len(prefix):]
		if rest != "" && !strings.Contains(rest, "/") {
			out = append(out, rest)
		}
	}
	sort.Strings(out)
	return out
}

// removeTree deletes p and everything below it, giving back the bytes
// of every file whose last name goes.
func (m *Mac) removeTree(p string) {
	m.filesChanged()
	for q, n := range m.st.Files {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(m.st.Files, q)
			if n.Ino == 0 || m.links(n) == 0 {
				m.st.Disk.FreeBytes += n.size()
			}
		}
	}
}

// links counts the names of node n (its hard links).
func (m *Mac) links(n *Node) int {
	if n.Ino == 0 {
		for _, x := range m.st.Files {
			if x == n {
				return 1
			}
		}
		return 0
	}
	c := 0
	for _, x := range m.st.Files {
		if x == n {
			c++
		}
	}
	return c
}

// joinLinks makes every path whose node has the same non-zero Ino share
// one node (the first by path), as hard links share one inode. Load and
// Clone call it.
func (st *State) joinLinks() {
	first := map[int64]*Node{}
	for _, p := range sortedKeys(st.Files) {
		n := st.Files[p]
		if n == nil || n.Ino == 0 {
			continue
		}
		if f, ok := first[n.Ino]; ok {
			st.Files[p] = f
			continue
		}
		first[n.Ino] = n
	}
}

// nextIno returns an inode number no node uses yet.
func (m *Mac) nextIno() int64 {
	var hi int64 = 1000
	for _, n := range m.st.Files {
		if n.Ino >= hi {
			hi = n.Ino + 1
		}
	}
	return hi
}

// hardLink gives the existing regular file at real path from a second
// name, real path to (link(2)).
func (m *Mac) hardLink(from, to string) error {
	n := m.st.Files[from]
	if n == nil {
		return fs.ErrNotExist
	}
	if n.Type == TypeDir {
		return errors.New("Operation not permitted")
	}
	if m.st.Files[to] != nil {
		return fs.ErrExist
	}
	if n.Ino == 0 {
		n.Ino = m.nextIno()
	}
	m.st.Files[to] = n
	m.filesChanged()
	return nil
}

// size is the st_size of a node.
func (n *Node) size() int64 {
	switch n.Type {
	case TypeSymlink:
		return int64(len(n.Target))
	case TypeFile:
		if n.Content != nil {
			return int64(len(*n.Content))
		}
		return n.Size
	}
	return 0
}

// sum returns the SHA-256 of a file's bytes.
func (n *Node) sum() string {
	if n.Content != nil {
		h := sha256.Sum256([]byte(*n.Content))
		return hex.EncodeToString(h[:])
	}
	return n.SHA256
}

// dirSize imitates APFS directory sizes (grows with entries).
func (m *Mac) dirSize(p string) int64 {
	entries, _ := m.entryCounts(p)
	return 64 + 32*int64(entries)
}

// entryCounts counts the names in directory dir (a real path) and, among
// them, the directories: what children lists, without listing (stat and
// ls ask for it on every directory they show, and host.Resolve stats
// every directory of every path). The counts of all directories are
// made in one pass and kept until the files change (filesChanged).
func (m *Mac) entryCounts(dir string) (entries, dirs int) {
	if m.counts == nil || m.countsLen != len(m.st.Files) {
		m.counts = make(map[string]dirCount)
		for p, n := range m.st.Files {
			if p == "/" {
				continue
			}
			parent := path.Dir(p) // st.Files's keys are clean (validate)
			c := m.counts[parent]
			c.entries++
			if n.Type == TypeDir {
				c.dirs++
			}
			m.counts[parent] = c
		}
		m.countsLen = len(m.st.Files)
	}
	c := m.counts[dir]
	return c.entries, c.dirs
}

// filesChanged drops the directory counts after st.Files changed.
func (m *Mac) filesChanged() { m.counts = nil }

// nlink imitates link counts: directories count their subdirectories,
// a file its names.
func (m *Mac) nlink(p string, n *Node) int {
	if n.Type != TypeDir {
		if n.Ino != 0 {
			return m.links(n)
		}
		return 1
	}
	_, dirs := m.entryCounts(p)
	return 2 + dirs
}

// put stores a node at real path p, charging its size to the disk.
func (m *Mac) put(p string, n *Node) {
	if old := m.st.Files[p]; old != nil {
		m.st.Disk.FreeBytes += old.size()
	}
	if n.MTime == 0 {
		n.MTime = m.st.Clock
	}
	m.st.Disk.FreeBytes -= n.size()
	m.st.Files[p] = n
	m.filesChanged()
}

// mkdirAll creates missing directories of real path p (no permission
// checks; used by installers running as root).
func (m *Mac) mkdirAll(p string, mode Mode, owner, group string) {
	if p == "/" || m.st.Files[p] != nil {
		return
	}
	m.mkdirAll(path.Dir(p), mode, owner, group)
	m.put(p, &Node{Type: TypeDir, Mode: mode, Owner: owner, Group: group})
}

// text returns a pointer to s for Node.Content.
func text(s string) *string { return &s }

// synthSum is a deterministic stand-in SHA-256 for bytes that are not
// modelled.
func synthSum(parts ...string) string {
	h := sha256.Sum256([]byte("fakemac:" + strings.Join(parts, "\x00")))
	return hex.EncodeToString(h[:])
}

// errText renders a path error the way BSD tools print it.
func errText(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, fs.ErrPermission):
		return "Permission denied"
	case errors.Is(err, errNotDir):
		return "Not a directory"
	case errors.Is(err, errLoop):
		return "Too many levels of symbolic links"
	}
	return err.Error()
}

// modeString renders ls -l permissions (10 characters).
func modeString(n *Node) string {
	b := []byte("----------")
	switch n.Type {
	case TypeDir:
		b[0] = 'd'
	case TypeSymlink:
		b[0] = 'l'
	case TypeFIFO:
		b[0] = 'p'
	case TypeChar:
		b[0] = 'c'
	case TypeBlock:
		b[0] = 'b'
	case TypeSocket:
		b[0] = 's'
	}
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if n.Mode&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(pos int, bit Mode, set, unset byte) {
		if n.Mode&bit != 0 {
			if b[pos] == '-' {
				b[pos] = unset
			} else {
				b[pos] = set
			}
		}
	}
	special(3, 04000, 's', 'S')
	special(6, 02000, 's', 'S')
	special(9, 01000, 't', 'T')
	return string(b)
}

// userExists reports whether name is a known account (see
// canonicalUser) or a numeric id.
func (m *Mac) userExists(name string) bool {
	if _, ok := m.st.Users[m.canonicalUser(name)]; ok {
		return true
	}
	return isNumber(name)
}

// canonicalUser returns the record name of the account name designates,
// as Open Directory matches it: record names and their aliases compare
// case-insensitively ("Root" is root). Unknown names come back unchanged.
func (m *Mac) canonicalUser(name string) string {
	if _, ok := m.st.Users[name]; ok || name == "" {
		return name
	}
	for _, rec := range sortedKeys(m.st.Users) {
		if strings.EqualFold(rec, name) {
			return rec
		}
		for _, a := range m.st.Users[rec].Aliases {
			if strings.EqualFold(a, name) {
				return rec
			}
		}
	}
	return name
}

// superuser reports whether user is uid 0 (root, or another record with
// uid 0).
// principalUID is the uid of user as Open Directory finds it, -1 when unknown
// (then only root's paths pass the point-of-use rule).
func (m *Mac) principalUID(user string) int {
	if u := m.st.Users[m.canonicalUser(user)]; u != nil {
		return u.UID
	}
	return -1
}

func (m *Mac) superuser(user string) bool {
	u := m.st.Users[m.canonicalUser(user)]
	return u != nil && u.UID == 0
}

func (m *Mac) groupExists(name string) bool {
	if _, ok := m.st.Groups[name]; ok {
		return true
	}
	return isNumber(name)
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// newName gives the owner and group a new file gets when user creates it
// in real directory dir: BSD semantics, the group of the directory.
func (m *Mac) newOwner(user, dir string) (string, string) {
	g := "wheel"
	if d := m.st.Files[dir]; d != nil {
		g = d.Group
	}
	return user, g
}

// describe is used in error messages about nodes.
func describe(p string, n *Node) string {
	return fmt.Sprintf("%s (%s %04o %s:%s)", p, n.Type, uint32(n.Mode), n.Owner, n.Group)
}
