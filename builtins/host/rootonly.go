package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
)

// ErrNotRootOnly is wrapped by the refusal of a command that would hand
// a program run as root (or a file hvfctl verified) a path another
// account can change: the program looks the path up again itself, so a
// check made before it starts is only as good as the path's stability.
var ErrNotRootOnly = errors.New("the program would look it up again after hvfctl's checks, so only root may be able to change it")

// AdminGID is the gid of macOS's admin group (`dscl . -read
// /Groups/admin PrimaryGroupID`). Its members may become root with sudo,
// so write access through it, or through wheel (gid 0), grants nothing
// they lack: RootOnly accepts both group write bits (root:admin 0775, as
// /Library and /Applications have).
const AdminGID = 80

// Lstater is the part of Inspector that RootOnly needs.
type Lstater interface {
	// Lstat describes path without following a final symlink.
	Lstat(ctx context.Context, path string) (FileInfo, error)
}

// CheckCommand is the point-of-use rule both backends apply to every
// command they hand to an external program (the in-process file
// operations excepted), right before it starts. The working directory
// Dir and every path in Paths (the objects the builtin hands the
// program) must be such that no account but root and the principal (uid,
// the uid the command runs as) can change them: RootOnly when uid is 0,
// OnlyChangeableBy(uid) otherwise, since a program run as an
// administrator (or any account) on a path another account can steer
// acts with the administrator's rights (bsdtar extracting into a
// directory the runner account can swap, rm -f through its link). The
// program itself (program, the file executed; "" skips it) must pass
// RootOnly when uid is 0; run as another account it is a fixed system or
// Homebrew path, or a runner root's file run only as the account that
// owns the root (runnerOwnedRoot). Every path in Verified must pass
// RootOnly whatever the principal.
func CheckCommand(ctx context.Context, in Lstater, c Command, program string, uid int) error {
	var paths []string
	if program != "" && uid == 0 {
		paths = append(paths, program)
	}
	if c.Dir != "" {
		paths = append(paths, c.Dir)
	}
	paths = append(paths, c.Paths...)
	for _, p := range paths {
		if err := OnlyChangeableBy(ctx, in, p, uid); err != nil {
			return fmt.Errorf("refusing to run it as %s: %w", c.Principal(), err)
		}
	}
	for _, p := range c.Verified {
		if err := RootOnly(ctx, in, p); err != nil {
			return fmt.Errorf("refusing to run it as %s: %w", c.Principal(), err)
		}
	}
	return nil
}

// RootOnly reports, as an error wrapping ErrNotRootOnly, why a principal
// other than root could change what absolute path p leads to between a
// check and a program's own lookup of it. It walks p from "/" one
// component at a time with lstat, as the kernel resolves it (symlinks
// followed, ".." against the real directory), and requires:
//
//   - every directory crossed is owned by uid 0 and writable by no one
//     else (no other write bit, no group write bit unless the group is
//     wheel or admin, no ACL entry allowing delete_child, writesecurity
//     or chown, nor add_file or add_subdirectory when the entry is
//     missing, nor delete on the entry itself), or is
//     sticky (/tmp) and the entry taken from it exists, is owned by uid 0
//     and, unless a directory, has a single link (only an entry's owner
//     may rename or remove it in a sticky directory; anyone may create a
//     missing one, or hard link a root-owned file or symlink there);
//   - every symlink crossed is owned by uid 0;
//   - the object reached, when it exists, is a regular file or a
//     directory owned by uid 0 that no one else may write.
//
// A missing component below a directory only root can change is
// accepted: only root can create it. What lies inside a directory that
// p names (the entries of tar's -C DEST) is not examined.
func RootOnly(ctx context.Context, in Lstater, p string) error {
	return OnlyChangeableBy(ctx, in, p, 0)
}

// OnlyChangeableBy is RootOnly with the account uid trusted beside root:
// every owner that RootOnly requires to be root may be uid too (the
// principal a command runs as may change its own files; nobody else
// may). For uid 0 it is RootOnly.
func OnlyChangeableBy(ctx context.Context, in Lstater, p string, uid int) error {
	trusted := func(u int) bool { return u == 0 || u == uid }
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("%s: %s: %w", p, fmt.Sprintf(format, a...), ErrNotRootOnly)
	}
	if !path.IsAbs(p) {
		return refuse("not an absolute path")
	}
	cur := "/"
	curInfo, err := in.Lstat(ctx, "/")
	if err != nil {
		return fmt.Errorf("lstat /: %w", err)
	}
	rest := splitPath(p)
	hops := 0
	for len(rest) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		part := rest[0]
		rest = rest[1:]
		if curInfo.Type != TypeDir {
			return refuse("%s is a %s, not a directory", cur, typeWord(curInfo.Type))
		}
		if part == ".." {
			cur = path.Dir(cur)
			if curInfo, err = in.Lstat(ctx, cur); err != nil {
				return fmt.Errorf("%s: lstat %s: %w", p, cur, err)
			}
			continue
		}
		next := path.Join(cur, part)
		info, err := in.Lstat(ctx, next)
		missing := errors.Is(err, fs.ErrNotExist)
		if err != nil && !missing {
			return fmt.Errorf("%s: lstat %s: %w", p, next, err)
		}
		if why := containerWhy(cur, curInfo, next, info, missing, trusted); why != "" {
			return refuse("%s", why)
		}
		if missing {
			// Only root can create it (or anything below it).
			return nil
		}
		if info.Type == TypeSymlink {
			if !trusted(info.UID) {
				return refuse("%s is a symlink owned by %s, who can point it elsewhere", next, info.Owner)
			}
			hops++
			if hops > maxSymlinks {
				return fmt.Errorf("%s: %w", p, ErrLoop)
			}
			if path.IsAbs(info.Target) {
				cur = "/"
				if curInfo, err = in.Lstat(ctx, "/"); err != nil {
					return fmt.Errorf("lstat /: %w", err)
				}
			}
			rest = append(splitPath(info.Target), rest...)
			continue
		}
		cur, curInfo = next, info
	}
	return finalWhy(p, cur, curInfo, refuse, trusted)
}

// containerWhy says why an account other than root could change which
// object the entry next of directory dir (described by d) is; "" when
// only root can. e describes next unless missing.
func containerWhy(dir string, d FileInfo, next string, e FileInfo, missing bool, trusted func(int) bool) string {
	switch {
	case !trusted(d.UID):
		return fmt.Sprintf("%s is owned by %s, who can replace %s", dir, d.Owner, path.Base(next))
	case hasAny(d.ACLAllow, "delete_child", "writesecurity", "chown"):
		return fmt.Sprintf("%s has an ACL entry allowing %s: another account can replace its entries", dir, d.ACLAllow)
	case missing && hasAny(d.ACLAllow, "add_file", "add_subdirectory"):
		return fmt.Sprintf("%s has an ACL entry allowing %s and %s does not exist: another account can create it", dir, d.ACLAllow, path.Base(next))
	case !missing && hasAny(e.ACLAllow, "delete"):
		return fmt.Sprintf("%s has an ACL entry allowing delete: another account can remove it", next)
	case !othersWrite(d):
		return ""
	case d.Mode&0o1000 == 0:
		return fmt.Sprintf("%s is writable by %s, who can replace %s", dir, writers(d), path.Base(next))
	case missing:
		return fmt.Sprintf("%s is writable by %s (sticky) and %s does not exist: any of them can create it", dir, writers(d), path.Base(next))
	case !trusted(e.UID):
		return fmt.Sprintf("%s is writable by %s (sticky) and %s is owned by %s, who can replace it", dir, writers(d), path.Base(next), e.Owner)
	case e.Type != TypeDir && e.Nlink > 1:
		// Any account may hard link a root-owned file or symlink into a
		// sticky directory (link(2) checks only the directory written):
		// root's ownership proves nothing there unless it is the only name.
		return fmt.Sprintf("%s is writable by %s (sticky) and %s has %d hard links: it may be another account's alias of a root-owned object", dir, writers(d), path.Base(next), e.Nlink)
	}
	return ""
}

// finalWhy checks the object a path leads to.
func finalWhy(p, real string, e FileInfo, refuse func(string, ...any) error, trusted func(int) bool) error {
	name := real
	if real != p {
		name = fmt.Sprintf("%s (what %s leads to)", real, p)
	}
	switch {
	case e.Type != TypeFile && e.Type != TypeDir:
		return refuse("%s is a %s, not a file or directory", name, typeWord(e.Type))
	case !trusted(e.UID):
		return refuse("%s is owned by %s, who can change it", name, e.Owner)
	case othersWrite(e):
		return refuse("%s is writable by %s", name, writers(e))
	case hasAny(e.ACLAllow, aclWrites...):
		return refuse("%s has an ACL entry allowing %s: another account can change it", name, e.ACLAllow)
	}
	return nil
}

// aclWrites are the ACL rights (chmod(1), "ACL MANIPULATION OPTIONS")
// that let a principal change an object, its mode or owner, or the
// entries of a directory.
var aclWrites = []string{"write", "append", "writeattr", "writeextattr", "writesecurity", "chown",
	"add_file", "add_subdirectory", "delete_child"}

// hasAny reports whether the comma-separated set holds any of names.
func hasAny(set string, names ...string) bool {
	rights := strings.Split(set, ",")
	for _, n := range names {
		if slices.Contains(rights, n) {
			return true
		}
	}
	return false
}

// othersWrite reports whether the mode bits of fi let an account that
// is neither its owner nor an administrator write it.
func othersWrite(fi FileInfo) bool {
	return fi.Mode&0o002 != 0 || fi.Mode&0o020 != 0 && fi.GID != 0 && fi.GID != AdminGID
}

// writers names who besides the owner and the administrators may write
// an object described by fi.
func writers(fi FileInfo) string {
	var w []string
	if fi.Mode&0o020 != 0 && fi.GID != 0 && fi.GID != AdminGID {
		w = append(w, fmt.Sprintf("its group (gid %d)", fi.GID))
	}
	if fi.Mode&0o002 != 0 {
		w = append(w, "every account")
	}
	return strings.Join(w, " and ")
}

// typeWord names a file type in a sentence.
func typeWord(t string) string {
	switch t {
	case TypeChar:
		return "character device"
	case TypeBlock:
		return "block device"
	case TypeFIFO:
		return "FIFO"
	case TypeDir:
		return "directory"
	}
	return t
}

// InProcessFileOp reports whether argv, run as root, is one of the file
// commands the real backend performs itself through directory handles
// instead of running the tool (builtins/darwin fileops.go): chown
// [-h|-R] OWNER:GROUP PATH, chmod [-h] MODE PATH, mkdir -p -m MODE PATH,
// rm -f|-rf PATH, ln -sfh TARGET LINK and mv SRC DST. They follow no link
// another account can change, so CheckCommand does not apply to them.
// chmod -N is not one of them: it runs the tool.
func InProcessFileOp(argv []string) bool {
	if len(argv) == 0 {
		return false
	}
	n := len(argv)
	switch argv[0] {
	case "/usr/sbin/chown":
		return n == 3 || n == 4 && (argv[1] == "-h" || argv[1] == "-R")
	case "/bin/chmod":
		return n == 3 && argv[1] != "-N" || n == 4 && argv[1] == "-h" && argv[2] != "-N"
	case "/bin/mkdir":
		return n == 5 && argv[1] == "-p" && argv[2] == "-m"
	case "/bin/rm":
		return n == 3 && (argv[1] == "-f" || argv[1] == "-rf")
	case "/bin/ln":
		return n == 4 && argv[1] == "-sfh"
	case "/bin/mv":
		return n == 3
	}
	return false
}
