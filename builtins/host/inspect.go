package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"
)

// File types of FileInfo.Type.
const (
	TypeFile    = "file"
	TypeDir     = "dir"
	TypeSymlink = "symlink"
	TypeFIFO    = "fifo"
	TypeChar    = "char"  // character device
	TypeBlock   = "block" // block device
	TypeSocket  = "socket"
)

// FileInfo is what lstat(2) says about one path: the final component is
// never followed.
type FileInfo struct {
	Type   string
	Mode   fs.FileMode // permission and special bits (07777)
	UID    int
	GID    int
	Owner  string // user name of UID, or its number
	Group  string // group name of GID, or its number
	Size   int64  // st_size
	Nlink  int
	Target string // a symlink's target
	// ACLAllow lists, sorted and comma-separated, the rights the ACL's
	// allow entries grant to principals other than root and wheel
	// (chmod(1)'s names for the object's type: "add_file",
	// "delete_child", "write", ...; a string keeps FileInfo comparable).
	// Both backends compute it with kauth.Allowed: the real one from the
	// ACL getattrlist returns for the walked entry, the fake from its
	// model.
	ACLAllow string `json:",omitempty"`
}

// ErrUntrustedLink is wrapped by the error of an Inspector call (and of
// every other operation root performs itself) whose path crosses a
// symlink that root did not make in a directory only root can change:
// root never reads or changes anything through such a link. The error
// names the link.
var ErrUntrustedLink = errors.New("symlink not made by root")

// Inspector is implemented by hosts that can inspect paths and accounts
// in-process, without running a program: lstat a path, list a directory
// and resolve an account name to its uid the way the system does (on
// macOS names are case-insensitive and aliases exist). Both backends
// implement it; the engine uses it to resolve every path an action writes
// before the action runs (see Resolve).
//
// Lstat and ReadDir walk the path from "/" one component at a time as
// root walks it (builtins/darwin openDir): a symlink in the middle of the
// path is crossed only when root owns it in a directory only root can
// change (OnlyRootChanges), such as /tmp -> private/tmp; any other gives
// an error wrapping ErrUntrustedLink that names it, never the metadata or
// the names behind it.
type Inspector interface {
	// Lstat describes path (clean and absolute) without following a
	// final symlink. A missing path gives an error satisfying
	// errors.Is(err, fs.ErrNotExist); a path below a non-directory, one
	// satisfying errors.Is(err, syscall.ENOTDIR).
	Lstat(ctx context.Context, path string) (FileInfo, error)
	// ReadDir lists the names in a directory, without following a final
	// symlink (a symlink gives an error), in no particular order.
	ReadDir(ctx context.Context, dir string) ([]string, error)
	// UserID resolves an account name to its uid.
	UserID(ctx context.Context, name string) (int, error)
}

// InspectorOf returns the Inspector of h, looking through a Recorder.
func InspectorOf(h Host) (Inspector, bool) { return capability[Inspector](h) }

// capability returns h as a T, looking through Recorders.
func capability[T any](h Host) (T, bool) {
	for h != nil {
		if c, ok := h.(T); ok {
			return c, true
		}
		r, ok := h.(*Recorder)
		if !ok {
			break
		}
		h = r.Inner()
	}
	var zero T
	return zero, false
}

// maxSymlinks is the kernel's MAXSYMLINKS on macOS (sys/param.h).
const maxSymlinks = 32

// ErrLoop is returned when resolving a path crosses more than 32
// symlinks (ELOOP).
var ErrLoop = errors.New("too many levels of symbolic links")

// Link is one symlink crossed while resolving a path.
type Link struct {
	Path    string // where the link is (its real path)
	Target  string
	Owner   string
	Trusted bool // owned by root, one link, in a directory only root can change
}

func (l Link) String() string {
	return fmt.Sprintf("%s -> %s (owned by %s)", l.Path, l.Target, l.Owner)
}

// Resolution is a path resolved component by component the way the
// kernel does it: a ".." after a symlink goes to the parent of the
// link's target, not back lexically.
type Resolution struct {
	// Path is the real path: every symlink crossed is resolved. When the
	// final component is missing, Path names it inside its real parent.
	Path string
	// Exists says the final component exists; Final describes it.
	Exists bool
	Final  FileInfo
	// Links are the symlinks crossed, in order.
	Links []Link
	// FinalLink is set when the final component is a symlink that was
	// not followed (follow false).
	FinalLink *Link
	// ParentTrusted says the real parent directory of the final component
	// can be changed by root alone.
	ParentTrusted bool
	// Missing counts the components that do not exist yet (Path names
	// them below the deepest real directory), as mkdir -p would create
	// them.
	Missing int
}

// Untrusted returns the symlinks crossed that a principal other than
// root could have made or could change.
func (r Resolution) Untrusted() []Link {
	var out []Link
	for _, l := range r.Links {
		if !l.Trusted {
			out = append(out, l)
		}
	}
	return out
}

// OnlyRootChanges reports whether the entries of a directory described
// by d can be changed by root alone: it is owned by root and writable by
// nobody else, or sticky (then only an entry's owner may rename or remove
// it). This is the rule the real backend applies when it crosses a link
// (builtins/darwin trustedLinkAt).
func OnlyRootChanges(d FileInfo) bool {
	if d.Type != TypeDir || d.UID != 0 {
		return false
	}
	return d.Mode&0o1000 != 0 || d.Mode&0o022 == 0
}

// splitPath returns the components of p, dropping empty ones and ".".
func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" && c != "." {
			out = append(out, c)
		}
	}
	return out
}

// Resolve resolves an absolute path on a host component by component
// with lstat, following every symlink in a directory position and, when
// follow is set, a final one. A missing directory on the way gives
// fs.ErrNotExist; a non-directory on the way gives an error naming it.
func Resolve(ctx context.Context, in Inspector, p string, follow bool) (Resolution, error) {
	var r Resolution
	if !path.IsAbs(p) {
		return r, fmt.Errorf("%q is not an absolute path", p)
	}
	if strings.HasSuffix(p, "/") {
		follow = true
	}
	cur := "/"
	curInfo, err := in.Lstat(ctx, "/")
	if err != nil {
		return r, fmt.Errorf("lstat /: %w", err)
	}
	rest := splitPath(p)
	hops := 0
	for len(rest) > 0 {
		part := rest[0]
		rest = rest[1:]
		if curInfo.Type != TypeDir {
			return r, fmt.Errorf("%s: %s is a %s, not a directory", p, cur, curInfo.Type)
		}
		if part == ".." {
			cur = path.Dir(cur)
			if curInfo, err = in.Lstat(ctx, cur); err != nil {
				return r, fmt.Errorf("lstat %s: %w", cur, err)
			}
			if len(rest) == 0 {
				r.Path, r.Exists, r.Final = cur, true, curInfo
				parent, perr := in.Lstat(ctx, path.Dir(cur))
				r.ParentTrusted = perr == nil && OnlyRootChanges(parent)
				return r, nil
			}
			continue
		}
		next := path.Join(cur, part)
		info, err := in.Lstat(ctx, next)
		last := len(rest) == 0
		if errors.Is(err, fs.ErrNotExist) {
			for _, c := range rest {
				if c == ".." {
					return r, fmt.Errorf("%s: \"..\" below %s, which does not exist: %w", p, next, fs.ErrNotExist)
				}
			}
			r.Path, r.ParentTrusted, r.Missing = path.Join(append([]string{next}, rest...)...), OnlyRootChanges(curInfo), 1+len(rest)
			return r, nil
		}
		if err != nil {
			return r, fmt.Errorf("lstat %s: %w", next, err)
		}
		if info.Type == TypeSymlink {
			// A symlink with more than one link may be an alias any
			// account made of a root-owned link (linkat without
			// AT_SYMLINK_FOLLOW) in a sticky directory: not trusted.
			l := Link{Path: next, Target: info.Target, Owner: info.Owner, Trusted: info.UID == 0 && info.Nlink <= 1 && OnlyRootChanges(curInfo)}
			if last && !follow {
				r.Path, r.Exists, r.Final, r.FinalLink, r.ParentTrusted = next, true, info, &l, OnlyRootChanges(curInfo)
				return r, nil
			}
			hops++
			if hops > maxSymlinks {
				return r, fmt.Errorf("%s: %w", p, ErrLoop)
			}
			r.Links = append(r.Links, l)
			if path.IsAbs(info.Target) {
				cur = "/"
				if curInfo, err = in.Lstat(ctx, "/"); err != nil {
					return r, fmt.Errorf("lstat /: %w", err)
				}
			}
			rest = append(splitPath(info.Target), rest...)
			if len(rest) == 0 {
				// A link to "/" (or to "."): the directory itself.
				r.Path, r.Exists, r.Final = cur, true, curInfo
				return r, nil
			}
			continue
		}
		if last {
			r.Path, r.Exists, r.Final, r.ParentTrusted = next, true, info, OnlyRootChanges(curInfo)
			return r, nil
		}
		cur, curInfo = next, info
	}
	r.Path, r.Exists, r.Final = cur, true, curInfo
	return r, nil
}

// Within reports whether the clean absolute path p is dir or lies below
// it.
func Within(p, dir string) bool {
	dir = strings.TrimSuffix(dir, "/")
	return p == dir || dir == "" || strings.HasPrefix(p, dir+"/")
}

// ArchiveHasher is implemented by hosts that can hash the members of a
// tar archive in-process (gzip-compressed or not), extracting nothing:
// the runner root is verified against the pinned archive with it before
// config.sh is trusted with a token.
type ArchiveHasher interface {
	// HashArchive returns the lower-case hex SHA-256 of every regular
	// member of the archive at path, by member name without a leading
	// "./".
	HashArchive(ctx context.Context, path string) (map[string]string, error)
}

// ArchiveHasherOf returns the ArchiveHasher of h, looking through a
// Recorder.
func ArchiveHasherOf(h Host) (ArchiveHasher, bool) { return capability[ArchiveHasher](h) }
