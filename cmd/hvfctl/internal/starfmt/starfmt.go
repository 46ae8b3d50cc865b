// Package starfmt formats and lints hvfctl recipes and stdlib modules
// (Starlark .star files). Formatting is buildifier's, for .bzl-style
// files; linting runs the buildtools checks that apply to plain Starlark
// plus checks of hvfctl's own rules (load paths, secrets written into a
// recipe, assertions without remediation), and parses every file with the
// recipe dialect of go.starlark.net, so that what lint accepts the engine
// can load.
package starfmt

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"

	"github.com/bazelbuild/buildtools/build"
	"go.starlark.net/resolve"
	"go.starlark.net/syntax"
)

// Ext is the extension of the files that directories are searched for.
const Ext = ".star"

// SyntaxError is a file that cannot be parsed.
type SyntaxError struct {
	File string
	Line int
	Col  int
	Msg  string // starts with "syntax error"
}

// Error implements error as "file:line:col: syntax error …".
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// syntaxError builds a *SyntaxError whose message starts with
// "syntax error".
func syntaxError(file string, line, col int, msg string) *SyntaxError {
	msg = strings.TrimSpace(msg)
	if !strings.HasPrefix(msg, "syntax error") {
		msg = "syntax error: " + msg
	}
	return &SyntaxError{File: file, Line: max(line, 1), Col: max(col, 1), Msg: msg}
}

// parse parses src as a .bzl-style Starlark file and then with the
// recipe dialect of go.starlark.net. A failure is a *SyntaxError.
func parse(name string, src []byte) (f *build.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, syntaxError(name, 1, 1, fmt.Sprintf("the parser failed: %v", r))
		}
	}()
	f, err = build.ParseBzl(name, src)
	if err != nil {
		var pe build.ParseError
		if errors.As(err, &pe) {
			line, col := pe.Pos.Line, pe.Pos.LineRune
			if n := lineCount(src); line > n {
				// buildtools places an unexpected end of file past the
				// last line; name the last line instead.
				line, col = n, 1
			}
			return nil, syntaxError(name, line, col, pe.Message)
		}
		return nil, syntaxError(name, 1, 1, err.Error())
	}
	if _, err := dialect().Parse(name, src, 0); err != nil {
		var se syntax.Error
		if errors.As(err, &se) {
			return nil, syntaxError(name, int(se.Pos.Line), int(se.Pos.Col), se.Msg)
		}
		return nil, syntaxError(name, 1, 1, err.Error())
	}
	return f, nil
}

// lineCount is the number of lines of src (at least 1).
func lineCount(src []byte) int {
	n := strings.Count(string(src), "\n")
	if len(src) > 0 && src[len(src)-1] != '\n' {
		n++
	}
	return max(n, 1)
}

// dialectFindings resolves src with the recipe dialect of go.starlark.net
// (every name counts as defined, since the engine predeclares them) and
// reports what the engine would refuse to load: while loops, reassigned
// globals and the like.
func dialectFindings(name string, src []byte) []Finding {
	sf, err := dialect().Parse(name, src, 0)
	if err != nil {
		return nil // parse already reported it
	}
	defined := func(string) bool { return true }
	err = resolve.File(sf, defined, defined)
	var list resolve.ErrorList
	if !errors.As(err, &list) {
		if err != nil {
			return []Finding{{File: name, Line: 1, Category: DialectCategory, Message: err.Error()}}
		}
		return nil
	}
	var out []Finding
	for _, e := range list {
		out = append(out, Finding{File: name, Line: int(e.Pos.Line), Category: DialectCategory, Message: e.Msg})
	}
	return out
}

// dialect is the Starlark dialect of recipes and stdlib modules (see
// engine/loader.go): sets and top-level control flow are allowed, while
// loops, recursion and global reassignment are not.
func dialect() *syntax.FileOptions {
	return &syntax.FileOptions{Set: true, TopLevelControl: true}
}

// Format returns src formatted. name is used in errors only.
func Format(name string, src []byte) ([]byte, error) {
	f, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	return build.Format(f), nil
}

// Files expands args into the .star files to process: a file argument is
// taken as is, a directory is searched recursively for *.star files. The
// result is in argument order, each directory's files sorted, without
// duplicates.
func Files(args []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, a := range args {
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			add(a)
			continue
		}
		var found []string
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && strings.HasSuffix(p, Ext) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sort.Strings(found)
		for _, p := range found {
			add(p)
		}
	}
	return out, nil
}

// WriteFile replaces path with data atomically: a temporary file in the
// same directory, with path's current mode and owner (0644 and the
// caller for a new file), synced and renamed over path.
func WriteFile(path string, data []byte) (err error) {
	mode := fs.FileMode(0o644)
	uid, gid := -1, -1
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("write %s: not a regular file", path)
		}
		mode = fi.Mode().Perm()
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			uid, gid = int(st.Uid), int(st.Gid)
		}
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".fmt-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if uid >= 0 {
		if err := f.Chown(uid, gid); err != nil {
			return fmt.Errorf("write %s: keep its owner: %w", path, err)
		}
	}
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Categories returns every category Lint can report, sorted.
func Categories() []string {
	out := append(slices.Clone(buildtoolsWarnings), customCategories...)
	out = append(out, SyntaxCategory, DialectCategory)
	sort.Strings(out)
	return out
}
