package render_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/audit"
	"github.com/sysprog21/hvfctl/workflow/render"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.diff")

// designJob is the runtime-macos job of the setup document, with the
// action pinned, as a recipe declares it.
func designJob() *workflow.JobSpec {
	return &workflow.JobSpec{
		ID:    "runtime-macos",
		Name:  "Runtime (macOS Apple Silicon, HVF)",
		Needs: []string{"build-macos"},
		If: "github.event_name == 'push' ||\n  (github.event_name == 'pull_request' &&\n  github.event.pull_request.head.repo.full_name == github.repository &&\n" +
			"  contains(github.event.pull_request.labels.*.name, 'ci-hvf'))",
		RunsOn:         []string{"self-hosted", "macOS", "arm64", "m4", "hvf"},
		TimeoutMinutes: 60,
		Concurrency:    &workflow.Concurrency{Group: "runtime-macos-${{ github.ref }}", CancelInProgress: "${{ github.event_name == 'pull_request' }}"},
		Env: []workflow.KV{
			{Key: "LINUX_TOOLCHAIN", Value: "/opt/toolchain/aarch64-linux-gnu"},
			{Key: "GNU_OBJCOPY", Value: "/opt/homebrew/opt/binutils/bin/objcopy"},
		},
		Steps: []workflow.Step{
			{Name: "Checkout", Uses: "actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8 # v6.0.1", With: []workflow.KV{{Key: "persist-credentials", Value: "false"}}},
			{Name: "Build elfuse", Run: "gmake elfuse"},
			{Name: "Hypervisor entitlement", Run: "codesign -d --entitlements - --xml build/elfuse > \"$RUNNER_TEMP/elfuse-entitlements.plist\"\n" +
				"test \"$(/usr/libexec/PlistBuddy -c 'Print :com.apple.security.hypervisor' \"$RUNNER_TEMP/elfuse-entitlements.plist\")\" = true\n"},
			{Name: "test-hello", Run: "gmake test-hello"},
			{Name: "test-multi-vcpu", Run: "gmake test-multi-vcpu"},
			{Name: "make check", Run: "gmake check"},
			{Name: "Test matrix", Run: "bash tests/test-matrix.sh all"},
		},
	}
}

// designFacts is what the recipe provides for designJob.
func designFacts() *workflow.RecipeFacts {
	return &workflow.RecipeFacts{
		Labels:      []string{"self-hosted", "macOS", "arm64", "m4", "hvf"},
		Job:         designJob(),
		Toolchains:  []workflow.Toolchain{{Name: "aarch64-linux-gnu", Path: "/opt/toolchain/aarch64-linux-gnu"}},
		BrewPrefix:  "/opt/homebrew",
		Formulae:    []string{"binutils", "make", "qemu"},
		RosettaPath: "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta",
		ObjcopyPath: "/opt/homebrew/opt/binutils/bin/objcopy",
	}
}

func TestRender(t *testing.T) {
	for _, name := range []string{"append", "replace", "flat-seq", "crlf"} {
		t.Run(name, func(t *testing.T) {
			in := filepath.Join("testdata", name+".yml")
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := render.Job(src, designJob())
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			diff := render.Diff(name+".yml", src, out)
			golden := filepath.Join("testdata", name+".golden.diff")
			if *update {
				if err := os.WriteFile(golden, []byte(diff), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff != string(want) {
				t.Errorf("diff differs from %s:\n%s", golden, diff)
			}

			// Idempotence: a second render changes nothing.
			again, err := render.Job(out, designJob())
			if err != nil {
				t.Fatalf("second render: %v", err)
			}
			if string(again) != string(out) {
				t.Errorf("second render changed the file:\n%s", render.Diff(name, out, again))
			}

			// Every line outside the job is kept byte for byte.
			assertOnlyJobChanged(t, src, out)

			// Line endings follow the file.
			if strings.Contains(string(src), "\r\n") && strings.Count(string(out), "\n") != strings.Count(string(out), "\r\n") {
				t.Errorf("mixed line endings in a CRLF file")
			}

			// The rendered file passes the audit, host cross-check included.
			jobs, err := audit.Source(name+".yml", out, audit.Options{Recipe: designFacts()})
			if err != nil {
				t.Fatalf("audit of the rendered file: %v", err)
			}
			found := false
			for _, j := range jobs {
				if j.ID == "runtime-macos" {
					found = true
					if j.Verdict != "pass" || !j.LandsOnRunner {
						t.Errorf("rendered job: verdict %s, lands %v, findings %+v", j.Verdict, j.LandsOnRunner, j.Findings)
					}
				}
			}
			if !found {
				t.Errorf("the rendered file has no runtime-macos job")
			}
		})
	}
}

// assertOnlyJobChanged checks that the removed lines are one contiguous
// block and so are the added ones (one job replaced or added).
func assertOnlyJobChanged(t *testing.T, old, new []byte) {
	t.Helper()
	d := render.Diff("f", old, new)
	hunks := strings.Count(d, "\n@@ ")
	if hunks > 1 {
		t.Errorf("the render touched %d separate places:\n%s", hunks, d)
	}
	for _, l := range strings.Split(d, "\n") {
		if strings.HasPrefix(l, "-") && !strings.HasPrefix(l, "---") {
			if strings.Contains(l, "lint") || strings.Contains(l, "scan") || strings.Contains(l, "build-macos:") {
				t.Errorf("the render removed a line of another job: %q", l)
			}
		}
	}
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		file string
		job  *workflow.JobSpec
		want string
	}{
		{"flow-jobs.yml", designJob(), "line 2: a flow-style jobs: ({...}) cannot be edited in place"},
		{"broken.yml", designJob(), "parsing the workflow: yaml: line 3"},
		{"append.yml", nil, "declares no workflow_job"},
	} {
		src, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = render.Job(src, tc.job)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to contain %q", tc.file, err, tc.want)
		}
	}
}

func TestWriteFileKeepsMode(t *testing.T) {
	p := filepath.Join(t.TempDir(), "ci.yml")
	if err := os.WriteFile(p, []byte("a\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := render.WriteFile(p, []byte("b\n")); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(p)
	if err != nil || string(got) != "b\n" {
		t.Fatalf("content %q, %v", got, err)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o640 {
		t.Fatalf("mode %v, %v; want 0640", fi.Mode().Perm(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestDiffEqual(t *testing.T) {
	if d := render.Diff("x", []byte("a\nb\n"), []byte("a\nb\n")); d != "" {
		t.Errorf("diff of equal texts: %q", d)
	}
	d := render.Diff("x", []byte("a\nb\nc\n"), []byte("a\nB\nc\n"))
	want := "--- a/x\n+++ b/x\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n"
	if d != want {
		t.Errorf("diff:\n%s\nwant:\n%s", d, want)
	}
}
