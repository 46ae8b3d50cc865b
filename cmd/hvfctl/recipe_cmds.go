package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
	"github.com/sysprog21/hvfctl/stdlib"
	"github.com/sysprog21/hvfctl/workflow"
)

// recipeFlags are shared by plan, check and run.
type recipeFlags struct {
	Target   string            `default:"local" placeholder:"T" help:"Where to look: local (this Mac; macOS only), fake (an embedded fresh M4 Mac mini) or fake:FILE (a fake-host fixture)."`
	Var      map[string]string `placeholder:"NAME=VALUE" help:"Set a recipe variable read with var() (repeatable)."`
	MaxSteps uint64            `default:"100000000" help:"Starlark execution-step budget of the run."`
	MaxHeap  uint64            `default:"1024" placeholder:"MIB" help:"Heap growth, in MiB, the recipe may cause before it is stopped."`
	MaxStack uint64            `default:"256" placeholder:"MIB" help:"Go stack, in MiB, one operation on a deeply nested value may use before hvfctl stops (exit 1)."`
	// MaxEvalTime is declared apart: its type differs from the flags above.
	MaxEvalTime time.Duration `default:"2m" placeholder:"DURATION" help:"Time the recipe may spend evaluating, host commands not counted; then it is cancelled, and hvfctl stops (exit 1) if one operation still runs a quarter of it (0.5s to 30s) later."`
	gitHubFlags
	Recipe string `arg:"" help:"The recipe file (e.g. recipes/m4.star); for run, also a plan saved with plan -o."`

	// savePlan is plan -o FILE.
	savePlan string
}

// planCmd is `hvfctl plan`.
type planCmd struct {
	recipeFlags
	JSON bool   `name:"json" help:"Print the plan as the JSON object of docs/design.md."`
	All  bool   `help:"List the resources that are ok too (by default only what changes or needs attention)."`
	Out  string `short:"o" placeholder:"FILE" help:"Also write the plan to FILE (with the recipe's digest, the vars and the facts it was made from; no secrets) for 'hvfctl run FILE', which applies exactly that plan."`
}

// checkCmd is `hvfctl check`.
type checkCmd struct {
	recipeFlags
	JSON   bool   `name:"json" help:"Print the result as the JSON object of docs/design.md."`
	All    bool   `help:"List the resources that are ok too (by default only drift and what needs attention)."`
	Record string `placeholder:"FILE" help:"With --target local, also write a fixture that replays this check offline (hvfctl check --target fake:FILE): every read-only command's raw output, scrubbed of secrets and identifying data (docs/recording-a-mac.md)."`
}

// runCmd is `hvfctl run`.
type runCmd struct {
	recipeFlags
	All          bool   `help:"List the resources that are ok too."`
	Yes          bool   `help:"Apply without asking (required when no terminal is attached)."`
	AllowDestroy bool   `help:"Apply a plan that destroys something (a runner registration, a LaunchDaemon, a file) without typing the word destroy."`
	Save         string `placeholder:"FILE" help:"With a fake target, write the resulting fake host state to FILE."`
	TokenFile    string `placeholder:"FILE" help:"Read the runner registration token from FILE (else HVFCTL_RUNNER_TOKEN, else a hidden prompt)."`
}

// Help implements kong.HelpProvider.
func (c *planCmd) Help() string {
	return `Checks every resource of the recipe against the target and shows what would change: each property as "before → after", multi-line values as diffs, and the commands that would run, as whom and why. Nothing is changed and no secret is asked for.

Exit status: 0 (with or without changes), 1 on errors.

Example:
  hvfctl plan --target fake recipes/m4.star
  hvfctl plan --target fake:testdata/hosts/drifted.json --json recipes/m4.star`
}

// Help implements kong.HelpProvider.
func (c *checkCmd) Help() string {
	return `Detects drift: checks every resource and fails when one differs from the recipe or an assertion (FileVault, macOS version, …) does not hold. Values that cannot be read are listed to verify manually and do not fail.

Exit status: 0 converged, 2 drift or a failed assertion, 1 on errors.

Example:
  sudo hvfctl check recipes/m4.star
  hvfctl check --target fake:.demo/converged.json recipes/m4.star`
}

// Help implements kong.HelpProvider.
func (c *runCmd) Help() string {
	return `Prints the plan, asks for confirmation (or needs --yes without a terminal), then applies the recipe resource by resource: re-check, run the actions, re-check. A resource that fails makes the resources that require it skipped; the others continue. The runner token is read only when the plan needs it, and then before the first change.

A plan with a failed resource (a check or fix that errored) is printed and not applied: nothing runs and the exit status is 1.

A plan that destroys something (a runner registration, a LaunchDaemon, a file; marked - or -/+) is applied only with --allow-destroy or when a terminal user types the word destroy, even with --yes. Secrets the plan needs (the runner registration token) are asked for after the confirmation and before the first change. The vars used are recorded on the host and reused by later runs.

RECIPE may also be a plan saved with 'hvfctl plan -o FILE': it is applied on its target with its vars, and refused when the recipe or the host changed since (when planning again gives another plan).

Exit status: 0 converged, 1 on errors, when not converged, or when the plan has failures or was refused.

Example:
  sudo hvfctl run recipes/m4.star
  hvfctl plan -o m4.plan recipes/m4.star && sudo hvfctl run m4.plan
  HVFCTL_RUNNER_TOKEN=... hvfctl run --target fake --yes --save /tmp/m4.json recipes/m4.star`
}

// Run implements `hvfctl plan`.
func (c *planCmd) Run(e *env) error {
	c.savePlan = c.Out
	return c.report(e, engine.ModePlan, c.JSON, c.All, "")
}

// Run implements `hvfctl check`.
func (c *checkCmd) Run(e *env) error { return c.report(e, engine.ModeCheck, c.JSON, c.All, c.Record) }

// report runs plan or check and prints the report; with recordTo, the
// run on the local Mac is also written there as a replayable fixture.
func (f *recipeFlags) report(e *env, mode engine.Mode, asJSON, all bool, recordTo string) error {
	tgt, err := openTargetEnv(f.Target, e)
	if err != nil {
		return exit(1, err)
	}
	if recordTo != "" {
		if err := tgt.startRecording("--record"); err != nil {
			return exit(1, err)
		}
	}
	r, err := f.loadReadOnly(e, tgt)
	if err != nil {
		return err
	}
	defer r.Close()
	var rep *engine.Report
	if mode == engine.ModeCheck {
		rep = r.Check(e.ctx)
	} else {
		rep = r.Plan(e.ctx)
	}
	if err := writeReport(e, rep, asJSON, all); err != nil {
		return exit(1, err)
	}
	if f.savePlan != "" {
		if n := rep.Summary.Failed; n > 0 || len(rep.Errors) > 0 {
			return exit(1, fmt.Errorf("-o %s: not written: the plan has %d failed resource(s)", f.savePlan, n))
		}
		if err := writeSavedPlan(e.trust, f.savePlan, f, r, rep); err != nil {
			return exit(1, err)
		}
		fmt.Fprintf(e.stderr, "saved the plan to %s; apply exactly it with: hvfctl run %s\n", f.savePlan, f.savePlan)
	}
	if recordTo != "" {
		keep, err := recipeLiterals(e.trust, f.Recipe)
		if err != nil {
			return exit(1, err)
		}
		if err := tgt.saveRecording(e, recordTo, r.Session().Redactor(), "check "+f.Recipe, keep); err != nil {
			return exit(1, err)
		}
	}
	return codeOf(e, rep)
}

// load evaluates the recipe against the target, with the GitHub side
// when a GitHub API and credential are available (see recipeGitHub). The
// run's redactor is e.redactor, which already knows the secrets the CLI
// read before the recipe's code runs.
func (f *recipeFlags) load(e *env, tgt *target, secrets engine.SecretSource) (*engine.Recipe, error) {
	red := e.redactor
	if red == nil {
		red = host.NewRedactor()
	}
	gh, err := f.recipeGitHub(e, tgt, red)
	if err != nil {
		return nil, err
	}
	var protected []string
	if s, ok := secrets.(*cliSecrets); ok {
		s.gh = gh
		protected = s.protected()
	}
	r, err := engine.Load(e.ctx, f.Recipe, engine.Options{
		Redactor:       red,
		ProtectedFiles: protected,
		Services:       services(gh),
		Host:           tgt.host,
		Modules:        modules(),
		Stdlib:         stdlib.FS,
		Vars:           f.Var,
		StickyVars:     true,
		// The workflow job's fields are checked while the recipe is
		// evaluated, so a mistake fails plan rather than workflow render.
		CheckDeclaration: workflow.CheckDeclaration,
		Secrets:          secrets,
		Principals:       tgt.principals,
		MaxSteps:         f.MaxSteps,
		Log:              func(s string) { fmt.Fprintln(e.stderr, s) },
		Progress:         func(s string) { fmt.Fprintln(e.stderr, s) },
		Rand:             e.rand,
		Limits:           e.limits(f.MaxHeap, f.MaxStack, f.MaxEvalTime, 1),
		LocalTrust:       e.trust,
		Programs:         e.programs,
	})
	if err != nil {
		return nil, fmt.Errorf("%s:\n%w", f.Recipe, err)
	}
	return r, nil
}

func writeReport(e *env, rep *engine.Report, asJSON, all bool) error {
	if asJSON {
		return rep.WriteJSON(e.stdout)
	}
	return rep.WriteText(e.stdout, engine.TextOptions{Color: useColor(e), All: all})
}

// useColor is true on a terminal unless NO_COLOR is set.
func useColor(e *env) bool {
	return e.getenv("NO_COLOR") == "" && isTerminal(e.stdout)
}

// codeOf turns a report's exit code into the command's result; an
// interrupted run is an error.
func codeOf(e *env, rep *engine.Report) error {
	if err := e.ctx.Err(); err != nil {
		return exit(1, fmt.Errorf("interrupted"))
	}
	if code := rep.ExitCode(); code != 0 {
		return exit(code, nil)
	}
	return nil
}

// Run implements `hvfctl run`.
func (c *runCmd) Run(e *env) error {
	planFile := ""
	sp, isPlan, err := readSavedPlan(e.trust, c.Recipe)
	if err != nil {
		return exit(1, err)
	}
	if isPlan {
		planFile = c.Recipe
		if err := c.usePlan(e.trust, planFile, sp); err != nil {
			return exit(1, err)
		}
	}
	tgt, err := openTarget(c.Target, e.getenv)
	if err != nil {
		return exit(1, err)
	}
	if c.Save != "" && tgt.save == nil {
		return exit(1, fmt.Errorf("--save works only with --target fake or fake:FILE"))
	}
	interactive := isTerminal(e.stdin)
	if !c.Yes && !interactive {
		return exit(1, fmt.Errorf("run changes the host: pass --yes to apply without a terminal to confirm on"))
	}
	r, err := c.loadForChange(e, tgt, c.TokenFile, interactive)
	if err != nil {
		return err
	}
	defer r.Close()
	plan := r.Plan(e.ctx)
	if err := writeReport(e, plan, false, c.All); err != nil {
		return exit(1, err)
	}
	// A saved plan is applied only when the host still gives exactly
	// that plan.
	if planFile != "" {
		diff, err := samePlan(sp.Plan, plan)
		if err != nil {
			return exit(1, err)
		}
		if diff != "" {
			return exit(1, fmt.Errorf("not applied: the host changed since %s was made (%s); nothing was run: make a new plan", planFile, diff))
		}
	}
	// A plan with failed resources (a check or fix that errored) is not
	// applied at all: what the failures hide could change what must run.
	if n := plan.Summary.Failed; n > 0 {
		if err := c.save(e, tgt); err != nil {
			return err
		}
		return exit(1, fmt.Errorf("not applied: the plan has %d failed resource(s); nothing was run", n))
	}
	if err := c.confirmPlan(e, plan, interactive); err != nil {
		return err
	}
	// Every secret the plan needs (the registration token) is asked for
	// now, before the first change, never in the middle of the apply.
	if plan.Summary.Change > 0 {
		if err := r.AskSecrets(e.ctx, plan); err != nil {
			return exit(1, fmt.Errorf("not applied, nothing was changed: %w", err))
		}
	}
	fmt.Fprintln(e.stdout)
	rep := r.Apply(e.ctx)
	if err := writeReport(e, rep, false, c.All); err != nil {
		return exit(1, err)
	}

	if err := c.save(e, tgt); err != nil {
		return err
	}
	return codeOf(e, rep)
}

// confirmPlan asks before a plan is applied: a plan that destroys
// something needs --allow-destroy or the typed word "destroy" (even with
// --yes); any other change needs --yes or a "y" on the terminal.
func (c *runCmd) confirmPlan(e *env, plan *engine.Report, interactive bool) error {
	s := plan.Summary
	if s.Change == 0 {
		return nil
	}
	if n := s.Destroy + s.Replace; n > 0 && !c.AllowDestroy {
		what := engine.CountDestroys(plan.Destroys())
		if !interactive {
			return exit(1, fmt.Errorf("not applied: the plan destroys %s (%d resource(s) marked - or -/+); pass --allow-destroy to apply it without a terminal", what, n))
		}
		fmt.Fprintf(e.stderr, "The plan destroys %s:\n  %s\n", what, strings.Join(plan.Destroys(), "\n  "))
		word, err := readLine(e.stdin, e.stderr, fmt.Sprintf("Type destroy to apply %d change(s) to %s: ", s.Change, c.Target))
		if err != nil {
			return exit(1, err)
		}
		if word != "destroy" {
			return exit(1, fmt.Errorf("not applied: the plan destroys something and the word destroy was not typed"))
		}
		return nil
	}
	if c.Yes {
		return nil
	}
	ok, err := confirm(e.stdin, e.stderr, fmt.Sprintf("Apply %d change(s) to %s? [y/N] ", s.Change, c.Target))
	if err != nil {
		return exit(1, err)
	}
	if !ok {
		return exit(1, fmt.Errorf("not applied"))
	}
	return nil
}

// loadReadOnly loads the recipe for a command that only reads the host
// (plan, check, checklist): secrets come from the environment alone and
// are registered before the recipe's code runs. Errors are exit 1.
func (f *recipeFlags) loadReadOnly(e *env, tgt *target) (*engine.Recipe, error) {
	secrets := &cliSecrets{getenv: e.getenv, trust: e.trust}
	if err := secrets.preload(e.redactor, e.environ()); err != nil {
		return nil, exit(1, err)
	}
	r, err := f.load(e, tgt, secrets)
	if err != nil {
		return nil, exit(1, err)
	}
	return r, nil
}

// loadForChange loads the recipe for a command that changes the host (run,
// destroy): the secrets come from the environment, tokenFile, the GitHub
// API (a registration or removal token created just in time for the
// recipe's repository) or, on a terminal, a hidden prompt; the token is
// read and registered before the recipe's code runs. Errors are exit 1.
func (f *recipeFlags) loadForChange(e *env, tgt *target, tokenFile string, interactive bool) (*engine.Recipe, error) {
	secrets := &cliSecrets{getenv: e.getenv, tokenFile: tokenFile, trust: e.trust}
	if interactive {
		secrets.prompt = terminalPrompt(e.stdin, e.stderr)
	}
	secrets.log = func(s string) { fmt.Fprintln(e.stderr, s) }
	if err := secrets.preload(e.redactor, e.environ()); err != nil {
		return nil, exit(1, err)
	}
	r, err := f.load(e, tgt, secrets)
	if err != nil {
		return nil, exit(1, err)
	}
	secrets.repo = recipeRepo(r)
	return r, nil
}

// save writes the fake host state to --save FILE, when given.
func (c *runCmd) save(e *env, tgt *target) error { return saveFake(e, tgt, c.Save) }

// confirm asks a yes/no question on a terminal.
func confirm(in io.Reader, out io.Writer, question string) (bool, error) {
	line, err := readLine(in, out, question)
	if err != nil {
		return false, err
	}
	switch strings.ToLower(line) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// readLine asks a question on a terminal and returns the trimmed answer.
func readLine(in io.Reader, out io.Writer, question string) (string, error) {
	fmt.Fprint(out, question)
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the answer: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// recipeRepo is the repository of a recipe: its github_repository(), else
// the URL of its actions_runner(); the zero Repo when it names none.
func recipeRepo(r *engine.Recipe) ghapi.Repo {
	for _, kind := range []string{"github", "runner"} {
		for _, d := range r.Session().Declarations(kind) {
			for _, key := range []string{"repo", "url"} {
				v, found, _ := d.Fields.Get(starlark.String(key))
				if s, ok := starlark.AsString(v); found && ok {
					if repo, err := ghapi.ParseRepo(s); err == nil {
						return repo
					}
				}
			}
		}
	}
	return ghapi.Repo{}
}
