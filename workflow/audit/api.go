package audit

import (
	"context"
	"fmt"
	"strings"
)

// JobScenarios audits one workflow file's contents and returns the truth
// table of the job jobID: every row of the catalog, admitted or not, with
// Runs (the job's needs and if: let that kind of run start it, wherever
// it lands), Lands and Reachable. Comparing the Runs of two versions of a
// job tells which kinds of run a change of its guard newly admits or
// refuses. Bad input is an *InputError; an unknown job is an error.
func JobScenarios(name string, src []byte, jobID string, o Options) ([]ScenarioResult, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	sess := newSession(o)
	f := sess.add(name, src, true)
	if f == nil {
		return nil, sess.errs[0]
	}
	// Load callees as report would, so that the literals are the same.
	if _, err := sess.report(context.Background()); err != nil {
		return nil, err
	}
	fa := newFileAudit(sess, f, nil, 0)
	if _, err := fa.run(); err != nil {
		return nil, err
	}
	ja := fa.jobs[strings.ToLower(jobID)]
	if ja == nil {
		return nil, fmt.Errorf("%s: no job %q", name, jobID)
	}
	out := make([]ScenarioResult, 0, len(ja.rows))
	for _, r := range ja.rows {
		out = append(out, ja.scenarioResult(r))
	}
	return out, nil
}

// Run is what GitHub reports about one workflow run, for ClassifyRun.
type Run struct {
	// Event is the run's event name (push, pull_request, ...).
	Event string
	// Repo is the repository's owner/name; HeadRepo is the head
	// repository's (a fork's for a fork pull request; empty when none).
	Repo, HeadRepo string
	// HeadBranch is the branch or tag the run is for.
	HeadBranch string
	// Tag is set when HeadBranch is a tag (a tag push).
	Tag bool
	// Labels are the pull request's labels when known.
	Labels []string
}

// ClassifyRun names the row of the audit's truth table a run belongs to
// and its trust class, by the same policy as the audit (Options give the
// default branch and the opt-in label). A pull request whose head
// repository is not the repository itself is a fork's.
func ClassifyRun(r Run, o Options) (id string, t Trust) {
	p := o.policy()
	same := r.HeadRepo == "" || strings.EqualFold(r.HeadRepo, r.Repo)
	labelled := false
	for _, l := range r.Labels {
		labelled = labelled || strings.EqualFold(l, p.label)
	}
	pick := func(sameID, forkID string) string {
		if same {
			return sameID
		}
		return forkID
	}
	switch strings.ToLower(r.Event) {
	case "push":
		switch {
		case r.Tag:
			id = "push-tag"
		case r.HeadBranch == p.branch:
			id = "push-main"
		default:
			id = "push-branch"
		}
	case "pull_request":
		id = pick("pr-same-nolabel", "pr-fork-nolabel")
		if labelled {
			id = pick("pr-same-label", "pr-fork-label")
		}
	case "pull_request_target":
		id = pick("prt-same", "prt-fork")
	case "pull_request_review", "pull_request_review_comment":
		id = pick("pr-review-same", "pr-review-fork")
	case "issue_comment":
		id = "issue-comment"
	case "workflow_run":
		id = "workflow-run"
	case "workflow_dispatch":
		id = "dispatch-branch"
		if r.HeadBranch == p.branch {
			id = "dispatch-main"
		}
	case "schedule":
		id = "schedule"
	case "merge_group":
		id = "merge-group"
	default:
		name := strings.ToLower(r.Event)
		if writerEvents[name] {
			return "event-" + strings.ReplaceAll(name, "_", "-"), Allowed
		}
		return "event-" + strings.ReplaceAll(name, "_", "-"), Untrusted
	}
	for _, s := range catalog(p) {
		if s.ID == id {
			return id, s.Trust
		}
	}
	return id, Untrusted
}
