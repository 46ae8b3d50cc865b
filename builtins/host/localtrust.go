package host

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// ErrUntrustedLocal is wrapped by LocalTrust errors: a file (or a
// directory on its way) that an account root does not trust could have
// written or replaced.
var ErrUntrustedLocal = errors.New("an account other than root and the invoking user can change it")

// LocalTrust says whose files hvfctl may take as instructions when it
// runs as root: a recipe and the modules it loads, a saved plan, a token
// file, a fixture manifest, and the directories it writes its own
// outputs (plan -o, --record, --save) into. Root acting on a file that
// the runner account could have written runs the runner account's code
// (a recipe may ask for any allow_writes), so each such path is checked
// before it is read: every directory from / down and the file itself
// must be changeable only by the trusted accounts.
type LocalTrust struct {
	// UIDs are the accounts whose files are trusted: root and the
	// maintainer who ran sudo (SUDO_UID).
	UIDs []int
	// GIDs are the groups whose write access is harmless: wheel and, on
	// macOS, admin (its members may become root with sudo). Write access
	// through any other group (staff, which every local account is in,
	// the runner account included) makes a file untrusted.
	GIDs []int
	// ACL, when set, reads the ACL of a local path without following it
	// and returns the rights its allow entries grant principals other
	// than root and wheel, named as kauth.Allowed names them ("" for
	// none); dir says the path is a directory. An ACL can let another
	// account change a file or directory whatever its mode and owner say
	// (chmod +a "group:staff allow add_file,delete_child"), so every
	// directory, symlink and file the check walks is read. The CLI sets
	// it on macOS (darwin.LocalACL); nil reads no ACL (Linux has none).
	ACL func(path string, dir bool) (string, error)
}

// readOnlyRights are the ACL rights that change nothing: anything else
// an entry grants another account (write, append, add_file,
// add_subdirectory, delete, delete_child, writeattr, writeextattr,
// writesecurity, chown) makes the object untrusted.
var readOnlyRights = []string{"execute", "list", "read", "readattr", "readextattr", "readsecurity", "search"}

// aclOK refuses an object whose ACL grants another account a right that
// changes something.
func (t *LocalTrust) aclOK(p, what string, dir bool) error {
	if t.ACL == nil {
		return nil
	}
	allow, err := t.ACL(p, dir)
	if err != nil {
		return fmt.Errorf("the ACL of the %s %s cannot be read: %v", what, p, err)
	}
	var bad []string
	for _, r := range strings.Split(allow, ",") {
		if r != "" && !slices.Contains(readOnlyRights, r) {
			bad = append(bad, r)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the %s %s has an ACL entry allowing %s to an account other than root and wheel", what, p, strings.Join(bad, ","))
	}
	return nil
}

// maxLocalLinks bounds the symlinks crossed while checking a local path
// (the kernel's MAXSYMLINKS).
const maxLocalLinks = 32

// ProcessLocalTrust returns the policy of this process: nil (nothing is
// checked) unless hvfctl runs as root (euid 0); then root and the user
// named by sudoUID (SUDO_UID, which sudo sets) are trusted, and the
// groups wheel and, on macOS, admin (gid 80).
func ProcessLocalTrust(euid int, sudoUID string) *LocalTrust {
	if euid != 0 {
		return nil
	}
	t := &LocalTrust{UIDs: []int{0}, GIDs: []int{0}}
	if u, err := strconv.Atoi(strings.TrimSpace(sudoUID)); err == nil && u > 0 {
		t.UIDs = append(t.UIDs, u)
	}
	if runtime.GOOS == "darwin" {
		t.GIDs = append(t.GIDs, 80)
	}
	return t
}

// CheckFile checks that the local file p (a recipe, a plan, a token
// file) is a regular file only the trusted accounts can change, reached
// through directories and symlinks only they can change. A nil
// LocalTrust checks nothing.
func (t *LocalTrust) CheckFile(p string) error {
	if t == nil {
		return nil
	}
	return t.check(p, false)
}

// CheckOutput checks that the local file p can be written by replacing
// it (a new file renamed over p) without an untrusted account choosing
// where: every directory on the way to p's directory, and the symlinks
// crossed, can be changed only by the trusted accounts; p itself may be
// missing. A nil LocalTrust checks nothing.
func (t *LocalTrust) CheckOutput(p string) error {
	if t == nil {
		return nil
	}
	return t.check(p, true)
}

func (t *LocalTrust) check(p string, output bool) error {
	// Not filepath.Abs: it cleans "link/.." lexically, and the kernel
	// does not.
	abs := p
	if !filepath.IsAbs(p) {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		abs = wd + string(filepath.Separator) + p
	}
	if output {
		// The directory the output is renamed into, as the kernel finds
		// it: the path without its last component.
		i := strings.LastIndexByte(strings.TrimRight(abs, "/"), '/')
		return t.checkPath(abs[:i+1], true, p)
	}
	return t.checkPath(abs, false, p)
}

// checkPath walks abs from / one component at a time with lstat, the
// way the kernel resolves it, and checks every directory, every symlink
// and (unless dirOnly, when abs is a directory) the final regular file.
func (t *LocalTrust) checkPath(abs string, dirOnly bool, given string) error {
	fail := func(what string, err error) error {
		return &fs.PathError{Op: "trust", Path: given, Err: fmt.Errorf("%s: %w (root runs only what root or the invoking user could have written)", what, err)}
	}
	cur := "/"
	curSt, err := lstatLocal(cur)
	if err != nil {
		return &fs.PathError{Op: "trust", Path: given, Err: err}
	}
	rest := splitPath(abs)
	hops := 0
	for {
		if err := t.dirOK(cur, curSt); err != nil {
			return fail(err.Error(), ErrUntrustedLocal)
		}
		if len(rest) == 0 {
			if dirOnly {
				return nil
			}
			return fail(cur+" is a directory", ErrNotRegular)
		}
		part := rest[0]
		rest = rest[1:]
		if part == ".." {
			cur = filepath.Dir(cur)
			if curSt, err = lstatLocal(cur); err != nil {
				return &fs.PathError{Op: "trust", Path: given, Err: err}
			}
			continue
		}
		next := filepath.Join(cur, part)
		st, err := lstatLocal(next)
		if err != nil {
			return &fs.PathError{Op: "trust", Path: given, Err: err}
		}
		if err := t.entryOK(next, st, curSt); err != nil {
			return fail(err.Error(), ErrUntrustedLocal)
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFLNK:
			if err := t.aclOK(next, "symlink", false); err != nil {
				return fail(err.Error(), ErrUntrustedLocal)
			}
			if hops++; hops > maxLocalLinks {
				return &fs.PathError{Op: "trust", Path: given, Err: ErrLoop}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return &fs.PathError{Op: "trust", Path: given, Err: err}
			}
			if filepath.IsAbs(target) {
				cur = "/"
				if curSt, err = lstatLocal(cur); err != nil {
					return &fs.PathError{Op: "trust", Path: given, Err: err}
				}
			}
			rest = append(splitPath(target), rest...)
			continue
		case syscall.S_IFDIR:
			cur, curSt = next, st
			continue
		case syscall.S_IFREG:
			if len(rest) > 0 {
				return fail(next+" is not a directory", syscall.ENOTDIR)
			}
			if dirOnly {
				return fail(next+" is not a directory", syscall.ENOTDIR)
			}
			if err := t.objectOK(next, st); err != nil {
				return fail(err.Error(), ErrUntrustedLocal)
			}
			return nil
		default:
			return fail(next+" is a "+typeName(ModeType(uint32(st.Mode))), ErrNotRegular)
		}
	}
}

// dirOK checks a directory on the way: owned by a trusted account and
// writable by no one else, except through the sticky bit (then only an
// entry's owner may replace it, which entryOK checks).
func (t *LocalTrust) dirOK(p string, st *syscall.Stat_t) error {
	if !slices.Contains(t.UIDs, int(st.Uid)) {
		return fmt.Errorf("the directory %s is owned by uid %d", p, st.Uid)
	}
	if err := t.aclOK(p, "directory", true); err != nil {
		return err
	}
	if st.Mode&syscall.S_ISVTX != 0 {
		return nil
	}
	return t.modeOK(p, "directory", st)
}

// objectOK checks the final file: owned by a trusted account, writable by
// no one else.
func (t *LocalTrust) objectOK(p string, st *syscall.Stat_t) error {
	if !slices.Contains(t.UIDs, int(st.Uid)) {
		return fmt.Errorf("the file %s is owned by uid %d", p, st.Uid)
	}
	if err := t.aclOK(p, "file", false); err != nil {
		return err
	}
	return t.modeOK(p, "file", st)
}

func (t *LocalTrust) modeOK(p, what string, st *syscall.Stat_t) error {
	if st.Mode&0o002 != 0 {
		return fmt.Errorf("the %s %s is writable by everyone (mode %04o)", what, p, st.Mode&0o7777)
	}
	if st.Mode&0o020 != 0 && !slices.Contains(t.GIDs, int(st.Gid)) {
		return fmt.Errorf("the %s %s is writable by the group gid %d (mode %04o)", what, p, st.Gid, st.Mode&0o7777)
	}
	return nil
}

// entryOK checks an entry (a directory, a symlink or the final file)
// inside the directory described by parent. In a sticky directory others
// can write (/tmp, /Users/Shared), anyone may create an entry, so the
// entry must be owned by a trusted account and have a single link: a
// hard link to a root-owned symlink or file, which any account can make
// there (link(2) checks only the directory it adds to), looks root's.
func (t *LocalTrust) entryOK(p string, st, parent *syscall.Stat_t) error {
	sticky := parent.Mode&syscall.S_ISVTX != 0 && (parent.Mode&0o002 != 0 || (parent.Mode&0o020 != 0 && !slices.Contains(t.GIDs, int(parent.Gid))))
	if !sticky {
		return nil
	}
	if !slices.Contains(t.UIDs, int(st.Uid)) {
		return fmt.Errorf("%s, in a directory everyone can add to, is owned by uid %d", p, st.Uid)
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFDIR && st.Nlink != 1 {
		return fmt.Errorf("%s, in a directory everyone can add to, has %d hard links (any account can link a file or symlink there)", p, st.Nlink)
	}
	return nil
}

func lstatLocal(p string) (*syscall.Stat_t, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: p, Err: err}
	}
	return &st, nil
}

// ReadTrustedLocalFile is ReadLocalFile after t.CheckFile: the file is
// refused before it is opened when an untrusted account could have
// written it.
func ReadTrustedLocalFile(t *LocalTrust, path string, max int64) ([]byte, error) {
	if err := t.CheckFile(path); err != nil {
		return nil, err
	}
	return ReadLocalFile(path, max)
}
