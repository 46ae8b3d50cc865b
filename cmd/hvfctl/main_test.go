package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sysprog21/hvfctl/engine"
)

// testPrograms is the compiled-module cache of every in-process hvfctl
// run of these tests (env.programs): recipes/m4.star and the stdlib are
// compiled once per test process instead of once per run, as in
// `hvfctl test`. Each run still executes the modules afresh.
var testPrograms = engine.NewPrograms()

// testBinary is hvfctl built once for the tests that run it as a
// subprocess (relBuild); TestMain removes it.
var testBinary struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testBinary.dir != "" {
		os.RemoveAll(testBinary.dir)
	}
	os.Exit(code)
}

// testBinaryEnv names an hvfctl binary built from the same sources
// that relBuild returns instead of building its own: `make test` builds
// bin/hvfctl once and hands it to the race run, the batteries and the
// recipe tests (one link of hvfctl instead of three). It must be an
// absolute path to a regular file.
const testBinaryEnv = "HVFCTL_TEST_BINARY"

// relBuild returns the hvfctl binary: the one testBinaryEnv names, or
// one built on first use (go build, as a user builds it) and shared by
// every test of the process.
func relBuild(t *testing.T) string {
	t.Helper()
	testBinary.once.Do(func() {
		if p := os.Getenv(testBinaryEnv); p != "" {
			testBinary.path = p
			if !filepath.IsAbs(p) {
				testBinary.err = fmt.Errorf("%s=%s: not an absolute path", testBinaryEnv, p)
			} else if fi, err := os.Stat(p); err != nil {
				testBinary.err = fmt.Errorf("%s: %w", testBinaryEnv, err)
			} else if !fi.Mode().IsRegular() {
				testBinary.err = fmt.Errorf("%s=%s: not a regular file", testBinaryEnv, p)
			}
			return
		}
		testBinary.dir, testBinary.err = os.MkdirTemp("", "hvfctl-test-bin-")
		if testBinary.err != nil {
			return
		}
		testBinary.path = filepath.Join(testBinary.dir, "hvfctl")
		cmd := exec.Command("go", "build", "-o", testBinary.path, ".")
		testBinary.out, testBinary.err = cmd.CombinedOutput()
	})
	if testBinary.err != nil {
		t.Fatalf("hvfctl binary: %v\n%s", testBinary.err, testBinary.out)
	}
	return testBinary.path
}
