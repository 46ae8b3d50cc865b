package engine

import (
	"crypto/sha256"
	"sort"
	"sync"

	"go.starlark.net/starlark"
)

// Bounds of a Programs cache: a module larger than maxCachedSource is
// compiled every time, and at most maxCachedPrograms programs are kept
// (a further one replaces an arbitrary older one).
const (
	maxCachedSource   = 1 << 20
	maxCachedPrograms = 512
)

// Programs caches compiled Starlark modules (recipes, stdlib modules,
// recipe tests) across evaluations: a module is parsed, resolved and
// compiled once per file name, source text and set of predeclared names,
// and each evaluation then executes the compiled program afresh, so no
// evaluation ever sees another's globals. Give one Programs to every
// Load (Options.Programs) and ExecFile of a process that evaluates the
// same files several times (`hvfctl test`, test suites, benchmarks).
// It is safe for concurrent use; a nil *Programs compiles every time.
type Programs struct {
	mu      sync.Mutex
	entries map[programKey]*starlark.Program
	hits    int
	misses  int
}

// programKey identifies a compiled program: what it was compiled from.
type programKey struct {
	name  string            // the module's display name (positions use it)
	src   [sha256.Size]byte // its source text
	names [sha256.Size]byte // the predeclared names it was resolved against
}

// NewPrograms returns an empty cache.
func NewPrograms() *Programs {
	return &Programs{entries: map[programKey]*starlark.Program{}}
}

// Stats returns how many compilations the cache saved (hits) and how
// many it performed (misses).
func (p *Programs) Stats() (hits, misses int) {
	if p == nil {
		return 0, 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits, p.misses
}

// compile returns the program of src (named name) resolved against the
// predeclared names whose digest is names, compiling it unless p holds
// it. A source that does not compile is never cached: its errors come
// from compiling it again.
func (p *Programs) compile(name string, src []byte, names [sha256.Size]byte, isPredeclared func(string) bool) (*starlark.Program, error) {
	if p == nil || len(src) > maxCachedSource {
		_, prog, err := starlark.SourceProgramOptions(fileOptions(), name, src, isPredeclared)
		return prog, err
	}
	key := programKey{name: name, src: sha256.Sum256(src), names: names}
	p.mu.Lock()
	prog, ok := p.entries[key]
	if ok {
		p.hits++
	} else {
		p.misses++
	}
	p.mu.Unlock()
	if ok {
		return prog, nil
	}
	_, prog, err := starlark.SourceProgramOptions(fileOptions(), name, src, isPredeclared)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.entries) >= maxCachedPrograms {
		for k := range p.entries {
			delete(p.entries, k)
			break
		}
	}
	p.entries[key] = prog
	return prog, nil
}

// namesDigest is the digest of the names of predeclared, the part of it
// that compiling a module depends on.
func namesDigest(predeclared starlark.StringDict) [sha256.Size]byte {
	names := make([]string, 0, len(predeclared))
	for name := range predeclared {
		names = append(names, name)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, name := range names {
		h.Write([]byte(name))
		h.Write([]byte{0})
	}
	var d [sha256.Size]byte
	h.Sum(d[:0])
	return d
}
