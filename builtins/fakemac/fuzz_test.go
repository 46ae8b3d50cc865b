package fakemac

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// FuzzParseFixture: any bytes give a state or an error naming the file,
// never a panic.
func FuzzParseFixture(f *testing.F) {
	f.Add([]byte(`{"base": "fresh-m4"}`))
	f.Add([]byte("{\n  \"base\": \"partial\",\n  \"filevault\": {\"enabled\": false}\n}"))
	f.Add([]byte(`{"base": "fresh-m4", "files": {"/x": null}, "users": {"admin": null}}`))
	f.Add([]byte(`{"base": "fresh-m4", "faults": [{"argv_prefix": ["<read>"], "nth": 1, "exit": 1, "stderr": ""}]}`))
	f.Add([]byte(`[1, 2]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		st, err := parseFixture("fuzz.json", raw)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		m := &Mac{st: st}
		if _, err := m.Snapshot(); err != nil {
			t.Errorf("a loaded state cannot be encoded: %v", err)
		}
	})
}

// FuzzRun: any argv as any principal gives a result or an error, never a
// panic; an error is either a refusal to run or ErrUnsupported; and the
// state keeps the invariants a fixture must hold (validate).
//
// Every run starts from a Clone of one converged Mac built before
// fuzzing. Building the preset and encoding an indented snapshot per run
// cost several milliseconds, and minimizing each new interesting input
// (thousands of runs that execs/sec does not count) then held the workers
// at 0 execs/sec for tens of seconds. A clone and validate cost well
// under a millisecond.
func FuzzRun(f *testing.F) {
	base, err := New("converged")
	if err != nil {
		f.Fatal(err)
	}
	for _, cmd := range factQueries {
		f.Add(cmd.Principal(), strings.Join(cmd.Argv, "\x00"))
	}
	f.Add("root", "/bin/chmod\x00-R\x00u+rwX,go=\x00/Users")
	f.Add("ghrunner", "/usr/bin/tar\x00-xvzf\x00x\x00-C\x00/tmp")
	f.Add("admin", "/opt/homebrew/bin/brew\x00install\x00--cask\x00gcc-aarch64-embedded")
	f.Add("root", "/bin/ln\x00-sfh\x00../../x\x00/opt")
	f.Add("", "/usr/bin/dscl/0") // a program below a file: refused by the shared point-of-use rule
	f.Fuzz(func(t *testing.T, user, argv string) {
		m := base.Clone()
		_, err := m.Run(context.Background(), host.Command{Argv: strings.Split(argv, "\x00"), User: user})
		// Errors are the fake's own, an unsupported command, or the
		// point-of-use refusal both backends share (host.CheckCommand).
		if err != nil && !errors.Is(err, host.ErrUnsupported) && !errors.Is(err, host.ErrNotRootOnly) && !strings.HasPrefix(err.Error(), "fakemac: ") {
			t.Errorf("unexpected error shape: %v", err)
		}
		if err := m.st.validate(); err != nil {
			t.Errorf("%q as %s broke the state: %v", argv, user, err)
		}
	})
}
