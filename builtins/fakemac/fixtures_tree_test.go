package fakemac

import (
	"context"
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
)

const (
	treeDir  = "/Users/ghrunner/.cache/elfuse-ci/test-fixtures"
	treeLock = treeDir + ".lock"
	bigSum   = "4f1a0b6e3c8d2e7f9a1b2c3d4e5f60718293a4b5c6d7e8f90123456789abcdef"
)

// fixtureMac returns a fresh fake with a fixture tree and its manifest.
func fixtureMac(t *testing.T) *Mac {
	t.Helper()
	m, err := New("fresh-m4")
	if err != nil {
		t.Fatal(err)
	}
	m.mkdirAll(treeDir+"/alpine", 0o755, "ghrunner", "staff")
	m.mkdirAll(treeDir+"/kernel", 0o755, "ghrunner", "staff")
	m.put(treeDir+"/alpine/apk-tools.apk", &Node{Type: TypeFile, Mode: 0o644, Owner: "ghrunner", Group: "staff", Content: text("apk")})
	m.put(treeDir+"/kernel/Image", &Node{Type: TypeFile, Mode: 0o644, Owner: "ghrunner", Group: "staff", Size: 40 << 20, SHA256: bigSum})
	m.put(treeDir+"/alpine/latest.apk", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "ghrunner", Group: "staff", Target: "apk-tools.apk"})
	man := &fixturelock.Manifest{Entries: []fixturelock.Entry{
		{Path: "alpine/apk-tools.apk", Type: fixturelock.TypeFile, Size: 3, SHA256: m.st.Files[treeDir+"/alpine/apk-tools.apk"].sum()},
		{Path: "alpine/latest.apk", Type: fixturelock.TypeLink, Target: "apk-tools.apk"},
		{Path: "kernel/Image", Type: fixturelock.TypeFile, Size: 40 << 20, SHA256: bigSum},
	}}
	data, err := man.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m.put(treeLock, &Node{Type: TypeFile, Mode: 0o644, Owner: "ghrunner", Group: "staff", Content: text(string(data))})
	return m
}

func TestVerifyTree(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(m *Mac)
		missing []string
		extra   []string
		changed []string
	}{
		{name: "matches"},
		{name: "big file changed", mutate: func(m *Mac) {
			m.st.Files[treeDir+"/kernel/Image"].SHA256 = synthSum("other")
		}, changed: []string{"kernel/Image"}},
		{name: "small file truncated", mutate: func(m *Mac) {
			m.st.Files[treeDir+"/alpine/apk-tools.apk"].Content = text("ap")
		}, changed: []string{"alpine/apk-tools.apk"}},
		{name: "missing and extra", mutate: func(m *Mac) {
			delete(m.st.Files, treeDir+"/kernel/Image")
			m.put(treeDir+"/alpine/evil.apk", &Node{Type: TypeFile, Mode: 0o644, Owner: "ghrunner", Group: "staff", Content: text("x")})
		}, missing: []string{"kernel/Image"}, extra: []string{"alpine/evil.apk"}},
		{name: "a listed file replaced by a hard link to a root file of the same bytes", mutate: func(m *Mac) {
			root := &Node{Type: TypeFile, Mode: 0o600, Owner: "root", Group: "wheel", Size: 40 << 20, SHA256: bigSum, Ino: m.nextIno()}
			m.put("/private/etc/kcpassword", root)
			m.st.Files[treeDir+"/kernel/Image"] = root
		}, changed: []string{"kernel/Image"}},
		{name: "link retargeted", mutate: func(m *Mac) {
			m.st.Files[treeDir+"/alpine/latest.apk"].Target = "/etc/passwd"
		}, changed: []string{"alpine/latest.apk"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fixtureMac(t)
			if tt.mutate != nil {
				tt.mutate(m)
			}
			rep, err := m.VerifyTree(context.Background(), treeDir, treeLock, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(rep.Missing, tt.missing) || !reflect.DeepEqual(rep.Extra, tt.extra) {
				t.Errorf("missing %q extra %q, want %q %q", rep.Missing, rep.Extra, tt.missing, tt.extra)
			}
			if got := rep.ChangedPaths(); len(got) != len(tt.changed) || (len(got) > 0 && !reflect.DeepEqual(got, tt.changed)) {
				t.Errorf("changed %+v, want %q", rep.Changed, tt.changed)
			}
		})
	}
}

// TestVerifyTreeGuard: the guard is asked about every entry before
// anything is compared; a refusal stops the verification with no report
// (no digest, size or match of the refused file).
func TestVerifyTreeGuard(t *testing.T) {
	m := fixtureMac(t)
	var asked []string
	guard := func(p string) error {
		asked = append(asked, p)
		if strings.HasSuffix(p, "/kernel/Image") {
			return errors.New("refusing to read " + p)
		}
		return nil
	}
	rep, err := m.VerifyTree(context.Background(), treeDir, treeLock, guard)
	if err == nil || !strings.Contains(err.Error(), "refusing to read "+treeDir+"/kernel/Image") || rep.Files != 0 {
		t.Errorf("got %+v, %v; want the refusal and no report", rep, err)
	}
	if len(asked) < 2 || asked[0] != treeDir+"/alpine/apk-tools.apk" {
		t.Errorf("asked %q", asked)
	}
}

func TestVerifyTreeManifestInside(t *testing.T) {
	m := fixtureMac(t)
	inside := treeDir + "/" + fixturelock.DefaultName
	m.put(inside, m.st.Files[treeLock])
	rep, err := m.VerifyTree(context.Background(), treeDir, inside, nil)
	if err != nil || !rep.OK() {
		t.Errorf("manifest inside the tree: %+v, %v", rep, err)
	}
}

func TestVerifyTreeErrors(t *testing.T) {
	ctx := context.Background()
	m := fixtureMac(t)
	if _, err := m.VerifyTree(ctx, treeDir, treeDir+"/nope.lock", nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
	if _, err := m.VerifyTree(ctx, treeDir+"/nope", treeLock, nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing tree: %v", err)
	}
	m.st.Files[treeLock].Content = text(fixturelock.Header + "\nf 1 zz a\n")
	_, err := m.VerifyTree(ctx, treeDir, treeLock, nil)
	var pe *fixturelock.ParseError
	if !errors.As(err, &pe) || pe.Line != 2 {
		t.Errorf("malformed manifest: %v", err)
	}
	m = fixtureMac(t)
	m.st.Faults = append(m.st.Faults, Fault{ArgvPrefix: []string{fixturelock.OpVerifyTree}, Nth: 1, Exit: 1, Stderr: "Permission denied"})
	if _, err := m.VerifyTree(ctx, treeDir, treeLock, nil); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), treeDir) {
		t.Errorf("fault: %v", err)
	}
	if _, err := m.VerifyTree(ctx, treeDir, treeLock, nil); err != nil {
		t.Errorf("the fault was for the first call only: %v", err)
	}
}
