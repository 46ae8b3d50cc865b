package host

import (
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// FoldName returns the key under which a case-insensitive APFS volume
// (the default for a Mac's system and data volumes) compares the name or
// path s: two strings with the same key name the same file. APFS stores
// a name as given but looks it up by a hash of its canonical
// decomposition (NFD), case folded with Unicode's full case folding on a
// case-insensitive volume (docs/security.md, "Names are compared as APFS
// compares them"). So `/etc/ſudoers` (U+017F, which folds to `s`),
// `.ßh` (ß folds to `ss`), `/Library/\u212Aeychains` (the Kelvin sign)
// and `/USERS` all name what their ASCII spellings name, which
// strings.ToLower does not see. Every check that refuses a path by its
// name compares FoldName of both sides.
//
// The key is the NFD of the full case folding of the NFD of s (folding
// can produce a string that is not in NFD); bytes that are not valid
// UTF-8 (APFS accepts no such name) are kept as they are. Folding with a later Unicode version than the volume's
// (APFS's tables are from Unicode 9) only makes more strings equal, so
// a check may refuse more, never less.
func FoldName(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		b := []byte(s)
		for i, c := range b {
			if 'A' <= c && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	}
	return norm.NFD.String(cases.Fold().String(norm.NFD.String(s)))
}
