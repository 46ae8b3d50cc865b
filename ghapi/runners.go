package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
)

// RunnerLabel is one label of a self-hosted runner; Type is "read-only"
// (set by the runner at configure time) or "custom".
type RunnerLabel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Runner is a self-hosted runner registered to a repository.
type Runner struct {
	ID        int64         `json:"id"`
	Name      string        `json:"name"`
	OS        string        `json:"os"`
	Status    string        `json:"status"`
	Busy      bool          `json:"busy"`
	Ephemeral bool          `json:"ephemeral"`
	Labels    []RunnerLabel `json:"labels"`
}

// LabelNames returns the runner's label names.
func (r Runner) LabelNames() []string {
	out := make([]string, len(r.Labels))
	for i, l := range r.Labels {
		out[i] = l.Name
	}
	return out
}

type runnerList struct {
	TotalCount int      `json:"total_count"`
	Runners    []Runner `json:"runners"`
}

type labelList struct {
	TotalCount int           `json:"total_count"`
	Labels     []RunnerLabel `json:"labels"`
}

// Runners lists the repository's self-hosted runners, every page; a
// non-empty name filters by runner name.
func (c *Client) Runners(ctx context.Context, r Repo, name string) ([]Runner, error) {
	var out []Runner
	for page := 1; page != 0; {
		q := url.Values{"per_page": {"100"}, "page": {fmt.Sprint(page)}}
		if name != "" {
			q.Set("name", name)
		}
		var l runnerList
		ep := endpoint{"GET", fmt.Sprintf("repos/%s/%s/actions/runners?%s", r.Owner, r.Name, q.Encode()), r, needAdminRead}
		resp, err := c.do(nobypass(ctx), ep, nil, &l)
		if err != nil {
			return nil, err
		}
		for _, x := range l.Runners {
			// The schema says only "string"; GitHub writes online/offline.
			x.Status = strings.ToLower(x.Status)
			out = append(out, x)
		}
		page = nextPage(resp, page, len(out) < l.TotalCount && len(l.Runners) > 0)
	}
	if name != "" {
		// Keep only exact names, whatever the server's filter does.
		kept := out[:0]
		for _, x := range out {
			if x.Name == name {
				kept = append(kept, x)
			}
		}
		out = kept
	}
	return out, nil
}

// nextPage is the page after page: the page parameter of the Link
// header's rel="next" URL (every Link header line is read; the URL may
// use the /repositories/ID/ form, and rel="last" may be missing), or,
// when a server sends no Link header, the next page while more items are
// due by total_count.
func nextPage(resp *github.Response, page int, more bool) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	links := resp.Header.Values("Link")
	if len(links) == 0 {
		if more {
			return page + 1
		}
		return 0
	}
	next := 0
	for _, line := range links {
		for _, link := range strings.Split(line, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(link), ";")
			target = strings.TrimSpace(target)
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") || !relNext(params) {
				continue
			}
			u, err := url.Parse(target[1 : len(target)-1])
			if err != nil {
				continue
			}
			if n, err := strconv.Atoi(u.Query().Get("page")); err == nil {
				next = n
			}
		}
	}
	if next <= page {
		return 0 // no next, or a server looping on one page
	}
	return next
}

// relNext reports whether a Link entry's parameters include rel="next"
// (rel may list several space-separated values).
func relNext(params string) bool {
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "rel") {
			continue
		}
		for _, r := range strings.Fields(strings.Trim(strings.TrimSpace(v), `"`)) {
			if strings.EqualFold(r, "next") {
				return true
			}
		}
	}
	return false
}

// RunnerLabelsPath returns the labels endpoint of runner id.
func RunnerLabelsPath(r Repo, id int64) string {
	return fmt.Sprintf("/repos/%s/%s/actions/runners/%d/labels", r.Owner, r.Name, id)
}

// RunnerLabelsBody is the body of the runner-labels PUT and POST.
type RunnerLabelsBody struct {
	Labels []string `json:"labels"`
}

// SetRunnerLabels replaces the custom labels of runner id (PUT; [] clears
// them) and returns every label it then has.
func (c *Client) SetRunnerLabels(ctx context.Context, r Repo, id int64, custom []string) ([]RunnerLabel, error) {
	if custom == nil {
		custom = []string{}
	}
	var l labelList
	ep := endpoint{"PUT", RunnerLabelsPath(r, id), r, needAdminWrite}
	if _, err := c.do(nobypass(ctx), ep, RunnerLabelsBody{Labels: custom}, &l); err != nil {
		return nil, err
	}
	return l.Labels, nil
}

// Run is a workflow run as the forensic report needs it.
type Run struct {
	ID              int64
	Name            string
	Event           string
	Status          string
	Conclusion      string
	HeadBranch      string
	HeadSHA         string
	Path            string
	RunAttempt      int
	CreatedAt       time.Time
	HTMLURL         string
	Actor           string
	TriggeringActor string
	// HeadRepo and Repo are full names; HeadRepo is "" when GitHub gives
	// none (a deleted fork).
	HeadRepo, Repo string
	// PullRequests are the numbers GitHub lists (empty for forks).
	PullRequests []int
}

// Fork reports whether the run's code came from another repository.
func (r Run) Fork() bool { return !strings.EqualFold(r.HeadRepo, r.Repo) }

// Job is one job of a run; RunnerID 0 and RunnerName "" mean no runner
// was assigned.
type Job struct {
	ID          int64
	RunID       int64
	RunAttempt  int
	Name        string
	Status      string
	Conclusion  string
	Labels      []string
	RunnerID    int64
	RunnerName  string
	StartedAt   time.Time
	CompletedAt time.Time
	HTMLURL     string
}

// RunsQuery selects workflow runs.
type RunsQuery struct {
	// Created is GitHub's search date syntax: ">=2026-01-01" or
	// "2026-01-01..2026-01-31".
	Created string
}

// RunsPage lists every run matching q and returns them with the
// total_count GitHub reported for the search.
func (c *Client) Runs(ctx context.Context, r Repo, q RunsQuery) ([]Run, int, error) {
	opts := &github.ListWorkflowRunsOptions{Created: q.Created, ListOptions: github.ListOptions{PerPage: 100, Page: 1}}
	var out []Run
	total := 0
	for {
		ep := endpoint{"GET", fmt.Sprintf("/repos/%s/%s/actions/runs", r.Owner, r.Name), r, needActions}
		l, resp, err := call(c, ep, func() (*github.WorkflowRuns, *github.Response, error) {
			return c.gh.Actions.ListRepositoryWorkflowRuns(nobypass(ctx), r.Owner, r.Name, opts)
		})
		if err != nil {
			return nil, 0, err
		}
		total = l.GetTotalCount()
		for _, w := range l.WorkflowRuns {
			out = append(out, convertRun(w))
		}
		next := nextPage(resp, opts.Page, len(out) < total && len(l.WorkflowRuns) > 0)
		if next == 0 {
			return out, total, nil
		}
		opts.Page = next
	}
}

func convertRun(w *github.WorkflowRun) Run {
	run := Run{
		ID: w.GetID(), Name: w.GetName(), Event: w.GetEvent(), Status: w.GetStatus(), Conclusion: w.GetConclusion(),
		HeadBranch: w.GetHeadBranch(), HeadSHA: w.GetHeadSHA(), Path: w.GetPath(), RunAttempt: w.GetRunAttempt(),
		CreatedAt: w.GetCreatedAt().Time, HTMLURL: w.GetHTMLURL(),
		Actor: w.GetActor().GetLogin(), TriggeringActor: w.GetTriggeringActor().GetLogin(),
		HeadRepo: w.GetHeadRepository().GetFullName(), Repo: w.GetRepository().GetFullName(),
	}
	for _, pr := range w.PullRequests {
		run.PullRequests = append(run.PullRequests, pr.GetNumber())
	}
	return run
}

// Jobs lists every job of a run, of every attempt (filter=all).
func (c *Client) Jobs(ctx context.Context, r Repo, runID int64) ([]Job, error) {
	opts := &github.ListWorkflowJobsOptions{Filter: "all", ListOptions: github.ListOptions{PerPage: 100, Page: 1}}
	var out []Job
	for {
		ep := endpoint{"GET", fmt.Sprintf("/repos/%s/%s/actions/runs/%d/jobs", r.Owner, r.Name, runID), r, needActions}
		l, resp, err := call(c, ep, func() (*github.Jobs, *github.Response, error) {
			return c.gh.Actions.ListWorkflowJobs(nobypass(ctx), r.Owner, r.Name, runID, opts)
		})
		if err != nil {
			return nil, err
		}
		for _, j := range l.Jobs {
			out = append(out, Job{
				ID: j.GetID(), RunID: j.GetRunID(), RunAttempt: int(j.GetRunAttempt()), Name: j.GetName(),
				Status: j.GetStatus(), Conclusion: j.GetConclusion(), Labels: j.Labels,
				RunnerID: j.GetRunnerID(), RunnerName: j.GetRunnerName(),
				StartedAt: j.GetStartedAt().Time, CompletedAt: j.GetCompletedAt().Time, HTMLURL: j.GetHTMLURL(),
			})
		}
		next := nextPage(resp, opts.Page, len(out) < l.GetTotalCount() && len(l.Jobs) > 0)
		if next == 0 {
			return out, nil
		}
		opts.Page = next
	}
}

// CodeOwnerReview reports whether changes to branch need a code owner's
// review, by branch protection or by a ruleset's pull_request rule, and
// which one says so ("" when neither).
func (c *Client) CodeOwnerReview(ctx context.Context, r Repo, branch string) (bool, string, error) {
	ep := endpoint{"GET", fmt.Sprintf("/repos/%s/%s/rules/branches/%s", r.Owner, r.Name, url.PathEscape(branch)), r, needMetadata}
	rules, _, err := call(c, ep, func() (*github.BranchRules, *github.Response, error) {
		// go-github v75 puts the branch into this path unescaped (its
		// GetBranchProtection escapes it).
		return c.gh.Repositories.GetRulesForBranch(nobypass(ctx), r.Owner, r.Name, url.PathEscape(branch), &github.ListOptions{PerPage: 100})
	})
	if err != nil && !IsNotFound(err) {
		return false, "", err
	}
	if rules != nil {
		for _, pr := range rules.PullRequest {
			if pr.Parameters.RequireCodeOwnerReview {
				return true, fmt.Sprintf("ruleset %d requires a code owner's review", pr.RulesetID), nil
			}
		}
	}
	ep = endpoint{"GET", fmt.Sprintf("/repos/%s/%s/branches/%s/protection", r.Owner, r.Name, url.PathEscape(branch)), r, needAdminRead}
	p, _, err := call(c, ep, func() (*github.Protection, *github.Response, error) {
		return c.gh.Repositories.GetBranchProtection(nobypass(ctx), r.Owner, r.Name, branch)
	})
	if errors.Is(err, github.ErrBranchNotProtected) {
		// 404 "Branch not protected"; any other 404 (no such branch, a
		// token that cannot see the settings) stays an error.
		return false, "", nil
	}
	if err != nil {
		return false, "", err
	}
	if rv := p.GetRequiredPullRequestReviews(); rv != nil && rv.RequireCodeOwnerReviews {
		return true, "branch protection of " + branch + " requires a code owner's review", nil
	}
	return false, "", nil
}

// IssueLabels returns the current labels of issue or pull request n.
func (c *Client) IssueLabels(ctx context.Context, r Repo, n int) ([]string, error) {
	ep := endpoint{"GET", fmt.Sprintf("/repos/%s/%s/issues/%d/labels", r.Owner, r.Name, n), r, needIssuesRead}
	ls, _, err := call(c, ep, func() ([]*github.Label, *github.Response, error) {
		return c.gh.Issues.ListLabelsByIssue(nobypass(ctx), r.Owner, r.Name, n, &github.ListOptions{PerPage: 100})
	})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.GetName())
	}
	return out, nil
}
