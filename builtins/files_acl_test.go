package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestACLReadInProcess checks files.acl's one batched `<acl>` query: read
// as root in-process for every path the stat found (no program runs, so
// no principal is chosen and nothing is looked up again by path), a path
// gone since the stat is None, a path through an untrusted link keeps
// the stat's error, and a failure to read one path or the query as a
// whole fails files.acl with an error naming it.
func TestACLReadInProcess(t *testing.T) {
	h := newScriptHost()
	h.stat("/usr", host.TypeDir, 0o755, "root", "wheel", 64, "")
	h.stat("/Users/ghrunner", host.TypeDir, 0o750, "ghrunner", "staff", 64, "")
	h.stat("/Users/ghrunner/planted", host.TypeFile, 0o644, "root", "wheel", 3, "")
	h.stat("/Users/ghrunner/busy", host.TypeFile, 0o644, "ghrunner", "staff", 3, "")
	h.statErrs["/Users/ghrunner/box/sudoers"] = fmt.Errorf("/Users/ghrunner/box is a %w", host.ErrUntrustedLink)
	h.acls["/Users/ghrunner"] = []string{"group:everyone deny delete"}
	h.aclErrs["/Users/ghrunner/busy"] = errors.New("getattrlist: resource busy")
	s := testSession(t, h)
	v := mustEval(t, s, `
files.prefetch(["/usr", "/Users/ghrunner", "/Users/ghrunner/planted", "/gone"])
result = [files.acl("/usr"), files.acl("/Users/ghrunner"), files.acl("/Users/ghrunner/planted"), files.acl("/gone")]
`)
	if v.String() != `[[], ["group:everyone deny delete"], [], None]` {
		t.Errorf("got %s", v)
	}
	var acl []host.Command
	for _, c := range h.cmds {
		if c.Argv[0] == host.OpACL {
			acl = append(acl, c)
		}
		if !strings.HasPrefix(c.Argv[0], "<") {
			t.Errorf("files.acl ran a program: %q", c.Argv)
		}
	}
	if len(acl) != 1 || strings.Join(acl[0].Argv, " ") != "<acl> /Users/ghrunner /Users/ghrunner/planted /usr" {
		t.Errorf("ACL queries %v, want one for the paths that exist", acl)
	}
	for _, c := range []struct{ expr, want string }{
		{`files.acl("/Users/ghrunner/box/sudoers")`, "symlink not made by root"},
		{`files.acl("/Users/ghrunner/busy")`, "acl /Users/ghrunner/busy: getattrlist: resource busy"},
	} {
		if _, err := eval(t, s, "result = "+c.expr); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.expr, err, c.want)
		}
	}

	// Removed between the stat and the read: missing, not an error.
	h2 := newScriptHost()
	h2.stat("/opt", host.TypeDir, 0o755, "root", "wheel", 64, "")
	h2.aclErrs["/opt"] = fmt.Errorf("acl /opt: %w", fs.ErrNotExist)
	if v := mustEval(t, testSession(t, h2), `result = files.acl("/opt")`); v.String() != "None" {
		t.Errorf("a path gone since the stat: %s", v)
	}
}
