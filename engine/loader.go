package engine

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// StdlibPrefix is the load() prefix of the embedded stdlib modules.
const StdlibPrefix = "@stdlib//"

// maxSourceBytes bounds a single .star file.
const maxSourceBytes = 4 << 20

// fileOptions are the Starlark dialect options of every recipe, stdlib
// module and recipe test: sets and top-level loops are allowed (recipes
// declare one resource per formula), while-loops, recursion and global
// reassignment are not.
func fileOptions() *syntax.FileOptions {
	return &syntax.FileOptions{
		Set:             true,
		TopLevelControl: true,
	}
}

// loader resolves and executes load() statements for one evaluation. It
// keeps a cache (each module is executed once) and the stack of modules
// being executed, to report cycles.
type loader struct {
	rootDir     string // absolute directory of the top-level file
	rootReal    string // rootDir with symlinks resolved
	stdlib      fs.FS
	predeclared starlark.StringDict
	// trust, when set, refuses a .star file that an account other than
	// root and the invoking user could have written (hvfctl runs as root).
	trust    *host.LocalTrust
	programs *Programs         // compiled modules; nil compiles each
	names    [sha256.Size]byte // digest of predeclared's names

	cache map[string]*loadEntry
	stack []string // display names of the modules being executed
}

type loadEntry struct {
	globals starlark.StringDict
	err     error
}

func newLoader(topFile string, stdlib fs.FS, predeclared starlark.StringDict, trust *host.LocalTrust, programs *Programs) (*loader, error) {
	abs, err := filepath.Abs(filepath.Dir(topFile))
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", topFile, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", topFile, err)
	}
	return &loader{
		rootDir: abs, rootReal: real, stdlib: stdlib, predeclared: predeclared, trust: trust,
		programs: programs, names: namesDigest(predeclared),
		cache: map[string]*loadEntry{},
	}, nil
}

// execTop executes the top-level file (a recipe or a recipe test) on t.
func (l *loader) execTop(t *starlark.Thread, file string) (starlark.StringDict, error) {
	src, err := l.readSource(file)
	if err != nil {
		return nil, err
	}
	return l.exec(t, filepath.ToSlash(filepath.Clean(file)), src)
}

func (l *loader) exec(t *starlark.Thread, name string, src []byte) (starlark.StringDict, error) {
	l.stack = append(l.stack, name)
	defer func() { l.stack = l.stack[:len(l.stack)-1] }()
	defer enterEval(t, "the top level of "+name)()
	// starlark.ExecFileOptions, with the compilation from l.programs.
	prog, err := l.programs.compile(name, src, l.names, l.predeclared.Has)
	if err != nil {
		return nil, err
	}
	g, err := prog.Init(t, l.predeclared)
	g.Freeze()
	return g, err
}

// load implements starlark.Thread.Load.
func (l *loader) load(t *starlark.Thread, module string) (starlark.StringDict, error) {
	from := ""
	if n := len(l.stack); n > 0 {
		from = l.stack[n-1]
	}
	name, read, err := l.resolve(from, module)
	if err != nil {
		return nil, err
	}
	for i, m := range l.stack {
		if m == name {
			cycle := append(append([]string(nil), l.stack[i:]...), name)
			return nil, fmt.Errorf("load cycle: %s", strings.Join(cycle, " -> "))
		}
	}
	if e, ok := l.cache[name]; ok {
		return e.globals, e.err
	}
	src, err := read()
	if err != nil {
		l.cache[name] = &loadEntry{err: err}
		return nil, err
	}
	g, err := l.exec(t, name, src)
	l.cache[name] = &loadEntry{globals: g, err: err}
	return g, err
}

// resolve turns a load() argument, seen from the module named from, into
// a display name and a reader for its source. It refuses every path that
// leaves the top-level file's directory.
func (l *loader) resolve(from, module string) (string, func() ([]byte, error), error) {
	if !strings.HasSuffix(module, ".star") {
		return "", nil, fmt.Errorf("load(%q): module names end in .star", module)
	}
	if strings.HasPrefix(module, StdlibPrefix) {
		return l.resolveStdlib(strings.TrimPrefix(module, StdlibPrefix), module)
	}
	if strings.HasPrefix(module, "@") || strings.HasPrefix(module, "//") {
		return "", nil, fmt.Errorf("load(%q): unknown repository; only %q and paths relative to the recipe are allowed", module, StdlibPrefix)
	}
	if strings.HasPrefix(from, StdlibPrefix) {
		// A relative load inside the stdlib stays inside the stdlib.
		rel := path.Join(path.Dir(strings.TrimPrefix(from, StdlibPrefix)), module)
		return l.resolveStdlib(rel, module)
	}
	if path.IsAbs(module) || filepath.IsAbs(module) || filepath.VolumeName(module) != "" {
		return "", nil, fmt.Errorf("load(%q) refused: absolute paths are not allowed; load relative to the recipe's directory", module)
	}
	for _, part := range strings.Split(module, "/") {
		if part == ".." {
			return "", nil, fmt.Errorf("load(%q) refused: \"..\" would leave the recipe's directory", module)
		}
	}
	display := path.Clean(path.Join(path.Dir(from), module))
	abs, err := filepath.Abs(filepath.FromSlash(display))
	if err != nil {
		return "", nil, fmt.Errorf("load(%q): %w", module, err)
	}
	if !within(l.rootDir, abs) {
		return "", nil, fmt.Errorf("load(%q) refused: %s is outside the recipe's directory %s", module, abs, l.rootDir)
	}
	read := func() ([]byte, error) {
		real, err := filepath.EvalSymlinks(abs)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("load(%q): %s does not exist", module, display)
			}
			return nil, fmt.Errorf("load(%q): %w", module, err)
		}
		if !within(l.rootReal, real) {
			return nil, fmt.Errorf("load(%q) refused: %s is a symlink to %s, outside the recipe's directory", module, display, real)
		}
		return l.readSource(real)
	}
	return display, read, nil
}

func (l *loader) resolveStdlib(rel, module string) (string, func() ([]byte, error), error) {
	clean := path.Clean(rel)
	if path.IsAbs(rel) || clean == ".." || strings.HasPrefix(clean, "../") || !fs.ValidPath(clean) {
		return "", nil, fmt.Errorf("load(%q) refused: not a stdlib module name", module)
	}
	if l.stdlib == nil {
		return "", nil, fmt.Errorf("load(%q): no stdlib is configured", module)
	}
	read := func() ([]byte, error) {
		b, err := fs.ReadFile(l.stdlib, clean)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("load(%q): no such stdlib module (see `hvfctl doc`)", module)
			}
			return nil, fmt.Errorf("load(%q): %w", module, err)
		}
		return b, nil
	}
	return StdlibPrefix + clean, read, nil
}

// within reports whether p is dir or lies under it (both absolute, clean).
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}

func (l *loader) readSource(file string) ([]byte, error) {
	b, err := host.ReadTrustedLocalFile(l.trust, file, maxSourceBytes)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	return b, nil
}
