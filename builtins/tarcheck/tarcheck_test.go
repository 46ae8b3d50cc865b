package tarcheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
)

func f(name string) Entry { return Entry{Name: name, Type: File, Mode: 0o644} }
func d(name string) Entry { return Entry{Name: name, Type: Dir, Mode: 0o755} }
func l(name, target string) Entry {
	return Entry{Name: name, Type: Symlink, Linkname: target, Mode: 0o755}
}
func hl(name, target string) Entry {
	return Entry{Name: name, Type: Hard, Linkname: target, Mode: 0o644}
}

func TestCheck(t *testing.T) {
	cases := []struct {
		name    string
		entries []Entry
		want    string // "" means accepted
	}{
		{"plain tree", []Entry{d("./"), d("bin/"), f("bin/run.sh"), f("config.sh"), l("bin/latest", "run.sh")}, ""},
		{"link to a sibling directory then a file through it", []Entry{d("a/"), l("b", "a"), f("b/x")}, ""},
		{"relative link that stays inside", []Entry{d("a/b/"), l("a/b/up", "../.."), f("a/b/up/x")}, ""},
		{"hard link to an earlier file", []Entry{f("a"), hl("b", "a")}, ""},
		{"duplicate directory", []Entry{d("a/"), d("a/"), f("a/x")}, ""},
		{"absolute name", []Entry{f("/etc/sudoers")}, "absolute path"},
		{"dotdot name", []Entry{f("a/../../x")}, ".. component"},
		{"absolute symlink", []Entry{l("x", "/etc")}, "absolute path"},
		{"name with arrow hides an absolute target", []Entry{l("a -> b", "/etc/sudoers")}, "absolute path"},
		{"escaping relative symlink", []Entry{d("a/"), l("a/up", "../..")}, "outside"},
		{"chain of links", []Entry{l("s", "."), l("e1", "s/.."), l("e2", "e1/..")}, "outside"},
		{"chain through a dir link", []Entry{d("d/"), l("d/s", "."), l("e", "d/s/../..")}, "outside"},
		{"later link makes an earlier one escape", []Entry{l("l", "a/b/../.."), l("a", ".")}, "outside"},
		{"file through a link that leaves", []Entry{l("s", "."), l("up", "s/.."), f("up/x")}, "outside"},
		{"case-insensitive alias of a link", []Entry{l("S", "."), l("e1", "s/..")}, "outside"},
		{"entry name through a case-folded link", []Entry{d("b/"), l("A", "b"), l("a/up", "../..")}, "outside"},
		{"hard link outside", []Entry{hl("x", "../../etc/sudoers")}, ".. component"},
		{"hard link absolute", []Entry{hl("x", "/etc/sudoers")}, "absolute path"},
		{"hard link to an unknown file", []Entry{hl("x", "etc/sudoers")}, "not a regular file this archive created"},
		{"hard link to a directory", []Entry{d("a/"), hl("x", "a")}, "not a regular file"},
		{"hard link through a link to outside", []Entry{l("s", "."), hl("x", "s/../a")}, ".. component"},
		{"fifo", []Entry{{Name: "p", Type: Other, Raw: "FIFO"}}, "is a FIFO"},
		{"char device", []Entry{{Name: "c", Type: Other, Raw: "character device"}}, "character device"},
		{"setuid", []Entry{{Name: "su", Type: File, Mode: 0o4755}}, "setuid"},
		{"setgid dir", []Entry{{Name: "g/", Type: Dir, Mode: 0o2755}}, "setgid"},
		{"control character", []Entry{f("a\x1b[2Jb")}, "control character"},
		{"non-ascii with symlinks", []Entry{l("s", "."), f("\u017f/x")}, "non-ASCII"},
		{"non-ascii without symlinks", []Entry{f("caf\u00e9")}, ""},
		{"file as a directory", []Entry{f("a"), f("a/b")}, "not a directory"},
		{"replace a directory with a file", []Entry{d("a/"), f("a")}, "would replace the directory"},
		{"symlink loop", []Entry{l("a", "b"), l("b", "a"), f("a/x")}, "too many symlinks"},
		{"empty archive", nil, "no members"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Check("/dest", tc.entries)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func archive(t *testing.T, gz bool, hs ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		w = tar.NewWriter(zw)
	} else {
		w = tar.NewWriter(&buf)
	}
	for _, h := range hs {
		if err := w.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			if _, err := w.Write(bytes.Repeat([]byte("x"), int(h.Size))); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestRead(t *testing.T) {
	hs := []*tar.Header{
		{Name: "dir/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "dir/f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 3},
		{Name: "x -> /etc/passwd", Typeflag: tar.TypeSymlink, Linkname: "/etc/sudoers"},
		{Name: "h", Typeflag: tar.TypeLink, Linkname: "dir/f"},
		{Name: "fifo", Typeflag: tar.TypeFifo, Mode: 0o644},
		{Name: "dev", Typeflag: tar.TypeChar, Mode: 0o644},
	}
	for _, gz := range []bool{false, true} {
		es, err := Read(bytes.NewReader(archive(t, gz, hs...)))
		if err != nil {
			t.Fatalf("gz=%v: %v", gz, err)
		}
		want := []Entry{
			{Name: "dir/", Type: Dir, Mode: 0o755},
			{Name: "dir/f", Type: File, Mode: 0o644, Size: 3},
			{Name: "x -> /etc/passwd", Type: Symlink, Linkname: "/etc/sudoers"},
			{Name: "h", Type: Hard, Linkname: "dir/f"},
			{Name: "fifo", Type: Other, Mode: 0o644, Raw: "FIFO"},
			{Name: "dev", Type: Other, Mode: 0o644, Raw: "character device"},
		}
		if len(es) != len(want) {
			t.Fatalf("gz=%v: got %d entries, want %d", gz, len(es), len(want))
		}
		for i := range want {
			if es[i] != want[i] {
				t.Errorf("gz=%v entry %d: got %+v, want %+v", gz, i, es[i], want[i])
			}
		}
		err = Check("/dest", es)
		if err == nil || !strings.Contains(err.Error(), `"x -> /etc/passwd"`) || !strings.Contains(err.Error(), "absolute path") {
			t.Errorf("gz=%v: Check = %v, want the arrow entry refused for its absolute target", gz, err)
		}
	}
}

func TestReadBadInput(t *testing.T) {
	for name, data := range map[string][]byte{
		"empty":         nil,
		"garbage":       []byte("this is not a tar archive, not even close, and longer than a block? no."),
		"bad gzip":      {0x1f, 0x8b, 0, 0, 0},
		"empty archive": archive(t, true),
	} {
		if _, err := Read(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: Read accepted it", name)
		}
	}
}

// TestCaps: the member count and the total size of the regular members
// are bounded by Check (the fake's modelled entries) and by Walk while
// the archive is read (a header past the size cap is refused before its
// bytes are decompressed).
func TestCaps(t *testing.T) {
	many := make([]Entry, MaxEntries+1)
	for i := range many {
		many[i] = Entry{Name: "d/", Type: Dir, Mode: 0o755}
	}
	if err := Check("/dest", many); err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Errorf("%d members: %v", len(many), err)
	}
	if err := Check("/dest", many[:MaxEntries]); err != nil {
		t.Errorf("%d members: %v", MaxEntries, err)
	}
	half := int64(MaxTotalSize/2 + 1)
	big := []Entry{{Name: "a", Type: File, Mode: 0o644, Size: half}, {Name: "b", Type: File, Mode: 0o644, Size: half}}
	if err := Check("/dest", big); err == nil || !strings.Contains(err.Error(), `member 2 "b"`) {
		t.Errorf("two halves over the cap: %v", err)
	}
	if err := Check("/dest", big[:1]); err != nil {
		t.Errorf("one half: %v", err)
	}
	// A header declaring more than the cap, and no bytes behind it.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: "huge", Typeflag: tar.TypeReg, Mode: 0o644, Size: MaxTotalSize + 1}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err := Walk(&buf, func(Member) error { calls++; return nil })
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") || calls != 0 {
		t.Errorf("Walk over a huge header: %v after %d members", err, calls)
	}
}
