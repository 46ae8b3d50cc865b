package fixturelock

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TypeOther marks a tree node that is neither a regular file nor a
// symbolic link (a named pipe, a socket, a device). It never appears in a
// manifest: Lock refuses it and Verify reports it.
const TypeOther Type = '?'

// Node is one non-directory entry of a tree, as a Source lists it.
type Node struct {
	// Path is the raw path relative to the tree's root, "/"-separated.
	Path string
	// Type is TypeFile, TypeLink or TypeOther.
	Type Type
	// Size is the file's size in bytes (files only).
	Size int64
	// SHA256 is the file's digest when the source already knows it (the
	// fake macOS stores it); empty means Verify and Lock read the file
	// through Open and hash it.
	SHA256 string
	// Target is the link's target as stored (links only).
	Target string
	// Kind describes a TypeOther node for messages ("named pipe").
	Kind string
}

// Source is a tree that can be locked or verified: the local disk
// (DirSource) or a simulated file system.
type Source interface {
	// Root names the tree in messages.
	Root() string
	// List returns every non-directory entry below the root, without
	// following symbolic links, in any order. An unreadable directory is
	// an error naming it.
	List(ctx context.Context) ([]Node, error)
	// Open opens a regular file for hashing. It must not follow a
	// symbolic link at path. It is called concurrently.
	Open(ctx context.Context, path string) (io.ReadCloser, error)
}

// DirSource is a directory on the local disk. It is read relative to one
// handle of its root: every entry is looked at with
// fstatat(AT_SYMLINK_NOFOLLOW), every subdirectory opened with
// O_NOFOLLOW and checked to be the entry seen, so no symbolic link inside
// the tree is ever followed, even one swapped in while it is read.
type DirSource struct {
	// Dir is the tree's root. It is opened with OpenDir; by default a
	// symbolic link naming the root itself is followed.
	Dir string
	// Exclude lists raw relative paths left out of the tree (the
	// manifest itself when it lives inside the tree).
	Exclude []string
	// OpenDir opens Dir (see Options.OpenDir); nil means os.Open.
	OpenDir func(dir string) (*os.File, error)
}

// Root implements Source.
func (d DirSource) Root() string { return d.Dir }

// dirFlags opens a directory without following a link or blocking.
const dirFlags = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// maxTreeDepth bounds how deep List descends.
const maxTreeDepth = 512

// openRoot opens the tree's root and checks that it is a directory.
func (d DirSource) openRoot() (*os.File, error) {
	if d.Dir == "" {
		return nil, errors.New("no directory given")
	}
	open := d.OpenDir
	if open == nil {
		open = os.Open
	}
	f, err := open(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("fixture directory: %w", err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("fixture directory: %w", err)
	}
	if !info.IsDir() {
		f.Close()
		return nil, fmt.Errorf("fixture directory %s: not a directory", d.Dir)
	}
	return f, nil
}

// List implements Source.
func (d DirSource) List(ctx context.Context) ([]Node, error) {
	root, err := d.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	skip := make(map[string]bool, len(d.Exclude))
	for _, e := range d.Exclude {
		skip[e] = true
	}
	var nodes []Node
	if err := d.list(ctx, root, "", skip, 0, &nodes); err != nil {
		return nil, err
	}
	return nodes, nil
}

// list appends the entries of the open directory dir (rel below the
// root, "" for the root) and of its subdirectories.
func (d DirSource) list(ctx context.Context, dir *os.File, rel string, skip map[string]bool, depth int, nodes *[]Node) error {
	shown := filepath.Join(d.Dir, filepath.FromSlash(rel))
	if depth > maxTreeDepth {
		return fmt.Errorf("read %s: deeper than %d levels", shown, maxTreeDepth)
	}
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("read %s: %w", shown, err)
	}
	fd := int(dir.Fd())
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return err
		}
		r := name
		if rel != "" {
			r = rel + "/" + name
		}
		p := filepath.Join(shown, name)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		switch uint32(st.Mode) & unix.S_IFMT {
		case unix.S_IFDIR:
			sfd, err := unix.Openat(fd, name, dirFlags, 0)
			if err != nil {
				return fmt.Errorf("read %s: %w", p, err)
			}
			sub := os.NewFile(uintptr(sfd), p)
			var got unix.Stat_t
			if err := unix.Fstat(sfd, &got); err != nil || got.Dev != st.Dev || got.Ino != st.Ino {
				sub.Close()
				return fmt.Errorf("read %s: changed while it was read", p)
			}
			err = d.list(ctx, sub, r, skip, depth+1, nodes)
			sub.Close()
			if err != nil {
				return err
			}
			continue
		case unix.S_IFREG:
			switch {
			case skip[r]:
			case st.Nlink > 1:
				// Another name of a file anywhere on the volume, which
				// any account may make of a file it cannot read (link(2)
				// checks only the directory): root never reads, sizes or
				// hashes it.
				*nodes = append(*nodes, Node{Path: r, Type: TypeOther, Kind: HardLinkedKind(int(st.Nlink))})
			default:
				*nodes = append(*nodes, Node{Path: r, Type: TypeFile, Size: st.Size})
			}
		case unix.S_IFLNK:
			if skip[r] {
				continue
			}
			target, err := readlinkat(fd, name)
			if err != nil {
				return fmt.Errorf("read link %s: %w", p, err)
			}
			*nodes = append(*nodes, Node{Path: r, Type: TypeLink, Target: target})
		default:
			if !skip[r] {
				*nodes = append(*nodes, Node{Path: r, Type: TypeOther, Kind: describeMode(host.ModeType(uint32(st.Mode)))})
			}
		}
	}
	return nil
}

// readlinkat reads the target of the symlink name in dirfd.
func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", errors.New("symlink target too long")
}

// Open implements Source. It opens the file relative to a handle of the
// tree's root, every directory on the way with O_NOFOLLOW, the file
// itself with O_NOFOLLOW|O_NONBLOCK: a symbolic link that has replaced a
// listed file or directory is refused, and anything that is not a
// regular file fails at once instead of blocking.
func (d DirSource) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	full := filepath.Join(d.Dir, filepath.FromSlash(path))
	root, err := d.openRoot()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	parts := strings.Split(path, "/")
	fd, err := host.DupCloexec(int(root.Fd()))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", full, err)
	}
	for _, c := range parts[:len(parts)-1] {
		if c == "" || c == "." || c == ".." {
			unix.Close(fd)
			return nil, fmt.Errorf("open %s: not a plain relative path", full)
		}
		nfd, err := unix.Openat(fd, c, dirFlags, 0)
		unix.Close(fd)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w (not followed)", full, err)
		}
		fd = nfd
	}
	ffd, err := unix.Openat(fd, parts[len(parts)-1], unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", full, err)
	}
	f := os.NewFile(uintptr(ffd), full)
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", full, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file (%s)", full, describeMode(info.Mode().Type()))
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
		f.Close()
		return nil, fmt.Errorf("open %s: a %s", full, HardLinkedKind(int(st.Nlink)))
	}
	return f, nil
}

// HardLinkedKind describes a regular file with n names (n > 1) in a
// fixture tree: it is listed as TypeOther and never read, since it may be
// a root-only file elsewhere on the volume that another account linked
// into the tree.
func HardLinkedKind(n int) string {
	return fmt.Sprintf("file with %d hard links (possibly another file of the volume, which hvfctl does not read)", n)
}

func describeMode(t fs.FileMode) string {
	switch {
	case t&fs.ModeNamedPipe != 0:
		return "named pipe"
	case t&fs.ModeSocket != 0:
		return "socket"
	case t&fs.ModeCharDevice != 0:
		return "character device"
	case t&fs.ModeDevice != 0:
		return "block device"
	case t&fs.ModeDir != 0:
		return "directory"
	case t&fs.ModeSymlink != 0:
		return "symbolic link"
	case t.IsRegular():
		return "regular file"
	default:
		return "irregular file"
	}
}

// sortNodes orders nodes by raw path and rejects duplicates.
func sortNodes(src Source, nodes []Node) error {
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Path < nodes[j].Path })
	for i := range nodes {
		if msg := checkPath(nodes[i].Path); msg != "" {
			return fmt.Errorf("%s: entry %s: %s", src.Root(), Escape(nodes[i].Path), msg)
		}
		if i > 0 && nodes[i].Path == nodes[i-1].Path {
			return fmt.Errorf("%s: entry %s listed twice", src.Root(), Escape(nodes[i].Path))
		}
		if nodes[i].Type == TypeFile && nodes[i].SHA256 != "" && !isHexDigest(nodes[i].SHA256) {
			return fmt.Errorf("%s: entry %s: bad SHA-256 %q", src.Root(), Escape(nodes[i].Path), clip(nodes[i].SHA256))
		}
		if strings.IndexByte(nodes[i].Target, 0) >= 0 {
			return fmt.Errorf("%s: entry %s: link target contains a NUL byte", src.Root(), Escape(nodes[i].Path))
		}
	}
	return nil
}

// ListedSource is a tree whose nodes are already known, each file with its
// SHA-256 (a simulated file system that stores digests rather than bytes).
// Its files cannot be opened.
type ListedSource struct {
	// Name names the tree in messages.
	Name string
	// Nodes are the tree's non-directory entries.
	Nodes []Node
}

// Root implements Source.
func (l ListedSource) Root() string { return l.Name }

// List implements Source: a copy of Nodes.
func (l ListedSource) List(ctx context.Context) ([]Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return append([]Node(nil), l.Nodes...), nil
}

// Open implements Source. A listed file carries its digest, so it is
// never opened; Open says so if asked.
func (l ListedSource) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%s: %s: the file's bytes are not available, only its listed SHA-256", l.Name, Escape(path))
}
