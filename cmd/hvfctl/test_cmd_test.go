package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/engine/recipetest"
)

// TestDefaultTestPathsAreTheProjectsRecipeTests: `hvfctl test` run with no
// argument at the repository's root finds the project's recipe tests, and
// none of testdata's inputs (several of which fail on purpose).
func TestDefaultTestPathsAreTheProjectsRecipeTests(t *testing.T) {
	root := filepath.Join("..", "..")
	files, err := recipetest.Find([]string{root})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no recipe tests found at the repository root")
	}
	for _, f := range files {
		rel, err := filepath.Rel(root, f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(filepath.ToSlash(rel), "testdata/") {
			t.Errorf("%s: a testdata input was picked up by the default search", rel)
		}
	}
}
