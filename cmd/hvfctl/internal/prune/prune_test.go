package prune

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// item is one entry of a test tree: kind is "f" (file), "d" (directory)
// or "l:TARGET" (symbolic link), age is how long ago it was modified.
type item struct {
	kind string
	age  time.Duration
}

const day = 24 * time.Hour

// build creates the tree under a new directory and sets every mtime,
// deepest entries first so that creating children does not move their
// parent's time afterwards.
func build(t *testing.T, tree map[string]item) string {
	t.Helper()
	root := t.TempDir()
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		it := tree[p]
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case it.kind == "f":
			err = os.WriteFile(full, []byte(p), 0o644)
		case it.kind == "d":
			err = os.Mkdir(full, 0o755)
		case strings.HasPrefix(it.kind, "l:"):
			err = os.Symlink(strings.TrimPrefix(it.kind, "l:"), full)
		default:
			t.Fatalf("bad kind %q", it.kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(paths, func(i, j int) bool { return strings.Count(paths[i], "/") > strings.Count(paths[j], "/") })
	for _, p := range paths {
		setAge(t, filepath.Join(root, p), tree[p].age)
	}
	return root
}

func setAge(t *testing.T, path string, age time.Duration) {
	t.Helper()
	tv := unix.NsecToTimeval(now.Add(-age).UnixNano())
	if err := unix.Lutimes(path, []unix.Timeval{tv, tv}); err != nil {
		t.Fatalf("lutimes %s: %v", path, err)
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		name    string
		tree    map[string]item
		older   time.Duration
		removed []string // relative; directories end in "/"
		remain  []string // relative paths that must still exist
	}{
		{
			name:    "old and new files",
			tree:    map[string]item{"old": {"f", 8 * day}, "new": {"f", 1 * day}, "edge": {"f", 7*day - time.Minute}},
			older:   7 * day,
			removed: []string{"old"},
			remain:  []string{"new", "edge"},
		},
		{
			name: "old directory removed whole",
			tree: map[string]item{
				"ws/a/b/c": {"f", 30 * day}, "ws/a/b": {"d", 30 * day}, "ws/a": {"d", 30 * day}, "ws/x": {"f", 9 * day}, "ws": {"d", 8 * day},
			},
			older:   7 * day,
			removed: []string{"ws/"},
		},
		{
			name: "directory kept when anything inside is recent",
			tree: map[string]item{
				"ws/deep/er/fresh": {"f", time.Hour}, "ws/deep/er": {"d", 20 * day}, "ws/deep": {"d", 20 * day},
				"ws/deep/stale": {"f", 20 * day}, "ws/stale": {"d", 20 * day}, "ws/stale/f": {"f", 20 * day},
				"ws": {"d", 20 * day},
			},
			older:   7 * day,
			removed: []string{"ws/deep/stale", "ws/stale/"},
			remain:  []string{"ws/deep/er/fresh", "ws/deep/er", "ws"},
		},
		{
			name:    "recent directory with only old contents is kept, its contents go",
			tree:    map[string]item{"d/old1": {"f", 10 * day}, "d/old2": {"f", 10 * day}, "d": {"d", time.Hour}},
			older:   7 * day,
			removed: []string{"d/old1", "d/old2"},
			remain:  []string{"d"},
		},
		{
			name: "old symlink removed as a link, its target untouched",
			tree: map[string]item{
				"keep/target": {"f", 30 * day}, "keep/fresh": {"f", time.Minute}, "keep": {"d", 30 * day},
				"link": {"l:keep/target", 30 * day}, "dirlink": {"l:keep", 30 * day},
			},
			older:   7 * day,
			removed: []string{"dirlink", "keep/target", "link"},
			remain:  []string{"keep", "keep/fresh"},
		},
		{
			name:   "recent link to an old file is kept; the file is not",
			tree:   map[string]item{"f": {"f", 30 * day}, "ln": {"l:f", time.Hour}},
			older:  7 * day,
			remain: []string{"ln"},
			// The link dangles afterwards: prune judges entries, not what links name.
			removed: []string{"f"},
		},
		{
			name:  "link into a recent directory does not keep an old one alive",
			tree:  map[string]item{"old/ln": {"l:../new", 30 * day}, "old": {"d", 30 * day}, "new/f": {"f", time.Hour}, "new": {"d", time.Hour}},
			older: 7 * day, removed: []string{"old/"}, remain: []string{"new/f"},
		},
		{
			name:  "hours and minutes",
			tree:  map[string]item{"a": {"f", 37 * time.Hour}, "b": {"f", 35 * time.Hour}, "c": {"f", 91 * time.Minute}, "d": {"f", 89 * time.Minute}},
			older: 36 * time.Hour, removed: []string{"a"}, remain: []string{"b", "c", "d"},
		},
		{
			name:  "ninety minutes",
			tree:  map[string]item{"c": {"f", 91 * time.Minute}, "d": {"f", 89 * time.Minute}},
			older: 90 * time.Minute, removed: []string{"c"}, remain: []string{"d"},
		},
		{name: "empty directory to prune", tree: map[string]item{}, older: time.Hour},
		{
			name:  "old empty subdirectory",
			tree:  map[string]item{"empty": {"d", 8 * day}, "fresh-empty": {"d", time.Hour}},
			older: 7 * day, removed: []string{"empty/"}, remain: []string{"fresh-empty"},
		},
	}
	for _, tt := range tests {
		for _, dry := range []bool{true, false} {
			name := tt.name
			if dry {
				name += " (dry run)"
			}
			t.Run(name, func(t *testing.T) {
				root := build(t, tt.tree)
				outside := filepath.Join(t.TempDir(), "outside")
				if err := os.WriteFile(outside, []byte("x"), 0o644); err != nil {
					t.Fatal(err)
				}
				setAge(t, root, 100*day)
				var reported []string
				res, err := Run(context.Background(), Options{Dir: root, OlderThan: tt.older, Now: now, DryRun: dry}, func(r Removal) {
					rel, _ := filepath.Rel(root, r.Path)
					if r.Dir {
						rel += "/"
					}
					reported = append(reported, rel)
				})
				if err != nil {
					t.Fatal(err)
				}
				sort.Strings(reported)
				if !reflect.DeepEqual(reported, tt.removed) && (len(reported) != 0 || len(tt.removed) != 0) {
					t.Errorf("removed %q, want %q", reported, tt.removed)
				}
				if len(res.Removed) != len(reported) {
					t.Errorf("result lists %d removals, reported %d", len(res.Removed), len(reported))
				}
				if _, err := os.Lstat(root); err != nil {
					t.Errorf("the directory itself is gone: %v", err)
				}
				for _, p := range tt.remain {
					if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
						t.Errorf("%s should remain: %v", p, err)
					}
				}
				for _, p := range tt.removed {
					_, err := os.Lstat(filepath.Join(root, strings.TrimSuffix(p, "/")))
					if dry && err != nil {
						t.Errorf("dry run removed %s: %v", p, err)
					}
					if !dry && !errors.Is(err, os.ErrNotExist) {
						t.Errorf("%s should be gone: %v", p, err)
					}
				}
			})
		}
	}
}

func TestRunNeverFollowsLinks(t *testing.T) {
	target := t.TempDir()
	victim := filepath.Join(target, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	setAge(t, victim, 100*day)
	setAge(t, target, 100*day)
	root := build(t, map[string]item{"to-dir": {"l:" + target, 30 * day}, "to-file": {"l:" + victim, 30 * day}})
	if _, err := Run(context.Background(), Options{Dir: root, OlderThan: day, Now: now}, nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious" {
		t.Errorf("link target damaged: %q, %v", b, err)
	}
	for _, p := range []string{"to-dir", "to-file"} {
		if _, err := os.Lstat(filepath.Join(root, p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("old link %s not removed: %v", p, err)
		}
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	link := filepath.Join(dir, "link")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		dir, want string
	}{
		{"/", "refusing to prune /"},
		{"//", "refusing to prune /"},
		{"/./", "refusing to prune /"},
		{"/tmp/../", "refusing to prune /"},
		{"relative/dir", "relative path"},
		{".", "relative path"},
		{"", "no directory"},
		{filepath.Join(dir, "nope"), "no such file"},
		{file, "not a directory"},
		{link, "symbolic link"},
		{dir, ""},
	}
	for _, tt := range tests {
		err := CheckDir(tt.dir)
		if tt.want == "" {
			if err != nil {
				t.Errorf("CheckDir(%q) = %v", tt.dir, err)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("CheckDir(%q) = %v, want ErrBadInput with %q", tt.dir, err, tt.want)
		}
	}
	if _, err := Run(context.Background(), Options{Dir: "/", OlderThan: day}, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("Run(/) = %v", err)
	}
	if _, err := Run(context.Background(), Options{Dir: dir}, nil); !errors.Is(err, ErrBadInput) {
		t.Errorf("Run with no age = %v", err)
	}
}

func TestParseAge(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"7d", 7 * day, ""},
		{"36h", 36 * time.Hour, ""},
		{"90m", 90 * time.Minute, ""},
		{"45s", 45 * time.Second, ""},
		{"2w", 14 * day, ""},
		{"1d12h", 36 * time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"", 0, "empty age"},
		{"7", 0, "want numbers each followed by a unit"},
		{"d", 0, "want numbers each followed by a unit"},
		{"7x", 0, "unknown unit"},
		{"7D", 0, "unknown unit"},
		{"-7d", 0, "want numbers"},
		{"1.5d", 0, "unknown unit"},
		{"7d ", 0, "want numbers"},
		{"0d", 0, "more than zero"},
		{"99999999999999d", 0, "too large"},
		{"106751d106751d", 0, "too large"},
	}
	for _, tt := range tests {
		got, err := ParseAge(tt.in)
		if tt.err == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseAge(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			continue
		}
		if err == nil || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("ParseAge(%q) = %v, %v; want error with %q", tt.in, got, err, tt.err)
		}
	}
}

func TestRunBytesAndCancel(t *testing.T) {
	root := build(t, map[string]item{"d/a": {"f", 30 * day}, "d/b": {"f", 30 * day}, "d": {"d", 30 * day}})
	res, err := Run(context.Background(), Options{Dir: root, OlderThan: day, Now: now, DryRun: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := int64(len("d/a") + len("d/b"))
	if res.Bytes != want || len(res.Removed) != 1 || res.Removed[0].Bytes != want || !res.Removed[0].Dir {
		t.Errorf("result %+v, want one directory of %d bytes", res, want)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, Options{Dir: root, OlderThan: day, Now: now}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(root, "d/a")); err != nil {
		t.Errorf("a cancelled run removed something: %v", err)
	}
}

// TestRemoveAfterSwap swaps a symlink into the middle of a scanned path
// (and over a scanned directory) before the removal: the removal goes
// through directory handles opened with O_NOFOLLOW, so it fails instead
// of following the link, and the files the link leads to stay.
func TestRemoveAfterSwap(t *testing.T) {
	old := now.Add(-30 * day)
	for _, tc := range []struct {
		name string
		node func(root string) *node
	}{
		{"link in the middle of the path", func(root string) *node {
			return &node{path: filepath.Join(root, "a", "victim"), mode: 0}
		}},
		{"link over a scanned directory", func(root string) *node {
			return &node{path: filepath.Join(root, "a"), mode: fs.ModeDir}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			outside := t.TempDir()
			victim := filepath.Join(outside, "victim")
			if err := os.WriteFile(victim, []byte("keep"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(victim, old, old); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(root, "a")); err != nil {
				t.Fatal(err)
			}
			p := &pruner{root: root, ctx: t.Context(), cutoff: now.Add(-7 * day)}
			p.remove(tc.node(root))
			if _, err := os.Stat(victim); err != nil {
				t.Fatalf("the removal followed the swapped link: %v", err)
			}
			if len(p.res.Removed) != 0 {
				t.Errorf("reported removed: %+v", p.res.Removed)
			}
		})
	}
}

// TestRunRefusesALinkInTheMiddle prunes a directory whose path crosses a
// symlink the runner account could have planted (one not made by root in
// a root-only directory): the scan never reads through it, so nothing in
// the link's target is listed, let alone removed.
func TestRunRefusesALinkInTheMiddle(t *testing.T) {
	base := t.TempDir()
	target := filepath.Join(base, "system")
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.MkdirAll(filepath.Join(target, "work"), 0o755); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(target, "work", "precious")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(keep, old, old); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(base, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(home, "actions-runner")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	// As root, the link must belong to another account to be untrusted
	// (as it would when a job plants it); otherwise the home directory
	// is not root's and the link is untrusted anyway.
	if os.Getuid() == 0 {
		if err := os.Lchown(link, 4242, 4242); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Run(context.Background(), Options{Dir: filepath.Join(link, "work"), OlderThan: 24 * time.Hour}, nil)
	if err == nil || !strings.Contains(err.Error(), link+" is a symlink not made by root") {
		t.Fatalf("Run through a planted link: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("the file behind the link is gone: %v", err)
	}
}
