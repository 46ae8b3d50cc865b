package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	Render workflowRenderCmd `cmd:"" help:"Write the recipe's runtime-macos job into a workflow file: a new job in full, or only the recipe's security and placement keys in the maintainers' job (prints a diff and the runs newly admitted and refused; --write applies it): exit 0 rendered, 1 refused (the job would fail the audit, would admit more runs without --allow-widen, or cannot be edited safely), 2 bad input."`
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
		f, err := workflow.LoadRecipe(e.ctx, c.Recipe, e.recipeDeclarations(nil, 2))
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
	Recipe     string            `required:"" help:"Recipe that declares the workflow job." type:"path"`
	Write      bool              `help:"Replace the file (atomically) instead of only printing the diff."`
	AllowWiden bool              `name:"allow-widen" help:"Accept a render that lets the existing job admit kinds of run it did not admit before."`
	Var        map[string]string `placeholder:"NAME=VALUE" help:"Set a recipe variable read with var() (repeatable), e.g. dispatch_on_default_branch=true."`
	File       string            `arg:"" name:"FILE" help:"Workflow file to render the job into." type:"path"`
}

// Run renders the job, proves the rendered job passes the audit and does
// not widen the runs the existing job admits (unless --allow-widen),
// prints the diff on stdout and what changes on stderr and, with
// --write, replaces the file.
func (c *workflowRenderCmd) Run(e *env) error {
	f, err := workflow.LoadRecipe(e.ctx, c.Recipe, e.recipeDeclarations(c.Var, 2))
	if err != nil {
		return exit(2, err)
	}
	if f.Job == nil {
		return exit(2, fmt.Errorf("%s declares no workflow_job", c.Recipe))
	}
	read := host.ReadLocalFile
	if c.Write {
		// Root rewrites the file: refuse one another account can change.
		read = func(p string, max int64) ([]byte, error) { return host.ReadTrustedLocalFile(e.trust, p, max) }
	}
	src, err := read(c.File, maxLocalFile)
	if err != nil {
		return exit(2, fmt.Errorf("reading workflow: %w", err))
	}
	// A file that is not a valid workflow is bad input, reported at
	// file:line as audit reports it.
	opts := audit.Options{Recipe: f}
	if _, err := audit.Source(c.File, src, opts); err != nil {
		return exit(2, err)
	}
	res, err := render.Render(src, f.Job)
	if err != nil {
		var refusal *render.RefusalError
		if errors.As(err, &refusal) {
			return exit(1, fmt.Errorf("%s: cannot render the job safely: %w", c.File, err))
		}
		return exit(2, fmt.Errorf("%s: %w", c.File, err))
	}
	out := res.Out
	// The rendered file must pass the audit before anyone sees it as a
	// proposal.
	after, err := audit.Source(c.File, out, opts)
	if err != nil {
		return exit(2, fmt.Errorf("the rendered workflow does not parse: %w", err))
	}
	rep := &audit.Report{Verdict: "pass", Jobs: after, ResidualRisk: audit.ResidualRisk}
	var others []audit.JobReport
	for _, j := range after {
		if j.Verdict != "fail" {
			continue
		}
		if strings.EqualFold(j.ID, f.Job.ID) {
			rep.Verdict = "fail"
		} else {
			others = append(others, j)
		}
	}
	if rep.Failed() {
		if err := rep.WriteText(e.stderr); err != nil {
			return exit(1, err)
		}
		return exit(1, fmt.Errorf("the rendered job %s fails the audit; the file was not changed", f.Job.ID))
	}
	if string(out) == string(src) {
		fmt.Fprintf(e.stderr, "%s: job %s already holds what %s declares; nothing to change\n", c.File, f.Job.ID, c.Recipe)
		reportOthers(e, c.File, others)
		return nil
	}
	var rowsBefore []audit.ScenarioResult
	if !res.Created {
		if rowsBefore, err = audit.JobScenarios(c.File, src, f.Job.ID, opts); err != nil {
			return exit(2, err)
		}
	}
	rowsAfter, err := audit.JobScenarios(c.File, out, f.Job.ID, opts)
	if err != nil {
		return exit(2, fmt.Errorf("the rendered workflow: %w", err))
	}
	guard := render.CompareGuards(f.Job.ID, rowsBefore, rowsAfter)
	if !res.Created && guard.Widens() && !c.AllowWiden {
		fmt.Fprintln(e.stderr, guard)
		return exit(1, fmt.Errorf("%s: the render would widen the runs job %s admits (%d new); the file was not changed: narrow the recipe's if: or pass --allow-widen to accept", c.File, f.Job.ID, len(guard.Admits)))
	}
	fmt.Fprint(e.stdout, render.Diff(c.File, src, out))
	what := renderSummary(f.Job.ID, res)
	fmt.Fprintln(e.stderr, guard)
	for _, n := range res.Notes {
		fmt.Fprintln(e.stderr, "note: "+n)
	}
	if c.Write {
		if err := render.WriteFile(c.File, out); err != nil {
			return exit(1, err)
		}
		fmt.Fprintf(e.stderr, "wrote %s: %s\n", c.File, what)
	} else {
		fmt.Fprintf(e.stderr, "would write %s: %s (--write applies it)\n", c.File, what)
	}
	reportOthers(e, c.File, others)
	return nil
}

// renderSummary says what a render writes: the job in full, or the keys
// it sets in the existing job.
func renderSummary(id string, res *render.Result) string {
	if res.Created {
		return "added job " + id + " in full"
	}
	return "in job " + id + " set " + strings.Join(res.Changed, ", ") + "; everything else in it kept"
}

// reportOthers says why the audit of a rendered file still fails: other
// jobs, which render does not touch.
func reportOthers(e *env, file string, others []audit.JobReport) {
	if len(others) == 0 {
		return
	}
	fmt.Fprintf(e.stderr, "note: the audit of %s still FAILs, because of jobs render does not touch:\n", file)
	for _, j := range others {
		var rules []string
		for _, fd := range j.Findings {
			if fd.Level == audit.LevelFail && !slices.Contains(rules, fd.Rule) {
				rules = append(rules, fd.Rule)
			}
		}
		fmt.Fprintf(e.stderr, "  job %s (line %d): %s\n", j.ID, j.Line, strings.Join(rules, ", "))
	}
	fmt.Fprintf(e.stderr, "  run hvfctl workflow audit %s for the witnesses\n", file)
}

// recipeDeclarations evaluates a recipe's top level, without any host,
// with recipe variables set (--var NAME=VALUE; vars may be nil), and
// returns its declarations. Evaluation runs no command; the host refuses
// any that is attempted. A recipe stopped by a bound exits with code
// (2 in the workflow commands, as their other bad input does). Run as
// root, the recipe and its modules must pass the same local-file trust
// check as run's (host.LocalTrust): evaluating one is running its code.
func (e *env) recipeDeclarations(vars map[string]string, code int) workflow.DeclarationLoader {
	return func(ctx context.Context, path string) ([]workflow.Declaration, error) {
		return declarations(ctx, path, vars, e.limits(0, 0, 0, code), e.trust)
	}
}

func declarations(ctx context.Context, path string, vars map[string]string, lim engine.Limits, trust *host.LocalTrust) ([]workflow.Declaration, error) {
	r, err := engine.Load(ctx, path, engine.Options{
		Host:       refusingHost{},
		Modules:    builtins.Modules(),
		Stdlib:     stdlib.FS,
		Vars:       vars,
		Limits:     lim,
		LocalTrust: trust,
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

func (refusingHost) ExtractArchive(context.Context, host.ExtractRequest) error {
	return fmt.Errorf("%w: %w", errNoHost, host.ErrUnsupported)
}
