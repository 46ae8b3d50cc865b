package main

import (
	"fmt"
	"time"

	"github.com/sysprog21/hvfctl/engine/recipetest"
	"github.com/sysprog21/hvfctl/stdlib"
)

// testCmd is `hvfctl test`.
type testCmd struct {
	Paths    []string `arg:"" optional:"" help:"Test files or directories to search for *_test.star (default: the current directory; a search skips hidden and testdata directories, which hold other tests' inputs)."`
	Verbose  bool     `short:"v" help:"Also show print() output of passing tests."`
	MaxSteps uint64   `default:"100000000" help:"Starlark execution-step budget of each test and each recipe evaluation."`
	MaxHeap  uint64   `default:"1024" placeholder:"MIB" help:"Heap growth, in MiB, each test (and each recipe it loads) may cause before it is stopped."`
	MaxStack uint64   `default:"256" placeholder:"MIB" help:"Go stack, in MiB, one operation on a deeply nested value may use before hvfctl stops (exit 1)."`
	// MaxEvalTime is declared apart: its type differs from the flags above.
	MaxEvalTime time.Duration `default:"2m" placeholder:"DURATION" help:"Time each test (and each recipe it loads) may spend evaluating; then it is cancelled, and hvfctl stops (exit 1) if one operation still runs a quarter of it (0.5s to 30s) later."`
}

// Help implements kong.HelpProvider.
func (c *testCmd) Help() string {
	return `Runs every test_* function of the *_test.star files found, each with a test context t (t.host, t.plan, t.apply, t.check, t.transcript) on a fresh fake Mac unless the test picks a preset or fixture, and the assert module (eq, ne, true, contains, fails). Prints PASS/FAIL per test, the file:line:col of a failing assertion, and "N passed, M failed".

Exit status: 0 all pass, 1 on any failure or when no test is found.

Example:
  hvfctl test recipes/
  hvfctl test recipes/m4_test.star`
}

// Run implements `hvfctl test`.
func (c *testCmd) Run(e *env) error {
	paths := c.Paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	files, err := recipetest.Find(paths)
	if err != nil {
		return exit(1, err)
	}
	if len(files) == 0 {
		return exit(1, fmt.Errorf("no *_test.star files under %v", paths))
	}
	sum := recipetest.Run(e.ctx, files, recipetest.Options{
		Modules: modules(), Stdlib: stdlib.FS, Hosts: fakeHosts{}, DefaultPreset: defaultPreset,
		MaxSteps: c.MaxSteps, Out: e.stdout, Verbose: c.Verbose,
		Limits:   e.limits(c.MaxHeap, c.MaxStack, c.MaxEvalTime, 1),
		Programs: e.programs,
	})
	if e.ctx.Err() != nil {
		return exit(1, fmt.Errorf("interrupted"))
	}
	if sum.Failed > 0 {
		return exit(1, nil)
	}
	return nil
}
