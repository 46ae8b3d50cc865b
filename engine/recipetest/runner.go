// Package recipetest runs recipe tests: the `test_*` functions of
// `*_test.star` files, each with a test context that plans, applies and
// checks recipes on fake Macs, and an `assert` module.
package recipetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// HostFactory makes the fake Macs tests run against.
type HostFactory interface {
	// Preset returns a fresh host in an embedded state ("fresh-m4" …).
	Preset(name string) (host.Host, error)
	// Fixture returns a host loaded from a fixture JSON file.
	Fixture(path string) (host.Host, error)
}

// Options configures Run.
type Options struct {
	// Modules and Stdlib are what recipes see (builtins.Modules(), stdlib.FS).
	Modules []engine.Module
	Stdlib  fs.FS
	// Hosts makes fake hosts.
	Hosts HostFactory
	// DefaultPreset is the preset of a test's default host ("fresh-m4").
	DefaultPreset string
	// MaxSteps bounds each test function and each recipe evaluation.
	MaxSteps uint64
	// Out receives one line per test and the final summary; print()
	// output of tests and recipes goes there too.
	Out io.Writer
	// Verbose also prints passing tests' print() output.
	Verbose bool
	// Limits bound the heap growth, the stack and the evaluation time of
	// each test and each recipe it loads (engine.Limits; zero fields
	// mean the engine's defaults).
	engine.Limits
	// Programs caches the compiled test files, recipes and stdlib
	// modules across tests (engine.Programs); nil means a cache for this
	// Run.
	Programs *engine.Programs
}

// Summary counts test outcomes.
type Summary struct {
	Passed, Failed int
}

// Find returns the *_test.star files named by paths: files as given,
// directories searched recursively, sorted. As with `go test ./...`, a walk
// skips hidden directories and directories named testdata, which hold
// inputs of other tests (some failing on purpose); a path that names such a
// directory itself is searched.
func Find(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("finding recipe tests: %w", err)
		}
		if !st.IsDir() {
			if !strings.HasSuffix(p, "_test.star") {
				return nil, fmt.Errorf("%s: recipe test files are named *_test.star", p)
			}
			out = append(out, p)
			continue
		}
		err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && q != p && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(d.Name(), "_test.star") {
				out = append(out, q)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("finding recipe tests under %s: %w", p, err)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Run runs every test function of the given files and writes a line per
// test ("PASS file: name" or "FAIL file: name" with the failing
// assertion's file:line:col) and a final "N passed, M failed". A file
// that does not load counts as one failure.
func Run(ctx context.Context, files []string, o Options) Summary {
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.DefaultPreset == "" {
		o.DefaultPreset = "fresh-m4"
	}
	if o.Programs == nil {
		o.Programs = engine.NewPrograms()
	}
	var sum Summary
	for _, f := range files {
		runFile(ctx, f, o, &sum)
		if ctx.Err() != nil {
			break
		}
	}
	fmt.Fprintf(o.Out, "%d passed, %d failed\n", sum.Passed, sum.Failed)
	return sum
}

// newThread makes the thread of a test file or a test function: its step
// budget, cancellation with ctx and the thread guard (heap, stack and
// evaluation time). stop releases both.
func newThread(ctx context.Context, name string, o Options, print func(string)) (*starlark.Thread, func()) {
	maxSteps := o.MaxSteps
	if maxSteps == 0 {
		maxSteps = engine.DefaultMaxSteps
	}
	t := &starlark.Thread{
		Name:  name,
		Print: func(_ *starlark.Thread, msg string) { print(msg) },
		OnMaxSteps: func(t *starlark.Thread) {
			t.Cancel(fmt.Sprintf("execution step budget of %d exceeded", maxSteps))
		},
	}
	t.SetMaxExecutionSteps(maxSteps)
	stopCancel := context.AfterFunc(ctx, func() { t.Cancel("interrupted") })
	stopGuard := engine.GuardThread(t, o.Limits)
	return t, func() {
		stopCancel()
		stopGuard()
	}
}

func runFile(ctx context.Context, file string, o Options, sum *Summary) {
	var fileLog []string
	thread, stop := newThread(ctx, "test "+file, o, func(s string) { fileLog = append(fileLog, s) })
	predeclared := engine.SafeUniverse()
	predeclared["assert"] = AssertModule()
	predeclared["struct"] = starlark.NewBuiltin("struct", starlarkstruct.Make)
	globals, err := engine.ExecFile(thread, file, predeclared, o.Stdlib, o.Programs)
	// Each test runs on a thread of its own, whose guard names it: this
	// one's would only sample the same process.
	stop()
	if err != nil {
		sum.Failed++
		fmt.Fprintf(o.Out, "FAIL %s (does not load)\n%s\n", file, indent(err.Error()))
		return
	}
	var names []string
	for name, v := range globals {
		if _, ok := v.(*starlark.Function); ok && strings.HasPrefix(name, "test_") {
			names = append(names, name)
		}
	}
	// Declaration order, so the output follows the file.
	sort.Slice(names, func(i, j int) bool {
		pi := globals[names[i]].(*starlark.Function).Position()
		pj := globals[names[j]].(*starlark.Function).Position()
		return pi.Line < pj.Line
	})
	if len(names) == 0 {
		sum.Failed++
		fmt.Fprintf(o.Out, "FAIL %s: no test_* functions\n", file)
		return
	}
	for _, name := range names {
		if ctx.Err() != nil {
			return
		}
		runTest(ctx, file, name, globals[name].(*starlark.Function), o, sum)
	}
}

func runTest(ctx context.Context, file, name string, fn *starlark.Function, o Options, sum *Summary) {
	var log []string
	print := func(s string) { log = append(log, s) }
	thread, stop := newThread(ctx, name, o, print)
	defer stop()
	tc := &testContext{ctx: ctx, dir: filepath.Dir(file), opts: o, print: print}
	defer tc.close()
	start := time.Now()
	_, err := engine.Call(thread, fn, starlark.Tuple{tc}, nil)
	elapsed := time.Since(start).Round(time.Millisecond)
	if err == nil {
		sum.Passed++
		fmt.Fprintf(o.Out, "PASS %s: %s (%s)\n", file, name, elapsed)
		if o.Verbose {
			for _, l := range log {
				fmt.Fprintf(o.Out, "    %s\n", l)
			}
		}
		return
	}
	sum.Failed++
	fmt.Fprintf(o.Out, "FAIL %s: %s (%s)\n", file, name, elapsed)
	for _, l := range log {
		fmt.Fprintf(o.Out, "    %s\n", l)
	}
	var ae *AssertionError
	if errors.As(err, &ae) {
		fmt.Fprintf(o.Out, "    %s\n", ae.Error())
		return
	}
	fmt.Fprintf(o.Out, "%s\n", indent(engine.PositionedError(err).Error()))
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
