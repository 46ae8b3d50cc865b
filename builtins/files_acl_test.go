package builtins

import (
	"slices"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestACLReadByWhoCanChangeThePath checks who runs files.acl's `ls -led`
// (it looks each path up again after the stat): root only for paths no
// one else can change, declared to the point-of-use rule; the owning
// account for a path another account can change; root, undeclared, for
// a root-owned object on such a path (drift) and for an owner with no
// account name.
func TestACLReadByWhoCanChangeThePath(t *testing.T) {
	h := newScriptHost()
	h.stat("/Users", host.TypeDir, 0o755, "root", "admin", 64, "")
	h.stat("/Users/ghrunner", host.TypeDir, 0o750, "ghrunner", "staff", 64, "")
	h.stat("/Users/ghrunner/Library", host.TypeDir, 0o700, "ghrunner", "staff", 64, "")
	h.stat("/Users/ghrunner/planted", host.TypeFile, 0o644, "root", "wheel", 3, "")
	h.stat("/Users/ghrunner/orphan", host.TypeDir, 0o755, "502", "staff", 64, "")
	h.stat("/usr", host.TypeDir, 0o755, "root", "wheel", 64, "")
	h.stat("/usr/local", host.TypeDir, 0o755, "root", "wheel", 64, "")
	for _, p := range []string{"/Users/ghrunner", "/Users/ghrunner/Library", "/Users/ghrunner/orphan"} {
		fi := h.stats[p]
		fi.UID, fi.GID = 501, 20
		if fi.Owner == "502" {
			fi.UID = 502
		}
		h.stats[p] = fi
	}
	line := func(ps ...string) host.Result {
		var b strings.Builder
		for _, p := range ps {
			b.WriteString("drwxr-xr-x  3 x  y  96 Jan  1 00:00 " + p + "\n")
		}
		return ok(b.String())
	}
	h.on([]string{"/bin/ls", "-led", "/Users/ghrunner/orphan", "/Users/ghrunner/planted", "/usr", "/usr/local"},
		line("/Users/ghrunner/orphan", "/Users/ghrunner/planted", "/usr", "/usr/local"))
	h.on([]string{"/bin/ls", "-led", "/Users/ghrunner", "/Users/ghrunner/Library"}, line("/Users/ghrunner", "/Users/ghrunner/Library"))
	s := testSession(t, h)
	mustEval(t, s, `files.prefetch(["/usr", "/usr/local", "/Users/ghrunner", "/Users/ghrunner/Library", "/Users/ghrunner/planted", "/Users/ghrunner/orphan"])
result = files.acl("/usr/local")
`)
	var lsRuns []host.Command
	for _, c := range h.cmds {
		if c.Argv[0] == "/bin/ls" {
			lsRuns = append(lsRuns, c)
		}
	}
	if len(lsRuns) != 2 {
		t.Fatalf("ls ran %d times, want one per principal: %v", len(lsRuns), h.argvs())
	}
	root, runner := lsRuns[0], lsRuns[1]
	if root.Principal() != host.Root || runner.User != "ghrunner" {
		t.Fatalf("principals %q and %q, want root then ghrunner", root.Principal(), runner.User)
	}
	if !slices.Equal(root.Paths, []string{"/usr", "/usr/local"}) {
		t.Errorf("root's ls declares %v, want only the root-only paths", root.Paths)
	}
	if len(runner.Paths) != 0 {
		t.Errorf("the runner account's ls declares %v, want none", runner.Paths)
	}
	if !slices.Contains(root.Argv, "/Users/ghrunner/planted") || !slices.Contains(root.Argv, "/Users/ghrunner/orphan") {
		t.Errorf("root's ls %v should read the root-owned and the ownerless object", root.Argv)
	}
}
