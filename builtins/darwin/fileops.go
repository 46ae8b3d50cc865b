package darwin

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Root runs the file commands hvfctl builds (docs/host-commands.md,
// "Changes") in-process, with the descriptor-relative operations of
// safefs.go, instead of executing the tools: /usr/sbin/chown [-h|-R],
// /bin/chmod [-h], /bin/mkdir -p -m, /bin/rm -f|-rf, /bin/mv and
// /bin/ln -sfh would follow a symlink planted in a path the runner
// account can change. The argv,
// the transcript and the exit status are those of the tool; failures
// exit 1 with the tool's name and the reason on stderr. Any other form of
// these programs run as root is refused, so that nothing reaches the
// path-following tool by accident. `chmod -N` (ACL removal) has no
// descriptor form: its target is checked like the others and the tool
// then runs.

// fileOp performs c in-process when it is one of the file commands above
// and its principal is uid 0. handled is false for every other command.
func (h *Host) fileOp(c host.Command, uid int) (res host.Result, handled bool, err error) {
	if uid != 0 || len(c.Argv) == 0 {
		return host.Result{}, false, nil
	}
	argv := c.Argv
	tool := filepath.Base(argv[0])
	fail := func(err error) (host.Result, bool, error) {
		return host.Result{Exit: 1, Stderr: tool + ": " + err.Error() + "\n"}, true, nil
	}
	done := func(err error) (host.Result, bool, error) {
		if err != nil {
			return fail(err)
		}
		return host.Result{}, true, nil
	}
	switch argv[0] {
	case "/usr/sbin/chown":
		switch {
		case len(argv) == 3, len(argv) == 4 && argv[1] == "-h":
			uid, gid, err := h.ids(argv[len(argv)-2])
			if err != nil {
				return fail(err)
			}
			return done(safeChown(argv[len(argv)-1], uid, gid, len(argv) == 4))
		case len(argv) == 4 && argv[1] == "-R":
			uid, gid, err := h.ids(argv[2])
			if err != nil {
				return fail(err)
			}
			return done(safeChownTree(argv[3], uid, gid))
		}
	case "/bin/chmod":
		switch {
		case len(argv) == 3 && argv[1] == "-N", len(argv) == 4 && argv[1] == "-h" && argv[2] == "-N":
			if err := safeCheckACLTarget(argv[len(argv)-1], len(argv) == 4); err != nil {
				return fail(err)
			}
			return host.Result{}, false, nil
		case len(argv) == 3, len(argv) == 4 && argv[1] == "-h":
			mode, err := octalMode(argv[len(argv)-2])
			if err != nil {
				return fail(err)
			}
			return done(safeChmod(argv[len(argv)-1], mode, len(argv) == 4))
		}
	case "/bin/mkdir":
		if len(argv) == 5 && argv[1] == "-p" && argv[2] == "-m" {
			mode, err := octalMode(argv[3])
			if err != nil {
				return fail(err)
			}
			return done(safeMkdirAll(argv[4], mode))
		}
	case "/bin/rm":
		switch {
		case len(argv) == 3 && argv[1] == "-f":
			return done(safeRemove(argv[2], false))
		case len(argv) == 3 && argv[1] == "-rf":
			return done(safeRemove(argv[2], true))
		}
	case "/bin/ln":
		if len(argv) == 4 && argv[1] == "-sfh" {
			return done(safeSymlink(argv[2], argv[3]))
		}
	case "/bin/mv":
		if len(argv) == 3 {
			return done(safeRename(argv[1], argv[2]))
		}
	default:
		return host.Result{}, false, nil
	}
	return host.Result{}, true, fmt.Errorf("run %s: hvfctl runs this program as root only in the forms docs/host-commands.md lists, not %q", argv[0], strings.Join(argv[1:], " "))
}

// ids resolves an OWNER:GROUP argument.
func (h *Host) ids(spec string) (int, int, error) {
	owner, group, ok := strings.Cut(spec, ":")
	if !ok || owner == "" || group == "" {
		return 0, 0, fmt.Errorf("%q: want OWNER:GROUP", spec)
	}
	return h.lookupIDs(owner, group)
}

// octalMode parses a chmod/mkdir mode in octal (0 to 07777).
func octalMode(s string) (uint32, error) {
	m, err := strconv.ParseUint(s, 8, 32)
	if err != nil || m > 0o7777 {
		return 0, errors.New("invalid file mode: " + s)
	}
	return uint32(m), nil
}
