package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fmtlintCLI runs hvfctl with args and returns the exit code and outputs.
func fmtlintCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb strings.Builder
	code := run(t.Context(), args, env{ctx: t.Context(), stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }, programs: testPrograms})
	return code, out.String(), errb.String()
}

func writeStar(t *testing.T, dir, name, src string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	formattedStar   = "x = [1, 2]\n"
	unformattedStar = "x=[1,2]\n"
	brokenStar      = "def f(:\n    pass\n"
	findingStar     = "PASSWORD = \"hunter2\"\n"
)

func TestFmtCommand(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		check    bool
		wantCode int
		wantOut  []string // file names listed on stdout
		wantErr  string
		after    map[string]string // file contents afterwards
	}{
		{name: "formatted", files: map[string]string{"a.star": formattedStar}, after: map[string]string{"a.star": formattedStar}},
		{name: "rewrites", files: map[string]string{"a.star": unformattedStar, "b.star": formattedStar},
			after: map[string]string{"a.star": formattedStar, "b.star": formattedStar}},
		{name: "check lists and exits 1", check: true, wantCode: 1, wantOut: []string{"a.star"},
			files: map[string]string{"a.star": unformattedStar, "b.star": formattedStar},
			after: map[string]string{"a.star": unformattedStar}},
		{name: "syntax error exits 2 and names the line", wantCode: 2, wantErr: "bad.star:1:",
			files: map[string]string{"bad.star": brokenStar, "a.star": unformattedStar},
			after: map[string]string{"bad.star": brokenStar, "a.star": formattedStar}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for n, src := range tt.files {
				writeStar(t, dir, n, src)
			}
			args := []string{"fmt"}
			if tt.check {
				args = append(args, "--check")
			}
			code, out, errOut := fmtlintCLI(t, append(args, dir)...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, out, errOut)
			}
			var listed []string
			for _, l := range strings.Fields(out) {
				listed = append(listed, filepath.Base(l))
			}
			if strings.Join(listed, ",") != strings.Join(tt.wantOut, ",") {
				t.Errorf("listed %q, want %q", listed, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want %q", errOut, tt.wantErr)
			}
			for n, want := range tt.after {
				if b, _ := os.ReadFile(filepath.Join(dir, n)); string(b) != want {
					t.Errorf("%s = %q, want %q", n, b, want)
				}
			}
		})
	}
}

func TestLintCommand(t *testing.T) {
	tests := []struct {
		name     string
		src      string
		wantCode int
		wantOut  string
	}{
		{"clean", formattedStar, 0, ""},
		{"finding", findingStar, 1, "r.star:1: secret-literal: variable PASSWORD is a string literal"},
		{"syntax error", brokenStar, 2, "r.star:1: syntax: syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeStar(t, t.TempDir(), "r.star", tt.src)
			code, out, errOut := fmtlintCLI(t, "lint", p)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", code, tt.wantCode, out, errOut)
			}
			if tt.wantOut == "" && out != "" || !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if tt.wantOut != "" && !strings.HasPrefix(out, p+":") {
				t.Errorf("stdout %q does not start with the file name %s", out, p)
			}
		})
	}
	if code, _, errOut := fmtlintCLI(t, "lint", filepath.Join(t.TempDir(), "missing.star")); code != 2 || errOut == "" {
		t.Errorf("missing file: exit %d stderr %q, want 2 with a message", code, errOut)
	}
}
