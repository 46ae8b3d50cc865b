package render_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/render"
)

// anchorsGuard is the guard anchors.yml shares between its two jobs.
const anchorsGuard = "github.event_name == 'push' || (github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))"

// anchorsJob declares runtime-macos with the guard and labels anchors.yml
// already gives it, so its anchors can stay.
func anchorsJob() *workflow.JobSpec {
	return &workflow.JobSpec{
		ID:             "runtime-macos",
		If:             anchorsGuard,
		RunsOn:         []string{"self-hosted", "macOS", "arm64", "hvf"},
		TimeoutMinutes: 60,
		Steps:          []workflow.Step{{Name: "make check", Run: "gmake check"}},
	}
}

func TestRenderAnchors(t *testing.T) {
	sharedFile := filepath.Join("..", "..", "testdata", "workflows", "anchors.yml")
	noEnv := designJob()
	noEnv.Env = nil
	otherRunsOn := anchorsJob()
	otherRunsOn.RunsOn = append(otherRunsOn.RunsOn, "m4")
	for _, tc := range []struct {
		name string
		file string
		job  *workflow.JobSpec
		// want is a part of the error; "" when the render succeeds.
		want []string
		// keeps are lines the rendered file must hold.
		keeps []string
	}{{
		name: "shared anchors, another guard: refused",
		file: sharedFile,
		job:  designJob(),
		want: []string{
			"line 10: job runtime-macos defines anchor &guard on if:, which job runtime-macos-sanitizers (line 15) uses",
			"the recipe declares a different if:",
			"write the value out in place of *guard there, or move the anchor out of runtime-macos",
			"the file was not changed",
		},
	}, {
		name: "shared anchors, another runs-on: refused",
		file: sharedFile,
		job:  otherRunsOn,
		want: []string{"line 11: job runtime-macos defines anchor &mac on runs-on:, which job runtime-macos-sanitizers (line 16) uses"},
	}, {
		name:  "shared anchors, same values: kept",
		file:  sharedFile,
		job:   anchorsJob(),
		keeps: []string{"    if: &guard " + anchorsGuard + "\n", "    runs-on: &mac [self-hosted, macOS, arm64, hvf]\n", "    if: *guard\n", "    runs-on: *mac\n"},
	}, {
		// Steps are the maintainers': an anchored step shared with another
		// job stays, and so does its with: (already persist-credentials:
		// false).
		name:  "anchor on a step: kept",
		file:  filepath.Join("testdata", "anchors-nested.yml"),
		job:   designJob(),
		keeps: []string{"      - &checkout\n", "      - *checkout\n", "          persist-credentials: false\n"},
	}, {
		// The recipe adds variables to an env: mapping that a step of the
		// same job aliases: the step's environment would change too.
		name: "anchored env aliased inside the job: refused",
		file: filepath.Join("testdata", "anchors-local.yml"),
		job:  designJob(),
		want: []string{"line 12: job runtime-macos defines anchor &local on env:, which job runtime-macos (line 16) uses", "changing it would change what those aliases mean"},
	}, {
		name:  "anchors of other jobs aliased in the job: rendered",
		file:  filepath.Join("testdata", "anchors-local.yml"),
		job:   noEnv,
		keeps: []string{"    runs-on: &linux ubuntu-24.04\n", "    env: *common\n", "  scan:\n    runs-on: *linux\n"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			out, err := render.Job(src, tc.job)
			if len(tc.want) > 0 {
				if err == nil {
					t.Fatalf("rendered, want an error:\n%s", out)
				}
				var refusal *render.RefusalError
				if !errors.As(err, &refusal) {
					t.Errorf("error %q is not a RefusalError (the CLI would exit 2, bad input, instead of 1)", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q\nwant it to contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			for _, k := range tc.keeps {
				if !strings.Contains(string(out), k) {
					t.Errorf("the rendered file lacks %q:\n%s", k, out)
				}
			}
			assertOnlyJobChanged(t, src, out)
			again, err := render.Job(out, tc.job)
			if err != nil || string(again) != string(out) {
				t.Errorf("second render: %v\n%s", err, render.Diff("f", out, again))
			}
			// The other jobs read back as before, aliases followed.
			var before, after struct {
				Jobs map[string]any `yaml:"jobs"`
			}
			if err := yaml.Unmarshal(src, &before); err != nil {
				t.Fatal(err)
			}
			if err := yaml.Unmarshal(out, &after); err != nil {
				t.Fatalf("the rendered file does not parse: %v\n%s", err, out)
			}
			for id, j := range before.Jobs {
				if id == tc.job.ID {
					continue
				}
				if got, want := mustYAML(t, after.Jobs[id]), mustYAML(t, j); got != want {
					t.Errorf("job %s changed:\n%s\nwant:\n%s", id, got, want)
				}
			}
		})
	}
}

func mustYAML(t *testing.T, v any) string {
	t.Helper()
	b, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
