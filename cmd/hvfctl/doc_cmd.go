package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/engine/recipetest"
	"github.com/sysprog21/hvfctl/stdlib"
)

// docCmd is `hvfctl doc`.
type docCmd struct{}

// Help implements kong.HelpProvider.
func (c *docCmd) Help() string {
	return `Prints, in Markdown, the reference of every name a recipe can use: the engine's predeclared functions, every builtin module (queries, actions, helpers, with the host command each runs and as whom), the stdlib modules' public functions, and the recipe-test context and assert module. It is generated from the registry that defines them.

Exit status: 0, or 1 when something lacks documentation (listed on stderr).

Example:
  hvfctl doc > docs/reference.md`
}

// docModules is everything `hvfctl doc` documents besides the engine's
// predeclared names and the stdlib.
func docModules() []engine.Module {
	return append(modules(), recipetest.ContextDocs(), recipetest.AssertDocs())
}

// Run implements `hvfctl doc`.
func (c *docCmd) Run(e *env) error {
	mods := docModules()
	if err := engine.Reference(e.stdout, mods, stdlib.FS); err != nil {
		return exit(1, err)
	}
	missing, err := engine.MissingDocs(mods, stdlib.FS)
	if err != nil {
		return exit(1, err)
	}
	if len(missing) > 0 {
		return exit(1, fmt.Errorf("undocumented: %s", strings.Join(missing, ", ")))
	}
	return nil
}

// versionCmd is `hvfctl version`.
type versionCmd struct{}

// Help implements kong.HelpProvider.
func (c *versionCmd) Help() string {
	return `Prints the hvfctl version (module version, VCS revision when built from a checkout) and the Go version.

Example:
  hvfctl version`
}

// Run implements `hvfctl version`.
func (c *versionCmd) Run(e *env) error {
	fmt.Fprintln(e.stdout, versionString())
	return nil
}

func versionString() string {
	version, rev, dirty := "(devel)", "", false
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
	}
	out := "hvfctl " + version
	if rev != "" {
		if len(rev) > 12 {
			rev = rev[:12]
		}
		out += " " + rev
		if dirty {
			out += "-dirty"
		}
	}
	return out + " " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH
}
