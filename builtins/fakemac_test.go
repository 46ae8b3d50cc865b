package builtins

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/engine"
)

// fakeSession is a session on a fresh embedded fake M4 Mac mini.
func fakeSession(t *testing.T) (*engine.Session, *fakemac.Mac) {
	t.Helper()
	m, err := fakemac.New("fresh-m4")
	if err != nil {
		t.Fatal(err)
	}
	return engine.NewSession(context.Background(), engine.SessionOptions{Host: m, Principals: engine.Principals{BrewOwner: m.Invoker()}}), m
}

// TestFactsOnFake gathers the facts contract from the fake Mac: every key
// present, with the types DESIGN.md gives, and one command per family.
func TestFactsOnFake(t *testing.T) {
	s, _ := fakeSession(t)
	f, err := Facts(context.Background(), s)
	if err != nil {
		t.Fatalf("facts: %v", err)
	}
	for _, k := range []string{"macos_version", "arch", "hv_support", "cpu_brand", "model", "filevault", "users", "spotlight", "power", "brew", "rosetta", "clt", "launchd", "free_bytes"} {
		if _, ok := f[k]; !ok {
			t.Errorf("facts lack %s", k)
		}
	}
	if _, ok := f["hv_support"].(bool); !ok {
		t.Errorf("hv_support is %T", f["hv_support"])
	}
	if fv, ok := f["filevault"].(map[string]any); !ok || fv["state"] == "unknown" {
		t.Errorf("filevault %v", f["filevault"])
	}
	if _, ok := f["free_bytes"].(int64); !ok {
		t.Errorf("free_bytes is %T", f["free_bytes"])
	}
	if ac, ok := f["power"].(map[string]any)["ac"].(map[string]any); !ok || len(ac) == 0 {
		t.Errorf("power %v", f["power"])
	}
	if _, err := json.Marshal(f); err != nil {
		t.Errorf("facts are not JSON: %v", err)
	}
	seen := map[string]bool{}
	for _, e := range s.Recorder().Transcript() {
		a := strings.Join(e.Argv, " ")
		if seen[a] {
			t.Errorf("%q ran twice", a)
		}
		seen[a] = true
		if e.Exit < 0 {
			t.Errorf("%q could not run on the fake", a)
		}
	}
	// A second gathering is answered from the cache.
	n := len(s.Recorder().Transcript())
	if _, err := Facts(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if m := len(s.Recorder().Transcript()); m != n {
		t.Errorf("second Facts ran %d more commands", m-n)
	}
}

// TestQueriesOnFake runs each query against the fake and requires an
// answer (no command the fake does not understand).
func TestQueriesOnFake(t *testing.T) {
	s, _ := fakeSession(t)
	s.AllowWrites("/Users/ghrunner") // runner.registration reads the runner's home
	for _, expr := range []string{
		`sw_vers.get()`, `sysctl.get()`, `df.free_bytes()`, `fdesetup.status()`, `users.all()`, `users.get("admin")`,
		`dseditgroup.is_member("admin")`, `id.groups("admin")`, `sysadminctl.autologin()`, `sysadminctl.secure_token("admin")`,
		`files.stat("/Users")`, `files.acl("/Users")`, `files.list("/Library/LaunchDaemons")`, `mdutil.status("/System/Volumes/Data")`,
		`pmset.get()`, `xcode_select.path()`, `pkgutil.receipt("com.apple.pkg.RosettaUpdateAuto")`, `brew.installed()`,
		`launchctl.print("actions.runner.sysprog21-elfuse.mini-1")`, `runner.registration("/Users/ghrunner/actions-runner")`,
		`keychain.login("admin")`, `icloud.signed_in("admin")`, `tcc.grants()`,
	} {
		if _, err := eval(t, s, "result = "+expr); err != nil {
			t.Errorf("%s: %v", expr, err)
		}
	}
}

// TestActionsOnFake applies a few actions to the fake and re-reads.
func TestActionsOnFake(t *testing.T) {
	s, _ := fakeSession(t)
	steps := []string{
		`pmset.set("ac", {"sleep": 0, "disksleep": 0, "womp": 1})`,
		`mdutil.disable("/System/Volumes/Data")`,
		`sysadminctl.add_user("ghrunner", "GitHub Runner", pw)`,
		`createhomedir.create("ghrunner")`,
		`files.mkdir("/opt/toolchain", 0o755, "root", "wheel")`,
		`softwareupdate.install_rosetta()`,
		`softwareupdate.install_clt()`,
	}
	for _, src := range steps {
		v, err := eval(t, s, "result = "+src)
		if err != nil {
			t.Fatalf("%s: %v", src, err)
		}
		for _, a := range actionsOf(t, v) {
			if err := runAction(s, a); err != nil {
				t.Errorf("%s: %v", src, err)
			}
		}
		s.ForgetFacts()
	}
	checks := map[string]string{
		`pmset.get()["sleep"]`:                                       `0`,
		`mdutil.status("/System/Volumes/Data")`:                      `"disabled"`,
		`users.get("ghrunner").uid > 500`:                            `True`,
		`dseditgroup.is_member("ghrunner")`:                          `False`,
		`files.stat("/opt/toolchain").type`:                          `"dir"`,
		`xcode_select.path()`:                                        `"/Library/Developer/CommandLineTools"`,
		`pkgutil.receipt("com.apple.pkg.RosettaUpdateAuto") != None`: `True`,
	}
	for expr, want := range checks {
		v, err := eval(t, s, "result = "+expr)
		if err != nil {
			t.Errorf("%s: %v", expr, err)
			continue
		}
		if v.String() != want {
			t.Errorf("%s = %s, want %s", expr, v, want)
		}
	}
}
