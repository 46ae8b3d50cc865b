package fakemac

import (
	"context"
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// kernelMac is a fresh Mac with a small tree owned by the runner account
// and links of every shape the kernel must resolve.
func kernelMac(t *testing.T) *Mac {
	t.Helper()
	m := mustNew(t, "fresh-m4")
	put := func(p string, n *Node) { m.st.Files[p] = n }
	put("/Users/Shared/w", &Node{Type: TypeDir, Mode: 0o755, Owner: "admin", Group: "wheel"})
	put("/Users/Shared/w/a", &Node{Type: TypeDir, Mode: 0o755, Owner: "admin", Group: "wheel"})
	put("/Users/Shared/w/a/f", &Node{Type: TypeFile, Mode: 0o644, Owner: "admin", Group: "wheel", Content: text("x")})
	// s -> . ; e1 -> s/.. ; e2 -> e1/.. : lexically inside a, really two
	// levels up.
	put("/Users/Shared/w/a/s", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "."})
	put("/Users/Shared/w/a/e1", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "s/.."})
	put("/Users/Shared/w/a/e2", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "e1/.."})
	put("/Users/Shared/w/a/etc", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "/private/etc"})
	put("/Users/Shared/w/a/loop", &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "loop"})
	put("/Users/Shared/w/a/fifo", &Node{Type: TypeFIFO, Mode: 0o644, Owner: "admin", Group: "wheel"})
	if m.st.Files["/private/etc"] == nil {
		m.mkdirAll("/private/etc", 0o755, "root", "wheel")
	}
	put("/private/etc/sudoers", &Node{Type: TypeFile, Mode: 0o440, Owner: "root", Group: "wheel", Content: text("root ALL=(ALL) ALL\n")})
	return m
}

func TestResolveLikeTheKernel(t *testing.T) {
	m := kernelMac(t)
	for _, tc := range []struct {
		path, want string
		err        error
	}{
		{"/Users/Shared/w/a/s", "/Users/Shared/w/a", nil},
		{"/Users/Shared/w/a/e1", "/Users/Shared/w", nil},
		{"/Users/Shared/w/a/e2", "/Users/Shared", nil},
		{"/Users/Shared/w/a/e2/w/a/f", "/Users/Shared/w/a/f", nil},
		// ".." after a link goes to the parent of its target.
		{"/Users/Shared/w/a/etc/../etc/sudoers", "/private/etc/sudoers", nil},
		{"/Users/Shared/w/a/etc/..", "/private", nil},
		{"/Users/Shared/w/a/loop", "", errLoop},
		{"/Users/Shared/w/a/f/x", "", errNotDir},
		{"/Users/Shared/w/nope/../a", "", fs.ErrNotExist},
	} {
		got, err := m.resolve(host.Root, tc.path, true)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("resolve(%s) = %q, %v; want error %v", tc.path, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("resolve(%s) = %q, %v; want %q", tc.path, got, err, tc.want)
		}
	}
}

func TestChownChmodLinks(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		argv []string
		// which node changes: the link itself or the sudoers file.
		link, target bool
	}{
		{"chown follows", []string{"/usr/sbin/chown", "nobody:staff", "/Users/Shared/w/a/etc/sudoers"}, false, true},
		{"chown -h", []string{"/usr/sbin/chown", "-h", "nobody:staff", "/Users/Shared/w/l"}, true, false},
		{"chown -R physical", []string{"/usr/sbin/chown", "-R", "nobody:staff", "/Users/Shared/w/l"}, true, false},
		{"chown follows operand", []string{"/usr/sbin/chown", "nobody:staff", "/Users/Shared/w/l"}, false, true},
		{"chmod -h", []string{"/bin/chmod", "-h", "777", "/Users/Shared/w/l"}, true, false},
		{"chmod -R skips", []string{"/bin/chmod", "-R", "777", "/Users/Shared/w/l"}, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := kernelMac(t)
			m.st.Files["/Users/Shared/w/l"] = &Node{Type: TypeSymlink, Mode: 0o755, Owner: "admin", Group: "wheel", Target: "/private/etc/sudoers"}
			res, err := m.Run(ctx, host.Command{Argv: tc.argv})
			if err != nil || res.Exit != 0 {
				t.Fatalf("%v: %v %+v", tc.argv, err, res)
			}
			l, f := m.st.Files["/Users/Shared/w/l"], m.st.Files["/private/etc/sudoers"]
			linkChanged := l.Owner != "admin" || l.Mode != 0o755
			targetChanged := f.Owner != "root" || f.Mode != 0o440
			if linkChanged != tc.link || targetChanged != tc.target {
				t.Errorf("link changed %v (want %v), target changed %v (want %v)", linkChanged, tc.link, targetChanged, tc.target)
			}
		})
	}
}

func TestHardLinksFIFOsUsers(t *testing.T) {
	ctx := context.Background()
	m := kernelMac(t)
	if err := m.hardLink("/private/etc/sudoers", "/Users/Shared/w/h"); err != nil {
		t.Fatal(err)
	}
	fi, err := m.Lstat(ctx, "/Users/Shared/w/h")
	if err != nil || fi.Nlink != 2 || fi.Type != host.TypeFile || fi.UID != 0 {
		t.Fatalf("Lstat of a hard link: %+v, %v", fi, err)
	}
	// chown -R of a tree with a hard link changes the other name too.
	if res, err := m.Run(ctx, host.Command{Argv: []string{"/usr/sbin/chown", "-R", "nobody:staff", "/Users/Shared/w"}}); err != nil || res.Exit != 0 {
		t.Fatalf("chown -R: %v %+v", err, res)
	}
	if o := m.st.Files["/private/etc/sudoers"].Owner; o != "nobody" {
		t.Errorf("chown -R through a hard link left the other name owned by %s", o)
	}
	// The link survives a save and load.
	c := m.Clone()
	c.st.Files["/Users/Shared/w/h"].Mode = 0o600
	if c.st.Files["/private/etc/sudoers"].Mode != 0o600 {
		t.Error("Clone split a hard-linked file into two")
	}
	if _, err := m.ReadFile(ctx, "/Users/Shared/w/a/fifo", 10); err == nil || !strings.Contains(err.Error(), "Fifo") {
		t.Errorf("reading a FIFO: %v, want a refusal", err)
	}
	res := exec(t, m, as("root", "/usr/bin/stat", "-f", "%HT %Sp", "/Users/Shared/w/a/fifo"))
	if res.Stdout != "Fifo File prw-r--r--\n" {
		t.Errorf("stat of a FIFO: %q", res.Stdout)
	}
	for _, name := range []string{"root", "Root", "ROOT"} {
		if uid, err := m.UserID(ctx, name); err != nil || uid != 0 {
			t.Errorf("UserID(%q) = %d, %v", name, uid, err)
		}
	}
	if r := exec(t, m, as("Root", "/usr/bin/id", "-u")); strings.TrimSpace(r.Stdout) != "0" {
		t.Errorf("a command run as Root runs as uid %q", r.Stdout)
	}
}

// TestHardLinkedRootSymlinkInTmp: a hard link to root's symlink, made by
// the runner account in sticky /tmp, is owned by root in a root-owned
// directory; it is still not a link root made there, so neither the
// resolver nor the root walk crosses it.
func TestHardLinkedRootSymlinkInTmp(t *testing.T) {
	ctx := context.Background()
	m, err := New("converged")
	if err != nil {
		t.Fatal(err)
	}
	if !m.PlantableBy("ghrunner", "/tmp/cache") {
		t.Fatal("the runner account cannot add to /tmp")
	}
	m.mkdirAll(path.Dir(RootLink), 0o755, "root", "wheel")
	m.put(RootLink, &Node{Type: TypeSymlink, Mode: 0o755, Owner: "root", Group: "wheel", Target: RootDir})
	// Root's own link at its own place is crossed.
	if _, err := m.rootWalk(RootLink + "/x.plist"); err != nil {
		t.Errorf("root's link: %v", err)
	}
	if err := m.Plant("/tmp/cache", PlantHardLinkToRootLink, "ghrunner"); err != nil {
		t.Fatal(err)
	}
	fi, err := m.Lstat(ctx, "/private/tmp/cache")
	if err != nil || fi.Type != host.TypeSymlink || fi.UID != 0 || fi.Nlink != 2 {
		t.Fatalf("the planted alias: %+v %v", fi, err)
	}
	res, err := host.Resolve(ctx, m, "/tmp/cache/evil.plist", false)
	if err != nil {
		t.Fatal(err)
	}
	if u := res.Untrusted(); len(u) != 1 || u[0].Path != "/private/tmp/cache" {
		t.Errorf("untrusted links %v, want the alias", u)
	}
	if _, err := m.rootWalk("/tmp/cache/evil.plist"); err == nil {
		t.Error("the root walk crossed the alias")
	}
	// Once aliased, neither name can be told from the other.
	if _, err := m.rootWalk(RootLink + "/x.plist"); err == nil {
		t.Error("the root walk crossed a symlink with two links")
	}
	// Root's entry in a sticky directory is not the runner's to replace.
	m.put("/private/tmp/root-owned", &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Content: text("x")})
	if m.PlantableBy("ghrunner", "/tmp/root-owned") {
		t.Error("the runner account may replace root's entry in sticky /tmp")
	}
}
