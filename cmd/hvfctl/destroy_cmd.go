package main

import (
	"fmt"

	"github.com/sysprog21/hvfctl/engine"
)

// destroyCmd is `hvfctl destroy`.
type destroyCmd struct {
	recipeFlags
	All          bool   `help:"Also remove the runner account (and its home) and the download caches."`
	AllowDestroy bool   `name:"allow-destroy" help:"Destroy without typing the word destroy (required when no terminal is attached)."`
	JSON         bool   `name:"json" help:"Print the outcome as one JSON object (docs/design.md, with \"kept\"); needs --allow-destroy."`
	Save         string `placeholder:"FILE" help:"With a fake target, write the resulting fake host state to FILE."`
	TokenFile    string `placeholder:"FILE" help:"Read the runner removal (or registration) token from FILE (else HVFCTL_RUNNER_TOKEN, else one created through the GitHub API with a GitHub credential, else a hidden prompt)."`
}

// Help implements kong.HelpProvider.
func (c *destroyCmd) Help() string {
	return `Decommissions what the recipe created, last declared first (the reverse of the order it was built in): the runner LaunchDaemons are booted out and their plists and logs removed, each runner is unregistered with config.sh remove (the token through ACTIONS_RUNNER_INPUT_TOKEN only: HVFCTL_RUNNER_TOKEN or --token-file; else, with a GitHub credential (GH_TOKEN, GITHUB_TOKEN or gh auth login), a removal token created through the API just before config.sh runs; else a hidden prompt for a removal token from Settings > Actions > Runners > (runner) > Remove, or a registration token within its hour), the runner trees, prune daemons and toolchains are removed. The runner account with its home and the download caches go only with --all. Homebrew, the Command Line Tools, Rosetta and power settings are shared or have no known earlier value: they are kept, and the plan lists them.

The plan is printed first; nothing runs unless a terminal user types the word destroy, or --allow-destroy is given. The token is asked for before the first change. Each resource is re-checked after its actions: destroy succeeds only when nothing of it is left, so a second destroy changes nothing. When a resource cannot be removed (no token), the ones it requires are kept.

Exit status: 0 destroyed (or nothing to destroy), 1 on errors or when something is left.

Example:
  sudo hvfctl destroy recipes/m4.star
  HVFCTL_RUNNER_TOKEN=... hvfctl destroy --target fake:.demo/converged.json --all --allow-destroy recipes/m4.star`
}

// Run implements `hvfctl destroy`.
func (c *destroyCmd) Run(e *env) error {
	tgt, err := openTarget(c.Target, e.getenv)
	if err != nil {
		return exit(1, err)
	}
	if c.Save != "" && tgt.save == nil {
		return exit(1, fmt.Errorf("--save works only with --target fake or fake:FILE"))
	}
	interactive := isTerminal(e.stdin)
	if !c.AllowDestroy && (!interactive || c.JSON) {
		return exit(1, fmt.Errorf("destroy removes what the recipe created: pass --allow-destroy, or run it on a terminal and type destroy"))
	}
	// With a GitHub credential and no token given, config.sh remove gets a
	// removal token created just in time (POST .../runners/remove-token).
	r, err := c.loadForChange(e, tgt, c.TokenFile, interactive)
	if err != nil {
		return err
	}
	defer r.Close()
	opts := engine.DestroyOptions{All: c.All}
	plan := r.DestroyPlan(e.ctx, opts)
	// With --json, stdout holds one object: the destroy's report, or the
	// plan when nothing runs.
	stop := plan.Summary.Failed > 0 || plan.Summary.Change == 0
	if !c.JSON || stop {
		if err := writeReport(e, plan, c.JSON, false); err != nil {
			return exit(1, err)
		}
	}
	if n := plan.Summary.Failed; n > 0 {
		return exit(1, fmt.Errorf("not destroyed: the plan has %d failed resource(s); nothing was run", n))
	}
	if plan.Summary.Change == 0 {
		return c.save(e, tgt)
	}
	if !c.AllowDestroy {
		word, err := readLine(e.stdin, e.stderr, fmt.Sprintf("Type destroy to remove %d resource(s) from %s: ", plan.Summary.Change, c.Target))
		if err != nil {
			return exit(1, err)
		}
		if word != "destroy" {
			return exit(1, fmt.Errorf("not destroyed: the word destroy was not typed"))
		}
	}
	// Every secret the actions will need is asked for now, before the
	// first change, not in the middle of the destroy.
	if err := r.AskSecrets(e.ctx, plan); err != nil {
		return exit(1, fmt.Errorf("not destroyed, nothing was changed: %w", err))
	}
	if !c.JSON {
		fmt.Fprintln(e.stdout)
	}
	rep := r.Destroy(e.ctx, opts)
	if err := writeReport(e, rep, c.JSON, false); err != nil {
		return exit(1, err)
	}
	if err := c.save(e, tgt); err != nil {
		return err
	}
	return codeOf(e, rep)
}

// save writes the fake host state to --save FILE, when given.
func (c *destroyCmd) save(e *env, tgt *target) error { return saveFake(e, tgt, c.Save) }

// saveFake writes a fake target's state to file ("" does nothing).
func saveFake(e *env, tgt *target, file string) error {
	if file == "" {
		return nil
	}
	if err := e.trust.CheckOutput(file); err != nil {
		return exit(1, fmt.Errorf("--save: %w", err))
	}
	if err := tgt.save(file, e.redactor.Scrub); err != nil {
		return exit(1, fmt.Errorf("--save: %w", err))
	}
	fmt.Fprintf(e.stderr, "saved the fake host state to %s\n", file)
	return nil
}
