package engine

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.starlark.net/starlark"
)

// TestProgramsCache loads recipes through one Programs: an unchanged
// module is compiled once, a changed one again, each Load executes its
// own copy of the globals, a module that does not compile is never
// cached and fails the same way every time, and a module resolved
// against other predeclared names is compiled for them.
func TestProgramsCache(t *testing.T) {
	progs := NewPrograms()
	cached := func(o *Options) { o.Programs = progs }
	main := "load(\"@stdlib//helper.star\", \"twice\")\nN = twice(21)\nprint(\"N =\", N)\n"
	type step struct {
		name       string
		src        string
		wantErr    string
		hits, miss int // the cache's counters after the step
	}
	for _, s := range []step{
		// main.star, helper.star and units.star are compiled.
		{name: "first", src: main, hits: 0, miss: 3},
		// All three come from the cache.
		{name: "again", src: main, hits: 3, miss: 3},
		// Only the changed main.star is compiled.
		{name: "changed", src: main + "M = N + 1\n", hits: 5, miss: 4},
		{name: "broken", src: "x = \n", wantErr: "main.star:1:5: got newline, want primary expression", hits: 5, miss: 5},
		{name: "broken again", src: "x = \n", wantErr: "main.star:1:5: got newline, want primary expression", hits: 5, miss: 6},
		{name: "undefined", src: "x = nosuchname\n", wantErr: "undefined: nosuchname", hits: 5, miss: 7},
	} {
		var logged []string
		r, err := loadRecipe(t, context.Background(), map[string]string{"main.star": s.src}, nil, func(o *Options) {
			cached(o)
			o.Log = func(l string) { logged = append(logged, l) }
		})
		switch {
		case s.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), s.wantErr) {
				t.Fatalf("%s: err = %v, want %q", s.name, err, s.wantErr)
			}
		case err != nil:
			t.Fatalf("%s: %v", s.name, err)
		default:
			if got := r.Globals()["N"]; got != starlark.MakeInt(42) {
				t.Errorf("%s: N = %v, want 42", s.name, got)
			}
			if strings.Join(logged, "\n") != "N = 42" {
				t.Errorf("%s: print gave %q: the module was not executed", s.name, logged)
			}
			r.Close()
		}
		if hits, miss := progs.Stats(); hits != s.hits || miss != s.miss {
			t.Errorf("%s: %d hits, %d misses; want %d, %d", s.name, hits, miss, s.hits, s.miss)
		}
	}

	// The same source resolved against other predeclared names: a
	// name the recipe sees is not predeclared for a recipe test.
	dir := t.TempDir()
	file := filepath.Join(dir, "x_test.star")
	if err := os.WriteFile(file, []byte("def test_x(t):\n    allow_writes(\"/tmp\")\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err := ExecFile(&starlark.Thread{}, file, starlark.StringDict{}, testStdlib, progs)
		if err == nil || !strings.Contains(err.Error(), "undefined: allow_writes") {
			t.Fatalf("ExecFile without allow_writes predeclared: %v", err)
		}
	}
	g, err := ExecFile(&starlark.Thread{}, file, starlark.StringDict{"allow_writes": starlark.None}, testStdlib, progs)
	if err != nil || g["test_x"] == nil {
		t.Fatalf("ExecFile with allow_writes predeclared: %v, %v", g, err)
	}
}

// TestProgramsConcurrent evaluates one cached program from many
// goroutines (under -race, the programs are shared read-only).
func TestProgramsConcurrent(t *testing.T) {
	progs := NewPrograms()
	dir := t.TempDir()
	file := filepath.Join(dir, "x_test.star")
	if err := os.WriteFile(file, []byte("load(\"@stdlib//helper.star\", \"twice\")\nL = [twice(i) for i in range(10)]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g, err := ExecFile(&starlark.Thread{}, file, starlark.StringDict{}, testStdlib, progs)
			if err == nil && fmt.Sprint(g["L"]) != "[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]" {
				err = fmt.Errorf("L = %v", g["L"])
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if hits, miss := progs.Stats(); hits+miss != 24 || miss < 3 {
		t.Errorf("%d hits, %d misses of 24 compilations", hits, miss)
	}
}
