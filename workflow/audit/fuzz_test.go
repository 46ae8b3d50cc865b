package audit

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzSource audits arbitrary workflow files: bad YAML or a bad workflow
// must come back as an *InputError with a line, never as a panic, and an
// audit must give the same verdicts twice. Seeds: every workflow under
// testdata/workflows plus testdata/fuzz/FuzzSource.
func FuzzSource(f *testing.F) {
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
		jobs, err := Source("fuzz.yml", src, Options{})
		if err != nil {
			var ie *InputError
			if errors.As(err, &ie) && ie.Line < 1 {
				t.Fatalf("input error without a line: %v", err)
			}
			return
		}
		again, err := Source("fuzz.yml", src, Options{})
		if err != nil {
			t.Fatalf("second audit failed: %v", err)
		}
		if len(again) != len(jobs) {
			t.Fatalf("%d jobs, then %d", len(jobs), len(again))
		}
		for i := range jobs {
			if jobs[i].Verdict != again[i].Verdict {
				t.Fatalf("job %d: verdict %q, then %q", i, jobs[i].Verdict, again[i].Verdict)
			}
		}
	})
}
