package audit

import "testing"

func TestCollide(t *testing.T) {
	a := anyValue
	for _, tc := range []struct {
		group, main string
		want        bool
	}{
		{"ci-refs/pull/7/merge", "ci-refs/heads/main", false},
		{"ci-" + a, "ci-refs/heads/main", true},
		{"CI-" + a, "ci-refs/heads/main", true},
		{a + "-refs/pull/7/merge", "ci-refs/heads/main", false},
		// Both free: the suffixes differ, so no name is both.
		{"ci-" + a + "-refs/pull/7/merge", "ci-" + a + "-refs/heads/main", false},
		// Both free: the prefixes differ.
		{"a-" + a, "b-" + a, false},
		// Both free, compatible prefix and suffix: "ci-x-main".
		{"ci-" + a + "-main", "ci-" + a, true},
		{a + "-main", "ci-" + a + "main", true},
		{"ci-" + a + "-" + a + "-main", "ci-" + a + "-x-" + a + "-main", true},
		// Only main free.
		{"ci-refs/heads/main", "ci-" + a, true},
		{"cd-refs/heads/main", "ci-" + a, false},
	} {
		_, _, got := collide([]string{tc.group}, []string{tc.main})
		if got != tc.want {
			t.Errorf("collide(%q, %q) = %v, want %v", describeGroup(tc.group), describeGroup(tc.main), got, tc.want)
		}
	}
}
