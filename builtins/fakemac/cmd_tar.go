package fakemac

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
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
	out := make([]tarcheck.Entry, 0, len(entries))
	for _, e := range entries {
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
		out = append(out, te)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("tar-list %s: archive has no members", p)
	}
	return out, nil
}
