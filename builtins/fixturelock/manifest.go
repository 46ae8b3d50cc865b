// Package fixturelock makes a fixture tree verifiable: it records every
// regular file of a directory (relative path, size, SHA-256) and every
// symbolic link (its target, never followed) in a plain-text manifest, and
// later checks a tree against that manifest, hashing files in parallel.
//
// # Manifest format (version 1)
//
// A manifest is ASCII text made of newline-terminated lines:
//
//	hvfctl-fixtures v1
//	f 4194304 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 alpine/apk-tools.apk
//	l alpine/apk-tools.apk alpine/latest.apk
//
// The first line is the header naming the format and its version. Every
// other line is one entry, its fields separated by exactly one space:
//
//	f SIZE SHA256 PATH    a regular file: decimal size in bytes, 64
//	                      lower-case hex digits, then its path
//	l TARGET PATH         a symbolic link: the link's target as stored
//	                      (never resolved), then its path
//
// PATH is relative to the tree's root with "/" separators, no empty, "."
// or ".." component and no leading or trailing "/". Entries are sorted by
// the bytes of PATH and no PATH appears twice. Directories are not
// recorded (an empty directory is not part of a fixture set).
//
// PATH and TARGET are escaped so that any byte of a name is representable:
// every byte outside the printable ASCII range 0x21–0x7E, and the bytes
// '%' and '\', is written as '%' followed by two upper-case hex digits
// (a space is %20, a newline %0A). Any other byte stands for itself and
// may not be escaped, so that a tree has exactly one manifest text.
//
// There are no comments and no blank lines. A line that breaks any of
// these rules makes the whole manifest invalid: Parse reports the line
// number, and a malformed manifest never verifies.
package fixturelock

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Header is the first line of every version-1 manifest.
const Header = "hvfctl-fixtures v1"

// DefaultName is the file name of the manifest inside the tree it
// describes, used when no other place is given.
const DefaultName = ".hvfctl-fixtures.lock"

// maxLine bounds one manifest line: two escaped paths of PATH_MAX (1024 on
// macOS, 4096 on Linux) bytes at three characters per byte, plus fields.
const maxLine = 2*3*4096 + 128

// Type is the kind of a manifest entry.
type Type byte

const (
	// TypeFile is a regular file, recorded with its size and SHA-256.
	TypeFile Type = 'f'
	// TypeLink is a symbolic link, recorded with its target.
	TypeLink Type = 'l'
)

// String names the type for reports.
func (t Type) String() string {
	switch t {
	case TypeFile:
		return "file"
	case TypeLink:
		return "link"
	default:
		return fmt.Sprintf("type %q", byte(t))
	}
}

// Entry is one line of a manifest.
type Entry struct {
	// Path is the raw (unescaped) path relative to the tree's root.
	Path string
	// Type says whether the entry is a file or a link.
	Type Type
	// Size is the file's size in bytes (files only).
	Size int64
	// SHA256 is the file's lower-case hex digest (files only).
	SHA256 string
	// Target is the raw link target (links only).
	Target string
}

// Manifest is a parsed manifest: its entries sorted by Path.
type Manifest struct {
	Entries []Entry
}

// ParseError is a malformed manifest line.
type ParseError struct {
	// Name is the manifest's file name (may be empty).
	Name string
	// Line is the 1-based line number.
	Line int
	// Msg says what is wrong.
	Msg string
}

// Error implements error as "NAME:LINE: MSG".
func (e *ParseError) Error() string {
	name := e.Name
	if name == "" {
		name = "manifest"
	}
	return fmt.Sprintf("%s:%d: %s", name, e.Line, e.Msg)
}

// Parse reads a manifest. name is used in error messages only. Any
// malformed line is an error naming its line number.
func Parse(r io.Reader, name string) (*Manifest, error) {
	br := bufio.NewReaderSize(r, 64*1024)
	m := &Manifest{}
	lineNo := 0
	var prev string
	for {
		line, err := readLine(br)
		if err == io.EOF {
			break
		}
		lineNo++
		perr := func(format string, args ...any) error {
			return &ParseError{Name: name, Line: lineNo, Msg: fmt.Sprintf(format, args...)}
		}
		if err != nil {
			if errors.Is(err, errLineTooLong) || errors.Is(err, errNoNewline) {
				return nil, perr("%v", err)
			}
			return nil, fmt.Errorf("read %s: %w", displayName(name), err)
		}
		if lineNo == 1 {
			if line != Header {
				if strings.HasPrefix(line, "hvfctl-fixtures ") {
					return nil, perr("unsupported manifest version %q (this hvfctl reads %q)", line, Header)
				}
				return nil, perr("not an hvfctl fixtures manifest: the first line must be %q", Header)
			}
			continue
		}
		e, msg := parseEntry(line)
		if msg != "" {
			return nil, perr("%s", msg)
		}
		if len(m.Entries) > 0 {
			switch {
			case e.Path == prev:
				return nil, perr("duplicate path %s", Escape(e.Path))
			case e.Path < prev:
				return nil, perr("path %s is out of order (entries are sorted by path)", Escape(e.Path))
			}
		}
		if err := checkNotUnderEntry(m, e.Path); err != "" {
			return nil, perr("%s", err)
		}
		prev = e.Path
		m.Entries = append(m.Entries, e)
	}
	if lineNo == 0 {
		return nil, &ParseError{Name: name, Line: 1, Msg: fmt.Sprintf("empty manifest: the first line must be %q", Header)}
	}
	return m, nil
}

// checkNotUnderEntry rejects a path below an earlier file or link entry
// (a/b after a): sorted order does not put them next to each other when
// a sibling such as "a-x" sorts between them.
func checkNotUnderEntry(m *Manifest, p string) string {
	for i := strings.LastIndexByte(p, '/'); i > 0; i = strings.LastIndexByte(p[:i], '/') {
		if _, ok := m.lookup(p[:i]); ok {
			return fmt.Sprintf("path %s lies inside %s, which is not a directory", Escape(p), Escape(p[:i]))
		}
	}
	return ""
}

var (
	errLineTooLong = errors.New("line too long")
	errNoNewline   = errors.New("last line does not end with a newline")
)

// readLine returns one line without its newline. A final line without a
// newline is an error: a truncated manifest must not pass.
func readLine(br *bufio.Reader) (string, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxLine {
			return "", errLineTooLong
		}
		switch {
		case err == nil:
			return string(buf[:len(buf)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			if len(buf) == 0 {
				return "", io.EOF
			}
			return "", errNoNewline
		default:
			return "", err
		}
	}
}

func parseEntry(line string) (Entry, string) {
	if line == "" {
		return Entry{}, "empty line"
	}
	fields := strings.Split(line, " ")
	switch fields[0] {
	case "f":
		if len(fields) != 4 {
			return Entry{}, fmt.Sprintf("a file entry has 4 fields (f SIZE SHA256 PATH), found %d", len(fields))
		}
		size, msg := parseSize(fields[1])
		if msg != "" {
			return Entry{}, msg
		}
		if !isHexDigest(fields[2]) {
			return Entry{}, fmt.Sprintf("bad SHA-256 %q: want 64 lower-case hex digits", clip(fields[2]))
		}
		p, msg := parsePath(fields[3])
		if msg != "" {
			return Entry{}, msg
		}
		return Entry{Path: p, Type: TypeFile, Size: size, SHA256: fields[2]}, ""
	case "l":
		if len(fields) != 3 {
			return Entry{}, fmt.Sprintf("a link entry has 3 fields (l TARGET PATH), found %d", len(fields))
		}
		target, err := Unescape(fields[1])
		if err != nil {
			return Entry{}, fmt.Sprintf("link target: %v", err)
		}
		if target == "" {
			return Entry{}, "empty link target"
		}
		p, msg := parsePath(fields[2])
		if msg != "" {
			return Entry{}, msg
		}
		return Entry{Path: p, Type: TypeLink, Target: target}, ""
	default:
		return Entry{}, fmt.Sprintf("unknown entry type %q (want f or l)", clip(fields[0]))
	}
}

func parseSize(s string) (int64, string) {
	if s == "" || (len(s) > 1 && s[0] == '0') {
		return 0, fmt.Sprintf("bad size %q: want a decimal number without leading zeros", clip(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Sprintf("bad size %q: want a decimal number without leading zeros", clip(s))
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Sprintf("bad size %q: out of range", clip(s))
	}
	return n, ""
}

func parsePath(field string) (string, string) {
	p, err := Unescape(field)
	if err != nil {
		return "", fmt.Sprintf("path: %v", err)
	}
	if msg := checkPath(p); msg != "" {
		return "", fmt.Sprintf("path %s: %s", field, msg)
	}
	return p, ""
}

// checkPath says what is wrong with a relative manifest path, or "".
func checkPath(p string) string {
	if p == "" {
		return "empty"
	}
	if p[0] == '/' {
		return "absolute (paths are relative to the tree)"
	}
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "":
			return "has an empty component"
		case ".", "..":
			return fmt.Sprintf("has a %q component", c)
		}
		if strings.IndexByte(c, 0) >= 0 {
			return "contains a NUL byte"
		}
	}
	return ""
}

func isHexDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func displayName(name string) string {
	if name == "" {
		return "manifest"
	}
	return name
}

// Escape returns the manifest form of a raw path or link target (see the
// package documentation).
func Escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func needsEscape(c byte) bool { return c < 0x21 || c > 0x7e || c == '%' || c == '\\' }

// Unescape reverses Escape. It rejects an incomplete or lower-case escape,
// an escape of a byte that must stand for itself, and a raw byte that must
// be escaped, so that every name has exactly one manifest form.
func Unescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 {
		for i := 0; i < len(s); i++ {
			if needsEscape(s[i]) {
				return "", fmt.Errorf("byte 0x%02X at offset %d must be escaped", s[i], i)
			}
		}
		return s, nil
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			if needsEscape(c) {
				return "", fmt.Errorf("byte 0x%02X at offset %d must be escaped", c, i)
			}
			b.WriteByte(c)
			continue
		}
		if i+2 >= len(s) {
			return "", fmt.Errorf("incomplete escape at offset %d", i)
		}
		hi, ok1 := upperHex(s[i+1])
		lo, ok2 := upperHex(s[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("bad escape %q at offset %d: want %%XX with upper-case hex digits", s[i:i+3], i)
		}
		v := hi<<4 | lo
		if !needsEscape(v) {
			return "", fmt.Errorf("escape %q at offset %d stands for %q, which must be written as itself", s[i:i+3], i, rune(v))
		}
		b.WriteByte(v)
		i += 2
	}
	return b.String(), nil
}

func upperHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Marshal returns the manifest's text. The entries must be valid and
// sorted (as Lock and Parse produce them); Marshal checks and says which
// entry is wrong otherwise.
func (m *Manifest) Marshal() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(Header)
	b.WriteByte('\n')
	for i, e := range m.Entries {
		if msg := checkPath(e.Path); msg != "" {
			return nil, fmt.Errorf("entry %d: path %s: %s", i, Escape(e.Path), msg)
		}
		if i > 0 && e.Path <= m.Entries[i-1].Path {
			return nil, fmt.Errorf("entry %d: path %s is duplicate or out of order", i, Escape(e.Path))
		}
		switch e.Type {
		case TypeFile:
			if e.Size < 0 || !isHexDigest(e.SHA256) {
				return nil, fmt.Errorf("entry %s: bad size or SHA-256", Escape(e.Path))
			}
			fmt.Fprintf(&b, "f %d %s %s\n", e.Size, e.SHA256, Escape(e.Path))
		case TypeLink:
			if e.Target == "" {
				return nil, fmt.Errorf("entry %s: empty link target", Escape(e.Path))
			}
			fmt.Fprintf(&b, "l %s %s\n", Escape(e.Target), Escape(e.Path))
		default:
			return nil, fmt.Errorf("entry %s: unknown %v", Escape(e.Path), e.Type)
		}
	}
	return b.Bytes(), nil
}

// lookup finds an entry by raw path (binary search; entries are sorted).
func (m *Manifest) lookup(p string) (Entry, bool) {
	lo, hi := 0, len(m.Entries)
	for lo < hi {
		mid := (lo + hi) / 2
		if m.Entries[mid].Path < p {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo < len(m.Entries) && m.Entries[lo].Path == p {
		return m.Entries[lo], true
	}
	return Entry{}, false
}

// Lookup returns the entry for a raw path.
func (m *Manifest) Lookup(p string) (Entry, bool) { return m.lookup(p) }
