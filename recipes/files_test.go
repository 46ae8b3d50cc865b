package recipes

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"howett.net/plist"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// writtenFiles returns, in the order of their first write, the paths a
// run wrote with WriteFile, then each runner root's .path (written by the
// runner's configuration).
func writtenFiles(entries []host.Entry, roots []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		if len(e.Argv) > 1 && e.Argv[0] == host.OpWrite && !seen[e.Argv[1]] {
			seen[e.Argv[1]] = true
			out = append(out, e.Argv[1])
		}
	}
	for _, r := range roots {
		if p := r + "/.path"; !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// readFake reads a file of the fake Mac.
func readFake(t *testing.T, m *fakemac.Mac, path string) []byte {
	t.Helper()
	data, err := m.ReadFile(context.Background(), path, 1<<20)
	if err != nil {
		t.Fatalf("reading %s on the fake after apply: %v", path, err)
	}
	return data
}

// decodePlist decodes an XML property list into a map.
func decodePlist(t *testing.T, path string, data []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if _, err := plist.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s is not a property list: %v\n%s", path, err, data)
	}
	return v
}

// runnerRoots returns the runner roots of m4.star for count instances.
func runnerRoots(count int) (names, roots []string) {
	if count == 1 {
		return []string{"macmini-m4-hvf"}, []string{"/Users/ghrunner/actions-runner"}
	}
	for i := 1; i <= count; i++ {
		names = append(names, fmt.Sprintf("macmini-m4-hvf-%d", i))
		roots = append(roots, fmt.Sprintf("/Users/ghrunner/actions-runner-%d", i))
	}
	return names, roots
}

// TestFreshApplyFiles keeps the content of every file a fresh apply
// writes (LaunchDaemon plists, the Homebrew owner plist, each runner's
// .path) as a golden file next to the command transcript, and checks the
// properties issue 5 states for them: each runner daemon runs runsvc.sh as
// ghrunner in its own root with its own logs and environment, each prune
// daemon runs `hvfctl prune --older-than 7d` on its own _work as ghrunner
// once a day, and each .path puts the toolchains and Homebrew's bin on the
// jobs' PATH.
func TestFreshApplyFiles(t *testing.T) {
	for _, tc := range []struct {
		name, golden string
		count        int
	}{
		{"count1", "m4_fresh_files.txt", 1},
		{"count4", "m4_fresh_files_count4.txt", 4},
	} {
		for _, preset := range freshPresets {
			t.Run(tc.name+"/"+preset, func(t *testing.T) {
				vars := map[string]string{"runner_count": fmt.Sprint(tc.count)}
				m := fake(t, preset)
				rep := load(t, m, vars).Apply(context.Background())
				if !rep.Converged() {
					t.Fatalf("apply on %s did not converge:\n%s", preset, describe(rep))
				}
				names, roots := runnerRoots(tc.count)
				var b strings.Builder
				for _, p := range writtenFiles(rep.HostCommands, roots) {
					data, err := m.ReadFile(context.Background(), p, 1<<20)
					if errors.Is(err, fs.ErrNotExist) {
						// A marker the run removes again (the CLT's
						// install-on-demand file).
						fmt.Fprintf(&b, "== %s (removed by the run)\n", p)
						continue
					}
					if err != nil {
						t.Fatalf("reading %s on the fake after apply: %v", p, err)
					}
					if strings.Contains(string(data), testToken) {
						t.Fatalf("the registration token was written to %s", p)
					}
					fmt.Fprintf(&b, "== %s\n%s", p, data)
					if len(data) > 0 && data[len(data)-1] != '\n' {
						b.WriteString("\n")
					}
				}
				golden(t, tc.golden, b.String())

				minutes := map[uint64]string{}
				for i, name := range names {
					root := roots[i]
					label := "actions.runner.sysprog21-elfuse." + name
					path := "/Library/LaunchDaemons/" + label + ".plist"
					d := decodePlist(t, path, readFake(t, m, path))
					logs := "/Library/Logs/hvfctl/" + label
					// Root's directory, ghrunner's files, private to it.
					for _, want := range []struct {
						p, typ, owner string
						mode          fs.FileMode
					}{
						{logs, "dir", "root:wheel", 0o755},
						{logs + "/stdout.log", "file", "ghrunner:staff", 0o600},
						{logs + "/stderr.log", "file", "ghrunner:staff", 0o600},
					} {
						fi, err := m.Lstat(context.Background(), want.p)
						if err != nil || fi.Type != want.typ || fi.Owner+":"+fi.Group != want.owner || fi.Mode != want.mode || (want.typ == "file" && fi.Nlink != 1) {
							t.Errorf("%s: %+v %v, want %s %s %o with one link", want.p, fi, err, want.typ, want.owner, want.mode)
						}
					}
					if exists(t, m, "/Users/ghrunner/Library/Logs/"+label) {
						t.Errorf("the runner logs in its home too")
					}
					want := map[string]any{
						"Label":             label,
						"ProgramArguments":  []any{root + "/bin/runsvc.sh"},
						"UserName":          "ghrunner",
						"GroupName":         "staff",
						"WorkingDirectory":  root,
						"RunAtLoad":         true,
						"StandardOutPath":   logs + "/stdout.log",
						"StandardErrorPath": logs + "/stderr.log",
					}
					for k, v := range want {
						if !reflect.DeepEqual(d[k], v) {
							t.Errorf("%s: %s = %#v, want %#v", path, k, d[k], v)
						}
					}
					env, _ := d["EnvironmentVariables"].(map[string]any)
					for k, v := range map[string]string{"HOME": "/Users/ghrunner", "USER": "ghrunner", "ACTIONS_RUNNER_SVC": "1"} {
						if env[k] != v {
							t.Errorf("%s: EnvironmentVariables[%s] = %#v, want %q", path, k, env[k], v)
						}
					}

					plabel := "org.sysprog21.hvfctl.prune." + name
					ppath := "/Library/LaunchDaemons/" + plabel + ".plist"
					pd := decodePlist(t, ppath, readFake(t, m, ppath))
					wantArgv := []any{"/usr/local/bin/hvfctl", "prune", "--older-than", "7d", root + "/_work.noindex"}
					if !reflect.DeepEqual(pd["ProgramArguments"], wantArgv) {
						t.Errorf("%s: ProgramArguments = %#v, want %#v", ppath, pd["ProgramArguments"], wantArgv)
					}
					if pd["UserName"] != "ghrunner" || pd["RunAtLoad"] != false {
						t.Errorf("%s: UserName %#v RunAtLoad %#v, want ghrunner and false", ppath, pd["UserName"], pd["RunAtLoad"])
					}
					cal, _ := pd["StartCalendarInterval"].(map[string]any)
					hour, _ := cal["Hour"].(uint64)
					minute, ok := cal["Minute"].(uint64)
					if !ok || hour != 3 || len(cal) != 2 {
						t.Errorf("%s: StartCalendarInterval = %#v, want once a day at 3:MM", ppath, pd["StartCalendarInterval"])
					}
					if other, dup := minutes[minute]; dup {
						t.Errorf("%s and %s prune at the same minute", other, ppath)
					}
					minutes[minute] = ppath

					dotPath := strings.TrimSpace(string(readFake(t, m, root+"/.path")))
					dirs := strings.Split(dotPath, ":")
					for _, need := range []string{"/opt/toolchain/aarch64-linux-gnu/bin", "/opt/toolchain/aarch64-none-elf/bin", "/opt/homebrew/bin"} {
						if !contains(dirs, need) {
							t.Errorf("%s/.path = %q lacks %s", root, dotPath, need)
						}
					}
				}
			})
		}
	}
}
