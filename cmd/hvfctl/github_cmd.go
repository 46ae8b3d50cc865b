package main

// This file holds the GitHub side of the CLI: how a command finds the
// GitHub API and its credential, `hvfctl github check` and
// `hvfctl github runs`.

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
	"github.com/sysprog21/hvfctl/stdlib"
)

// gitHubFlags select the GitHub API of a command.
type gitHubFlags struct {
	GitHubAPI string `name:"github-api" placeholder:"URL" help:"GitHub API base URL (default: HVFCTL_GITHUB_API, else https://api.github.com; GitHub Enterprise Server: https://HOST/api/v3). The token comes from GH_TOKEN, GITHUB_TOKEN or the gh CLI's login, never from the command line."`
}

// apiURL is --github-api, else HVFCTL_GITHUB_API, else "".
func (f gitHubFlags) apiURL(e *env) string {
	if f.GitHubAPI != "" {
		return f.GitHubAPI
	}
	return strings.TrimSpace(e.getenv("HVFCTL_GITHUB_API"))
}

// gitHub opens the GitHub client of a command; its token, when there is
// one, is registered with red so that no report shows it.
func (f gitHubFlags) gitHub(e *env, red *host.Redactor) (*ghapi.Client, error) {
	u, err := ghapi.ParseAPI(f.apiURL(e))
	if err != nil {
		return nil, fmt.Errorf("--github-api: %w", err)
	}
	cred := ghapi.FindCredential(e.getenv, u, e.ghLookup)
	if cred.OK() {
		red.Add("github_token", cred.Token)
	}
	return ghapi.New(ghapi.Options{API: u.String(), Credential: cred})
}

// recipeGitHub is the GitHub client of plan, check and run: none for a
// fake Mac unless a GitHub API was named (a fake Mac never changes the
// real repository).
func (f gitHubFlags) recipeGitHub(e *env, tgt *target, red *host.Redactor) (*ghapi.Client, error) {
	if tgt.save != nil && f.apiURL(e) == "" {
		return nil, nil
	}
	return f.gitHub(e, red)
}

// services returns the engine services of a GitHub client.
func services(gh *ghapi.Client) map[string]any {
	if gh == nil {
		return nil
	}
	return map[string]any{builtins.GitHubService: gh}
}

// gitHubCmd groups the GitHub commands.
type gitHubCmd struct {
	Check gitHubCheckCmd `cmd:"" help:"Check the repository's GitHub side (settings, opt-in label, runners): exit 0 all hold, 2 drift, 1 error."`
	Runs  gitHubRunsCmd  `cmd:"" help:"List the jobs that ran on the runners and whether each run was trusted: exit 0 none untrusted, 1 an untrusted run reached a runner, 2 bad input or API error."`
}

// gitHubCheckCmd is `hvfctl github check`.
type gitHubCheckCmd struct {
	gitHubFlags
	Repo   string   `placeholder:"OWNER/NAME" xor:"source" help:"The repository: settings, opt-in label, and each --runner (without --runner: every registered runner online)."`
	Recipe string   `xor:"source" type:"path" help:"Take the repository, label, runners and their labels from the recipe's github_repository()."`
	Label  string   `default:"ci-hvf" help:"With --repo: the opt-in label."`
	Runner []string `placeholder:"NAME" help:"With --repo: a runner that must be registered and online (repeatable)."`
	Labels string   `placeholder:"L1,L2" help:"With --repo: the labels every --runner must have."`
	JSON   bool     `name:"json" help:"Print the result as the JSON object of plan/check --json."`
}

// Help implements kong.HelpProvider.
func (c *gitHubCheckCmd) Help() string {
	return `Reads the repository's GitHub side through the REST API, from any machine: the fork pull request approval policy (all_external_contributors), the default workflow permissions (read, no pull request approvals), the opt-in label, and each runner (registered with exactly the recipe's labels, online), plus two advisories that never affect the exit status (SHA pinning of actions, code-owner review of .github/workflows/). Nothing is changed: ` + "`hvfctl run`" + ` fixes drift.

Needs a token with Administration: read and Issues: read on the repository, from GH_TOKEN, GITHUB_TOKEN or ` + "`gh auth login`" + `.

Exit status: 0 all hold, 2 drift, 1 on errors (no credential, API errors).

Example:
  hvfctl github check --recipe recipes/m4.star
  GH_TOKEN=... hvfctl github check --repo sysprog21/elfuse --json`
}

// gitHubCheckSource is the recipe `github check` evaluates: the stdlib's
// github_repository alone, with its arguments as vars.
const gitHubCheckSource = `load("@stdlib//github.star", "github_repository")

github_repository(
    repo = var("repo", ""),
    label = var("label", "ci-hvf"),
    runners = var("runners", []),
    runner_labels = var("runner_labels", []),
    branch = var("branch", "main"),
    every_runner_online = var("every_runner_online", False),
)
`

// gitHubSpec is what a recipe declares about its repository on GitHub.
type gitHubSpec struct {
	repo, label, branch   string
	runners, runnerLabels []string
	// everyRunner checks every registered runner is online (--repo
	// without --runner).
	everyRunner bool
}

// vars turns the spec into the vars of gitHubCheckSource.
func (s gitHubSpec) vars() map[string]string {
	return map[string]string{
		"repo": s.repo, "label": s.label, "branch": s.branch,
		"runners": strings.Join(s.runners, ","), "runner_labels": strings.Join(s.runnerLabels, ","),
		"every_runner_online": fmt.Sprint(s.everyRunner),
	}
}

// recipeGitHubSpec evaluates a recipe without a host and returns its
// github_repository() declaration.
func recipeGitHubSpec(e *env, path string) (gitHubSpec, error) {
	r, err := engine.Load(e.ctx, path, engine.Options{Host: refusingHost{}, Modules: modules(), Stdlib: stdlib.FS, Limits: e.limits(0, 0, 0, 1)})
	if err != nil {
		return gitHubSpec{}, fmt.Errorf("%s:\n%w", path, err)
	}
	defer r.Close()
	ds := r.Session().Declarations("github")
	if len(ds) == 0 {
		return gitHubSpec{}, fmt.Errorf("%s declares no GitHub repository (load github_repository from @stdlib//github.star)", path)
	}
	f := ds[0].Fields
	str := func(k string) string {
		v, _, _ := f.Get(starlark.String(k))
		s, _ := starlark.AsString(v)
		return s
	}
	list := func(k string) []string {
		v, _, _ := f.Get(starlark.String(k))
		var out []string
		if l, ok := v.(starlark.Indexable); ok {
			for i := 0; i < l.Len(); i++ {
				if s, ok := starlark.AsString(l.Index(i)); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	return gitHubSpec{repo: str("repo"), label: str("label"), branch: str("branch"), runners: list("runners"), runnerLabels: list("runner_labels")}, nil
}

// gitHubOnly is the host of `github check`: it names the repository in
// the report and runs, reads and writes nothing.
type gitHubOnly struct {
	refusingHost
	name string
}

// Name implements host.Host.
func (g gitHubOnly) Name() string { return g.name }

// Run checks the GitHub side.
func (c *gitHubCheckCmd) Run(e *env) error {
	var spec gitHubSpec
	switch {
	case c.Recipe != "":
		s, err := recipeGitHubSpec(e, c.Recipe)
		if err != nil {
			return exit(1, err)
		}
		spec = s
	case c.Repo != "":
		r, err := ghapi.ParseRepo(c.Repo)
		if err != nil {
			return exit(1, fmt.Errorf("--repo: %w", err))
		}
		spec = gitHubSpec{repo: r.String(), label: c.Label, branch: "main", runners: c.Runner, everyRunner: len(c.Runner) == 0}
		for _, l := range strings.Split(c.Labels, ",") {
			if l = strings.TrimSpace(l); l != "" {
				spec.runnerLabels = append(spec.runnerLabels, l)
			}
		}
	default:
		return exit(1, fmt.Errorf("give --repo OWNER/NAME or --recipe RECIPE"))
	}
	red := host.NewRedactor()
	gh, err := c.gitHub(e, red)
	if err != nil {
		return exit(1, err)
	}
	if !gh.Credential().OK() {
		return exit(1, fmt.Errorf("%s", ghapi.NoCredentialHelp))
	}
	r, err := engine.Load(e.ctx, "<github check>", engine.Options{
		Host: gitHubOnly{name: gh.WebURL(spec.repo)}, Modules: modules(), Stdlib: stdlib.FS, Vars: spec.vars(),
		Services: services(gh), Redactor: red, Source: []byte(gitHubCheckSource),
		Log:      func(s string) { fmt.Fprintln(e.stderr, s) },
		Programs: e.programs,
		Limits:   e.limits(0, 0, 0, 1),
	})
	if err != nil {
		return exit(1, err)
	}
	defer r.Close()
	rep := r.Check(e.ctx)
	if err := writeReport(e, rep, c.JSON, true); err != nil {
		return exit(1, err)
	}
	return codeOf(e, rep)
}
