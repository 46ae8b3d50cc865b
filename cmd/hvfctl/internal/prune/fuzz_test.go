package prune

import (
	"errors"
	"testing"
)

// FuzzParseAge parses arbitrary ages: an error wraps ErrBadInput, and an
// accepted age is positive. Seeds: testdata/fuzz/FuzzParseAge and these.
func FuzzParseAge(f *testing.F) {
	for _, s := range []string{"7d", "36h", "90m", "45s", "1d12h", "2w", "", "0d", "-1d", "99999999999999999999d", "1x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseAge(s)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("ParseAge(%q): error %v does not wrap ErrBadInput", s, err)
			}
			return
		}
		if d <= 0 {
			t.Fatalf("ParseAge(%q) = %v, want a positive age", s, d)
		}
	})
}
