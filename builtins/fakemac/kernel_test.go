package fakemac

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"syscall"
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

// TestQueriesApplyTheRootWalk looks at paths through the links of
// kernelMac with the in-process queries (Lstat, ReadDir, StatPaths,
// ListDir), which must walk as the real backend does: a symlink in the
// middle of a path is crossed only when root made it in a directory only
// root can change (/etc -> private/etc); any other gives an error naming
// it (host.ErrUntrustedLink); a final link is described, never followed.
func TestQueriesApplyTheRootWalk(t *testing.T) {
	m := kernelMac(t)
	ctx := context.Background()
	if m.st.Files["/etc"] == nil || m.st.Files["/etc"].Type != TypeSymlink {
		t.Fatal("the fresh-m4 preset has no /etc -> private/etc link")
	}
	for _, tc := range []struct {
		path string
		want error  // nil: described
		text string // in the error, or the type described
	}{
		{"/Users/Shared/w/a/etc/sudoers", host.ErrUntrustedLink, "/Users/Shared/w/a/etc is a symlink not made by root (-> /private/etc; it is not owned by root)"},
		{"/Users/Shared/w/a/e2/w/a/f", host.ErrUntrustedLink, "/Users/Shared/w/a/e2 is a symlink not made by root"},
		{"/Users/Shared/w/a/s/f", host.ErrUntrustedLink, "/Users/Shared/w/a/s is a symlink"},
		{"/Users/Shared/w/a/etc", nil, TypeSymlink},
		{"/etc/sudoers", nil, TypeFile},
		{"/Users/Shared/w/a/f/x", syscall.ENOTDIR, ""},
		{"/Users/Shared/w/gone/x", fs.ErrNotExist, ""},
		{"/", nil, TypeDir},
	} {
		fi, err := m.Lstat(ctx, tc.path)
		if tc.want == nil {
			if err != nil || fi.Type != tc.text {
				t.Errorf("Lstat(%s) = %+v, %v; want a %s", tc.path, fi, err, tc.text)
			}
			continue
		}
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("Lstat(%s) error %v; want %v holding %q", tc.path, err, tc.want, tc.text)
		}
		sts, err := m.StatPaths(ctx, []string{tc.path})
		if err != nil || len(sts) != 1 || !errors.Is(sts[0].Err, tc.want) {
			t.Errorf("StatPaths(%s) = %+v, %v", tc.path, sts, err)
		}
		if _, err := m.ListDir(ctx, tc.path); err == nil {
			t.Errorf("ListDir(%s) succeeded", tc.path)
		}
	}
	fi, err := m.Lstat(ctx, "/private/etc/sudoers")
	if err != nil || fi.Owner != "root" || fi.Group != "wheel" || fi.Mode != 0o440 || fi.Size != int64(len("root ALL=(ALL) ALL\n")) || fi.Nlink != 1 {
		t.Errorf("Lstat of sudoers: %+v %v", fi, err)
	}
	if names, err := m.ListDir(ctx, "/Users/Shared/w/a/etc"); err == nil {
		t.Errorf("ListDir of a final link listed %v", names)
	}
	if names, err := m.ListDir(ctx, "/Users/Shared/w"); err != nil || len(names) != 1 || names[0] != "a" {
		t.Errorf("ListDir of a directory: %v %v", names, err)
	}
	// A recorded answer replays as it was recorded, errors by kind.
	sts := []host.PathStat{{Path: "/x", Info: host.FileInfo{Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel", Nlink: 2}},
		{Path: "/y", Err: fmt.Errorf("lstat /y: /l is a %w", host.ErrUntrustedLink)}, {Path: "/z", Err: fmt.Errorf("lstat /z: %w", fs.ErrNotExist)}}
	out, err := host.EncodeStats(sts)
	if err != nil {
		t.Fatal(err)
	}
	m.st.Responses = append(m.st.Responses, Response{Argv: []string{host.OpStat, "/x", "/y", "/z"}, Stdout: out})
	got, err := m.StatPaths(ctx, []string{"/x", "/y", "/z"})
	if err != nil || len(got) != 3 || got[0].Info != sts[0].Info || !errors.Is(got[1].Err, host.ErrUntrustedLink) || got[1].Err.Error() != sts[1].Err.Error() || !errors.Is(got[2].Err, fs.ErrNotExist) {
		t.Errorf("replayed %+v %v", got, err)
	}
}

// TestSplitPartsAndChild: the walk's component splitter and join give
// what strings.Split without empty and "." components and path.Join
// give.
func TestSplitPartsAndChild(t *testing.T) {
	for _, p := range []string{"", "/", "//", ".", "./", "a", "/a", "a/", "/a/b/c", "//a//b/", "./a/./b", "/a/../b", "..", "/.../a", "a/.b/c.", "/Users/ghrunner/actions-runner/_work"} {
		var want []string
		for _, c := range strings.Split(p, "/") {
			if c != "" && c != "." {
				want = append(want, c)
			}
		}
		if got := splitParts(p); !slices.Equal(got, want) {
			t.Errorf("splitParts(%q) = %q, want %q", p, got, want)
		}
	}
	for _, dir := range []string{"/", "/a", "/a/b", "/Users/ghrunner"} {
		for _, name := range []string{"x", "...", ".hidden", "a b"} {
			if got, want := child(dir, name), path.Join(dir, name); got != want {
				t.Errorf("child(%q, %q) = %q, want %q", dir, name, got, want)
			}
		}
	}
}
