package starfmt

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/bazelbuild/buildtools/warn"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// golden compares got with the golden file, or rewrites it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestFormat(t *testing.T) {
	inputs, err := filepath.Glob("testdata/fmt/*.star")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Format(in, src)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, in+".golden", string(out))
			again, err := Format(in, out)
			if err != nil || string(again) != string(out) {
				t.Errorf("formatting is not idempotent: %v\n%s", err, again)
			}
		})
	}
	// A formatted file is left exactly as it is.
	src, err := os.ReadFile("testdata/fmt/clean.star")
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := Format("clean.star", src); string(out) != string(src) {
		t.Errorf("clean.star was changed:\n%s", out)
	}
}

func TestFormatSyntaxError(t *testing.T) {
	tests := []struct {
		src       string
		line, col int
	}{
		{"def f(:\n    pass\n", 1, 7},
		{"x = (\n", 1, 1},
		{"x = 1\nwhile x:\n    x = 0\n", 2, 7},
		{"\"unterminated\n", 1, 1},
	}
	for _, tt := range tests {
		_, err := Format("r.star", []byte(tt.src))
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: err = %v, want a *SyntaxError", tt.src, err)
			continue
		}
		if se.File != "r.star" || se.Line != tt.line || !strings.HasPrefix(se.Msg, "syntax error") {
			t.Errorf("%q: %+v, want r.star line %d", tt.src, se, tt.line)
		}
		if !strings.HasPrefix(se.Error(), "r.star:") {
			t.Errorf("%q: error %q does not start with file:line", tt.src, se.Error())
		}
	}
}

func TestLint(t *testing.T) {
	inputs, err := filepath.Glob("testdata/lint/*.star")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, in := range inputs {
		t.Run(filepath.Base(in), func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			findings, err := Lint(in, src)
			var se *SyntaxError
			switch {
			case errors.As(err, &se):
				b.WriteString(se.Error() + "\n")
			case err != nil:
				t.Fatal(err)
			}
			for _, f := range findings {
				b.WriteString(f.String() + "\n")
			}
			golden(t, strings.TrimSuffix(in, ".star")+".golden", b.String())
		})
	}
}

func TestLintFindingsNameTheLine(t *testing.T) {
	src := []byte("def f():\n    x = 1\n    return 2\n\nPASSWORD = \"hunter2\"\n")
	findings, err := Lint("r.star", src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range findings {
		got = append(got, f.String())
	}
	want := []string{
		`r.star:2: unused-variable: Variable "x" is unused. Please remove it.`,
		"r.star:5: secret-literal: variable PASSWORD is a string literal; secrets come from secret() or random_password() and are never written in a file",
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCategoriesExist(t *testing.T) {
	// warn.FileWarnings exits the process on an unknown category.
	for _, w := range buildtoolsWarnings {
		if _, ok := warn.FileWarningMap[w]; !ok {
			t.Errorf("buildtools has no warning %q", w)
		}
	}
	cats := Categories()
	if !slices.IsSorted(cats) || !slices.Contains(cats, SecretLiteralCategory) || !slices.Contains(cats, "unused-variable") {
		t.Errorf("Categories() = %q", cats)
	}
}

func TestFiles(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"b.star", "a.star", "sub/c.star", "notes.txt", "sub/d.bzl"} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	explicit := filepath.Join(dir, "notes.txt")
	got, err := Files([]string{explicit, dir, filepath.Join(dir, "a.star")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{explicit, filepath.Join(dir, "a.star"), filepath.Join(dir, "b.star"), filepath.Join(dir, "sub/c.star")}
	if !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q", got, want)
	}
	if _, err := Files([]string{filepath.Join(dir, "missing.star")}); err == nil {
		t.Error("missing file: want an error")
	}
}

func TestWriteFileKeepsMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m4.star")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		// As root, show that the owner is kept too.
		if err := os.Chown(path, 4242, 4343); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new\n" || fi.Mode().Perm() != 0o640 {
		t.Errorf("content %q mode %v, want new and 0640", b, fi.Mode().Perm())
	}
	was, now := before.Sys().(*syscall.Stat_t), fi.Sys().(*syscall.Stat_t)
	if was.Uid != now.Uid || was.Gid != now.Gid {
		t.Errorf("owner %d:%d, want %d:%d kept", now.Uid, now.Gid, was.Uid, was.Gid)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1 (no temporary file left)", len(ents))
	}
	if err := WriteFile(dir, []byte("x")); err == nil {
		t.Error("writing over a directory: want an error")
	}
}
