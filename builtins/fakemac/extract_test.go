package fakemac

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// fakeMemberSpec is one member of a test archive.
type fakeMemberSpec struct {
	name, link, body string
	typ              byte
	mode             int64
}

// realTgz builds the bytes of a gzip'd tar, as a download would serve.
func realTgz(t *testing.T, ms ...fakeMemberSpec) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range ms {
		h := &tar.Header{Name: m.name, Linkname: m.link, Typeflag: m.typ, Mode: m.mode, ModTime: time.Unix(1_700_000_000, 0), Size: int64(len(m.body))}
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
	return buf.String()
}

func mf(name, body string, mode int64) fakeMemberSpec {
	return fakeMemberSpec{name: name, body: body, typ: tar.TypeReg, mode: mode}
}
func md(name string) fakeMemberSpec { return fakeMemberSpec{name: name, typ: tar.TypeDir, mode: 0o755} }
func ml(name, target string) fakeMemberSpec {
	return fakeMemberSpec{name: name, link: target, typ: tar.TypeSymlink, mode: 0o777}
}
func mh(name, source string) fakeMemberSpec {
	return fakeMemberSpec{name: name, link: source, typ: tar.TypeLink, mode: 0o644}
}

const (
	extractArchivePath = "/Library/Caches/hvfctl/t.tar.gz"
	extractDest        = "/opt/unpack"
)

// extractMac is the fresh Mac with a root-owned archive holding data
// and a root-only destination.
func extractMac(t *testing.T, data string) *Mac {
	t.Helper()
	m := mustNew(t, "fresh-m4")
	m.mu.Lock()
	defer m.mu.Unlock()
	m.mkdirAll("/Library/Caches/hvfctl", 0o755, "root", "wheel")
	m.mkdirAll(extractDest, 0o755, "root", "wheel")
	m.put(extractArchivePath, &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Content: text(data)})
	m.ensureRootTargets()
	return m
}

func (m *Mac) node(p string) *Node {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.Files[p]
}

func TestExtractArchive(t *testing.T) {
	cases := []struct {
		name    string
		members []fakeMemberSpec
		plant   func(t *testing.T, m *Mac)
		want    string
		check   func(t *testing.T, m *Mac)
	}{
		{name: "plain tree", members: []fakeMemberSpec{md("./"), md("bin/"), mf("bin/run.sh", "#!/bin/sh\n", 0o775), ml("bin/latest", "run.sh"), mh("bin/again.sh", "bin/run.sh")},
			check: func(t *testing.T, m *Mac) {
				n := m.node(extractDest + "/bin/run.sh")
				if n == nil || n.Owner != "root" || n.Group != "wheel" || n.Mode != 0o755 || n.Content == nil || *n.Content != "#!/bin/sh\n" {
					t.Errorf("bin/run.sh = %+v", n)
				}
				if m.node(extractDest+"/bin/again.sh") != n {
					t.Error("bin/again.sh is not a hard link of bin/run.sh")
				}
				if l := m.node(extractDest + "/bin/latest"); l == nil || l.Type != TypeSymlink || l.Target != "run.sh" {
					t.Errorf("bin/latest = %+v", l)
				}
			}},
		{name: "absolute name", members: []fakeMemberSpec{mf("/etc/sudoers", "x", 0o644)}, want: "absolute path"},
		{name: "escaping link chain", members: []fakeMemberSpec{ml("s", "."), ml("e1", "s/.."), ml("e2", "e1/..")}, want: "outside"},
		{name: "hard link out", members: []fakeMemberSpec{mh("x", "../../private/etc/sudoers")}, want: ".. component"},
		{name: "device", members: []fakeMemberSpec{{name: "c", typ: tar.TypeChar, mode: 0o644}}, want: "character device"},
		{name: "setuid", members: []fakeMemberSpec{mf("su", "x", 0o4755)}, want: "setuid"},
		{name: "a file through the archive's own link", members: []fakeMemberSpec{md("a/"), ml("b", "a"), mf("b/x", "x", 0o644)}, want: "cannot extract through the symlink"},
		{name: "planted link in the destination", members: []fakeMemberSpec{mf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/bin", &Node{Type: TypeSymlink, Target: RootDir, Mode: 0o755, Owner: RunnerUser, Group: "staff"})
				m.mu.Unlock()
			}, want: "cannot extract through the symlink"},
		{name: "planted file link is replaced", members: []fakeMemberSpec{mf("config.sh", "mine", 0o755)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/config.sh", &Node{Type: TypeSymlink, Target: RootFile, Mode: 0o755, Owner: RunnerUser, Group: "staff"})
				m.mu.Unlock()
			}, check: func(t *testing.T, m *Mac) {
				if n := m.node(extractDest + "/config.sh"); n == nil || n.Type != TypeFile || n.Owner != "root" {
					t.Errorf("config.sh = %+v", n)
				}
			}},
		{name: "destination with an ACL another account may add to", members: []fakeMemberSpec{mf("x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.st.Files[extractDest].ACL = []string{"user:admin allow add_file"}
				m.mu.Unlock()
			}, want: "has an ACL entry allowing add_file"},
		{name: "entered directory with an inheritable ACL", members: []fakeMemberSpec{mf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/bin", &Node{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel", ACL: []string{"user:admin allow add_subdirectory,file_inherit,directory_inherit"}})
				m.mu.Unlock()
			}, want: "has an ACL entry allowing add_subdirectory"},
		{name: "entered directory with an ACL granting only a generic right", members: []fakeMemberSpec{mf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/bin", &Node{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel", ACL: []string{"group:staff allow generic_write"}})
				m.mu.Unlock()
			}, want: "has an ACL entry allowing add_file,add_subdirectory,delete,delete_child"},
		{name: "a read-only ACL is no obstacle", members: []fakeMemberSpec{mf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/bin", &Node{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel", ACL: []string{"user:admin allow list,search"}})
				m.mu.Unlock()
			}},
		{name: "a drifted directory becomes root's", members: []fakeMemberSpec{mf("bin/x", "x", 0o644)},
			plant: func(t *testing.T, m *Mac) {
				m.mu.Lock()
				m.put(extractDest+"/bin", &Node{Type: TypeDir, Mode: 0o777, Owner: RunnerUser, Group: "staff"})
				m.mu.Unlock()
			}, check: func(t *testing.T, m *Mac) {
				if n := m.node(extractDest + "/bin"); n.Owner != "root" || n.Mode != 0o755 {
					t.Errorf("bin = %+v", n)
				}
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := extractMac(t, realTgz(t, tc.members...))
			if tc.plant != nil {
				tc.plant(t, m)
			}
			before := m.RootOwned()
			err := m.ExtractArchive(t.Context(), host.ExtractRequest{Archive: extractArchivePath, Dest: extractDest})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
			if tc.check != nil {
				tc.check(t, m)
			}
			after := m.RootOwned()
			for _, p := range []string{RootFile, RootDir} {
				if before[p] != after[p] {
					t.Errorf("%s changed: %+v -> %+v", p, before[p], after[p])
				}
			}
			if n := m.node(RootDir + "/x"); n != nil {
				t.Errorf("the extraction wrote into %s", RootDir)
			}
		})
	}
}

func TestExtractArchivePin(t *testing.T) {
	data := realTgz(t, mf("x", "x", 0o644))
	sum := sha256.Sum256([]byte(data))
	m := extractMac(t, data)
	req := host.ExtractRequest{Archive: extractArchivePath, Dest: extractDest, SHA256: strings.Repeat("0", 64)}
	if err := m.ExtractArchive(t.Context(), req); !errors.Is(err, host.ErrChecksum) {
		t.Fatalf("wrong pin: %v", err)
	}
	if m.node(extractDest+"/x") != nil {
		t.Fatal("extracted despite the wrong pin")
	}
	req.SHA256 = hex.EncodeToString(sum[:])
	if err := m.ExtractArchive(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	// A scripted fault fails it before anything is created.
	m = extractMac(t, data)
	m.mu.Lock()
	m.st.Faults = append(m.st.Faults, Fault{ArgvPrefix: []string{host.OpTarExtract}, Stderr: "simulated\n"})
	m.mu.Unlock()
	if err := m.ExtractArchive(t.Context(), req); err == nil || m.node(extractDest+"/x") != nil {
		t.Fatalf("fault: %v", err)
	}
}

// TestExtractArchiveBeforeRun: a CI job racing the extraction (the
// SetBeforeRun hook, the instant before the fake looks at anything)
// swaps a link to a root directory in where the archive's directory
// goes: it is refused, never followed.
func TestExtractArchiveBeforeRun(t *testing.T) {
	m := extractMac(t, realTgz(t, mf("bin/x", "x", 0o644)))
	m.SetBeforeRun(func(cmd host.Command) {
		if cmd.Argv[0] == host.OpTarExtract {
			if err := m.Plant(extractDest+"/bin", PlantLinkToRootDir, "root"); err != nil {
				t.Error(err)
			}
		}
	})
	err := m.ExtractArchive(t.Context(), host.ExtractRequest{Archive: extractArchivePath, Dest: extractDest})
	if err == nil || !strings.Contains(err.Error(), "cannot extract through the symlink") {
		t.Fatalf("got %v", err)
	}
	if m.node(RootDir+"/x") != nil {
		t.Error("the extraction wrote through the planted link")
	}
}
