package fixturelock

import "fmt"

// Delta is what changed between two manifests.
type Delta struct {
	// Added lists paths only in the new manifest, Removed paths only in
	// the old one (raw paths, sorted).
	Added   []Entry
	Removed []Entry
	// Changed lists paths in both whose entries differ.
	Changed []Change
}

// Empty reports whether the two manifests describe the same tree.
func (d Delta) Empty() bool { return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Changed) == 0 }

// Diff compares an old manifest a with a new one b.
func Diff(a, b *Manifest) Delta {
	var d Delta
	i, j := 0, 0
	for i < len(a.Entries) || j < len(b.Entries) {
		switch {
		case j >= len(b.Entries) || (i < len(a.Entries) && a.Entries[i].Path < b.Entries[j].Path):
			d.Removed = append(d.Removed, a.Entries[i])
			i++
		case i >= len(a.Entries) || b.Entries[j].Path < a.Entries[i].Path:
			d.Added = append(d.Added, b.Entries[j])
			j++
		default:
			if reason := entryDelta(a.Entries[i], b.Entries[j]); reason != "" {
				d.Changed = append(d.Changed, Change{Path: a.Entries[i].Path, Reason: reason})
			}
			i++
			j++
		}
	}
	return d
}

// entryDelta says how entry x became y, or "" when they are equal.
func entryDelta(x, y Entry) string {
	switch {
	case x.Type != y.Type:
		return fmt.Sprintf("%s → %s", x.Type, y.Type)
	case x.Type == TypeLink:
		if x.Target != y.Target {
			return fmt.Sprintf("link target %s → %s", Escape(x.Target), Escape(y.Target))
		}
	case x.Size != y.Size:
		return fmt.Sprintf("size %d → %d, sha256 %s → %s", x.Size, y.Size, x.SHA256, y.SHA256)
	case x.SHA256 != y.SHA256:
		return fmt.Sprintf("sha256 %s → %s", x.SHA256, y.SHA256)
	}
	return ""
}
