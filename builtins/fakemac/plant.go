package fakemac

import (
	"fmt"
	"path"
	"sort"
	"strings"
)

// Planting is what a CI job running as the runner account can leave at a
// path it may write, for the hostile-runner battery: a symlink to a
// root-owned file or directory, a FIFO, a hard link to a root-owned file,
// or the other type (a file where a directory was, or the reverse).
type Planting string

// The plantings of the hostile-runner battery.
const (
	PlantLinkToRootFile Planting = "symlink-to-root-file"
	PlantLinkToRootDir  Planting = "symlink-to-root-dir"
	PlantFIFO           Planting = "fifo"
	PlantHardLink       Planting = "hardlink-to-root-file"
	PlantSwap           Planting = "file-dir-swap"
	// PlantHardLinkToRootLink is a hard link to a root-owned symlink
	// (linkat without AT_SYMLINK_FOLLOW): the alias is owned by root, and
	// in a sticky directory (/tmp, /var/tmp) it looks like a link root
	// made there.
	PlantHardLinkToRootLink Planting = "hardlink-to-root-symlink"
)

// Plantings lists every Planting, in a fixed order.
var Plantings = []Planting{PlantLinkToRootFile, PlantLinkToRootDir, PlantFIFO, PlantHardLink, PlantSwap, PlantHardLinkToRootLink}

// RootTargets are the root-owned objects a planting points at: a file
// only root may read and write, and a directory whose entries launchd
// runs as root. Plant creates the file when the Mac lacks it.
const (
	RootFile = "/private/etc/sudoers"
	RootDir  = "/Library/LaunchDaemons"
	// RootLink is a root-owned symlink to RootDir in a directory only
	// root can change, standing for any such link on the data volume
	// (macOS has /private/var/select/sh, Xcode's selection link, ...).
	RootLink = "/private/var/select/hvfctl-battery-link"
)

// WritableBy reports whether user may create, replace or remove the entry
// p, i.e. may write its parent directory (p's parent is resolved, p itself
// is not).
func (m *Mac) WritableBy(user, p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	real, err := m.resolve(user, path.Dir(p), true)
	if err != nil {
		return false
	}
	return m.canCreateIn(user, real)
}

// PlantableBy reports whether user may put something of its own at p:
// WritableBy, and, in a sticky directory (/tmp), p is missing or already
// user's (only an entry's owner may rename or remove it there).
func (m *Mac) PlantableBy(user, p string) bool {
	if !m.WritableBy(user, p) {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	real, err := m.resolve(user, path.Dir(p), true)
	if err != nil {
		return false
	}
	if d := m.st.Files[real]; d.Mode&0o1000 == 0 {
		return true
	}
	n := m.st.Files[path.Join(real, path.Base(p))]
	return n == nil || m.canonicalUser(n.Owner) == m.canonicalUser(user)
}

// Plant replaces whatever is at p with kind, made by user (the runner
// account), as a CI job would between two runs. The parent of p must
// exist.
func (m *Mac) Plant(p string, kind Planting, user string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ensureRootTargets()
	parent, err := m.resolve(user, path.Dir(p), true)
	if err != nil {
		return fmt.Errorf("plant %s: %w", p, err)
	}
	real := path.Join(parent, path.Base(p))
	old := m.st.Files[real]
	m.removeTree(real)
	group := "staff"
	switch kind {
	case PlantLinkToRootFile:
		m.put(real, &Node{Type: TypeSymlink, Mode: 0o755, Owner: user, Group: group, Target: RootFile})
	case PlantLinkToRootDir:
		m.put(real, &Node{Type: TypeSymlink, Mode: 0o755, Owner: user, Group: group, Target: RootDir})
	case PlantFIFO:
		m.put(real, &Node{Type: TypeFIFO, Mode: 0o644, Owner: user, Group: group})
	case PlantHardLink:
		if err := m.hardLink(RootFile, real); err != nil {
			return fmt.Errorf("plant %s: %w", p, err)
		}
	case PlantHardLinkToRootLink:
		if err := m.hardLink(RootLink, real); err != nil {
			return fmt.Errorf("plant %s: %w", p, err)
		}
	case PlantSwap:
		if old != nil && old.Type == TypeDir {
			m.put(real, &Node{Type: TypeFile, Mode: 0o644, Owner: user, Group: group, Content: text("planted\n")})
		} else {
			m.put(real, &Node{Type: TypeDir, Mode: 0o755, Owner: user, Group: group})
			m.put(real+"/planted", &Node{Type: TypeFile, Mode: 0o644, Owner: user, Group: group, Content: text("planted\n")})
		}
	default:
		return fmt.Errorf("plant %s: unknown planting %q", p, kind)
	}
	return nil
}

// EnsureRootTargets creates RootFile and RootLink when the Mac lacks them, as Plant
// does, so that a battery can take its "before" picture with the
// planting's targets already there.
func (m *Mac) EnsureRootTargets() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ensureRootTargets()
}

func (m *Mac) ensureRootTargets() {
	if m.st.Files[RootFile] == nil {
		m.mkdirAll(path.Dir(RootFile), 0o755, "root", "wheel")
		m.put(RootFile, &Node{Type: TypeFile, Mode: 0o440, Owner: "root", Group: "wheel", Content: text("root ALL = (ALL) ALL\n%admin ALL = (ALL) ALL\n")})
	}
	if m.st.Files[RootLink] == nil {
		m.mkdirAll(path.Dir(RootLink), 0o755, "root", "wheel")
		m.put(RootLink, &Node{Type: TypeSymlink, Mode: 0o755, Owner: "root", Group: "wheel", Target: RootDir})
	}
}

// RootObject is what the battery compares of a root-owned object.
type RootObject struct {
	Type, Owner, Group, Mode, Target, Sum string
}

// RootOwned returns every object owned by uid 0, by path, as the
// battery compares them: type, owner, group, mode, symlink target and
// content hash.
func (m *Mac) RootOwned() map[string]RootObject {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]RootObject{}
	for p, n := range m.st.Files {
		if !m.superuser(n.Owner) {
			continue
		}
		sum := ""
		if n.Type == TypeFile {
			sum = n.sum()
		}
		out[p] = RootObject{Type: n.Type, Owner: n.Owner, Group: n.Group, Mode: fmt.Sprintf("%04o", uint32(n.Mode)), Target: n.Target, Sum: sum}
	}
	return out
}

// Paths lists every path of the file table, sorted.
func (m *Mac) Paths() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.st.Files))
	for p := range m.st.Files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// Contains reports whether any file's content holds s (a secret that
// must never be written anywhere).
func (m *Mac) Contains(s string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for p, n := range m.st.Files {
		if n.Content != nil && strings.Contains(*n.Content, s) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}
