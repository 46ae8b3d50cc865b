package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/tarcheck"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/audit"
	"github.com/sysprog21/hvfctl/workflow/render"
)

// workflowCmd groups the GitHub Actions workflow tools.
type workflowCmd struct {
	Audit  workflowAuditCmd  `cmd:"" help:"Prove which runs can reach the runner: exit 0 pass, 1 a FAIL finding, 2 bad input."`
	Render workflowRenderCmd `cmd:"" help:"Write the recipe's runtime-macos job into a workflow file (prints a diff; --write applies it): exit 0 rendered, 1 refused (the job would fail the audit or cannot be edited safely), 2 bad input."`
}

// workflowAuditCmd is `hvfctl workflow audit`.
type workflowAuditCmd struct {
	Labels        string   `help:"The runner's labels, comma-separated (default: the recipe's, else self-hosted,macOS,arm64,m4,hvf)." xor:"source"`
	Recipe        string   `help:"Recipe to take the runner labels, repository, default branch and opt-in label from and cross-check the host against." xor:"source" type:"path"`
	Repo          string   `help:"The repository (OWNER/NAME) the runner serves (default: the recipe's, else sysprog21/elfuse)." placeholder:"OWNER/NAME"`
	DefaultBranch string   `name:"default-branch" help:"The repository's default branch (default: the recipe's, else main)." placeholder:"NAME"`
	Label         string   `name:"label" help:"The label a maintainer adds to a pull request to let it reach the runner (default: the recipe's, else ci-hvf)." placeholder:"NAME"`
	TrustCallee   []string `name:"trust-callee" help:"A reusable workflow (uses: value, * matches anything) you vouch for: when the audit cannot read it, it is not a failure. Repeatable." placeholder:"PATTERN"`
	JSON          bool     `name:"json" help:"Print the report as JSON."`
	Files         []string `arg:"" name:"FILE" help:"Workflow files, or directories (every .yml and .yaml in them)." type:"path"`
}

// Run audits the files. Every file is reported; the worst exit code
// wins (2 bad input, then 1 a FAIL finding).
func (c *workflowAuditCmd) Run(e *env) error {
	o := audit.Options{Repo: c.Repo, DefaultBranch: c.DefaultBranch, OptInLabel: c.Label, TrustCallee: c.TrustCallee}
	if c.Labels != "" {
		for _, l := range strings.Split(c.Labels, ",") {
			if l = strings.TrimSpace(l); l != "" {
				o.Labels = append(o.Labels, l)
			}
		}
	}
	if c.Recipe != "" {
		f, err := workflow.LoadRecipe(e.ctx, c.Recipe, recipeDeclarations)
		if err != nil {
			return exit(2, err)
		}
		o.Recipe = f
	}
	rep, auditErr := audit.Files(e.ctx, c.Files, o)
	if rep == nil {
		return exit(2, auditErr)
	}
	var err error
	if c.JSON {
		err = rep.WriteJSON(e.stdout)
	} else {
		err = rep.WriteText(e.stdout)
	}
	if err != nil {
		return exit(2, err)
	}
	if auditErr != nil {
		return exit(2, auditErr)
	}
	if rep.Failed() {
		return exit(1, nil)
	}
	return nil
}

// workflowRenderCmd is `hvfctl workflow render`.
type workflowRenderCmd struct {
	Recipe string `required:"" help:"Recipe that declares the workflow job." type:"path"`
	Write  bool   `help:"Replace the file (atomically) instead of only printing the diff."`
	File   string `arg:"" name:"FILE" help:"Workflow file to render the job into." type:"path"`
}

// Run renders the job, proves the result passes the audit, prints the
// diff and, with --write, replaces the file.
func (c *workflowRenderCmd) Run(e *env) error {
	f, err := workflow.LoadRecipe(e.ctx, c.Recipe, recipeDeclarations)
	if err != nil {
		return exit(2, err)
	}
	if f.Job == nil {
		return exit(2, fmt.Errorf("%s declares no workflow_job", c.Recipe))
	}
	src, err := os.ReadFile(c.File)
	if err != nil {
		return exit(2, fmt.Errorf("reading workflow: %w", err))
	}
	// A file that is not a valid workflow is bad input, reported at
	// file:line as audit reports it.
	if _, err := audit.Source(c.File, src, audit.Options{Recipe: f}); err != nil {
		return exit(2, err)
	}
	out, err := render.Job(src, f.Job)
	if err != nil {
		var refusal *render.RefusalError
		if errors.As(err, &refusal) {
			return exit(1, fmt.Errorf("%s: cannot render the job safely: %w", c.File, err))
		}
		return exit(2, fmt.Errorf("%s: %w", c.File, err))
	}
	// The rendered file must pass the audit before anyone sees it as a
	// proposal.
	jobs, err := audit.Source(c.File, out, audit.Options{Recipe: f})
	if err != nil {
		return exit(2, fmt.Errorf("the rendered workflow does not parse: %w", err))
	}
	rep := &audit.Report{Verdict: "pass", Jobs: jobs, ResidualRisk: audit.ResidualRisk}
	for _, j := range jobs {
		if strings.EqualFold(j.ID, f.Job.ID) && j.Verdict == "fail" {
			rep.Verdict = "fail"
		}
	}
	if rep.Failed() {
		if err := rep.WriteText(e.stderr); err != nil {
			return exit(1, err)
		}
		return exit(1, fmt.Errorf("the rendered job %s fails the audit; the file was not changed", f.Job.ID))
	}
	fmt.Fprint(e.stdout, render.Diff(c.File, src, out))
	if c.Write && string(out) != string(src) {
		if err := render.WriteFile(c.File, out); err != nil {
			return exit(1, err)
		}
	}
	return nil
}

// recipeDeclarations evaluates a recipe's top level, without any host,
// and returns its declarations. Evaluation runs no command; the host
// refuses any that is attempted.
func recipeDeclarations(ctx context.Context, path string) ([]workflow.Declaration, error) {
	r, err := engine.Load(ctx, path, engine.Options{
		Host:    refusingHost{},
		Modules: builtins.Modules(),
		Stdlib:  stdlib.FS,
	})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []workflow.Declaration
	for _, kind := range []string{"runner", "workflow_job", "toolchain", "brew", "rosetta"} {
		for _, d := range r.Session().Declarations(kind) {
			out = append(out, workflow.Declaration{Kind: d.Kind, Pos: d.Pos.String(), Fields: d.Fields})
		}
	}
	return out, nil
}

// errNoHost is returned by refusingHost for everything.
var errNoHost = errors.New("workflow commands evaluate recipes without a host")

// refusingHost is the host of a recipe evaluated only for its
// declarations: it runs, reads and writes nothing.
type refusingHost struct{}

func (refusingHost) Name() string { return "none" }

func (refusingHost) Run(_ context.Context, cmd host.Command) (host.Result, error) {
	return host.Result{}, fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}

func (refusingHost) ReadFile(context.Context, string, int64) ([]byte, error) {
	return nil, fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}

func (refusingHost) WriteFile(context.Context, host.WriteRequest) error {
	return fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}

func (refusingHost) Download(context.Context, host.DownloadRequest) error {
	return fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}

func (refusingHost) Hash(context.Context, string) (string, int64, error) {
	return "", 0, fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}

func (refusingHost) ListArchive(context.Context, string) ([]tarcheck.Entry, error) {
	return nil, fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}
