// Package tarcheck decides, in Go and before anything is extracted,
// whether a tar archive may be unpacked into a directory.
//
// The archive is read with archive/tar (gzip-compressed or not), never
// from a `tar -t` listing, so no entry name can confuse a parser. Every
// entry is then resolved in extraction order against the tree that the
// archive has built so far, following the archive's own symlinks the way
// the kernel would (physically: `..` after a link goes to the parent of
// the link's target), on a case-insensitive volume like APFS. An archive
// is refused when any entry is absolute or has a `..` component, lands
// outside the destination, is a symlink whose target is absolute or
// resolves outside the destination (now, or after a later entry changed
// what its path goes through), is a hard link to anything but a regular
// file the archive itself created earlier, is a device, FIFO or other
// special file, or carries a setuid or setgid bit.
//
// Both the real macOS backend and the fake macOS feed their entries to
// Check, so the decision is the same code for both.
package tarcheck

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Type is the kind of an archive entry.
type Type string

// Entry types. Other is any type hvfctl refuses (device, FIFO, …); its
// Entry.Raw names it.
const (
	File    Type = "file"
	Dir     Type = "dir"
	Symlink Type = "symlink"
	Hard    Type = "hardlink"
	Other   Type = "other"
)

// Entry is one archive member, as hvfctl decides on it.
type Entry struct {
	Name     string
	Type     Type
	Linkname string // symlink target or hard-link source, else ""
	Mode     int64  // permission and special bits (0o7777)
	Size     int64
	Raw      string // the tar type of an Other entry ("character device" …)
}

// Limits of an archive hvfctl decides on or extracts. They stop a
// decompression bomb while it is being read: a member past either limit
// is an error before its bytes are read.
const (
	// MaxEntries bounds the number of members.
	MaxEntries = 1 << 18
	// MaxTotalSize bounds the sum of the sizes of the regular members
	// (what extraction writes): 8 GiB, several times the largest
	// toolchain hvfctl installs.
	MaxTotalSize = 8 << 30
	// MaxSymlinks bounds the number of symlink members (each symlink is
	// re-resolved whenever the tree changes under it).
	MaxSymlinks = 4096
	// maxHops bounds symlinks crossed while resolving one path, as the
	// kernel's MAXSYMLINKS does.
	maxHops = 32
	// maxName bounds the length of a name or link target.
	maxName = 4096
)

// Member is one archive member as Walk reads it: its header, decided on
// like any Entry, its modification time and its bytes (regular files
// only; empty for every other type).
type Member struct {
	Entry
	ModTime time.Time
	Body    io.Reader
}

// Walk reads a tar archive, gzip-compressed or not (detected from its
// first bytes), and calls fn with every member in order. It stops at the
// first error of the archive or of fn, and refuses an archive with more
// than MaxEntries members or whose regular members add up to more than
// MaxTotalSize bytes before reading the member that crosses the limit.
func Walk(r io.Reader, fn func(Member) error) error {
	br := bufio.NewReader(r)
	var src io.Reader = br
	if magic, err := br.Peek(2); err == nil && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	tr := tar.NewReader(src)
	var n, total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading archive member %d: %w", n+1, err)
		}
		n++
		if n > MaxEntries {
			return fmt.Errorf("archive has more than %d members; hvfctl refuses it as a decompression bomb", MaxEntries)
		}
		e := fromHeader(h)
		if e.Size < 0 {
			return fmt.Errorf("archive member %d %s has a negative size", n, strconv.Quote(e.Name))
		}
		if e.Type == File {
			total += e.Size
			if total > MaxTotalSize {
				return fmt.Errorf("archive member %d %s: the archive's files add up to more than %d bytes; hvfctl refuses it as a decompression bomb", n, strconv.Quote(e.Name), int64(MaxTotalSize))
			}
		}
		m := Member{Entry: e, ModTime: h.ModTime, Body: tr}
		if e.Type != File {
			m.Body = strings.NewReader("")
		}
		if err := fn(m); err != nil {
			return err
		}
	}
	if n == 0 {
		return errors.New("archive has no members")
	}
	return nil
}

// Read reads every member header of a tar archive, gzip-compressed or
// not (detected from its first bytes), without extracting anything.
func Read(r io.Reader) ([]Entry, error) {
	var out []Entry
	err := Walk(r, func(m Member) error {
		out = append(out, m.Entry)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func fromHeader(h *tar.Header) Entry {
	e := Entry{Name: h.Name, Mode: h.Mode & 0o7777, Size: h.Size}
	switch h.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		e.Type = File
	case tar.TypeDir:
		e.Type = Dir
	case tar.TypeSymlink:
		e.Type, e.Linkname = Symlink, h.Linkname
	case tar.TypeLink:
		e.Type, e.Linkname = Hard, h.Linkname
	default:
		e.Type, e.Raw = Other, typeName(h.Typeflag)
	}
	return e
}

func typeName(f byte) string {
	switch f {
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	case tar.TypeCont:
		return "contiguous file"
	case tar.TypeGNUSparse:
		return "GNU sparse file"
	}
	return "type " + strconv.QuoteRune(rune(f))
}

// node is one path of the tree the archive builds.
type node struct {
	typ    Type
	target string // symlink target
	name   string // the entry name that created it (for messages)
}

// tree is what the archive has built so far under the destination,
// keyed by the case-folded canonical path ("" is the destination).
type tree struct {
	nodes    map[string]*node
	links    []string // keys of symlink nodes, in creation order
	asciiReq bool
}

// Check decides whether entries may be extracted into a destination; it
// returns the first reason to refuse, naming the entry. dest is only
// used in messages.
func Check(dest string, entries []Entry) error {
	if len(entries) == 0 {
		return errors.New("archive has no members")
	}
	if len(entries) > MaxEntries {
		return fmt.Errorf("archive has more than %d members; hvfctl refuses it as a decompression bomb", MaxEntries)
	}
	var total int64
	for i, e := range entries {
		if e.Size < 0 {
			return fmt.Errorf("archive member %d %s has a negative size", i+1, strconv.Quote(e.Name))
		}
		if e.Type == File {
			total += e.Size
			if total > MaxTotalSize {
				return fmt.Errorf("archive member %d %s: the archive's files add up to more than %d bytes; hvfctl refuses it as a decompression bomb", i+1, strconv.Quote(e.Name), int64(MaxTotalSize))
			}
		}
	}
	t := &tree{nodes: map[string]*node{"": {typ: Dir}}}
	for _, e := range entries {
		if e.Type == Symlink {
			t.asciiReq = true
		}
	}
	nlinks := 0
	for i, e := range entries {
		if err := t.add(e); err != nil {
			return fmt.Errorf("archive member %d %s: %w (destination %s)", i+1, strconv.Quote(e.Name), err, dest)
		}
		if e.Type == Symlink {
			nlinks++
			if nlinks > MaxSymlinks {
				return fmt.Errorf("archive has more than %d symlinks", MaxSymlinks)
			}
		}
	}
	return nil
}

func (t *tree) add(e Entry) error {
	if err := checkName("name", e.Name, t.asciiReq); err != nil {
		return err
	}
	if strings.HasPrefix(e.Name, "/") {
		return errors.New("is an absolute path")
	}
	for _, part := range strings.Split(e.Name, "/") {
		if part == ".." {
			return errors.New("has a .. component")
		}
	}
	switch e.Type {
	case File, Dir, Symlink, Hard:
	case Other:
		return fmt.Errorf("is a %s; only files, directories and links are extracted", e.Raw)
	default:
		return fmt.Errorf("has unknown type %q", e.Type)
	}
	if e.Mode&0o6000 != 0 {
		return fmt.Errorf("has the setuid or setgid bit (mode %04o)", e.Mode)
	}
	key, err := t.resolve(e.Name, false)
	if err != nil {
		return err
	}
	if key == "" {
		if e.Type != Dir {
			return errors.New("would replace the destination itself")
		}
		return nil
	}
	old := t.nodes[key]
	if old != nil && old.typ == Dir && e.Type != Dir {
		return fmt.Errorf("would replace the directory %s with a %s", strconv.Quote(old.name), e.Type)
	}
	n := &node{typ: e.Type, name: e.Name}
	switch e.Type {
	case Symlink:
		if err := checkName("link target", e.Linkname, t.asciiReq); err != nil {
			return err
		}
		if e.Linkname == "" {
			return errors.New("is a symlink with an empty target")
		}
		if strings.HasPrefix(e.Linkname, "/") {
			return fmt.Errorf("is a symlink to the absolute path %s, which points outside", strconv.Quote(e.Linkname))
		}
		n.target = e.Linkname
	case Hard:
		if err := checkName("hard-link source", e.Linkname, t.asciiReq); err != nil {
			return err
		}
		if strings.HasPrefix(e.Linkname, "/") {
			return fmt.Errorf("is a hard link to the absolute path %s, which points outside", strconv.Quote(e.Linkname))
		}
		for _, part := range strings.Split(e.Linkname, "/") {
			if part == ".." {
				return fmt.Errorf("is a hard link to %s, which has a .. component", strconv.Quote(e.Linkname))
			}
		}
		src, err := t.resolve(e.Linkname, false)
		if err != nil {
			return fmt.Errorf("hard-link source %s: %w", strconv.Quote(e.Linkname), err)
		}
		if s := t.nodes[src]; s == nil || s.typ != File {
			return fmt.Errorf("is a hard link to %s, which is not a regular file this archive created before it; it points outside", strconv.Quote(e.Linkname))
		}
		n.typ = File
	}
	changes := old != nil || e.Type == Symlink
	t.put(key, n)
	if changes {
		// A new link, or a path that now means something else, can
		// change where an earlier link leads: resolve them all again.
		for _, k := range t.links {
			l := t.nodes[k]
			if l == nil || l.typ != Symlink {
				continue
			}
			if _, err := t.resolveFrom(parentKey(k), l.target, true); err != nil {
				return fmt.Errorf("makes the symlink %s -> %s lead outside: %w", strconv.Quote(l.name), strconv.Quote(l.target), err)
			}
		}
	}
	return nil
}

func (t *tree) put(key string, n *node) {
	if old := t.nodes[key]; old != nil && old.typ == Dir {
		// A directory stays a directory (tar updates its mode).
		return
	}
	t.nodes[key] = n
	if n.typ == Symlink {
		t.links = append(t.links, key)
	}
	// Parents that did not exist become directories, as tar creates them.
	for p := parentKey(key); p != ""; p = parentKey(p) {
		if t.nodes[p] == nil {
			t.nodes[p] = &node{typ: Dir, name: p}
		}
	}
}

// resolve returns the canonical key of name: every symlink among its
// parents is followed, the last component only when follow is set.
func (t *tree) resolve(name string, follow bool) (string, error) {
	return t.resolveFrom("", name, follow)
}

// resolveFrom resolves the relative path p starting in directory base.
func (t *tree) resolveFrom(base, p string, follow bool) (string, error) {
	stack := splitKey(base)
	queue := components(p)
	hops := 0
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		last := len(queue) == 0
		if c == ".." {
			if len(stack) == 0 {
				return "", errors.New("leads outside the destination")
			}
			stack = stack[:len(stack)-1]
			continue
		}
		key := joinKey(append(stack, fold(c))...)
		n := t.nodes[key]
		switch {
		case n == nil:
			// Not (yet) in the archive: tar would create a directory
			// here, and the final component is what it names.
			stack = append(stack, fold(c))
		case n.typ == Symlink && (!last || follow):
			hops++
			if hops > maxHops {
				return "", errors.New("crosses too many symlinks")
			}
			if strings.HasPrefix(n.target, "/") {
				return "", fmt.Errorf("goes through the symlink %s to the absolute path %s", strconv.Quote(n.name), strconv.Quote(n.target))
			}
			queue = append(components(n.target), queue...)
		case n.typ != Dir && !last:
			return "", fmt.Errorf("goes through %s, which is not a directory", strconv.Quote(n.name))
		default:
			stack = append(stack, fold(c))
		}
	}
	return joinKey(stack...), nil
}

// components splits a relative path, dropping empty and "." parts.
func components(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

func splitKey(k string) []string {
	if k == "" {
		return nil
	}
	return strings.Split(k, "/")
}

func joinKey(parts ...string) string { return strings.Join(parts, "/") }

func parentKey(k string) string {
	i := strings.LastIndexByte(k, '/')
	if i < 0 {
		return ""
	}
	return k[:i]
}

// fold maps a name component to its case-folded form, as a
// case-insensitive volume compares names: every rune becomes the
// smallest rune of its simple case-folding orbit (so K, k and the Kelvin
// sign are one name, and so are S, s and ſ).
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < m {
				m = f
			}
		}
		b.WriteRune(m)
	}
	return b.String()
}

// checkName refuses names tar would mangle or the terminal would
// misshow: empty, too long, invalid UTF-8, control characters, and (in
// an archive that has symlinks) anything but ASCII, because Unicode
// normalization and full case folding on APFS could make two different
// strings name one path and hide a link from this check.
func checkName(what, s string, ascii bool) error {
	if s == "" && what == "name" {
		return errors.New("has an empty name")
	}
	if len(s) > maxName {
		return fmt.Errorf("%s is longer than %d bytes", what, maxName)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s is not valid UTF-8", what)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return fmt.Errorf("%s has the control character %U", what, r)
		}
		if ascii && r >= 0x80 {
			return fmt.Errorf("%s has the non-ASCII character %U in an archive with symlinks", what, r)
		}
	}
	return nil
}
