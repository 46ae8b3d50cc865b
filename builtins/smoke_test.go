package builtins

import (
	"reflect"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestSmokeRun(t *testing.T) {
	const dir = "/Users/ghrunner/.cache/hvfctl-smoke"
	path := `["/opt/toolchain/x/bin", "/opt/homebrew/bin", "/usr/bin"]`
	h := newScriptHost()
	// gmake is found in the second PATH entry, as the runner's shell would.
	h.stat("/opt/homebrew/bin/gmake", host.TypeSymlink, 0o755, "admin", "admin", 30, "../Cellar/make/4.4.1/bin/gmake")
	h.on([]string{"/opt/homebrew/bin/gmake", "--version"}, ok("GNU Make 4.4.1\n"))
	s := testSession(t, h)
	s.AllowWrites("/Users/ghrunner")

	v := mustEval(t, s, `result = smoke.run(["gmake", "--version"], user = "ghrunner", path = `+path+`, dir = "`+dir+`")`)
	if got := v.String(); !strings.Contains(got, `program = "/opt/homebrew/bin/gmake"`) || !strings.Contains(got, `exit = 0`) || !strings.Contains(got, `GNU Make 4.4.1`) {
		t.Errorf("smoke.run = %s", got)
	}
	v = mustEval(t, s, `result = smoke.run(["nope"], user = "ghrunner", path = `+path+`, dir = "`+dir+`")`)
	if got := v.String(); !strings.Contains(got, `exit = 127`) || !strings.Contains(got, "nope: command not found") {
		t.Errorf("a name not on PATH: %s", got)
	}
	// The command ran as ghrunner, in the scratch directory, with the
	// runner's PATH and TMPDIR there.
	var ran *host.Command
	for i, c := range h.cmds {
		if c.Argv[0] == "/opt/homebrew/bin/gmake" {
			ran = &h.cmds[i]
		}
	}
	if ran == nil {
		t.Fatal("gmake did not run")
	}
	env := map[string]string{}
	for _, e := range ran.Env {
		env[e.Name] = e.Value
	}
	want := map[string]string{"PATH": "/opt/toolchain/x/bin:/opt/homebrew/bin:/usr/bin", "TMPDIR": dir}
	if ran.User != "ghrunner" || ran.Dir != dir || !reflect.DeepEqual(env, want) {
		t.Errorf("ran %+v", *ran)
	}

	for _, tc := range []struct{ src, err string }{
		{`smoke.run(["gmake"], user = "root", path = ` + path + `, dir = "` + dir + `")`, "never as root"},
		{`smoke.run(["gmake"], user = "ghrunner", path = ` + path + `, dir = "/tmp/x")`, "allow_writes"},
		{`smoke.run(["bin/gmake"], user = "ghrunner", path = ` + path + `, dir = "` + dir + `")`, "must be absolute or a bare name"},
		{`smoke.run([], user = "ghrunner", path = ` + path + `, dir = "` + dir + `")`, "non-empty"},
		{`smoke.run(["gmake"], user = "ghrunner", path = ["relative"], dir = "` + dir + `")`, "path entry"},
	} {
		if _, err := eval(t, s, tc.src); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: %v, want %q", tc.src, err, tc.err)
		}
	}
}
