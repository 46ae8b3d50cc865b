package main

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/ghapi"
	"github.com/sysprog21/hvfctl/workflow/audit"
)

// gitHubRunsCmd is `hvfctl github runs`.
type gitHubRunsCmd struct {
	gitHubFlags
	Repo   string   `placeholder:"OWNER/NAME" help:"The repository (default: the recipe's)."`
	Recipe string   `xor:"runners" type:"path" help:"Take the repository and the runner names from the recipe."`
	Runner []string `xor:"runners" placeholder:"NAME" help:"A runner name (repeatable)."`
	Since  string   `default:"30d" help:"How far back: Nd, Nh or Nw before now, or a date (2026-07-01) or RFC 3339 time."`
	Branch string   `default:"main" help:"The default branch (pushes and dispatches on it are trusted)."`
	Label  string   `default:"ci-hvf" help:"The opt-in label (the recipe's with --recipe)."`
	JSON   bool     `name:"json" help:"Print the report as JSON."`

	// now is the clock (tests); nil means time.Now.
	now func() time.Time
}

// Help implements kong.HelpProvider.
func (c *gitHubRunsCmd) Help() string {
	return `The forensic report: every job that ran on the runners (matched by runner name, and by the ids of the runners registered under those names now) in the period, with its run (event, head repository, branch, actors, pull request), classified by the trust policy of ` + "`hvfctl workflow audit`" + `. Runs from forks are recognised by head_repository.full_name (GitHub lists no pull request for them). Long periods are split into created ranges because GitHub returns at most 1,000 runs per search. Logs and run records are kept about 90 days.

A public repository's runs can be read without a token (60 requests an hour); otherwise the token needs Actions: read.

Exit status: 0 no untrusted run reached a runner, 1 at least one did (each listed with its URL), 2 bad input or API error.

Example:
  hvfctl github runs --recipe recipes/m4.star --since 90d
  hvfctl github runs --repo sysprog21/elfuse --runner macmini-m4-hvf --json`
}

var sinceRel = regexp.MustCompile(`^([0-9]{1,5})([hdw])$`)

// parseSince reads --since.
func parseSince(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if m := sinceRel.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"h": time.Hour, "d": 24 * time.Hour, "w": 7 * 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("--since %q: want Nd, Nh or Nw (e.g. 30d), a date (2026-07-01) or an RFC 3339 time", s)
}

// runsEntry is one job on a runner in the report.
type runsEntry struct {
	URL             string    `json:"url"`
	RunID           int64     `json:"run_id"`
	RunAttempt      int       `json:"run_attempt"`
	Workflow        string    `json:"workflow"`
	Job             string    `json:"job"`
	JobID           int64     `json:"job_id"`
	RunnerName      string    `json:"runner_name"`
	RunnerID        int64     `json:"runner_id"`
	Created         time.Time `json:"created_at"`
	Event           string    `json:"event"`
	HeadRepository  string    `json:"head_repository"`
	Repository      string    `json:"repository"`
	Fork            bool      `json:"fork"`
	Branch          string    `json:"branch"`
	HeadSHA         string    `json:"head_sha"`
	Actor           string    `json:"actor"`
	TriggeringActor string    `json:"triggering_actor"`
	PullRequests    []int     `json:"pull_requests"`
	PRLabels        []string  `json:"pr_labels"`
	Conclusion      string    `json:"conclusion"`
	Trust           string    `json:"trust"`
	Trusted         bool      `json:"trusted"`
	Scenario        string    `json:"scenario"`
	Why             string    `json:"why"`
}

// runsReport is `github runs --json`.
type runsReport struct {
	Repository string      `json:"repository"`
	Runners    []string    `json:"runners"`
	RunnerIDs  []int64     `json:"runner_ids"`
	Since      time.Time   `json:"since"`
	Until      time.Time   `json:"until"`
	RunsSeen   int         `json:"runs_seen"`
	Jobs       []runsEntry `json:"jobs"`
	Untrusted  int         `json:"untrusted"`
}

// Run writes the forensic report.
func (c *gitHubRunsCmd) Run(e *env) error {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	until := now().UTC()
	since, err := parseSince(c.Since, until)
	if err != nil {
		return exit(2, err)
	}
	var repo ghapi.Repo
	names := c.Runner
	label := c.Label
	if c.Recipe != "" {
		spec, err := recipeGitHubSpec(e, c.Recipe)
		if err != nil {
			return exit(2, err)
		}
		if repo, err = ghapi.ParseRepo(spec.repo); err != nil {
			return exit(2, fmt.Errorf("%s: %w", c.Recipe, err))
		}
		names = spec.runners
		if spec.label != "" {
			label = spec.label
		}
	}
	if c.Repo != "" {
		if repo, err = ghapi.ParseRepo(c.Repo); err != nil {
			return exit(2, fmt.Errorf("--repo: %w", err))
		}
	}
	if repo.Name == "" {
		return exit(2, fmt.Errorf("give --repo OWNER/NAME or --recipe RECIPE"))
	}
	if len(names) == 0 {
		return exit(2, fmt.Errorf("give --recipe RECIPE or --runner NAME: which runners to report on"))
	}
	red := host.NewRedactor()
	gh, err := c.gitHub(e, red)
	if err != nil {
		return exit(2, err)
	}
	fail := func(err error) error { return exit(2, fmt.Errorf("%s", red.Scrub(err.Error()))) }
	nameSet := map[string]bool{}
	ids := map[int64]bool{}
	rep := runsReport{Repository: repo.String(), Since: since, Until: until, Jobs: []runsEntry{}, RunnerIDs: []int64{}}
	for _, n := range names {
		nameSet[n] = true
		rep.Runners = append(rep.Runners, n)
		if gh.Credential().OK() {
			// Runners registered under these names now; a job that ran
			// on them before a rename is matched by id.
			rs, err := gh.Runners(e.ctx, repo, n)
			if err == nil {
				for _, r := range rs {
					ids[r.ID] = true
					rep.RunnerIDs = append(rep.RunnerIDs, r.ID)
				}
			}
		}
	}
	runs, err := gh.RunsSince(e.ctx, repo, since, until)
	if err != nil {
		return fail(err)
	}
	rep.RunsSeen = len(runs)
	jobs, err := gh.JobsOn(e.ctx, repo, runs, nameSet, ids)
	if err != nil {
		return fail(err)
	}
	cache := map[int][]string{}
	prLabels := func(n int) []string {
		if l, ok := cache[n]; ok {
			return l
		}
		l, err := gh.IssueLabels(e.ctx, repo, n)
		if err != nil {
			l = nil
		} else if l == nil {
			l = []string{}
		}
		cache[n] = l
		return l
	}
	for _, rj := range jobs {
		run, job := rj.Run, rj.Job
		headRepo := run.HeadRepo
		if headRepo == "" && run.Repo != "" {
			headRepo = "(none)" // a deleted fork: not the repository
		}
		// The labels of a same-repository pull request decide whether a
		// maintainer opted it in; they are its labels now (GitHub keeps
		// no history of them in the run), and unknown when unreadable.
		var labels []string
		if run.Event == "pull_request" && !run.Fork() && len(run.PullRequests) > 0 {
			labels = prLabels(run.PullRequests[0])
		}
		id, trust := audit.ClassifyRun(audit.Run{Event: run.Event, Repo: run.Repo, HeadRepo: headRepo, HeadBranch: run.HeadBranch, Labels: labels}, audit.Options{Repo: repo.String(), DefaultBranch: c.Branch, OptInLabel: label})
		why := runWhy(id, run, labels != nil)
		head := run.HeadRepo
		ent := runsEntry{
			URL: run.HTMLURL, RunID: run.ID, RunAttempt: job.RunAttempt, Workflow: run.Name, Job: job.Name, JobID: job.ID,
			RunnerName: job.RunnerName, RunnerID: job.RunnerID, Created: run.CreatedAt, Event: run.Event,
			HeadRepository: head, Repository: run.Repo, Fork: run.Fork(), Branch: run.HeadBranch, HeadSHA: run.HeadSHA,
			Actor: run.Actor, TriggeringActor: run.TriggeringActor, PullRequests: run.PullRequests, PRLabels: labels,
			Conclusion: job.Conclusion, Trust: trust.String(), Trusted: trust.OK(), Scenario: id, Why: why,
		}
		if ent.PullRequests == nil {
			ent.PullRequests = []int{}
		}
		if job.HTMLURL != "" && ent.URL == "" {
			ent.URL = job.HTMLURL
		}
		if trust == audit.Untrusted || trust == audit.Forbidden {
			rep.Untrusted++
		}
		rep.Jobs = append(rep.Jobs, ent)
	}
	if c.JSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return exit(2, err)
		}
	} else {
		writeRunsText(e.stdout, rep)
	}
	if rep.Untrusted > 0 {
		return exit(1, nil)
	}
	return nil
}

// runWhy says in words which row of the audit's truth table a run is.
func runWhy(id string, run ghapi.Run, labelsKnown bool) string {
	switch id {
	case "pr-fork-nolabel", "pr-fork-label":
		return "pull request from the fork " + orNone(run.HeadRepo) + ": anyone's code"
	case "pr-same-nolabel":
		if labelsKnown {
			return "same-repository pull request without the opt-in label: no maintainer opted it in"
		}
		return "same-repository pull request whose labels could not be read: it was allowed only if a maintainer had labelled it"
	case "pr-same-label":
		return "same-repository pull request carrying the opt-in label"
	case "prt-same", "prt-fork":
		return "pull_request_target runs with the base repository's privileges and must never reach the runner"
	case "pr-review-same", "pr-review-fork":
		return "a review event, which anyone can cause"
	case "issue-comment":
		return "an issue comment, which anyone can write"
	case "workflow-run":
		return "workflow_run runs with base privileges after another workflow and must never reach the runner"
	case "push-main":
		return "push to the default branch"
	case "push-branch", "push-tag":
		return "push by a writer"
	case "dispatch-main", "dispatch-branch":
		return "manual dispatch by a writer"
	case "schedule":
		return "scheduled run"
	case "merge-group":
		return "merge queue run"
	}
	if strings.HasPrefix(id, "event-") {
		return run.Event + " event"
	}
	return id
}

func orNone(s string) string {
	if s == "" {
		return "(deleted)"
	}
	return s
}

// writeRunsText prints the report for people: untrusted runs first, each
// with its URL.
func writeRunsText(w io.Writer, rep runsReport) {
	fmt.Fprintf(w, "Jobs on %s of %s created %s .. %s (%d runs read):\n", strings.Join(rep.Runners, ", "), rep.Repository,
		rep.Since.Format("2006-01-02 15:04Z07:00"), rep.Until.Format("2006-01-02 15:04Z07:00"), rep.RunsSeen)
	if len(rep.Jobs) == 0 {
		fmt.Fprintln(w, "  none")
	}
	line := func(j runsEntry) {
		pr := ""
		if len(j.PullRequests) > 0 {
			var ns []string
			for _, n := range j.PullRequests {
				ns = append(ns, "#"+strconv.Itoa(n))
			}
			pr = " PR " + strings.Join(ns, ",")
		}
		head := j.HeadRepository
		if head == "" {
			head = "(unknown head repository)"
		}
		fmt.Fprintf(w, "  %-11s %s  %s\n", j.Trust, j.Created.UTC().Format("2006-01-02 15:04"), j.URL)
		fmt.Fprintf(w, "              %s %q job %q attempt %d on %s (id %d)\n", j.Event, j.Workflow, j.Job, j.RunAttempt, j.RunnerName, j.RunnerID)
		fmt.Fprintf(w, "              from %s branch %s%s, by %s (triggered by %s): %s\n", head, j.Branch, pr, j.Actor, j.TriggeringActor, j.Why)
	}
	for _, pass := range []bool{false, true} {
		for _, j := range rep.Jobs {
			if j.Trusted == pass {
				line(j)
			}
		}
	}
	if rep.Untrusted > 0 {
		fmt.Fprintf(w, "\n%d job(s) of untrusted runs reached the runners. Read each run's log, then treat the Mac as compromised: rotate what the runner account could reach and re-provision it (docs/github.md).\n", rep.Untrusted)
		return
	}
	fmt.Fprintln(w, "\nNo untrusted run reached the runners in this period.")
}
