package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// leafCommands walks kong's model of the CLI and returns the path of every
// runnable leaf command, so a command added later is covered without
// editing a list.
func leafCommands(t *testing.T) [][]string {
	t.Helper()
	var c cli
	parser, err := kong.New(&c, kong.Name("hvfctl"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	var walk func(n *kong.Node, path []string)
	walk = func(n *kong.Node, path []string) {
		leaf := true
		for _, child := range n.Children {
			if child.Type != kong.CommandNode || child.Hidden {
				continue
			}
			leaf = false
			walk(child, append(append([]string(nil), path...), child.Name))
		}
		if leaf && len(path) > 0 {
			out = append(out, path)
		}
	}
	walk(parser.Model.Node, nil)
	return out
}

// TestEveryCommandHelpHasAnExample walks the whole command tree: every leaf
// command's --help must say what it does, its exit status and an example,
// and every document it points to must exist in the repository.
func TestEveryCommandHelpHasAnExample(t *testing.T) {
	commands := leafCommands(t)
	if len(commands) < 15 {
		t.Fatalf("walked only %d commands: %q", len(commands), commands)
	}
	docRef := regexp.MustCompile(`\b(?:docs/)?[\w.-]+\.md\b`)
	for _, c := range commands {
		name := strings.Join(c, " ")
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCLI(t, append(c, "--help")...)
			if code != 0 {
				t.Fatalf("hvfctl %s --help exited %d: %s", name, code, errOut)
			}
			for _, want := range []string{"Usage: hvfctl " + name, "Example"} {
				if !strings.Contains(out, want) {
					t.Errorf("hvfctl %s --help lacks %q:\n%s", name, want, out)
				}
			}
			for _, loc := range docRef.FindAllStringIndex(out, -1) {
				ref := out[loc[0]:loc[1]]
				if strings.HasSuffix(out[:loc[0]], "> ") {
					continue // an example's output file, not a citation
				}
				p := ref
				if !strings.Contains(p, "/") {
					p = filepath.Join("docs", p)
				}
				if _, err := os.Stat(filepath.Join("..", "..", p)); err != nil {
					t.Errorf("hvfctl %s --help cites %s, which is not in the repository", name, ref)
				}
			}
		})
	}
}
