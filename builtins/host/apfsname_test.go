package host

import "testing"

func TestFoldName(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"/Library/LaunchDaemons", "/library/launchdaemons", true},
		{"/etc/sudoers", "/etc/\u017fudoers", true},                // long s folds to s
		{"/Users/x/.ssh/id_rsa", "/Users/x/.\u00dfh/id_rsa", true}, // ß folds to ss (full folding)
		{"/etc/master.passwd", "/etc/ma\ufb06er.passwd", true},     // the st ligature folds to st
		{"/Library/Keychains", "/Library/\u212aeychains", true},    // the Kelvin sign
		{"/Library/Keychains", "/LIBRARY/KEYCHAINS", true},
		{"caf\u00e9", "cafe\u0301", true}, // NFC and NFD
		{"CAF\u00c9", "cafe\u0301", true},
		{"/Users/x\xff", "/users/X\xff", true}, // invalid UTF-8 kept, the rest folded
		{"/etc/sudoers", "/etc/sudoers2", false},
		{"/etc/sudoers", "/etc/s\u0307udoers", false}, // a combining mark is a different name
		{"i", "\u0131", false},                        // dotless i has no folding
	} {
		if got := FoldName(tc.a) == FoldName(tc.b); got != tc.same {
			t.Errorf("FoldName(%q) = %q, FoldName(%q) = %q: same = %v, want %v", tc.a, FoldName(tc.a), tc.b, FoldName(tc.b), got, tc.same)
		}
	}
}
