package recipes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// TestRunnerFilesTampered: a job (as the runner account) changes a file
// the next jobs run — the worker, node in externals, a top-level script —
// or adds one to bin/, keeping what the old check looked at (the markers
// and the listener's --version) intact. check must not call that
// converged: runner:NAME:files reports the difference, run reinstalls the
// files from the pinned archive (the daemon stopped and started again),
// and check is then converged with the tampered bytes gone.
func TestRunnerFilesTampered(t *testing.T) {
	const root = "/Users/ghrunner/actions-runner"
	for _, tc := range []struct{ name, path string }{
		{"worker", root + "/bin/Runner.Worker"},
		{"node", root + "/externals/node20/bin/node"},
		{"script", root + "/run.sh"},
		{"extra in bin", root + "/bin/libhook.dylib"},
		{"extra in externals", root + "/externals/node20/hook.js"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m := fake(t, "converged")
			bytes := []byte("#!/bin/sh\nsteal secrets\n")
			h := sha256.Sum256(bytes)
			tampered := hex.EncodeToString(h[:])
			if err := m.WriteFile(ctx, host.WriteRequest{Path: tc.path, Data: bytes, Mode: 0o755, Owner: "ghrunner", Group: "staff"}); err != nil {
				t.Fatal(err)
			}
			rep := load(t, m, nil).Check(ctx)
			if rep.ExitCode() != 2 {
				t.Fatalf("check after the tampering exits %d, want 2 (drift):\n%s", rep.ExitCode(), describe(rep))
			}
			var files *engine.ResourceReport
			for i := range rep.Resources {
				if rep.Resources[i].ID == "runner:macmini-m4-hvf:files" {
					files = &rep.Resources[i]
				}
			}
			if files == nil || files.Status == engine.StatusOK {
				t.Fatalf("runner:macmini-m4-hvf:files is not reported:\n%s", describe(rep))
			}
			ap := load(t, m, nil).Apply(ctx)
			if !ap.Converged() {
				t.Fatalf("run did not repair it:\n%s", describe(ap))
			}
			if rep := load(t, m, nil).Check(ctx); rep.ExitCode() != 0 {
				t.Fatalf("check after run exits %d:\n%s", rep.ExitCode(), describe(rep))
			}
			// The reinstalled bin/ and externals/ are bin.VERSION and
			// externals.VERSION behind links, as after an upgrade.
			read := 0
			for _, p := range []string{tc.path, strings.Replace(strings.Replace(tc.path, root+"/bin/", root+"/bin.2.335.1/", 1), root+"/externals/", root+"/externals.2.335.1/", 1)} {
				sum, _, err := m.Hash(ctx, p)
				if err != nil {
					continue
				}
				read++
				if sum == tampered {
					t.Errorf("%s still holds the job's bytes", p)
				}
			}
			if read == 0 && !strings.Contains(tc.name, "extra") {
				t.Errorf("%s was not reinstalled", tc.path)
			}
		})
	}
}

// TestTamperedRunnerClaimingNewerVersion: the version check trusts what
// bin/Runner.Listener prints, and a job can replace the listener. A job
// that changes the worker and makes the listener claim a release newer
// than the pin must not turn the hash check into "verify manually": bin/
// is still a directory, not the link to bin.VERSION a self-update leaves,
// so its files are hashed against the pinned archive and the change is
// drift.
func TestTamperedRunnerClaimingNewerVersion(t *testing.T) {
	root := fakemac.RunnerRoot
	fx := map[string]any{
		"base": "converged",
		"responses": []map[string]any{{
			"argv": []string{root + "/bin/Runner.Listener", "--version"}, "stdout": "9.9.9\n", "exit": 0,
		}},
	}
	b, err := json.Marshal(fx)
	if err != nil {
		t.Fatal(err)
	}
	file := t.TempDir() + "/claims-newer.json"
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := fakemac.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := m.WriteFile(ctx, host.WriteRequest{Path: root + "/bin/Runner.Worker", Data: []byte("#!/bin/sh\nsteal secrets\n"), Mode: 0o755, Owner: "ghrunner", Group: "staff"}); err != nil {
		t.Fatal(err)
	}
	rep := load(t, m, nil).Check(ctx)
	if rep.ExitCode() != 2 {
		t.Fatalf("check exits %d, want 2 (drift):\n%s", rep.ExitCode(), describe(rep))
	}
	for _, r := range rep.Resources {
		if r.ID == "runner:macmini-m4-hvf:files" && !strings.Contains(r.Error+describe(rep), "not the link to bin.VERSION") {
			t.Errorf("the drift does not say why the claimed version is not believed:\n%s", describe(rep))
		}
	}
}
