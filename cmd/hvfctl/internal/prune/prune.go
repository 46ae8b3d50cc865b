// Package prune deletes old entries inside a directory (a runner's work
// directory, a cache). It never deletes the directory itself, never
// follows a symbolic link (an old link is removed as a link; its target is
// untouched), never crosses into another file system, and keeps anything
// modified within the window: a directory is kept while anything inside
// it, at any depth, is recent, and only its old contents are removed.
package prune

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// ErrBadInput is wrapped by errors about the request itself (the
// directory or the age), as opposed to failures while pruning.
var ErrBadInput = errors.New("bad input")

// ParseAge parses an age such as 7d, 36h, 90m, 45s or 1d12h: one or more
// decimal numbers, each followed by a unit (w weeks, d days, h hours, m
// minutes, s seconds). The age must be positive.
func ParseAge(s string) (time.Duration, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty age (want e.g. 7d, 36h or 90m)", ErrBadInput)
	}
	var total time.Duration
	rest := s
	for rest != "" {
		i := 0
		for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, fmt.Errorf("%w: age %q: want numbers each followed by a unit w, d, h, m or s (e.g. 7d, 36h, 90m)", ErrBadInput, s)
		}
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: age %q: %v", ErrBadInput, s, err)
		}
		var unit time.Duration
		switch rest[i] {
		case 'w':
			unit = 7 * 24 * time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'h':
			unit = time.Hour
		case 'm':
			unit = time.Minute
		case 's':
			unit = time.Second
		default:
			return 0, fmt.Errorf("%w: age %q: unknown unit %q (want w, d, h, m or s)", ErrBadInput, s, rest[i])
		}
		if n > int64(math.MaxInt64/unit) || total > math.MaxInt64-time.Duration(n)*unit {
			return 0, fmt.Errorf("%w: age %q is too large", ErrBadInput, s)
		}
		total += time.Duration(n) * unit
		rest = rest[i+1:]
	}
	if total <= 0 {
		return 0, fmt.Errorf("%w: age %q must be more than zero", ErrBadInput, s)
	}
	return total, nil
}

// Options says what to prune.
type Options struct {
	// Dir is the directory whose contents are pruned: an absolute path
	// to an existing directory (not a symbolic link), never "/".
	Dir string
	// OlderThan is the window: entries modified within it are kept.
	OlderThan time.Duration
	// Now is the reference time; the zero value means time.Now().
	Now time.Time
	// DryRun reports what would be removed and removes nothing.
	DryRun bool
}

// Removal is one entry removed (or, in a dry run, that would be).
type Removal struct {
	// Path is the absolute path removed.
	Path string
	// Dir is true for a directory removed with everything in it.
	Dir bool
	// Link is true for a symbolic link (removed as a link).
	Link bool
	// Bytes is the size of the regular files removed with it.
	Bytes int64
	// Newest is the newest modification time in what was removed.
	Newest time.Time
}

// Result sums up a prune.
type Result struct {
	// Removed lists what was removed, in walk order (by name within
	// each directory, a directory's contents after it is entered).
	Removed []Removal
	// Bytes is the total size of the regular files removed.
	Bytes int64
}

// CheckDir validates a directory to prune: absolute, not "/", existing,
// a directory and not a symbolic link. Its errors wrap ErrBadInput.
func CheckDir(dir string) error {
	if dir == "" {
		return fmt.Errorf("%w: no directory given", ErrBadInput)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("%w: %s is a relative path; give an absolute one", ErrBadInput, dir)
	}
	clean := filepath.Clean(dir)
	if clean == string(filepath.Separator) {
		return fmt.Errorf("%w: refusing to prune /", ErrBadInput)
	}
	info, err := os.Lstat(clean)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symbolic link; give the directory it names (links are never followed)", ErrBadInput, clean)
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: %s is not a directory", ErrBadInput, clean)
	}
	return nil
}

// node is one entry of the scanned tree.
type node struct {
	path     string
	mode     fs.FileMode
	newest   time.Time // the newest mtime of the entry and all it holds
	bytes    int64     // regular file bytes in the entry
	pinned   bool      // on another file system: never removed nor entered
	children []*node
}

// Run prunes o.Dir. report, when not nil, is called for each removal as
// it happens (before the removal in a dry run, after it otherwise).
// Failures to remove one entry do not stop the others; they are joined
// in the returned error together with the partial result.
func Run(ctx context.Context, o Options, report func(Removal)) (Result, error) {
	if err := CheckDir(o.Dir); err != nil {
		return Result{}, err
	}
	if o.OlderThan <= 0 {
		return Result{}, fmt.Errorf("%w: the age must be more than zero", ErrBadInput)
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	cutoff := now.Add(-o.OlderThan)
	root := filepath.Clean(o.Dir)
	// One handle of the pruned directory for the whole run, reached the
	// way root walks a path (no symlink crossed but one root made in a
	// root-only directory): the scan and every removal work relative to
	// it, so nothing swapped into the path during the run redirects them.
	rootDir, err := darwin.OpenDir(root)
	if err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	defer rootDir.Close()
	var rst unix.Stat_t
	if err := unix.Fstat(int(rootDir.Fd()), &rst); err != nil {
		return Result{}, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	var errs []error
	children, err := scanDir(ctx, rootDir, root, uint64(rst.Dev), 0, &errs)
	if err != nil {
		return Result{}, err
	}
	p := &pruner{root: root, rootFd: int(rootDir.Fd()), ctx: ctx, cutoff: cutoff, dry: o.DryRun, report: report}
	for _, c := range children {
		if err := p.decide(c); err != nil {
			return p.res, err
		}
	}
	errs = append(errs, p.errs...)
	return p.res, errors.Join(errs...)
}

// scanDir reads the entries of the open directory d (shown as dir),
// sorted by name, with their subtrees, relative to its handle: each
// entry is looked at with fstatat(AT_SYMLINK_NOFOLLOW) and a
// subdirectory opened with O_NOFOLLOW and checked to be the entry seen,
// so a link swapped in during the scan is never followed. An unreadable
// subdirectory is pinned (kept) and its error collected.
func scanDir(ctx context.Context, d *os.File, dir string, dev uint64, depth int, errs *[]error) ([]*node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if depth > maxRemoveDepth {
		return nil, fmt.Errorf("read %s: deeper than %d levels", dir, maxRemoveDepth)
	}
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", dir, err)
	}
	sort.Strings(names)
	fd := int(d.Fd())
	out := make([]*node, 0, len(names))
	for _, name := range names {
		p := filepath.Join(dir, name)
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // removed meanwhile
			}
			*errs = append(*errs, fmt.Errorf("stat %s: %w", p, err))
			continue
		}
		mode := host.ModeType(uint32(st.Mode)) | fs.FileMode(st.Mode&0o777)
		n := &node{path: p, mode: mode, newest: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec))}
		if mode.IsRegular() {
			n.bytes = st.Size
		}
		if mode.IsDir() {
			if uint64(st.Dev) != dev {
				n.pinned = true
				out = append(out, n)
				continue
			}
			kids, err := scanSub(ctx, fd, name, p, &st, dev, depth, errs)
			if err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				n.pinned = true
				*errs = append(*errs, fmt.Errorf("kept %s: %w", p, err))
			}
			for _, k := range kids {
				if k.newest.After(n.newest) {
					n.newest = k.newest
				}
				n.bytes += k.bytes
				n.pinned = n.pinned || k.pinned
			}
			n.children = kids
		}
		out = append(out, n)
	}
	return out, nil
}

// scanSub opens the subdirectory name of dirfd without following a link,
// checks it is the entry st describes, and scans it.
func scanSub(ctx context.Context, dirfd int, name, p string, st *unix.Stat_t, dev uint64, depth int, errs *[]error) ([]*node, error) {
	sfd, err := unix.Openat(dirfd, name, dirOpen, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w (not followed)", p, err)
	}
	sub := os.NewFile(uintptr(sfd), p)
	defer sub.Close()
	var got unix.Stat_t
	if err := unix.Fstat(sfd, &got); err != nil {
		return nil, fmt.Errorf("stat %s: %w", p, err)
	}
	if got.Dev != st.Dev || got.Ino != st.Ino {
		return nil, fmt.Errorf("%s changed while it was scanned", p)
	}
	return scanDir(ctx, sub, p, dev, depth+1, errs)
}

type pruner struct {
	root   string
	rootFd int // handle of root, open for the whole run
	ctx    context.Context
	cutoff time.Time
	dry    bool
	report func(Removal)
	res    Result
	errs   []error
}

// decide removes n whole when nothing in it is recent, and otherwise
// descends into a directory to remove its old contents.
func (p *pruner) decide(n *node) error {
	if err := p.ctx.Err(); err != nil {
		return err
	}
	if !n.pinned && n.newest.Before(p.cutoff) {
		p.remove(n)
		return nil
	}
	if n.mode.IsDir() {
		for _, c := range n.children {
			if err := p.decide(c); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *pruner) remove(n *node) {
	r := Removal{Path: n.path, Dir: n.mode.IsDir(), Link: n.mode&fs.ModeSymlink != 0, Bytes: n.bytes, Newest: n.newest}
	if !p.dry {
		removed, err := p.removeAt(n)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("remove %s: %w", n.path, err))
			return
		}
		if !removed {
			return
		}
	}
	p.res.Removed = append(p.res.Removed, r)
	p.res.Bytes += r.Bytes
	if p.report != nil {
		p.report(r)
	}
}

// removeAt removes the entry n relative to a handle of the pruned
// directory: every directory on the way is opened with O_NOFOLLOW, so a
// symlink swapped into the middle of the path after the scan cannot
// redirect the removal, and the entry itself is looked at again (type and
// age) through its parent's handle before it is unlinked. A directory is
// emptied the same way, never following a link inside it. removed is
// false when the entry is gone or changed since the scan.
func (p *pruner) removeAt(n *node) (removed bool, err error) {
	rel, err := filepath.Rel(p.root, n.path)
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return false, fmt.Errorf("not inside %s", p.root)
	}
	parts := strings.Split(rel, string(filepath.Separator))
	fd, err := host.DupCloexec(p.rootFd)
	if err != nil {
		return false, err
	}
	for _, c := range parts[:len(parts)-1] {
		nfd, err := unix.Openat(fd, c, dirOpen, 0)
		unix.Close(fd)
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("open %s: %w (not followed)", c, err)
		}
		fd = nfd
	}
	defer unix.Close(fd)
	name := parts[len(parts)-1]
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return false, nil
		}
		return false, err
	}
	mtime := time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec))
	if !mtime.Before(p.cutoff) || host.ModeType(uint32(st.Mode)) != n.mode.Type() {
		return false, nil
	}
	if n.mode.IsDir() {
		return true, removeTreeAt(p.ctx, fd, name, 0)
	}
	if err := unix.Unlinkat(fd, name, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return false, err
	}
	return true, nil
}

// dirOpen opens a directory without following a link or blocking.
const dirOpen = unix.O_RDONLY | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC | unix.O_NONBLOCK

// maxRemoveDepth bounds how deep removeTreeAt descends.
const maxRemoveDepth = 512

// removeTreeAt removes the directory name in dirfd and everything in it,
// through directory handles and without following any link.
func removeTreeAt(ctx context.Context, dirfd int, name string, depth int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if depth > maxRemoveDepth {
		return fmt.Errorf("%s: deeper than %d levels", name, maxRemoveDepth)
	}
	fd, err := unix.Openat(dirfd, name, dirOpen, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w (not followed)", name, err)
	}
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	var errs []error
	for {
		names, rerr := d.Readdirnames(1024)
		for _, c := range names {
			var st unix.Stat_t
			if err := unix.Fstatat(fd, c, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
				if !errors.Is(err, unix.ENOENT) {
					errs = append(errs, fmt.Errorf("%s/%s: %w", name, c, err))
				}
				continue
			}
			if uint32(st.Mode)&unix.S_IFMT == unix.S_IFDIR {
				if err := removeTreeAt(ctx, fd, c, depth+1); err != nil {
					errs = append(errs, fmt.Errorf("%s/%w", name, err))
				}
				continue
			}
			if err := unix.Unlinkat(fd, c, 0); err != nil && !errors.Is(err, unix.ENOENT) {
				errs = append(errs, fmt.Errorf("%s/%s: %w", name, c, err))
			}
		}
		if rerr != nil {
			break
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}
