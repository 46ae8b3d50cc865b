package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
	"github.com/sysprog21/hvfctl/workflow/render"
)

// recordedDir holds the fixtures recorded with --record; each NAME.json
// has NAME.report.txt: the exit status and the report printed when it
// was recorded.
const recordedDir = "../../testdata/hosts/recorded"

// Accounts of the stand-in Mac. As root the kernel switches to any id,
// so they need no /etc/passwd entry.
var standinAccounts = map[string]struct{ uid, gid int }{
	"root":     {0, 0},
	"admin":    {4100, 20},
	"ghrunner": {4242, 20},
}

// standinMac is the darwin backend, unchanged, over a tool root where
// every program the run needs is macstandin answering as the fake Mac
// of fixture would: the backend's own code path, on Linux.
func standinMac(t *testing.T, fixture string, programs []string) func() (host.Host, error) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: the darwin backend switches to each principal's uid")
	}
	base := t.TempDir()
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(base, "macstandin")
	build := exec.Command("go", "build", "-o", bin, "./testdata/macstandin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build macstandin: %v\n%s", err, out)
	}
	tools := filepath.Join(base, "tools")
	for _, p := range programs {
		dst := filepath.Join(tools, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Link(bin, dst); err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
	abs, err := filepath.Abs(fixture)
	if err != nil {
		t.Fatal(err)
	}
	users := map[string]string{}
	homes := map[string]string{}
	for name, a := range standinAccounts {
		users[fmt.Sprint(a.uid)] = name
		home := filepath.Join(base, "home-"+name)
		if err := os.Mkdir(home, 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, a.uid, a.gid); err != nil {
			t.Fatal(err)
		}
		homes[name] = home
	}
	cfg, _ := json.Marshal(map[string]any{"fixture": abs, "users": users})
	if err := os.WriteFile(filepath.Join(base, "macstandin.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	return func() (host.Host, error) {
		return darwin.New(darwin.Options{
			ToolRoot: tools,
			Lookup: func(name string) (int, int, []int, string, error) {
				a, ok := standinAccounts[name]
				if !ok {
					return 0, 0, nil, "", fmt.Errorf("no such user %q", name)
				}
				return a.uid, a.gid, []int{a.gid}, homes[name], nil
			},
			LookupGroup: func(name string) (int, error) {
				switch name {
				case "wheel":
					return 0, nil
				case "staff":
					return 20, nil
				}
				return 0, fmt.Errorf("no such group %q", name)
			},
		})
	}
}

// programsOf lists the programs a check of recipe and the facts run on
// the fake Mac of fixture.
func programsOf(t *testing.T, fixture, recipe string) []string {
	t.Helper()
	m, err := fakemac.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	r, err := engine.Load(context.Background(), recipe, engine.Options{
		Host: m, Modules: builtins.Modules(), Stdlib: stdlib.FS,
		Principals: engine.Principals{BrewOwner: "admin", Invoker: "admin"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rep := r.Check(context.Background())
	sess := engine.NewSession(context.Background(), engine.SessionOptions{Host: m, Principals: engine.Principals{BrewOwner: "admin", Invoker: "admin"}})
	if _, err := builtins.Facts(context.Background(), sess); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range append(rep.HostCommands, sess.Recorder().Transcript()...) {
		if strings.HasPrefix(e.Argv[0], "/") {
			seen[e.Argv[0]] = true
		}
	}
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// runCLIEnv runs hvfctl with a local Mac and environment.
func runCLIEnv(t *testing.T, local func() (host.Host, error), environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx := context.Background()
	e := env{ctx: ctx, stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return environ[k] }, local: local,
		hostname: func() []string { return []string{"Jims-Mac-mini.local", "Jims-Mac-mini"} }, programs: testPrograms}
	code := run(ctx, args, e)
	return code, out.String(), errb.String()
}

// standIn matches the stand-ins of scrubbed names and addresses.
var standIn = regexp.MustCompile(`Person [0-9]+|person[0-9]+@example\.com`)

// identifying is what the Mac behind the stand-ins reveals that no
// fixture may keep: a person's name and Apple ID.
var identifying = []string{"Jim Huang", "jim.huang@icloud.com"}

// TestRecordAndReplay records `check` and `facts` on the stand-in Mac
// through the real backend and replays each fixture offline: the replay
// prints exactly what the recording printed, and the fixture holds none
// of the Mac's identifying data. With -update it refreshes the fixture in
// testdata/hosts/recorded that TestRecordedFixturesReplay replays.
func TestRecordAndReplay(t *testing.T) {
	dir := t.TempDir()
	mac := filepath.Join(dir, "mac.json")
	if err := os.WriteFile(mac, []byte(`{"base": "converged",
 "users": {"admin": {"real_name": "Jim Huang"}},
 "icloud": {"ghrunner": "jim.huang@icloud.com", "admin": "jim.huang@icloud.com"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	recipe := "../../recipes/m4.star"
	local := standinMac(t, mac, programsOf(t, mac, recipe))
	sudo := map[string]string{"SUDO_USER": "admin"}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"check", []string{"check", recipe}},
		{"check-json", []string{"check", "--json", recipe}},
		{"facts", []string{"facts", "--json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".json")
			args := append([]string{tc.args[0], "--target", "local", "--record", file}, tc.args[1:]...)
			code, out, errOut := runCLIEnv(t, local, sudo, args...)
			// The stand-in Mac's working directories (the runner root, the
			// smoke tests' scratch directory) do not exist on Linux, so
			// commands run there cannot start: exit 1 with failed
			// resources is a report like any other to replay.
			if code != 0 && code != 1 && code != 2 {
				t.Fatalf("recording exit %d: %s\n%s", code, errOut, out)
			}
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range identifying {
				if bytes.Contains(raw, []byte(s)) {
					t.Errorf("the fixture keeps %q", s)
				}
			}
			var fx struct {
				Base      string             `json:"base"`
				Responses []fakemac.Response `json:"responses"`
			}
			if err := json.Unmarshal(raw, &fx); err != nil || fx.Base == "" || len(fx.Responses) == 0 {
				t.Fatalf("fixture: %v base %q, %d responses", err, fx.Base, len(fx.Responses))
			}
			for _, r := range fx.Responses {
				if r.User == "" {
					t.Errorf("response %q names no principal", r.Argv)
				}
			}
			replay := append([]string{tc.args[0], "--target", "fake:" + file}, tc.args[1:]...)
			rcode, rout, rerr := runCLIEnv(t, nil, nil, replay...)
			if rcode != code {
				t.Errorf("replay exit %d, recording %d: %s", rcode, code, rerr)
			}
			// Only the scrubbed values may differ between the two: the
			// people's names and e-mail addresses (facts has no recipe,
			// so the runner account's full name is scrubbed too).
			want := out
			for _, s := range append(identifying, "GH Actions Runner") {
				if tc.name == "facts" || s != "GH Actions Runner" {
					want = strings.ReplaceAll(want, s, "<scrubbed>")
				}
			}
			rout = standIn.ReplaceAllString(rout, "<scrubbed>")
			if rout != want {
				t.Errorf("the replay prints another report:\n%s", render.Diff("recorded", []byte(want), []byte(rout)))
			}
			if tc.name == "check" && *updateGolden {
				writeRecorded(t, "standin-converged", raw, code, out)
			}
		})
	}
}

// writeRecorded stores a recorded fixture and its report in recordedDir.
func writeRecorded(t *testing.T, name string, fixture []byte, code int, report string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(recordedDir, name+".json"), fixture, 0o644); err != nil {
		t.Fatal(err)
	}
	rep := fmt.Sprintf("exit %d\n%s", code, report)
	if err := os.WriteFile(filepath.Join(recordedDir, name+".report.txt"), []byte(rep), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRecordedFixturesReplay replays every fixture of recordedDir with
// `hvfctl check --target fake:FILE recipes/m4.star`: it must exit and
// print as the Mac did when it was recorded.
func TestRecordedFixturesReplay(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(recordedDir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no recorded fixture in %s", recordedDir)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(recordedDir, name+".report.txt"))
			if err != nil {
				t.Fatalf("%v: every recorded fixture needs the report printed when it was recorded", err)
			}
			code, out, errOut := runCLI(t, "check", "--target", "fake:"+f, "../../recipes/m4.star")
			if got := fmt.Sprintf("exit %d\n%s", code, out); got != string(want) {
				t.Errorf("replay of %s differs from the recorded report (%s):\n%s", f, errOut, render.Diff(name+".report.txt", want, []byte(got)))
			}
		})
	}
}
