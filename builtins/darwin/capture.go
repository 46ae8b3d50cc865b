package darwin

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// tailBuffer is an io.Writer that keeps only the last cap bytes written
// to it, so that a chatty command cannot exhaust memory while the end of
// its output (where errors usually are) survives. It is safe for
// concurrent use.
type tailBuffer struct {
	mu    sync.Mutex
	cap   int64
	buf   []byte
	total int64
}

func newTailBuffer(cap int64) *tailBuffer { return &tailBuffer{cap: cap} }

// Write implements io.Writer; it never fails.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total += int64(len(p))
	if int64(len(p)) >= b.cap {
		b.buf = append(b.buf[:0], p[int64(len(p))-b.cap:]...)
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	// Compact only once the buffer holds twice the cap, so that the
	// copying cost stays linear in the bytes written.
	if int64(len(b.buf)) > 2*b.cap {
		n := copy(b.buf, b.buf[int64(len(b.buf))-b.cap:])
		b.buf = b.buf[:n]
	}
	return len(p), nil
}

// tail returns the kept bytes and whether earlier ones were dropped.
func (b *tailBuffer) tail() ([]byte, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	kept := b.buf
	if int64(len(kept)) > b.cap {
		kept = kept[int64(len(kept))-b.cap:]
	}
	return append([]byte(nil), kept...), b.total > int64(len(kept))
}

// String returns the kept output. When output was dropped it starts with
// a line saying how much was kept of how much.
func (b *tailBuffer) String() string {
	kept, truncated := b.tail()
	if !truncated {
		return string(kept)
	}
	b.mu.Lock()
	total := b.total
	b.mu.Unlock()
	return truncationNote(int64(len(kept)), total) + string(kept)
}

// truncationNote is the first line of an output whose head was dropped.
func truncationNote(kept, total int64) string {
	return fmt.Sprintf("[hvfctl: output truncated: kept the last %d of %d bytes]\n", kept, total)
}

// namedSecret is one secret value and the name it is shown under.
type namedSecret struct {
	name  string
	value string
}

// commandSecrets lists the secrets a command carries, without their
// trailing newline (a password fed on stdin ends in one; the newline is
// not secret and scrubbing it would join lines), longest first so that a
// secret containing another is scrubbed whole.
func commandSecrets(c host.Command) []namedSecret {
	var out []namedSecret
	add := func(name, v string) {
		if t := strings.TrimRight(v, "\r\n"); t != "" {
			v = t
		}
		if v != "" {
			out = append(out, namedSecret{name, v})
		}
	}
	for _, e := range c.Env {
		if e.Secret {
			add(e.Name, e.Value)
		}
	}
	if c.StdinSecret {
		add("stdin", string(c.Stdin))
	}
	sort.SliceStable(out, func(i, j int) bool { return len(out[i].value) > len(out[j].value) })
	return out
}

// scrub replaces every secret in s with "<secret NAME>". When s is the
// tail of a longer output, its first bytes may be the end of a secret cut
// in half; such a fragment (at least 4 bytes) is removed too.
func scrub(s string, secrets []namedSecret) string {
	if s == "" || len(secrets) == 0 {
		return s
	}
	for _, sec := range secrets {
		s = strings.ReplaceAll(s, sec.value, "<secret "+sec.name+">")
	}
	// A truncated output starts with the note line; a cut secret follows it.
	body := s
	prefix := ""
	if strings.HasPrefix(s, "[hvfctl: output truncated:") {
		if i := strings.IndexByte(s, '\n'); i >= 0 {
			prefix, body = s[:i+1], s[i+1:]
		}
	}
	if prefix == "" {
		return s
	}
	for _, sec := range secrets {
		for n := len(sec.value) - 1; n >= 4; n-- {
			if strings.HasPrefix(body, sec.value[len(sec.value)-n:]) {
				body = "<secret " + sec.name + ">" + body[n:]
				break
			}
		}
	}
	return prefix + body
}
