package render

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
)

// fuzzJob is a job of the shape m4.star declares.
func fuzzJob() *workflow.JobSpec {
	return &workflow.JobSpec{
		ID:             "runtime-macos",
		Name:           "runtime (macOS, HVF)",
		If:             "github.event_name == 'push'",
		RunsOn:         []string{"self-hosted", "macOS", "arm64", "m4", "hvf"},
		TimeoutMinutes: 60,
		Steps: []workflow.Step{
			{Uses: "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683", With: []workflow.KV{{Key: "persist-credentials", Value: "false"}}},
			{Name: "test", Run: "make check"},
		},
	}
}

// FuzzJob renders the job into arbitrary workflow files: never a panic;
// a successful render parses as YAML, holds the job's guard (in any
// equivalent layout) and labels as declared and is a
// fixed point (rendering its output again changes nothing). Seeds: every workflow under testdata/workflows plus
// testdata/fuzz/FuzzJob.
func FuzzJob(f *testing.F) {
	files, err := filepath.Glob("../../testdata/workflows/*.yml")
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, err := Job(src, fuzzJob())
		if err != nil {
			return
		}
		// The result is YAML holding the job: the labels and guard as
		// declared, read back by a plain decoder.
		var doc any
		if err := yaml.Unmarshal(out, &doc); err != nil {
			t.Fatalf("the rendered workflow does not parse: %v\n%s", err, out)
		}
		got := lookupKey(lookupKey(doc, "jobs"), fuzzJob().ID)
		labels, _ := lookupKey(got, "runs-on").([]any)
		guard, _ := lookupKey(got, "if").(string)
		if normalizeExpr(unfence(guard)) != normalizeExpr(fuzzJob().If) || fmt.Sprint(labels) != fmt.Sprint(fuzzJob().RunsOn) {
			t.Fatalf("the rendered workflow does not hold the job as declared (%v):\n%s", got, out)
		}
		again, err := Job(out, fuzzJob())
		if err != nil {
			t.Fatalf("rendering the rendered workflow failed: %v\n%s", err, out)
		}
		if !bytes.Equal(out, again) {
			t.Fatalf("rendering is not a fixed point:\n%s\n---\n%s", out, again)
		}
	})
}
