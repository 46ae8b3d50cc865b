package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/audit"
)

// checklistCmd is `hvfctl checklist`.
type checklistCmd struct {
	Target    string            `default:"local" placeholder:"T" help:"The Mac to check: local (this Mac; macOS only), fake or fake:FILE."`
	Recipe    string            `default:"recipes/m4.star" type:"path" help:"The recipe."`
	Workflows string            `placeholder:"DIR" type:"path" help:"The repository's workflow directory (.github/workflows), for the workflow item."`
	Var       map[string]string `placeholder:"NAME=VALUE" help:"Set a recipe variable read with var() (repeatable)."`
	gitHubFlags
}

// Help implements kong.HelpProvider.
func (c *checklistCmd) Help() string {
	return `Prints the setup document's checklist as Markdown task items ("- [x]" / "- [ ]"), ready to paste into the tracking issue. Each item is decided by the host check (the recipe on --target), the GitHub check (with a GitHub credential) and the workflow audit (--workflows DIR); every open item says why. Nothing is changed.

Exit status: 0 every item checked, 2 some open, 1 on errors.

Example:
  sudo hvfctl checklist --workflows ../elfuse/.github/workflows
  hvfctl checklist --target fake:.demo/converged.json --github-api https://api.github.com`
}

// checklistItem is one line of the setup document's checklist and the
// resources (ids, or prefixes ending in ":") that decide it.
type checklistItem struct {
	text      string
	resources []string
	// workflow marks the item the workflow audit decides.
	workflow bool
}

// checklistItems follows the checklist at the end of the setup document
// (shared/seed), with its runner name and label list taken from the
// recipe.
func checklistItems(spec gitHubSpec) []checklistItem {
	var runnerRes, labelRes, serviceRes []string
	for _, n := range spec.runners {
		runnerRes = append(runnerRes, "runner:"+n+":registration", "github:runner:"+n)
		labelRes = append(labelRes, "github:runner:"+n+":labels")
		serviceRes = append(serviceRes, "runner:"+n+":service", "runner:stale")
	}
	return []checklistItem{
		{text: `Repository setting "Require approval for all outside collaborators" (or stricter) enabled.`, resources: []string{"github:fork-pr-approval", "github:workflow-permissions"}},
		{text: fmt.Sprintf("Label `%s` created.", spec.label), resources: []string{"github:label:" + spec.label}},
		{text: "`ghrunner` macOS account created: standard, no iCloud, FileVault on, no Full Disk Access, Spotlight never indexing `_work.noindex/`.", resources: []string{"account:", "host:filevault", "runner:*:work"}},
		{text: "Host prepared: Apple Silicon with HVF, Command Line Tools, Rosetta, Homebrew packages, toolchains under /opt/toolchain, power settings, test fixtures.", resources: []string{"host:", "devtools:", "dir:", "toolchain:", "power:", "fixtures:"}},
		{text: fmt.Sprintf("Runner registered and appears Idle (online) with labels `%s`.", strings.Join(spec.runnerLabels, ",")), resources: append(runnerRes, labelRes...)},
		{text: "Runner installed as a LaunchDaemon and starts at boot; `_work.noindex` pruned daily.", resources: append(serviceRes, "prune:", "hvfctl:installed")},
		{text: fmt.Sprintf("`runtime-macos` job added behind the same-repo + `%s` label gate.", spec.label), workflow: true},
	}
}

// matches reports whether a resource id belongs to an item's list.
func matches(id string, pats []string) bool {
	for _, p := range pats {
		if pre, suf, ok := strings.Cut(p, "*"); ok {
			if strings.HasPrefix(id, pre) && strings.HasSuffix(id, suf) {
				return true
			}
			continue
		}
		if id == p || (strings.HasSuffix(p, ":") && strings.HasPrefix(id, p)) {
			return true
		}
	}
	return false
}

// Run prints the checklist.
func (c *checklistCmd) Run(e *env) error {
	spec, err := recipeGitHubSpec(e, c.Recipe)
	if err != nil {
		return exit(1, err)
	}
	tgt, err := openTargetEnv(c.Target, e)
	if err != nil {
		return exit(1, err)
	}
	f := recipeFlags{Target: c.Target, Var: c.Var, Recipe: c.Recipe, MaxSteps: engine.DefaultMaxSteps, MaxHeap: 1024, MaxStack: engine.DefaultMaxStackBytes >> 20, MaxEvalTime: engine.DefaultMaxEvalTime, gitHubFlags: c.gitHubFlags}
	r, err := f.loadReadOnly(e, tgt)
	if err != nil {
		return err
	}
	defer r.Close()
	rep := r.Check(e.ctx)
	open := 0
	fmt.Fprintf(e.stdout, "### Self-hosted runner checklist for %s\n\n", spec.repo)
	for _, it := range checklistItems(spec) {
		var why []string
		if it.workflow {
			why = c.workflowReasons(e, spec)
		} else {
			seen := false
			for _, res := range rep.Resources {
				if !matches(res.ID, it.resources) {
					continue
				}
				seen = true
				if res.Status != engine.StatusOK {
					why = append(why, resourceReason(res))
				}
			}
			if !seen {
				why = append(why, "the recipe declares nothing for it")
			}
		}
		writeItem(e.stdout, it.text, why)
		if len(why) > 0 {
			open++
		}
	}
	if open > 0 {
		fmt.Fprintf(e.stdout, "\n%d item(s) open (host %s, GitHub %s).\n", open, c.Target, gitHubState(rep))
		return exit(2, nil)
	}
	return nil
}

// gitHubState says how the GitHub items were decided.
func gitHubState(rep *engine.Report) string {
	if r := rep.Resource("github:fork-pr-approval"); r != nil && r.Status == engine.StatusUnknown {
		return "not checked: no GitHub credential or API"
	}
	return "checked through the API"
}

func writeItem(w io.Writer, text string, why []string) {
	box := "x"
	if len(why) > 0 {
		box = " "
	}
	fmt.Fprintf(w, "- [%s] %s\n", box, text)
	for _, y := range why {
		fmt.Fprintf(w, "  - %s\n", strings.ReplaceAll(y, "\n", " "))
	}
}

// resourceReason says why a resource keeps an item open.
func resourceReason(res engine.ResourceReport) string {
	var parts []string
	for _, ch := range res.Changes {
		if u, ok := ch.Before.(*engine.Unknown); ok {
			parts = append(parts, fmt.Sprintf("%s: not known (%s)", ch.Property, u.Reason))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s, want %s", ch.Property, engine.DisplayProperty(ch.Property, ch.Before), engine.DisplayProperty(ch.Property, ch.After)))
	}
	if res.Error != "" {
		parts = append(parts, res.Error)
	}
	if res.Status == engine.StatusAssertFailed && res.Remediation != "" {
		parts = append(parts, res.Remediation)
	}
	return fmt.Sprintf("`%s` %s: %s", res.ID, res.Status, strings.Join(parts, "; "))
}

// workflowReasons audits --workflows and says why the workflow item is
// open; nil when the runner's job is there and passes.
func (c *checklistCmd) workflowReasons(e *env, spec gitHubSpec) []string {
	if c.Workflows == "" {
		return []string{"not audited: give --workflows DIR (the repository's .github/workflows)"}
	}
	facts, err := workflow.LoadRecipe(e.ctx, c.Recipe, e.recipeDeclarations(c.Var, 1))
	if err != nil {
		return []string{err.Error()}
	}
	rep, err := audit.Files(e.ctx, []string{c.Workflows}, audit.Options{Recipe: facts, Repo: spec.repo, OptInLabel: spec.label})
	if err != nil {
		return []string{err.Error()}
	}
	var why []string
	for _, fe := range rep.Errors {
		why = append(why, fe.Message)
	}
	lands := false
	for _, j := range rep.Jobs {
		if !j.LandsOnRunner {
			continue
		}
		lands = true
		for _, f := range j.Findings {
			if f.Level == audit.LevelFail {
				why = append(why, fmt.Sprintf("%s job %s: %s (%s)", j.File, j.ID, f.Message, f.Rule))
			}
		}
	}
	if !lands {
		why = append(why, fmt.Sprintf("no job in %s runs on the runner's labels (render it with hvfctl workflow render)", c.Workflows))
	}
	return why
}
