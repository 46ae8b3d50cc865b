package audit

import (
	"fmt"
	"regexp"
	"strings"
)

// filter is a branch or tag filter of an on: event (branches,
// branches-ignore, tags, tags-ignore), compiled to regular expressions.
type filter struct {
	pats []filterPat
}

type filterPat struct {
	neg bool
	re  *regexp.Regexp
	src string
}

// compileFilter compiles GitHub filter patterns: `*` matches anything but
// `/`, `**` anything, `?` and `+` repeat the preceding character zero-or-one
// and one-or-more times, `[...]` is a character class, and a leading `!`
// negates (later patterns win).
func compileFilter(pats []string) (*filter, error) {
	f := &filter{}
	for _, p := range pats {
		fp := filterPat{src: p}
		if strings.HasPrefix(p, "!") {
			fp.neg = true
			p = p[1:]
		}
		re, err := globRegexp(p)
		if err != nil {
			return nil, fmt.Errorf("filter pattern %q: %w", fp.src, err)
		}
		fp.re = re
		f.pats = append(f.pats, fp)
	}
	return f, nil
}

func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?', '+':
			b.WriteByte(c)
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 0 {
				return nil, fmt.Errorf("unterminated [")
			}
			b.WriteString(p[i : i+j+1])
			i += j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// matches reports whether name is selected by the pattern list (the last
// matching pattern decides; a name matched by none is not selected).
func (f *filter) matches(name string) bool {
	sel := false
	for _, p := range f.pats {
		if p.re.MatchString(name) {
			sel = !p.neg
		}
	}
	return sel
}

// samples returns names that the patterns are likely to match, so that a
// filter like `release/**` still admits a concrete non-main branch.
func (f *filter) samples() []string {
	var out []string
	for _, p := range f.pats {
		if p.neg {
			continue
		}
		s := p.src
		s = strings.ReplaceAll(s, "**", "x")
		s = strings.ReplaceAll(s, "*", "x")
		s = strings.ReplaceAll(s, "?", "")
		s = strings.ReplaceAll(s, "+", "")
		for {
			i := strings.IndexByte(s, '[')
			j := strings.IndexByte(s, ']')
			if i < 0 || j < i+2 {
				break
			}
			s = s[:i] + s[i+1:i+2] + s[j+1:]
		}
		if s != "" && p.re.MatchString(s) {
			out = append(out, s)
		}
	}
	return out
}

// refFilter is the include/ignore pair for one ref kind.
type refFilter struct {
	include *filter
	ignore  *filter
	// set is true when either list was given.
	set bool
}

func (r refFilter) admits(name string) bool {
	if r.include != nil && !r.include.matches(name) {
		return false
	}
	if r.ignore != nil && r.ignore.matches(name) {
		return false
	}
	return true
}

// pick returns the first candidate (then the pattern samples) the filter
// admits and that is not in avoid.
func (r refFilter) pick(cands []string, avoid string) (string, bool) {
	all := append([]string(nil), cands...)
	if r.include != nil {
		all = append(all, r.include.samples()...)
	}
	for _, c := range all {
		if c != avoid && r.admits(c) {
			return c, true
		}
	}
	return "", false
}

// hasWildcard reports whether a selecting (not negated) pattern is more
// than a literal name, so that names beyond those tried may match.
func (f *filter) hasWildcard() bool {
	for _, p := range f.pats {
		if !p.neg && strings.ContainsAny(p.src, "*?+[") {
			return true
		}
	}
	return false
}
