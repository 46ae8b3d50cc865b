package fixturelock

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const (
	sumA = "ca978112ca1bbdcafac231b39a23dc4da786eff8146d8d5b43e8e3e4a0e8a8a7"
	sumB = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
)

func TestEscapeRoundTrip(t *testing.T) {
	tests := []struct {
		raw, esc string
	}{
		{"plain/name.apk", "plain/name.apk"},
		{"with space", "with%20space"},
		{"new\nline", "new%0Aline"},
		{"100%", "100%25"},
		{`back\slash`, "back%5Cslash"},
		{"caf\xc3\xa9", "caf%C3%A9"},
		{"\xff\x00\x7f", "%FF%00%7F"},
		{"tab\there", "tab%09here"},
	}
	for _, tt := range tests {
		if got := Escape(tt.raw); got != tt.esc {
			t.Errorf("Escape(%q) = %q, want %q", tt.raw, got, tt.esc)
		}
		got, err := Unescape(tt.esc)
		if err != nil || got != tt.raw {
			t.Errorf("Unescape(%q) = %q, %v; want %q", tt.esc, got, err, tt.raw)
		}
	}
}

func TestUnescapeRejectsNonCanonical(t *testing.T) {
	for _, s := range []string{"%41", "%2a", "%0a", "%", "%4", "a%G0", "raw space", "raw\ttab", "\xff"} {
		if got, err := Unescape(s); err == nil {
			t.Errorf("Unescape(%q) = %q, want an error", s, got)
		}
	}
}

func TestParseValid(t *testing.T) {
	text := Header + "\n" +
		"f 0 " + sumA + " a\n" +
		"l a a-link\n" +
		"f 12 " + sumB + " dir/with%20space\n" +
		"l ../../outside%0Aname dir/z\n"
	m, err := Parse(strings.NewReader(text), "fixtures.lock")
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{Path: "a", Type: TypeFile, Size: 0, SHA256: sumA},
		{Path: "a-link", Type: TypeLink, Target: "a"},
		{Path: "dir/with space", Type: TypeFile, Size: 12, SHA256: sumB},
		{Path: "dir/z", Type: TypeLink, Target: "../../outside\nname"},
	}
	if len(m.Entries) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(m.Entries), len(want), m.Entries)
	}
	for i := range want {
		if m.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, m.Entries[i], want[i])
		}
	}
	out, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != text {
		t.Errorf("Marshal round trip:\n%s\nwant\n%s", out, text)
	}
}

// TestParseMalformed is the manifest-tampering table: every malformed
// line is an error with its line number, never a pass.
func TestParseMalformed(t *testing.T) {
	h := Header + "\n"
	fa := "f 1 " + sumA + " a\n"
	tests := []struct {
		name, text, want string
	}{
		{"empty file", "", "m.lock:1: empty manifest"},
		{"no header", fa, "m.lock:1: not an hvfctl fixtures manifest"},
		{"other version", "hvfctl-fixtures v2\n", `m.lock:1: unsupported manifest version "hvfctl-fixtures v2"`},
		{"header without newline", Header, "m.lock:1: last line does not end with a newline"},
		{"truncated last line", h + fa + "f 1 " + sumB, "m.lock:3: last line does not end with a newline"},
		{"blank line", h + "\n" + fa, "m.lock:2: empty line"},
		{"comment", h + "# hi\n", `m.lock:2: unknown entry type "#"`},
		{"unknown type", h + "d 1 x\n", `m.lock:2: unknown entry type "d"`},
		{"missing field", h + "f 1 " + sumA + "\n", "m.lock:2: a file entry has 4 fields"},
		{"extra field", h + "f 1 " + sumA + " a b\n", "m.lock:2: a file entry has 4 fields"},
		{"double space", h + "f  1 " + sumA + " a\n", "m.lock:2: a file entry has 4 fields"},
		{"trailing space", h + "f 1 " + sumA + " a \n", "m.lock:2: a file entry has 4 fields"},
		{"carriage return", h + "f 1 " + sumA + " a\r\n", "m.lock:2: path: byte 0x0D at offset 1 must be escaped"},
		{"negative size", h + "f -1 " + sumA + " a\n", `m.lock:2: bad size "-1"`},
		{"leading zero size", h + "f 01 " + sumA + " a\n", `m.lock:2: bad size "01"`},
		{"huge size", h + "f 99999999999999999999 " + sumA + " a\n", "m.lock:2: bad size \"99999999999999999999\": out of range"},
		{"short sha", h + "f 1 abc a\n", `m.lock:2: bad SHA-256 "abc"`},
		{"upper-case sha", h + "f 1 " + strings.ToUpper(sumA) + " a\n", "m.lock:2: bad SHA-256"},
		{"non-hex sha", h + "f 1 " + strings.Repeat("g", 64) + " a\n", "m.lock:2: bad SHA-256"},
		{"absolute path", h + "f 1 " + sumA + " /etc/passwd\n", "m.lock:2: path /etc/passwd: absolute"},
		{"dotdot path", h + "f 1 " + sumA + " a/../../b\n", `m.lock:2: path a/../../b: has a ".." component`},
		{"dot path", h + "f 1 " + sumA + " ./a\n", `m.lock:2: path ./a: has a "." component`},
		{"empty component", h + "f 1 " + sumA + " a//b\n", "m.lock:2: path a//b: has an empty component"},
		{"trailing slash", h + "f 1 " + sumA + " a/\n", "m.lock:2: path a/: has an empty component"},
		{"nul in path", h + "f 1 " + sumA + " a%00b\n", "m.lock:2: path a%00b: contains a NUL byte"},
		{"bad escape", h + "f 1 " + sumA + " a%2\n", "m.lock:2: path: incomplete escape"},
		{"needless escape", h + "f 1 " + sumA + " %61\n", `m.lock:2: path: escape "%61" at offset 0 stands for 'a'`},
		{"duplicate", h + fa + fa, "m.lock:3: duplicate path a"},
		{"out of order", h + "f 1 " + sumA + " b\n" + fa, "m.lock:3: path a is out of order"},
		{"under a file", h + fa + "f 1 " + sumA + " a-x\n" + "f 1 " + sumA + " a/b\n", "m.lock:4: path a/b lies inside a"},
		{"link without target", h + "l  a\n", "m.lock:2: empty link target"},
		{"link field count", h + "l a\n", "m.lock:2: a link entry has 3 fields"},
		{"long line", h + "f 1 " + sumA + " " + strings.Repeat("a", maxLine) + "\n", "m.lock:2: line too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(strings.NewReader(tt.text), "m.lock")
			if err == nil {
				t.Fatalf("Parse succeeded with %d entries, want error %q", len(m.Entries), tt.want)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestParseEmptyTree(t *testing.T) {
	m, err := Parse(strings.NewReader(Header+"\n"), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Entries) != 0 {
		t.Errorf("entries = %v, want none", m.Entries)
	}
}

func TestMarshalRejectsInvalid(t *testing.T) {
	tests := []struct {
		name string
		m    Manifest
	}{
		{"unsorted", Manifest{Entries: []Entry{{Path: "b", Type: TypeLink, Target: "x"}, {Path: "a", Type: TypeLink, Target: "x"}}}},
		{"bad sum", Manifest{Entries: []Entry{{Path: "a", Type: TypeFile, SHA256: "x"}}}},
		{"bad path", Manifest{Entries: []Entry{{Path: "../a", Type: TypeLink, Target: "x"}}}},
		{"no target", Manifest{Entries: []Entry{{Path: "a", Type: TypeLink}}}},
		{"bad type", Manifest{Entries: []Entry{{Path: "a", Type: 'x'}}}},
	}
	for _, tt := range tests {
		if out, err := tt.m.Marshal(); err == nil {
			t.Errorf("%s: Marshal = %q, want an error", tt.name, out)
		}
	}
}

// FuzzParse checks that Parse never panics and that whatever it accepts
// is in canonical form: marshalling it gives back the same bytes.
func FuzzParse(f *testing.F) {
	f.Add([]byte(Header + "\n"))
	f.Add([]byte(Header + "\nf 0 " + sumA + " a\nl a a-link\nf 12 " + sumB + " dir/with%20space\n"))
	f.Add([]byte(Header + "\nl ../x%0A b\n"))
	f.Add([]byte(Header + "\nf 01 " + sumA + " a\n"))
	f.Add([]byte(Header + "\nf 1 " + sumA + " a\nf 1 " + sumA + " a/b\n"))
	f.Add([]byte("hvfctl-fixtures v2\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(bytes.NewReader(data), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.Line < 1 {
				t.Fatalf("error %v has no line number", err)
			}
			return
		}
		out, err := m.Marshal()
		if err != nil {
			t.Fatalf("accepted manifest does not marshal: %v", err)
		}
		if !bytes.Equal(out, data) {
			t.Fatalf("accepted non-canonical manifest:\n%q\nmarshals as\n%q", data, out)
		}
	})
}
