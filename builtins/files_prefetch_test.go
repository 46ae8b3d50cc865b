package builtins

import (
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// TestPrefetchKeptForTheRun registers paths once (as a recipe does while
// it is evaluated) and checks that every reading of the files facts, also
// after ForgetFacts (an action ran), stats all of them with one call.
func TestPrefetchKeptForTheRun(t *testing.T) {
	h := newScriptHost()
	h.stat("/a", host.TypeDir, 0o755, "root", "wheel", 64, "")
	h.stat("/b", host.TypeFile, 0o644, "root", "wheel", 3, "")
	h.stat("/c", host.TypeDir, 0o700, "ghrunner", "staff", 64, "")
	s := testSession(t, h)
	mustEval(t, s, `files.prefetch(["/a", "/b"])
files.prefetch(("/c",))
`)
	if n := len(h.cmds); n != 0 {
		t.Fatalf("prefetch ran %d commands, want none: %v", n, h.argvs())
	}
	for round := 1; round <= 2; round++ {
		v := mustEval(t, s, `result = [files.stat("/b").size, files.stat("/a").type, files.stat("/c").owner]`)
		if v.String() != `[3, "dir", "ghrunner"]` {
			t.Fatalf("round %d: got %s", round, v)
		}
		if n := len(h.cmds); n != round || strings.Join(h.cmds[n-1].Argv, " ") != "<stat> /a /b /c" {
			t.Fatalf("round %d: %d commands, want one stat of every registered path per reading: %v", round, n, h.argvs())
		}
		s.ForgetFacts()
	}
}

func TestPrefetchRefusesBadPaths(t *testing.T) {
	tests := []struct{ src, want string }{
		{`files.prefetch("/a")`, "paths must be a list of paths, not a string"},
		{`files.prefetch(["relative"])`, `"relative" is not an absolute path`},
		{`files.prefetch(["/a/../etc"])`, "contains a .. component"},
		{`files.prefetch([1])`, "must contain only strings"},
	}
	for _, tc := range tests {
		_, err := eval(t, testSession(t, newScriptHost()), tc.src)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.src, err, tc.want)
		}
	}
}

func TestFilesRemove(t *testing.T) {
	const plist = "/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist"
	h := newScriptHost()
	h.on([]string{"/bin/rm", "-f", plist}, ok(""))
	s := testSession(t, h)
	s.AllowWrites("/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.*.plist", "/opt/toolchain")
	a := actionsOf(t, mustEval(t, s, `result = files.remove("`+plist+`")`))[0]
	if got := strings.Join(a.Argv, " "); got != "/bin/rm -f "+plist || a.User != host.Root {
		t.Fatalf("action %q as %s", got, a.User)
	}
	if len(a.Writes) != 1 || a.Writes[0] != plist {
		t.Fatalf("writes %v", a.Writes)
	}
	if err := runAction(s, a); err != nil {
		t.Fatal(err)
	}
	if got := h.argvs(); len(got) != 1 || got[0] != "/bin/rm -f "+plist {
		t.Fatalf("ran %v", got)
	}

	refused := []struct{ path, want string }{
		{"/Library/LaunchDaemons/com.apple.mDNSResponder.plist", "not under the recipe's allow_writes"},
		{"/Library/LaunchDaemons/actions.runner.other-repo.mini-1.plist", "not under the recipe's allow_writes"},
		{"/etc/sudoers", "not under the recipe's allow_writes"},
		{"/", "refusing to remove /"},
		{"relative", "not an absolute path"},
		{"/opt/toolchain/../../etc/passwd", "contains a .. component"},
	}
	for _, tc := range refused {
		_, err := eval(t, s, `result = files.remove("`+tc.path+`")`)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("files.remove(%q): err = %v, want %q", tc.path, err, tc.want)
		}
	}
	if n := len(h.cmds); n != 1 {
		t.Fatalf("a refused remove ran something: %v", h.argvs())
	}
}
