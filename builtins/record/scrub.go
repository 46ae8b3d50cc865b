package record

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Identity is what identifies the recorded Mac and its people beyond what
// the patterns of a Scrubber find by themselves.
type Identity struct {
	// Invoker is the administrator who ran hvfctl (SUDO_USER). Its name
	// becomes the fake's administrator, "admin", so that the replay's
	// Homebrew owner and paths under /Users/admin match.
	Invoker string
	// RealNames are full names of people (the invoker's, and any other
	// account's that is not the recipe's own).
	RealNames []string
	// Hostnames are the Mac's names (host name, local host name, computer
	// name); each becomes "mac-mini" (the computer name "Mac mini").
	Hostnames []string
	// Keep are values never replaced even when a pattern matches them
	// (the recipe's own account names and full names).
	Keep []string
}

// FakeAdmin is the administrator of the fake Mac, what Identity.Invoker
// becomes.
const FakeAdmin = "admin"

// Scrubber replaces identifying data consistently: the same value always
// becomes the same stand-in, of a shape the parsers still accept (a UUID
// stays a UUID, an e-mail address an e-mail address).
type Scrubber struct {
	id     Identity
	fixed  []pair // literal replacements, longest first
	seen   map[string]string
	counts map[string]int
}

type pair struct {
	from, to string
	word     bool // only between non-name characters
}

// Patterns of identifying data found by shape.
var (
	uuidPat = regexp.MustCompile(`\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\b`)
	// wellKnownUUID is the prefix of the fixed GeneratedUIDs of macOS's
	// built-in accounts (root, daemon, nobody, _www …): the same on every
	// Mac, so not identifying.
	wellKnownUUID = "FFFFEEEE-DDDD-CCCC-BBBB-AAAA"
	emailPat      = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	// serialPat finds a serial number after the words that introduce one
	// (system_profiler's "Serial Number (system):", ioreg's
	// "IOPlatformSerialNumber" = "…", "serial-number").
	serialPat = regexp.MustCompile(`(?i)(serial[ _-]?number[^:=\n]{0,20}["]?\s*[:=]\s*["<]?)([A-Z0-9]{8,14})`)
)

// NewScrubber returns a Scrubber for id.
func NewScrubber(id Identity) *Scrubber {
	s := &Scrubber{id: id, seen: map[string]string{}, counts: map[string]int{}}
	if id.Invoker != "" && id.Invoker != FakeAdmin && id.Invoker != "root" {
		s.fixed = append(s.fixed, pair{from: id.Invoker, to: FakeAdmin, word: true})
	}
	for i, h := range uniq(id.Hostnames) {
		to := "mac-mini"
		if i > 0 {
			to = fmt.Sprintf("mac-mini-%d", i+1)
		}
		if strings.Contains(h, " ") {
			to = "Mac mini"
			if i > 0 {
				to = fmt.Sprintf("Mac mini %d", i+1)
			}
		}
		s.fixed = append(s.fixed, pair{from: h, to: to, word: true})
	}
	for i, n := range uniq(id.RealNames) {
		if s.kept(n) {
			continue
		}
		s.fixed = append(s.fixed, pair{from: n, to: fmt.Sprintf("Person %d", i+1)})
	}
	sort.SliceStable(s.fixed, func(i, j int) bool { return len(s.fixed[i].from) > len(s.fixed[j].from) })
	return s
}

func uniq(in []string) []string {
	var out []string
	for _, v := range in {
		v = strings.TrimSpace(v)
		if v != "" && !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func (s *Scrubber) kept(v string) bool { return contains(s.id.Keep, v) }

// nameChar reports whether c can be part of an account or host name.
func nameChar(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// replaceWord replaces from by to where it is not part of a longer name.
func replaceWord(text, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(text, from)
		if i < 0 {
			b.WriteString(text)
			return b.String()
		}
		end := i + len(from)
		before := i == 0 || !nameChar(text[i-1])
		// A trailing dot ends a sentence, as in "… for user jim." .
		after := end == len(text) || !nameChar(text[end]) || (text[end] == '.' && (end+1 == len(text) || !nameChar(text[end+1])))
		b.WriteString(text[:i])
		if before && after {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		text = text[end:]
	}
}

// stand returns the consistent stand-in of value of a kind.
func (s *Scrubber) stand(kind, value string, make func(n int) string) string {
	key := kind + "\x00" + value
	if v, ok := s.seen[key]; ok {
		return v
	}
	s.counts[kind]++
	v := make(s.counts[kind])
	s.seen[key] = v
	return v
}

// Scrub returns text with identifying data replaced.
func (s *Scrubber) Scrub(text string) string {
	if text == "" {
		return text
	}
	for _, p := range s.fixed {
		if p.word {
			text = replaceWord(text, p.from, p.to)
		} else {
			text = strings.ReplaceAll(text, p.from, p.to)
		}
	}
	text = serialPat.ReplaceAllStringFunc(text, func(m string) string {
		sm := serialPat.FindStringSubmatch(m)
		return sm[1] + s.stand("serial", sm[2], func(n int) string { return fmt.Sprintf("SERIAL%06d", n) })
	})
	text = uuidPat.ReplaceAllStringFunc(text, func(u string) string {
		if strings.HasPrefix(strings.ToUpper(u), wellKnownUUID) {
			return u
		}
		return s.stand("uuid", strings.ToUpper(u), func(n int) string {
			return fmt.Sprintf("00000000-0000-4000-8000-%012X", n)
		})
	})
	text = emailPat.ReplaceAllStringFunc(text, func(e string) string {
		if s.kept(e) {
			return e
		}
		return s.stand("email", strings.ToLower(e), func(n int) string { return fmt.Sprintf("person%d@example.com", n) })
	})
	return text
}

// ScrubAll scrubs every field of the responses, argv included (so that
// the replay, run with the fake's administrator, asks the same argv).
func (s *Scrubber) ScrubAll(rs []Response) []Response {
	out := make([]Response, len(rs))
	for i, r := range rs {
		argv := make([]string, len(r.Argv))
		for j, a := range r.Argv {
			argv[j] = s.Scrub(a)
		}
		out[i] = Response{Argv: argv, User: s.Scrub(r.User), Stdout: s.Scrub(r.Stdout), Stderr: s.Scrub(r.Stderr), Exit: r.Exit}
	}
	return out
}
