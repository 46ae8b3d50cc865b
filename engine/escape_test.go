package engine

import "testing"

func TestEscapeControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n\twith tab", "plain text\n\twith tab"},
		{"\x1b[2J\x1b]0;pwned\x07", `\u001b[2J\u001b]0;pwned\u0007`},
		{"ok\rFAILED", `ok\u000dFAILED`},
		{"nul\x00byte", `nul\u0000byte`},
		{"del\x7f", `del\u007f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"bidi \u202eevil\u202c \u2066x\u2069 \u200f", `bidi \u202eevil\u202c \u2066x\u2069 \u200f`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"café → ok ✓", "café → ok ✓"},
	} {
		if got := EscapeControls(tc.in); got != tc.want {
			t.Errorf("EscapeControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	colored := ansiRed + "FAILED" + ansiReset + " \x1b[8mhidden"
	if got, want := EscapeTerminal(colored, true), ansiRed+"FAILED"+ansiReset+` \u001b[8mhidden`; got != want {
		t.Errorf("EscapeTerminal(colors) = %q, want %q", got, want)
	}
	if got := EscapeTerminal(colored, false); got != `\u001b[31mFAILED\u001b[0m \u001b[8mhidden` {
		t.Errorf("EscapeTerminal(no colors) = %q", got)
	}
}
