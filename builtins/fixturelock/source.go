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

// DirSource is a directory on the local disk.
type DirSource struct {
	// Dir is the tree's root. A symbolic link naming the root itself is
	// followed; links inside the tree never are.
	Dir string
	// Exclude lists raw relative paths left out of the tree (the
	// manifest itself when it lives inside the tree).
	Exclude []string
}

// Root implements Source.
func (d DirSource) Root() string { return d.Dir }

// List implements Source.
func (d DirSource) List(ctx context.Context) ([]Node, error) {
	root, err := d.realRoot()
	if err != nil {
		return nil, err
	}
	skip := make(map[string]bool, len(d.Exclude))
	for _, e := range d.Exclude {
		skip[e] = true
	}
	var nodes []Node
	err = filepath.WalkDir(root, func(p string, de fs.DirEntry, werr error) error {
		if werr != nil {
			return fmt.Errorf("read %s: %w", p, werr)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return fmt.Errorf("path %s: %w", p, err)
		}
		rel = filepath.ToSlash(rel)
		if de.IsDir() {
			return nil
		}
		if skip[rel] {
			return nil
		}
		n := Node{Path: rel}
		switch t := de.Type(); {
		case t.IsRegular():
			info, err := de.Info()
			if err != nil {
				return fmt.Errorf("stat %s: %w", p, err)
			}
			n.Type = TypeFile
			n.Size = info.Size()
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("read link %s: %w", p, err)
			}
			n.Type = TypeLink
			n.Target = target
		default:
			n.Type = TypeOther
			n.Kind = describeMode(t)
		}
		nodes = append(nodes, n)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return nodes, nil
}

// Open implements Source. It opens the file relative to a handle of the
// directory, refuses to follow a symbolic link that has replaced a listed
// file, and refuses anything that is not a regular file without blocking
// on it.
func (d DirSource) Open(ctx context.Context, path string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	full := filepath.Join(d.Dir, filepath.FromSlash(path))
	// Relative to a handle of the directory (a link cannot lead out of
	// it), never following a final link, and non-blocking so that a
	// FIFO planted in the tree fails at once instead of hanging.
	root, err := os.OpenRoot(d.Dir)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d.Dir, err)
	}
	defer root.Close()
	f, err := root.OpenFile(filepath.FromSlash(path), os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", full, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", full, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("open %s: not a regular file (%s)", full, describeMode(info.Mode().Type()))
	}
	return f, nil
}

// realRoot resolves a root given as a symbolic link (on macOS /tmp and
// /var are links) and checks that it is a directory.
func (d DirSource) realRoot() (string, error) {
	if d.Dir == "" {
		return "", errors.New("no directory given")
	}
	root, err := filepath.EvalSymlinks(d.Dir)
	if err != nil {
		return "", fmt.Errorf("fixture directory: %w", err)
	}
	info, err := os.Stat(root)
	if err != nil {
		return "", fmt.Errorf("fixture directory: %w", err)
	}
	if !info.IsDir() {
		return "", fmt.Errorf("fixture directory %s: not a directory", d.Dir)
	}
	return root, nil
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
