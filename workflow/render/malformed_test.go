package render_test

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/render"
)

// standaloneJob is designJob without needs, for files that have no
// build-macos job.
func standaloneJob() *workflow.JobSpec {
	j := designJob()
	j.Needs = nil
	return j
}

// TestRenderOddJobs renders into files whose jobs end in unusual places:
// the result parses and holds both the old jobs and the declared one, or
// the render is refused with a positioned error.
func TestRenderOddJobs(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		// want is a part of the error; "" when the render succeeds.
		want string
		// others are the other jobs and what they read back as.
		others map[string]string
	}{{
		// Found by FuzzJob: the sequence at the job key's column stayed
		// outside the job and the appended job split it.
		name:   "sequence at the job column",
		src:    "0:000: \njobs:\n    0:\n    -",
		others: map[string]string{"0": "- null\n"},
	}, {
		name:   "flow sequence continued left of the job column",
		src:    "on: push\njobs:\n  build: [a,\nb]\n",
		others: map[string]string{"build": "- a\n- b\n"},
	}, {
		name:   "document end marker after the last job",
		src:    "on: push\njobs:\n  build:\n    runs-on: x\n...\n",
		others: map[string]string{"build": "runs-on: x\n"},
	}, {
		name:   "second document after the last job",
		src:    "on: push\njobs:\n  build:\n    runs-on: x\n---\nz: 1\n",
		others: map[string]string{"build": "runs-on: x\n"},
	}, {
		// Found by FuzzJob: YAML counts a lone CR as a line break, and the
		// job's line was past the end of the file's "\n" lines.
		name:   "lone carriage returns",
		src:    "on: push\rjobs:\r  build: 1\r  runtime-macos: 2\r  scan: 3\r",
		others: map[string]string{"build": "1\n", "scan": "3\n"},
	}, {
		name:   "Unicode line and paragraph separators",
		src:    "on: push\u2028jobs:\u2029  build: 1\u0085  runtime-macos: 2\n  scan: 3\n",
		others: map[string]string{"build": "1\n", "scan": "3\n"},
	}, {
		name: "quoted scalar continued at column 0 in the replaced job",
		src:  "on: push\njobs:\n  runtime-macos: \"x\ny\"\nz: 1\n",
		want: "line 3: job runtime-macos cannot be replaced in place (its lines 3-3): the result would not be valid YAML",
	}, {
		name: "quoted scalar continued at column 0 after the last job",
		src:  "on: push\njobs:\n  a: \"x\ny\"\n",
		want: "line 3: job runtime-macos cannot be added after the last job: the result would not",
	}, {
		name: "duplicate job",
		src:  "on: push\njobs:\n  a: 1\n  a: 2\n",
		want: `reading the workflow: yaml: unmarshal errors:`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := render.Job([]byte(tc.src), standaloneJob())
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("error %v\nwant it to contain %q\n%s", err, tc.want, out)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			var doc struct {
				Jobs map[string]any `yaml:"jobs"`
			}
			if err := yaml.Unmarshal(out, &doc); err != nil {
				t.Fatalf("the rendered file does not parse: %v\n%s", err, out)
			}
			if _, ok := doc.Jobs["runtime-macos"].(map[string]any); !ok {
				t.Errorf("no runtime-macos job:\n%s", out)
			}
			for id, want := range tc.others {
				if got := mustYAML(t, doc.Jobs[id]); got != want {
					t.Errorf("job %s reads back as %q, want %q:\n%s", id, got, want, out)
				}
			}
			again, err := render.Job(out, standaloneJob())
			if err != nil || string(again) != string(out) {
				t.Errorf("second render: %v\n%s", err, render.Diff("f", out, again))
			}
		})
	}
}

// TestRenderRunIndented renders a multi-line run whose first line is
// indented: it reads back exactly (less trailing line breaks).
func TestRenderRunIndented(t *testing.T) {
	for _, run := range []string{"  indented\nnot\n", "\n\n    deep\n  less", "a\n  b\n"} {
		job := standaloneJob()
		job.Steps = append(job.Steps, workflow.Step{Name: "odd", Run: run})
		out, err := render.Job([]byte("on: push\njobs:\n  build:\n    runs-on: x\n"), job)
		if err != nil {
			t.Fatalf("%q: %v", run, err)
		}
		var doc struct {
			Jobs map[string]struct {
				Steps []struct {
					Run string `yaml:"run"`
				} `yaml:"steps"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("%q: %v\n%s", run, err, out)
		}
		steps := doc.Jobs["runtime-macos"].Steps
		if got, want := steps[len(steps)-1].Run, strings.TrimRight(run, "\n")+"\n"; got != want {
			t.Errorf("run reads back as %q, want %q:\n%s", got, want, out)
		}
	}
}

// TestRenderOddStrings renders strings YAML reads as line breaks or does
// not allow unescaped: they read back exactly.
func TestRenderOddStrings(t *testing.T) {
	for _, s := range []string{"a\u2028b", "a\u2029b", "a\u0085b", "a\x7fb", "a\u009fb", "\ufeffa", "tab\there", `q"uote\`, "é ü", "a,b", "x: y", "  lead", "#x", "0x1F", "true", "~"} {
		job := standaloneJob()
		job.Name = s
		job.RunsOn = []string{"self-hosted", s}
		job.Env = []workflow.KV{{Key: s, Value: s}}
		out, err := render.Job([]byte("on: push\njobs:\n  build:\n    runs-on: [x]\n"), job)
		if err != nil {
			t.Errorf("%q: %v", s, err)
			continue
		}
		var doc struct {
			Jobs map[string]struct {
				Name   string            `yaml:"name"`
				RunsOn []string          `yaml:"runs-on"`
				Env    map[string]string `yaml:"env"`
			} `yaml:"jobs"`
		}
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Errorf("%q: %v\n%s", s, err, out)
			continue
		}
		got := doc.Jobs["runtime-macos"]
		if got.Name != s || len(got.RunsOn) != 2 || got.RunsOn[1] != s || got.Env[s] != s {
			t.Errorf("%q reads back as %+v:\n%s", s, got, out)
		}
	}
}

// TestRenderErrorKinds separates bad input (not YAML, not a workflow: the
// CLI exits 2) from a well-formed workflow the render will not edit
// safely (a *render.RefusalError: the CLI exits 1).
func TestRenderErrorKinds(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		refused   bool
	}{
		{"not YAML", "on: [push\njobs:\n", false},
		{"not a mapping", "- a\n- b\n", false},
		{"no jobs", "on: push\n", false},
		{"empty jobs", "on: push\njobs: {}\n", false},
		{"duplicate job", "on: push\njobs:\n  a: 1\n  a: 2\n", false},
		{"flow-style workflow", "{on: push, jobs: {a: {runs-on: x}}}\n", true},
		{"flow-style jobs", "on: push\njobs: {a: {runs-on: x}}\n", true},
		{"quoted scalar at column 0 in the job", "on: push\njobs:\n  runtime-macos: \"x\ny\"\nz: 1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render.Job([]byte(tc.src), standaloneJob())
			if err == nil {
				t.Fatal("rendered, want an error")
			}
			var refusal *render.RefusalError
			if got := errors.As(err, &refusal); got != tc.refused {
				t.Errorf("error %q: refusal %v, want %v", err, got, tc.refused)
			}
		})
	}
}
