package darwin

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// member is one entry of a test archive.
type member struct {
	name, link, body string
	typ              byte
	mode             int64
}

func tf(name, body string, mode int64) member {
	return member{name: name, body: body, typ: tar.TypeReg, mode: mode}
}
func td(name string) member { return member{name: name, typ: tar.TypeDir, mode: 0o755} }
func tl(name, target string) member {
	return member{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}
func thl(name, source string) member {
	return member{name: name, link: source, typ: tar.TypeLink, mode: 0o644}
}
func tother(name string, typ byte) member { return member{name: name, typ: typ, mode: 0o644} }

var extractMTime = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// tgz builds a gzip'd tar of ms.
func tgz(t *testing.T, ms ...member) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: m.mode, ModTime: extractMTime, Size: int64(len(m.body))}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(m.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// extractScene is a scene (a root-owned system directory, a runner
// home) plus a root-only destination and a root-owned archive.
type extractScene struct {
	*scene
	dest, archive string
}

func newExtractScene(t *testing.T, data []byte) *extractScene {
	t.Helper()
	requireRoot(t)
	s := &extractScene{scene: newScene(t)}
	base := filepath.Dir(s.sys)
	s.dest = filepath.Join(base, "dest")
	if err := os.Mkdir(s.dest, 0o755); err != nil {
		t.Fatal(err)
	}
	s.archive = filepath.Join(base, "a.tar.gz")
	if err := os.WriteFile(s.archive, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *extractScene) req(sum string) host.ExtractRequest {
	return host.ExtractRequest{Archive: s.archive, Dest: s.dest, SHA256: sum}
}

// at is a path under the destination.
func (s *extractScene) at(rel string) string { return filepath.Join(s.dest, rel) }

func (s *extractScene) empty(t *testing.T) {
	t.Helper()
	if ents, err := os.ReadDir(s.dest); err != nil || len(ents) != 0 {
		t.Errorf("the destination holds %v (%v); a refused archive must leave it untouched", ents, err)
	}
}

// owned checks owner root:wheel (0:0) and the mode of rel.
func (s *extractScene) owned(t *testing.T, rel string, want os.FileMode) {
	t.Helper()
	fi, err := os.Lstat(s.at(rel))
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 0 || st.Gid != 0 {
		t.Errorf("%s is owned by %d:%d, want 0:0", rel, st.Uid, st.Gid)
	}
	if fi.Mode()&os.ModeSymlink == 0 && fi.Mode() != want {
		t.Errorf("%s has mode %v, want %v", rel, fi.Mode(), want)
	}
}

func TestExtractArchive(t *testing.T) {
	cases := []struct {
		name    string
		members []member
		// plant prepares the destination as a CI job could have left it.
		plant func(t *testing.T, s *extractScene)
		want  string // "" means extracted
		check func(t *testing.T, s *extractScene)
	}{
		{name: "plain tree", members: []member{
			td("./"), td("bin/"), tf("bin/run.sh", "#!/bin/sh\n", 0o755), tf("config.sh", "c", 0o644),
			tl("bin/latest", "run.sh"), thl("bin/again.sh", "bin/run.sh"),
		}, check: func(t *testing.T, s *extractScene) {
			s.owned(t, "bin", os.ModeDir|0o755)
			s.owned(t, "bin/run.sh", 0o755)
			s.owned(t, "config.sh", 0o644)
			s.owned(t, "bin/latest", 0)
			if b, err := os.ReadFile(s.at("bin/run.sh")); err != nil || string(b) != "#!/bin/sh\n" {
				t.Errorf("bin/run.sh: %q %v", b, err)
			}
			if target, err := os.Readlink(s.at("bin/latest")); err != nil || target != "run.sh" {
				t.Errorf("bin/latest -> %q %v", target, err)
			}
			a, _ := os.Stat(s.at("bin/run.sh"))
			b, _ := os.Stat(s.at("bin/again.sh"))
			if !os.SameFile(a, b) {
				t.Error("bin/again.sh is not a hard link of bin/run.sh")
			}
			for _, rel := range []string{"bin", "bin/run.sh"} {
				if fi, _ := os.Lstat(s.at(rel)); !fi.ModTime().Equal(extractMTime) {
					t.Errorf("%s mtime %v, want %v", rel, fi.ModTime(), extractMTime)
				}
			}
			if fi, _ := os.Stat(s.dest); fi.Mode() != os.ModeDir|0o755 {
				t.Errorf("the destination's mode became %v", fi.Mode())
			}
		}},
		{name: "special bits and group/other write are dropped", members: []member{
			{name: "w", typ: tar.TypeDir, mode: 0o1777}, tf("w/x", "x", 0o666),
		}, check: func(t *testing.T, s *extractScene) {
			s.owned(t, "w", os.ModeDir|0o755)
			s.owned(t, "w/x", 0o644)
		}},
		{name: "absolute name", members: []member{tf("/etc/sudoers", "x", 0o644)}, want: "absolute path"},
		{name: "dotdot name", members: []member{tf("a/../../x", "x", 0o644)}, want: ".. component"},
		{name: "absolute symlink", members: []member{tl("x", "/etc")}, want: "absolute path"},
		{name: "escaping chain of links", members: []member{tl("s", "."), tl("e1", "s/.."), tl("e2", "e1/..")}, want: "outside"},
		{name: "hard link out", members: []member{thl("x", "../../etc/sudoers")}, want: ".. component"},
		{name: "hard link to a file the archive did not make", members: []member{thl("x", "sudoers")}, want: "not a regular file this archive created"},
		{name: "character device", members: []member{tother("c", tar.TypeChar)}, want: "character device"},
		{name: "FIFO", members: []member{tother("p", tar.TypeFifo)}, want: "FIFO"},
		{name: "setuid", members: []member{tf("su", "x", 0o4755)}, want: "setuid"},
		{name: "duplicate name replaces a directory with a link", members: []member{td("a/"), tl("a", "b")}, want: "would replace the directory"},
		{name: "a file through the archive's own link", members: []member{td("a/"), tl("b", "a"), tf("b/x", "x", 0o644)},
			want: "cannot extract through the symlink", check: func(t *testing.T, s *extractScene) {
				if _, err := os.Lstat(s.at("a/x")); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("a/x was made through the link: %v", err)
				}
			}},
		{name: "planted directory link is never crossed", members: []member{tf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, s *extractScene) {
				os.Symlink(s.sys, s.at("bin"))
				os.Lchown(s.at("bin"), runnerUID, runnerGID)
			}, want: "cannot extract through the symlink"},
		{name: "planted directory link is replaced by the archive's directory", members: []member{td("bin/"), tf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, s *extractScene) {
				os.Symlink(s.sys, s.at("bin"))
			}, check: func(t *testing.T, s *extractScene) {
				s.owned(t, "bin", os.ModeDir|0o755)
				s.owned(t, "bin/x", 0o644)
			}},
		{name: "planted file link is replaced, not written through", members: []member{tf("config.sh", "mine", 0o755)},
			plant: func(t *testing.T, s *extractScene) {
				os.Symlink(s.secret, s.at("config.sh"))
			}, check: func(t *testing.T, s *extractScene) {
				s.owned(t, "config.sh", 0o755)
			}},
		{name: "planted hard link is replaced, not written through", members: []member{tf("config.sh", "mine", 0o755)},
			plant: func(t *testing.T, s *extractScene) {
				os.Link(s.secret, s.at("config.sh"))
			}, check: func(t *testing.T, s *extractScene) {
				s.owned(t, "config.sh", 0o755)
			}},
		{name: "existing directory is not replaced by a link", members: []member{tl("a", "b")},
			plant: func(t *testing.T, s *extractScene) { os.Mkdir(s.at("a"), 0o755) }, want: "is a directory"},
		{name: "a drifted directory becomes root's before anything is made in it", members: []member{tf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, s *extractScene) {
				mkdirOwned(t, s.at("bin"), runnerUID, runnerGID)
				os.Chmod(s.at("bin"), 0o777)
			}, check: func(t *testing.T, s *extractScene) {
				s.owned(t, "bin", os.ModeDir|0o755)
				s.owned(t, "bin/x", 0o644)
			}},
		{name: "a file where the archive wants a directory is replaced", members: []member{td("a/"), tf("a/x", "x", 0o644)},
			plant: func(t *testing.T, s *extractScene) { os.WriteFile(s.at("a"), nil, 0o644) },
			check: func(t *testing.T, s *extractScene) { s.owned(t, "a/x", 0o644) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newExtractScene(t, tgz(t, tc.members...))
			if tc.plant != nil {
				tc.plant(t, s)
			}
			before, _ := os.ReadDir(s.dest)
			err := extractArchive(t.Context(), s.req(""), nil)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.want != "" && len(before) == 0 && strings.HasPrefix(err.Error(), "refusing") {
				s.empty(t)
			}
			if tc.check != nil {
				tc.check(t, s)
			}
			s.unchanged(t)
		})
	}
}

func TestExtractArchivePinAndOwners(t *testing.T) {
	data := tgz(t, tf("x", "x", 0o644))
	sum := sha256.Sum256(data)
	good := hex.EncodeToString(sum[:])
	t.Run("pin matches", func(t *testing.T) {
		s := newExtractScene(t, data)
		if err := extractArchive(t.Context(), s.req(good), nil); err != nil {
			t.Fatal(err)
		}
		s.owned(t, "x", 0o644)
	})
	t.Run("again over a partial or complete earlier extraction", func(t *testing.T) {
		s := newExtractScene(t, tgz(t, td("bin/"), tf("bin/x", "x", 0o755), tl("bin/y", "x"), thl("bin/z", "bin/x")))
		for i := 0; i < 2; i++ {
			if err := extractArchive(t.Context(), s.req(""), nil); err != nil {
				t.Fatalf("extraction %d: %v", i+1, err)
			}
		}
		if err := os.Remove(s.at("bin/y")); err != nil {
			t.Fatal(err)
		}
		if err := extractArchive(t.Context(), s.req(""), nil); err != nil {
			t.Fatalf("over a partial tree: %v", err)
		}
		s.owned(t, "bin/x", 0o755)
		if target, err := os.Readlink(s.at("bin/y")); err != nil || target != "x" {
			t.Errorf("bin/y -> %q %v", target, err)
		}
	})
	t.Run("pin differs", func(t *testing.T) {
		s := newExtractScene(t, data)
		err := extractArchive(t.Context(), s.req(strings.Repeat("0", 64)), nil)
		if !errors.Is(err, host.ErrChecksum) {
			t.Fatalf("got %v, want a checksum error", err)
		}
		s.empty(t)
	})
	t.Run("archive another account can change", func(t *testing.T) {
		s := newExtractScene(t, data)
		if err := os.Chown(s.archive, runnerUID, runnerGID); err != nil {
			t.Fatal(err)
		}
		if err := extractArchive(t.Context(), s.req(good), nil); err == nil || !strings.Contains(err.Error(), "only root can change") {
			t.Fatalf("got %v", err)
		}
		s.empty(t)
	})
	t.Run("destination another account can change", func(t *testing.T) {
		s := newExtractScene(t, data)
		if err := os.Chown(s.dest, runnerUID, runnerGID); err != nil {
			t.Fatal(err)
		}
		if err := extractArchive(t.Context(), s.req(good), nil); err == nil || !strings.Contains(err.Error(), "only root can change") {
			t.Fatalf("got %v", err)
		}
		s.empty(t)
	})
	t.Run("destination is a planted link", func(t *testing.T) {
		s := newExtractScene(t, data)
		link := filepath.Join(s.home, "unpack")
		s.plant(t, "unpack", symlinkTo(s.sys))
		req := s.req(good)
		req.Dest = link
		if err := extractArchive(t.Context(), req, nil); err == nil || !errors.Is(err, host.ErrUntrustedLink) {
			t.Fatalf("got %v, want the untrusted link refused", err)
		}
		s.unchanged(t)
	})
}

// TestExtractArchiveRace swaps a symlink in right before a member is
// created, as a CI job racing the extraction would: it is replaced or
// refused, never followed.
func TestExtractArchiveRace(t *testing.T) {
	data := tgz(t, td("bin/"), tf("bin/x", "x", 0o644), tf("config.sh", "c", 0o755))
	t.Run("directory swapped for a link", func(t *testing.T) {
		s := newExtractScene(t, data)
		err := extractArchive(t.Context(), s.req(""), func(i int, name string) {
			if name == "bin/x" {
				os.Rename(s.at("bin"), s.at("bin.old"))
				os.Symlink(s.sys, s.at("bin"))
			}
		})
		if err == nil || !strings.Contains(err.Error(), "cannot extract through the symlink") {
			t.Fatalf("got %v", err)
		}
		s.unchanged(t)
	})
	t.Run("file swapped for a link", func(t *testing.T) {
		s := newExtractScene(t, data)
		err := extractArchive(t.Context(), s.req(""), func(i int, name string) {
			if name == "config.sh" {
				os.Symlink(s.secret, s.at("config.sh"))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		s.owned(t, "config.sh", 0o755)
		s.unchanged(t)
	})
}

// TestExtractArchiveHardLinkSourceSwapped: the source of a hard-link
// member is replaced (by a hard link to a root file) right before the
// member is made: the link is refused, never made to the other file.
func TestExtractArchiveHardLinkSourceSwapped(t *testing.T) {
	s := newExtractScene(t, tgz(t, td("bin/"), tf("bin/x", "x", 0o755), thl("bin/z", "bin/x")))
	err := extractArchive(t.Context(), s.req(""), func(i int, name string) {
		if name == "bin/z" {
			os.Remove(s.at("bin/x"))
			if err := os.Link(s.secret, s.at("bin/x")); err != nil {
				t.Error(err)
			}
		}
	})
	if err == nil || !strings.Contains(err.Error(), "no longer the file this extraction created") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Lstat(s.at("bin/z")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bin/z was made: %v", err)
	}
	s.unchanged(t)
}

func TestExtractArchiveBomb(t *testing.T) {
	// A header that declares more bytes than the cap: refused before a
	// byte of it is decompressed.
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "big", Typeflag: tar.TypeReg, Mode: 0o644, Size: tarcheck.MaxTotalSize + 1}); err != nil {
		t.Fatal(err)
	}
	if err := tw.Flush(); err == nil {
		t.Fatal("flush of a short member succeeded")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	s := newExtractScene(t, buf.Bytes())
	err := extractArchive(t.Context(), s.req(""), nil)
	if err == nil || !strings.Contains(err.Error(), "decompression bomb") {
		t.Fatalf("got %v", err)
	}
	s.empty(t)
}
