package main

import (
	"errors"
	"fmt"

	"github.com/sysprog21/hvfctl/cmd/hvfctl/internal/prune"
)

// pruneCmd deletes old entries inside a directory. Exit codes: 0 done,
// 1 some entries could not be removed, 2 bad input (relative, missing or
// root directory, bad age).
type pruneCmd struct {
	OlderThan string `required:"" placeholder:"AGE" help:"Remove entries not modified within AGE (e.g. 7d, 36h, 90m; units w d h m s)."`
	DryRun    bool   `help:"Print what would be removed, remove nothing."`
	Dir       string `arg:"" help:"Absolute path of the directory to prune (its contents; never the directory itself)."`
}

// Run prunes the directory.
func (c *pruneCmd) Run(e *env) error {
	age, err := prune.ParseAge(c.OlderThan)
	if err != nil {
		return exit(2, fmt.Errorf("prune: --older-than: %w", err))
	}
	if err := prune.CheckDir(c.Dir); err != nil {
		return exit(2, fmt.Errorf("prune: %w", err))
	}
	verb := "removed"
	if c.DryRun {
		verb = "would remove"
	}
	res, err := prune.Run(e.ctx, prune.Options{Dir: c.Dir, OlderThan: age, DryRun: c.DryRun}, func(r prune.Removal) {
		what := r.Path
		switch {
		case r.Dir:
			what += "/"
		case r.Link:
			what += " (link)"
		}
		fmt.Fprintf(e.stdout, "%s %s\n", verb, what)
	})
	fmt.Fprintf(e.stdout, "%s %d entries (%s) not modified in the last %s under %s\n",
		verb, len(res.Removed), humanBytes(res.Bytes), c.OlderThan, c.Dir)
	if err != nil {
		if errors.Is(err, prune.ErrBadInput) {
			return exit(2, fmt.Errorf("prune: %w", err))
		}
		return exit(1, fmt.Errorf("prune: %w", err))
	}
	return nil
}
