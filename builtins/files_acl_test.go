package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
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

// TestACLSwapCannotRedirect is the window `ls -led` left open, on the
// fake: files.acl's stat saw the runner account's directory box, then a
// CI job replaced box with a symlink to a root-owned directory whose ACL
// is distinctive (/Library/LaunchDaemons). The ACL read walks the path
// again itself and reads what it reaches without following a final link:
// box answers with the link's own (empty) ACL, a path below box fails
// naming the untrusted link, and the target's entries never come back.
func TestACLSwapCannotRedirect(t *testing.T) {
	fixture := filepath.Join(t.TempDir(), "acl-swap.json")
	if err := os.WriteFile(fixture, []byte(`{"base": "converged", "files": {
  "/Library/LaunchDaemons": {"acl": ["group:staff allow add_file"]},
  "/Users/ghrunner/box": {"type": "dir", "mode": "0755", "owner": "ghrunner", "group": "staff"},
  "/Users/ghrunner/box/x.plist": {"type": "file", "mode": "0644", "owner": "ghrunner", "group": "staff", "content": "x"}
}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := fakemac.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	s := engine.NewSession(context.Background(), engine.SessionOptions{Host: m, Principals: engine.Principals{BrewOwner: m.Invoker()}})
	if v := mustEval(t, s, `result = files.acl("/Library/LaunchDaemons")`); v.String() != `["group:staff allow add_file"]` {
		t.Fatalf("the target's ACL reads %s", v)
	}
	mustEval(t, s, `
files.prefetch(["/Users/ghrunner/box", "/Users/ghrunner/box/x.plist"])
result = files.stat("/Users/ghrunner/box")
`)
	if err := m.Plant("/Users/ghrunner/box", fakemac.PlantLinkToRootDir, "ghrunner"); err != nil {
		t.Fatal(err)
	}
	if v := mustEval(t, s, `result = files.acl("/Users/ghrunner/box")`); v.String() != `[]` {
		t.Errorf("box after the swap reads %s, want the link's own empty ACL", v)
	}
	_, err = eval(t, s, `result = files.acl("/Users/ghrunner/box/x.plist")`)
	if err == nil || !strings.Contains(err.Error(), "/Users/ghrunner/box is a symlink not made by root") || strings.Contains(err.Error(), "group:staff") {
		t.Errorf("a path below the swapped link: %v, want a refusal naming the link", err)
	}
	var acls int
	for _, e := range s.Recorder().Transcript() {
		if e.Argv[0] == host.OpACL {
			acls++
		}
		if e.Argv[0] == "/bin/ls" {
			t.Errorf("files.acl ran %q", e.Argv)
		}
	}
	if acls == 0 {
		t.Error("no <acl> query in the transcript")
	}
}
