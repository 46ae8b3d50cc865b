package main

import (
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

// relBuild returns the hvfctl binary, built on first use (go build, as
// a user builds it) and shared by every test of the process.
func relBuild(t *testing.T) string {
	t.Helper()
	testBinary.once.Do(func() {
		testBinary.dir, testBinary.err = os.MkdirTemp("", "hvfctl-test-bin-")
		if testBinary.err != nil {
			return
		}
		testBinary.path = filepath.Join(testBinary.dir, "hvfctl")
		cmd := exec.Command("go", "build", "-o", testBinary.path, ".")
		testBinary.out, testBinary.err = cmd.CombinedOutput()
	})
	if testBinary.err != nil {
		t.Fatalf("go build: %v\n%s", testBinary.err, testBinary.out)
	}
	return testBinary.path
}
