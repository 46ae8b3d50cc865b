package engine

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// needsEscape reports whether r must not reach a terminal raw: C0
// controls other than newline and tab, DEL, C1 controls, the Unicode
// bidirectional controls (which reorder what follows them), the
// zero-width and other invisible format characters, and the line and
// paragraph separators.
func needsEscape(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20 || r == 0x7f:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x180e, r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f:
		return true
	case r >= 0x2028 && r <= 0x202e:
		return true
	case r >= 0x2060 && r <= 0x206f:
		return true
	case r >= 0xfff9 && r <= 0xfffb:
		return true
	}
	return false
}

// EscapeControls returns s with every character that could move the
// cursor, ring the bell, erase or overwrite a line, reorder or hide text
// on a terminal shown as a visible escape (`\u001b`, `\u202e`), and every
// byte that is not UTF-8 as `\xff`. Newlines and tabs are kept. It is the
// one function through which hvfctl's text reaches a terminal (the CLI
// applies it to everything it writes; a coloured report applies it to
// every piece of text before painting, see canvas), so ESC sequences,
// BEL, CR overprinting, NUL and bidi reordering in host output, file
// contents, fixture values or recipe strings show as what they are. Its
// output holds no character it would escape, so applying it twice
// changes nothing.
func EscapeControls(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || needsEscape(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case needsEscape(r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
