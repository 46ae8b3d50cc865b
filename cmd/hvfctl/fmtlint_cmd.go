package main

import (
	"errors"
	"fmt"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/cmd/hvfctl/internal/starfmt"
)

// fmtCmd formats recipe and stdlib files in place (buildifier style).
// Exit codes: 0 formatted (or, with --check, already formatted); 1 with
// --check when some file is not formatted (each is listed); 2 on a syntax
// error or an unreadable file.
type fmtCmd struct {
	Check bool     `help:"Do not write: list the files that are not formatted and exit 1 if any."`
	Files []string `arg:"" name:"file" help:"Files to format; a directory means every *.star file under it."`
}

// lintCmd reports mistakes in recipe and stdlib files as
// "file:line: category: message" lines. Exit codes: 0 no finding, 1
// findings, 2 a syntax error or an unreadable file.
type lintCmd struct {
	Files []string `arg:"" name:"file" help:"Files to lint; a directory means every *.star file under it."`
}

// Run formats the files.
func (c *fmtCmd) Run(e *env) error {
	return eachStarFile(e, "fmt", c.Files, func(path string, src []byte) int {
		out, err := starfmt.Format(path, src)
		switch {
		case err != nil:
			fmt.Fprintf(e.stderr, "hvfctl fmt: %v\n", err)
			return 2
		case string(out) == string(src):
			return 0
		case c.Check:
			fmt.Fprintln(e.stdout, path)
			return 1
		}
		if err := starfmt.WriteFile(path, out); err != nil {
			fmt.Fprintf(e.stderr, "hvfctl fmt: %v\n", err)
			return 2
		}
		return 0
	})
}

// Run lints the files.
func (c *lintCmd) Run(e *env) error {
	return eachStarFile(e, "lint", c.Files, func(path string, src []byte) int {
		findings, err := starfmt.Lint(path, src)
		var se *starfmt.SyntaxError
		switch {
		case errors.As(err, &se):
			fmt.Fprintln(e.stdout, starfmt.Finding{File: se.File, Line: se.Line, Category: starfmt.SyntaxCategory, Message: se.Msg})
			return 2
		case err != nil:
			fmt.Fprintf(e.stderr, "hvfctl lint: %v\n", err)
			return 2
		}
		for _, f := range findings {
			fmt.Fprintln(e.stdout, f)
		}
		if len(findings) > 0 {
			return 1
		}
		return 0
	})
}

// eachStarFile reads every .star file named by paths (a directory means
// every *.star below it) and hands it to do, which returns the file's exit
// code. Every file is visited; the worst code wins (2 beats 1 beats 0).
func eachStarFile(e *env, verb string, paths []string, do func(path string, src []byte) int) error {
	files, err := starfmt.Files(paths)
	if err != nil {
		return exit(2, fmt.Errorf("%s: %w", verb, err))
	}
	code := 0
	for _, path := range files {
		if err := e.ctx.Err(); err != nil {
			return exit(1, err)
		}
		src, err := host.ReadTrustedLocalFile(e.trust, path, maxLocalFile)
		if err != nil {
			fmt.Fprintf(e.stderr, "hvfctl %s: %v\n", verb, err)
			code = 2
			continue
		}
		code = max(code, do(path, src))
	}
	if code != 0 {
		return exit(code, nil)
	}
	return nil
}
