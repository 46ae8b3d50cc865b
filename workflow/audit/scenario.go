package audit

import (
	"fmt"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// Trust classifies a kind of run by who can start it and whose code it runs.
type Trust int

const (
	// Trusted runs are what the runner exists for (push to main, a
	// labelled same-repository pull request, schedule, dispatch on main).
	Trusted Trust = iota
	// Allowed runs are started by people with write access (branch and tag
	// pushes, dispatch on a branch, merge queue).
	Allowed
	// NotAllowed runs run trusted code that no maintainer opted in
	// (a same-repository pull request without the label).
	NotAllowed
	// Untrusted runs can be started by anyone, or run a fork's code.
	Untrusted
	// Forbidden runs must never reach the runner (pull_request_target,
	// workflow_run, dispatch of an input ref).
	Forbidden
)

// String names the trust class as the report prints it.
func (t Trust) String() string {
	switch t {
	case Trusted:
		return "trusted"
	case Allowed:
		return "allowed"
	case NotAllowed:
		return "not-allowed"
	case Untrusted:
		return "untrusted"
	default:
		return "forbidden"
	}
}

// OK reports whether a run of this class may reach the runner.
func (t Trust) OK() bool { return t == Trusted || t == Allowed }

// Scenario is one kind of run (one row of the truth table).
type Scenario struct {
	// ID is the stable row name ("pr-fork-label").
	ID string
	// Event is the event_name of the run.
	Event string
	// Trust is the row's class; dispatch-branch becomes Forbidden for a job
	// that checks out a ref taken from inputs.
	Trust Trust
	// Desc says in words what kind of run it is.
	Desc string
	// Via lists the on: triggers that admit it (empty: not admitted).
	Via []string
	// Note says why a row is not admitted when a filter excluded it.
	Note string

	ref, baseRef  string
	head          string // "same", "fork" or "" (no pull request)
	labelled      bool
	actions       []string
	inputsUnknown bool
	pol           policy
	// baseFilter is the branch filter of a pull_request(_target) trigger:
	// the base branches the pull request's author may pick from.
	baseFilter refFilter
}

// Admitted reports whether the workflow's on: lets this kind of run start.
func (s *Scenario) Admitted() bool { return len(s.Via) > 0 }

// policy is what the audit must know about the repository: its name,
// its default branch and the label a maintainer adds to opt a pull
// request in.
type policy struct {
	repo, branch, label string
}

// catalog returns the fixed rows, in report order. The row names are
// stable: push-main and dispatch-main mean the default branch, whatever
// its name; pr-*-label means the opt-in label.
func catalog(p policy) []*Scenario {
	main := "refs/heads/" + p.branch
	pr := func(id, head string, label bool, trust Trust, desc string) *Scenario {
		return &Scenario{ID: id, Event: "pull_request", Trust: trust, Desc: desc, ref: "refs/pull/7/merge", baseRef: p.branch, head: head, labelled: label}
	}
	rows := []*Scenario{
		{ID: "push-main", Event: "push", Trust: Trusted, Desc: "push to the default branch " + p.branch, ref: main},
		{ID: "push-branch", Event: "push", Trust: Allowed, Desc: "push to another branch (writers only)", ref: "refs/heads/feature"},
		{ID: "push-tag", Event: "push", Trust: Allowed, Desc: "push of a tag (writers only)", ref: "refs/tags/v1"},
		pr("pr-same-nolabel", "same", false, NotAllowed, "same-repository pull request without the "+p.label+" label"),
		pr("pr-same-label", "same", true, Trusted, "same-repository pull request labelled "+p.label),
		pr("pr-fork-nolabel", "fork", false, Untrusted, "fork pull request without the "+p.label+" label"),
		pr("pr-fork-label", "fork", true, Untrusted, "fork pull request labelled "+p.label+" (the label persists across later pushes)"),
		{ID: "prt-same", Event: "pull_request_target", Trust: Forbidden, Desc: "pull_request_target from a same-repository branch", ref: main, baseRef: p.branch, head: "same"},
		{ID: "prt-fork", Event: "pull_request_target", Trust: Forbidden, Desc: "pull_request_target from a fork (runs without approval)", ref: main, baseRef: p.branch, head: "fork"},
		{ID: "pr-review-fork", Event: "pull_request_review", Trust: Untrusted, Desc: "review or review comment on a fork pull request", ref: "refs/pull/7/merge", baseRef: p.branch, head: "fork"},
		{ID: "pr-review-same", Event: "pull_request_review", Trust: Untrusted, Desc: "review or review comment on a same-repository pull request (anyone can review a public repository's pull request; no maintainer opted the run in)", ref: "refs/pull/7/merge", baseRef: p.branch, head: "same"},
		{ID: "issue-comment", Event: "issue_comment", Trust: Untrusted, Desc: "comment on an issue or pull request (anyone)", ref: main},
		{ID: "workflow-run", Event: "workflow_run", Trust: Forbidden, Desc: "workflow_run after another workflow (base privileges)", ref: main},
		{ID: "dispatch-main", Event: "workflow_dispatch", Trust: Trusted, Desc: "manual dispatch on the default branch " + p.branch, ref: main, inputsUnknown: true},
		{ID: "dispatch-branch", Event: "workflow_dispatch", Trust: Allowed, Desc: "manual dispatch on another branch", ref: "refs/heads/feature", inputsUnknown: true},
		{ID: "schedule", Event: "schedule", Trust: Trusted, Desc: "scheduled run on the default branch", ref: main},
		{ID: "merge-group", Event: "merge_group", Trust: Allowed, Desc: "merge queue run", ref: "refs/heads/gh-readonly-queue/" + p.branch + "/pr-7-0123456789abcdef0123456789abcdef01234567"},
	}
	for _, r := range rows {
		r.pol = p
	}
	return rows
}

// writerEvents are triggered only by people with write access (or by the
// repository itself); other unlisted events can be triggered by anyone.
var writerEvents = map[string]bool{
	"create": true, "delete": true, "release": true, "repository_dispatch": true,
	"deployment": true, "deployment_status": true, "label": true, "milestone": true,
	"page_build": true, "project": true, "project_card": true, "project_column": true,
	"public": true, "registry_package": true, "branch_protection_rule": true,
	"image_version": true,
}

// scenarioSet is the rows of one workflow file.
type scenarioSet struct {
	rows []*Scenario
	// call is true when the workflow is reusable (workflow_call).
	call bool
}

func (ss *scenarioSet) byID(id string) *Scenario {
	for _, r := range ss.rows {
		if r.ID == id {
			return r
		}
	}
	return nil
}

func (ss *scenarioSet) admit(id, via string, actions []string) {
	r := ss.byID(id)
	if r == nil {
		return
	}
	for _, v := range r.Via {
		if v == via {
			return
		}
	}
	r.Via = append(r.Via, via)
	for _, a := range actions {
		if !containsStr(r.actions, a) {
			r.actions = append(r.actions, a)
		}
	}
}

func containsStr(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// buildScenarios reads the workflow's on: and marks which rows it admits.
// A workflow_call trigger admits every row (any caller's run) when
// admitCall is set; otherwise its callers are audited with it.
func buildScenarios(w *actionlint.Workflow, p policy, admitCall bool) (*scenarioSet, error) {
	ss := &scenarioSet{rows: catalog(p)}
	for _, ev := range w.On {
		name := strings.ToLower(ev.EventName())
		switch e := ev.(type) {
		case *actionlint.WebhookEvent:
			if err := ss.webhook(e, name); err != nil {
				return nil, err
			}
		case *actionlint.ScheduledEvent:
			ss.admit("schedule", "schedule", nil)
		case *actionlint.WorkflowDispatchEvent:
			ss.admit("dispatch-main", "workflow_dispatch", nil)
			ss.admit("dispatch-branch", "workflow_dispatch", nil)
		case *actionlint.WorkflowCallEvent:
			ss.call = true
		case *actionlint.RepositoryDispatchEvent:
			ss.other(name)
		default:
			ss.other(name)
		}
	}
	if ss.call && admitCall {
		// A reusable workflow runs in its caller's run: every row a
		// caller can have is possible, with the caller's event.
		for _, r := range ss.rows {
			if strings.HasPrefix(r.ID, "event-") {
				continue
			}
			ss.admit(r.ID, "workflow_call", defaultActions(r.Event))
			r.inputsUnknown = true
		}
	}
	return ss, nil
}

func defaultActions(event string) []string {
	switch event {
	case "pull_request", "pull_request_target":
		return []string{"opened", "synchronize", "reopened"}
	case "pull_request_review":
		return []string{"submitted", "edited", "dismissed"}
	case "issue_comment":
		return []string{"created", "edited", "deleted"}
	case "workflow_run":
		return []string{"completed", "requested", "in_progress"}
	case "merge_group":
		return []string{"checks_requested"}
	}
	return nil
}

// other adds a row for an event outside the fixed catalog.
func (ss *scenarioSet) other(name string) {
	id := "event-" + strings.ReplaceAll(name, "_", "-")
	if ss.byID(id) == nil {
		t := Untrusted
		desc := name + " (can be triggered by anyone)"
		if writerEvents[name] {
			t = Allowed
			desc = name + " (writers only)"
		}
		ss.rows = append(ss.rows, &Scenario{ID: id, Event: name, Trust: t, Desc: desc, ref: "refs/heads/" + ss.rows[0].pol.branch, pol: ss.rows[0].pol})
	}
	ss.admit(id, name, nil)
}

func refFilterOf(inc, ign *actionlint.WebhookEventFilter) (refFilter, error) {
	var rf refFilter
	vals := func(f *actionlint.WebhookEventFilter) []string {
		var out []string
		for _, v := range f.Values {
			out = append(out, v.Value)
		}
		return out
	}
	if inc != nil {
		f, err := compileFilter(vals(inc))
		if err != nil {
			return rf, err
		}
		rf.include, rf.set = f, true
	}
	if ign != nil {
		f, err := compileFilter(vals(ign))
		if err != nil {
			return rf, err
		}
		rf.ignore, rf.set = f, true
	}
	return rf, nil
}

var branchCandidates = []string{"feature", "dev", "release/v1", "fix/x"}

// otherBranches returns branchCandidates without the default branch.
func otherBranches(def string) []string {
	var out []string
	for _, b := range branchCandidates {
		if b != def {
			out = append(out, b)
		}
	}
	return out
}

func (ss *scenarioSet) webhook(e *actionlint.WebhookEvent, name string) error {
	pos := e.Pos
	wrap := func(err error) error {
		return &InputError{Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf("on.%s: %v", name, err)}
	}
	branches, err := refFilterOf(e.Branches, e.BranchesIgnore)
	if err != nil {
		return wrap(err)
	}
	tags, err := refFilterOf(e.Tags, e.TagsIgnore)
	if err != nil {
		return wrap(err)
	}
	var types []string
	for _, t := range e.Types {
		types = append(types, strings.ToLower(t.Value))
	}
	if len(types) == 0 {
		types = defaultActions(name)
	}
	switch name {
	case "push":
		branchOK := !tags.set || branches.set
		tagOK := !branches.set || tags.set
		def := ss.rows[0].pol.branch
		if branchOK {
			if branches.admits(def) {
				ss.admit("push-main", name, nil)
			} else {
				ss.byID("push-main").Note = "excluded by the branch filter"
			}
			if b, ok := branches.pick(otherBranches(def), def); ok {
				ss.admit("push-branch", name, nil)
				ss.byID("push-branch").ref = "refs/heads/" + b
			}
		}
		if tagOK {
			if t, ok := tags.pick([]string{"v1", "v1.0.0"}, ""); ok {
				ss.admit("push-tag", name, nil)
				ss.byID("push-tag").ref = "refs/tags/" + t
			}
		}
	case "pull_request", "pull_request_target":
		def := ss.rows[0].pol.branch
		base, ok := branches.pick(append([]string{def}, otherBranches(def)...), "")
		if !ok {
			return nil
		}
		ids := []string{"pr-same-nolabel", "pr-same-label", "pr-fork-nolabel", "pr-fork-label"}
		if name == "pull_request_target" {
			ids = []string{"prt-same", "prt-fork"}
		}
		for _, id := range ids {
			ss.admit(id, name, types)
			r := ss.byID(id)
			r.baseRef = base
			r.baseFilter = branches
			if name == "pull_request_target" {
				r.ref = "refs/heads/" + base
			}
		}
	case "pull_request_review", "pull_request_review_comment":
		ss.admit("pr-review-fork", name, types)
		ss.admit("pr-review-same", name, types)
	case "issue_comment":
		ss.admit("issue-comment", name, types)
	case "workflow_run":
		ss.admit("workflow-run", name, types)
	case "merge_group":
		ss.admit("merge-group", name, types)
	default:
		ss.other(name)
	}
	return nil
}

// sortedVia returns the triggers that admit a row, sorted.
func (s *Scenario) sortedVia() []string {
	v := append([]string(nil), s.Via...)
	sort.Strings(v)
	return v
}
