package fakemac

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/kauth"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// tar emulates bsdtar listing (-t[v][z]f) and extraction (-x[v][z]f
// ARCHIVE -C DIR) of archives whose entry lists the fake knows (§1.21).
func (m *Mac) tar(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) < 2 || !strings.HasPrefix(args[0], "-") {
		return unsupported(c, "only tar -t[v][z]f ARCHIVE and tar -x[v][z]f ARCHIVE -C DIR are emulated")
	}
	flags := args[0][1:]
	if !strings.HasSuffix(flags, "f") || strings.Trim(flags, "txvzf") != "" || strings.Count(flags, "t")+strings.Count(flags, "x") != 1 {
		return unsupported(c, "tar flags "+args[0])
	}
	list := strings.Contains(flags, "t")
	verbose := strings.Contains(flags, "v")
	archive := args[1]
	dir := c.dir
	switch {
	case list && len(args) == 2:
	case !list && len(args) == 4 && args[2] == "-C":
		dir = clean(c.dir, args[3])
	case !list && len(args) == 2:
	default:
		return unsupported(c, "tar operands after the archive (other than -C DIR for -x)")
	}
	_, n, err := m.lookup(c.user, clean(c.dir, archive), true)
	if err == nil && !m.may(c.user, n, 4) {
		err = fs.ErrPermission
	}
	if err != nil {
		c.errf("tar: Error opening archive: Failed to open '%s'\n", archive)
		return c.result(1)
	}
	entries, ok := m.st.Archives[n.Archive]
	if n.Type != TypeFile || !ok {
		c.errf("tar: Error opening archive: Unrecognized archive format\n")
		return c.result(1)
	}
	if list {
		m.listTar(c, entries, verbose)
		return c.result(0)
	}
	return m.extractTar(c, n.Archive, entries, dir, verbose)
}

// listTar prints entries the way bsdtar does (ls -l style with -v).
func (m *Mac) listTar(c *call, entries []TarEntry, verbose bool) {
	uw, gsw := 6, 13
	for _, e := range entries {
		if !verbose {
			c.outf("%s\n", e.Name)
			continue
		}
		n := &Node{Type: e.Type, Mode: e.Mode}
		mode := modeString(n) + " "
		user := e.UName
		if user == "" {
			user = strconv.Itoa(e.UID) + " "
		}
		uw = max(uw, len(user))
		group := e.GName
		if group == "" {
			group = strconv.Itoa(e.GID)
		}
		size := strconv.FormatInt(e.Size, 10)
		if e.Type != TypeFile {
			size = "0"
		}
		if len(group)+len(size) >= gsw {
			gsw = len(group) + len(size) + 1
		}
		tm := time.Unix(e.MTime, 0).UTC()
		date := tm.Format("Jan _2 15:04")
		if d := m.st.Clock - e.MTime; d < 0 || d > 365*24*3600/2 {
			date = tm.Format("Jan _2  2006")
		}
		name := e.Name
		if e.Type == TypeSymlink {
			name += " -> " + e.Target
		}
		c.outf("%s %d %-*s %s%*s %s %s\n", mode, 0, uw, user, group, gsw-len(group), size, date, name)
	}
}

// extractTar creates the entries under dir as the principal would.
func (m *Mac) extractTar(c *call, key string, entries []TarEntry, dir string, verbose bool) (host.Result, error) {
	realDir, dn, err := m.lookup(c.user, dir, true)
	if err != nil || dn.Type != TypeDir {
		c.errf("tar: could not chdir to '%s'\n", dir)
		return c.result(1)
	}
	exit := 0
	warnedAbs := false
	for _, e := range entries {
		name := e.Name
		if strings.HasPrefix(name, "/") {
			if !warnedAbs {
				c.errf("tar: Removing leading '/' from member names\n")
				warnedAbs = true
			}
			name = strings.TrimLeft(name, "/")
		}
		rel := path.Clean(name)
		if rel == "." {
			if verbose {
				c.errf("x %s\n", e.Name)
			}
			continue
		}
		bad := false
		for _, part := range strings.Split(rel, "/") {
			if part == ".." {
				bad = true
			}
		}
		if bad {
			c.errf("tar: %s: Path contains '..'\n", e.Name)
			exit = 1
			continue
		}
		if verbose {
			c.errf("x %s\n", e.Name)
		}
		dest := path.Join(realDir, rel)
		if msg := m.extractOne(c, key, e, realDir, dest); msg != "" {
			c.errf("tar: %s: %s\n", e.Name, msg)
			exit = 1
		}
	}
	if exit != 0 {
		c.errf("tar: Error exit delayed from previous errors.\n")
	}
	return c.result(exit)
}

func (m *Mac) extractOne(c *call, key string, e TarEntry, root, dest string) string {
	// bsdtar refuses to extract through a symlink and creates missing
	// parent directories.
	rel := strings.TrimPrefix(dest, root+"/")
	parts := strings.Split(rel, "/")
	cur := root
	for _, part := range parts[:len(parts)-1] {
		cur = path.Join(cur, part)
		n := m.st.Files[cur]
		switch {
		case n == nil:
			if !m.canCreateIn(c.user, path.Dir(cur)) {
				return "Can't create '" + cur + "': Permission denied"
			}
			owner, group := m.newOwner(c.user, path.Dir(cur))
			m.put(cur, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: group})
		case n.Type == TypeSymlink:
			return "Cannot extract through symlink " + cur
		case n.Type != TypeDir:
			return "Can't create '" + cur + "': Not a directory"
		}
	}
	parent := path.Dir(dest)
	if !m.canCreateIn(c.user, parent) {
		return "Can't create '" + dest + "': Permission denied"
	}
	mode := e.Mode
	owner, group := m.newOwner(c.user, parent)
	if c.user == host.Root {
		// Root restores the archive's owners (by name when known, else
		// by number) and exact modes.
		owner, group = e.UName, e.GName
		if _, ok := m.st.Users[owner]; !ok {
			owner = strconv.Itoa(e.UID)
		}
		if _, ok := m.st.Groups[group]; !ok {
			group = strconv.Itoa(e.GID)
		}
	} else {
		mode &^= 0o22 | 0o6000
	}
	old := m.st.Files[dest]
	if old != nil && old.Type == TypeDir {
		if e.Type == TypeDir {
			if c.user == host.Root || old.Owner == c.user {
				old.Mode = mode
			}
			return ""
		}
		return "Can't replace existing directory with non-directory"
	}
	if old != nil {
		m.removeTree(dest)
	}
	n := &Node{Type: e.Type, Mode: mode, Owner: owner, Group: group, MTime: e.MTime}
	switch e.Type {
	case TypeFile:
		if e.Size > m.st.Disk.FreeBytes {
			return "Write failed: No space left on device"
		}
		n.Size, n.SHA256 = e.Size, synthSum(key, e.Name)
	case TypeSymlink:
		n.Target = e.Target
		n.Mode = 0o755
	case TypeDir:
	default:
		return fmt.Sprintf("unsupported entry type %q", e.Type)
	}
	m.put(dest, n)
	return ""
}

// ListArchive implements host.Host: the member headers of an archive the
// fake knows, in the form tarcheck decides on (the real backend reads
// them from the archive's bytes). A scripted reply for `<tar-list> PATH`
// with a non-zero exit fails it.
func (m *Mac) ListArchive(ctx context.Context, p string) ([]tarcheck.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted([]string{host.OpTarList, p}); ok {
		if err := scriptedErr("tar-list "+p, r); err != nil {
			return nil, err
		}
		// A recorded reply (`--record`) holds the members as JSON.
		if strings.HasPrefix(r.Stdout, "[") {
			var es []tarcheck.Entry
			if err := json.Unmarshal([]byte(r.Stdout), &es); err != nil {
				return nil, fmt.Errorf("tar-list %s: the recorded members are not valid: %w", p, err)
			}
			return es, nil
		}
	}
	_, n, err := m.lookup(host.Root, p, true)
	if err != nil {
		return nil, fmt.Errorf("tar-list %s: %w", p, err)
	}
	if n.Type != TypeFile {
		return nil, fmt.Errorf("tar-list %s is not a regular file", p)
	}
	entries, ok := m.st.Archives[n.Archive]
	if !ok {
		return nil, fmt.Errorf("tar-list %s: Unrecognized archive format", p)
	}
	out := checkEntries(entries)
	if len(out) == 0 {
		return nil, fmt.Errorf("tar-list %s: archive has no members", p)
	}
	return out, nil
}

// checkEntries converts modelled members to the form tarcheck decides on.
func checkEntries(entries []TarEntry) []tarcheck.Entry {
	out := make([]tarcheck.Entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, checkEntry(e))
	}
	return out
}

func checkEntry(e TarEntry) tarcheck.Entry {
	te := tarcheck.Entry{Name: e.Name, Mode: int64(e.Mode) & 0o7777, Size: e.Size}
	switch e.Type {
	case TypeFile:
		te.Type = tarcheck.File
	case TypeDir:
		te.Type = tarcheck.Dir
	case TypeSymlink:
		te.Type, te.Linkname = tarcheck.Symlink, e.Target
	case "hardlink":
		te.Type, te.Linkname = tarcheck.Hard, e.Target
	default:
		te.Type, te.Raw = tarcheck.Other, e.Type
	}
	return te
}

// fakeMember is one member the fake extracts: its header and, for an
// archive whose real bytes the fake holds, its content.
type fakeMember struct {
	tarcheck.Entry
	mtime   int64
	content *string
}

// archiveMembers returns the members of the archive file n: the
// modelled entry list its Archive key names, or, for a file whose bytes
// the fake holds (a download table entry with content), the members
// read from those bytes with tarcheck.Walk, as the real backend reads
// them.
func (m *Mac) archiveMembers(n *Node) ([]fakeMember, error) {
	if entries, ok := m.st.Archives[n.Archive]; ok && n.Archive != "" {
		out := make([]fakeMember, 0, len(entries))
		for _, e := range entries {
			out = append(out, fakeMember{Entry: checkEntry(e), mtime: e.MTime})
		}
		return out, nil
	}
	if n.Content == nil {
		return nil, errors.New("Unrecognized archive format")
	}
	var out []fakeMember
	err := tarcheck.Walk(strings.NewReader(*n.Content), func(mb tarcheck.Member) error {
		b, err := io.ReadAll(mb.Body)
		if err != nil {
			return err
		}
		fm := fakeMember{Entry: mb.Entry, mtime: mb.ModTime.Unix()}
		if mb.Type == tarcheck.File {
			fm.content = text(string(b))
		}
		out = append(out, fm)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ExtractArchive implements host.Host with the rules of the real backend
// (builtins/darwin ExtractArchive) on the model: the archive is opened
// as root (trusted links only) and must be root's, writable by no one
// else; its SHA-256 must match the pin when one is given; every member
// is decided on by tarcheck.Check before anything is created; the
// destination must be a directory only root can change; each member is
// then created without crossing any symlink (one the destination held or
// the archive made is an error), an existing entry is replaced (never
// followed), an existing directory is never replaced by a non-directory,
// and every directory the extraction enters becomes root's without
// group/other write. Entries are root:wheel with the archive's mode less
// setuid, setgid, sticky and group/other write. A scripted reply for
// `<tar-extract> ARCHIVE DEST` with a non-zero exit fails it before
// anything is created. The SetBeforeRun hook runs first, as for a
// command.
func (m *Mac) ExtractArchive(ctx context.Context, req host.ExtractRequest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fakemac: %w", err)
	}
	argv := host.ExtractArgv(req)
	m.mu.Lock()
	hook := m.beforeRun
	m.mu.Unlock()
	if hook != nil {
		hook(host.Command{Argv: argv, User: host.Root})
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted(argv); ok {
		if err := scriptedErr("tar-extract "+req.Archive, r); err != nil {
			return err
		}
	}
	_, n, err := m.rootOpen(req.Archive)
	if err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	switch {
	case !m.superuser(n.Owner):
		return fmt.Errorf("tar-extract %s: the archive is owned by %s: root extracts only an archive that only root can change", req.Archive, n.Owner)
	case n.Mode&0o022 != 0:
		return fmt.Errorf("tar-extract %s: the archive has mode %04o: root extracts only an archive that only root can change", req.Archive, uint32(n.Mode))
	}
	if req.SHA256 != "" && n.sum() != req.SHA256 {
		return fmt.Errorf("tar-extract %s: %w: its SHA-256 is %s, pinned %s; nothing was extracted", req.Archive, host.ErrChecksum, n.sum(), req.SHA256)
	}
	members, err := m.archiveMembers(n)
	if err != nil {
		return fmt.Errorf("tar-extract %s: %w", req.Archive, err)
	}
	es := make([]tarcheck.Entry, len(members))
	for i, mb := range members {
		es[i] = mb.Entry
	}
	if err := tarcheck.Check(req.Dest, es); err != nil {
		return fmt.Errorf("refusing to extract %s: %w", req.Archive, err)
	}
	dest, err := m.rootDir(req.Dest)
	if err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	if dn := m.st.Files[dest]; !m.superuser(dn.Owner) || dn.Mode&0o022 != 0 {
		return fmt.Errorf("tar-extract: %s is owned by %s with mode %04o: root extracts only into a directory that only root can change", req.Dest, dn.Owner, uint32(dn.Mode))
	}
	x := &fakeExtraction{m: m, key: n.Archive, dest: dest, shown: req.Dest, files: map[string]*Node{}}
	if err := x.aclCheck(m.st.Files[dest], req.Dest); err != nil {
		return fmt.Errorf("tar-extract: %w", err)
	}
	for i, mb := range members {
		if err := x.member(mb); err != nil {
			return fmt.Errorf("tar-extract %s into %s: archive member %d %s: %w", req.Archive, req.Dest, i+1, strconv.Quote(mb.Name), err)
		}
	}
	return nil
}

// fakeExtraction is one ExtractArchive on the model.
type fakeExtraction struct {
	m           *Mac
	key         string // the archive's key (synthetic sums of its files)
	dest, shown string // real path of the destination, and as named
	files       map[string]*Node
}

// extractedMode is the mode an extracted entry gets.
func extractedMode(mode int64) Mode { return Mode(mode) & 0o7777 &^ 0o7022 }

// own makes the directory n (shown as shown) root's and not writable by
// group or other, as the real backend does to every directory the
// extraction enters; one whose ACL lets another account change it is
// refused (see aclCheck).
func (x *fakeExtraction) own(n *Node, shown string) error {
	if err := x.aclCheck(n, shown); err != nil {
		return err
	}
	if !x.m.superuser(n.Owner) {
		n.Owner, n.Group = "root", "wheel"
	}
	n.Mode &^= 0o022
	return nil
}

// aclCheck refuses a directory whose ACL grants an account other than
// root or wheel a right that changes its entries or what root creates
// there (the real backend's aclWriteCheck).
func (x *fakeExtraction) aclCheck(n *Node, shown string) error {
	aces, err := x.m.aces(n.ACL)
	if err != nil {
		return fmt.Errorf("%s: %w", shown, err)
	}
	allow := kauth.Allowed(aces, true)
	for _, r := range strings.Split(allow, ",") {
		switch r {
		case "add_file", "add_subdirectory", "delete_child", "writesecurity", "chown", "writeattr", "writeextattr":
			return fmt.Errorf("%s has an ACL entry allowing %s to another account: root does not extract into it (remove the entry with chmod -N)", shown, allow)
		}
	}
	return nil
}

// parents returns the real path of the directory comps under the
// destination, creating missing ones and crossing no symlink.
func (x *fakeExtraction) parents(comps []string, create bool) (string, error) {
	cur := x.dest
	for i, c := range comps {
		cur = path.Join(cur, c)
		shown := path.Join(append([]string{x.shown}, comps[:i+1]...)...)
		n := x.m.st.Files[cur]
		switch {
		case n == nil && create:
			x.m.put(cur, &Node{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel"})
		case n == nil:
			return "", fmt.Errorf("%s: %w", shown, fs.ErrNotExist)
		case n.Type == TypeSymlink:
			return "", fmt.Errorf("cannot extract through the symlink %s", shown)
		case n.Type != TypeDir:
			return "", fmt.Errorf("%s is a %s, not a directory", shown, fileType(n))
		case create:
			if err := x.own(n, shown); err != nil {
				return "", err
			}
		}
	}
	return cur, nil
}

func (x *fakeExtraction) member(mb fakeMember) error {
	comps := splitParts(mb.Name)
	if len(comps) == 0 {
		return nil // the destination itself keeps its owner and mode
	}
	key := strings.Join(comps, "/")
	parent, err := x.parents(comps[:len(comps)-1], true)
	if err != nil {
		return err
	}
	p := path.Join(parent, comps[len(comps)-1])
	shown := path.Join(append([]string{x.shown}, comps...)...)
	old := x.m.st.Files[p]
	if old != nil && old.Type == TypeDir && mb.Type != tarcheck.Dir {
		return fmt.Errorf("%s is a directory; it is not replaced by a %s", shown, mb.Type)
	}
	if old != nil && old.Type != TypeDir {
		x.m.removeTree(p)
	}
	delete(x.files, key)
	mode := extractedMode(mb.Mode)
	switch mb.Type {
	case tarcheck.Dir:
		if old != nil && old.Type == TypeDir {
			if err := x.own(old, shown); err != nil {
				return err
			}
			old.Mode = mode
			return nil
		}
		x.m.put(p, &Node{Type: TypeDir, Mode: mode, Owner: "root", Group: "wheel", MTime: mb.mtime})
	case tarcheck.File:
		n := &Node{Type: TypeFile, Mode: mode, Owner: "root", Group: "wheel", MTime: mb.mtime}
		if mb.content != nil {
			n.Content = mb.content
		} else {
			n.Size, n.SHA256 = mb.Size, synthSum(x.key, mb.Name)
		}
		if n.size() > x.m.st.Disk.FreeBytes {
			return fmt.Errorf("write %s: No space left on device", shown)
		}
		x.m.put(p, n)
		x.files[key] = n
	case tarcheck.Symlink:
		x.m.put(p, &Node{Type: TypeSymlink, Target: mb.Linkname, Mode: 0o755, Owner: "root", Group: "wheel", MTime: mb.mtime})
	case tarcheck.Hard:
		src := splitParts(mb.Linkname)
		n := x.files[strings.Join(src, "/")]
		if n == nil || len(src) == 0 {
			return fmt.Errorf("%s: a hard link to %s, which is not a regular file this extraction created", shown, strconv.Quote(mb.Linkname))
		}
		sp, err := x.parents(src[:len(src)-1], false)
		if err != nil {
			return err
		}
		from := path.Join(sp, src[len(src)-1])
		if x.m.st.Files[from] != n {
			return fmt.Errorf("%s: the hard-link source %s is no longer the file this extraction created", shown, strconv.Quote(mb.Linkname))
		}
		if err := x.m.hardLink(from, p); err != nil {
			return fmt.Errorf("link %s: %w", shown, err)
		}
		x.files[key] = n
	default:
		return fmt.Errorf("is a %s; only files, directories and links are extracted", mb.Type)
	}
	return nil
}
