// Package audit proves which GitHub Actions runs can reach the
// self-hosted runner: for every job of every workflow file it decides
// whether the job lands on the runner (runs-on against the runner's
// labels), builds the kinds of run the workflow's on: admits, evaluates the
// job's if: in each with GitHub's expression semantics, and reports every
// reachable run that is not trusted, with a witness. It also checks
// triggers, secrets, permissions, action pinning, dead steps, concurrency
// and, given a recipe, that the host provides what the job uses.
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow"
)

// DefaultLabels are the runner's labels when neither --labels nor a
// recipe gives them (the setup document's registration).
var DefaultLabels = []string{"self-hosted", "macOS", "arm64", "m4", "hvf"}

// Options configures an audit.
type Options struct {
	// Labels are the runner's labels; empty means the recipe's, else
	// DefaultLabels.
	Labels []string
	// Recipe, when set, enables the host cross-check.
	Recipe *workflow.RecipeFacts
}

func (o Options) labels() []string {
	switch {
	case len(o.Labels) > 0:
		return o.Labels
	case o.Recipe != nil && len(o.Recipe.Labels) > 0:
		return o.Recipe.Labels
	}
	return DefaultLabels
}

// Files audits workflow files. Bad input (unreadable file, YAML, workflow
// or expression syntax) is an *InputError naming file:line.
func Files(ctx context.Context, files []string, o Options) (*Report, error) {
	r := &Report{Verdict: "pass", ResidualRisk: ResidualRisk, Jobs: []JobReport{}}
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit interrupted: %w", err)
		}
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, &InputError{File: f, Msg: fmt.Sprintf("reading workflow: %v", err)}
		}
		jobs, err := Source(f, src, o)
		if err != nil {
			return nil, err
		}
		r.Jobs = append(r.Jobs, jobs...)
	}
	for _, j := range r.Jobs {
		if j.Verdict == "fail" {
			r.Verdict = "fail"
		}
	}
	return r, nil
}

// Source audits one workflow file's contents; name is used in reports
// and errors.
func Source(name string, src []byte, o Options) ([]JobReport, error) {
	w, errs := actionlint.Parse(src)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		e := errs[0]
		line := e.Line
		if line < 1 {
			// The YAML parser gives no line for some errors at the
			// end of the input (an unclosed quote): point at the last.
			line = bytes.Count(bytes.TrimRight(src, "\n"), []byte("\n")) + 1
		}
		return nil, &InputError{File: name, Line: line, Col: e.Column, Msg: e.Message}
	}
	if w == nil {
		return nil, &InputError{File: name, Line: 1, Msg: "not a workflow"}
	}
	a := &fileAudit{name: name, w: w, o: o, labels: o.labels()}
	jobs, err := a.run()
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.File = name
			return nil, ie
		}
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return jobs, nil
}

type fileAudit struct {
	name   string
	w      *actionlint.Workflow
	o      Options
	labels []string
}

func (a *fileAudit) repo() string {
	return a.o.Recipe.Repository()
}

func (a *fileAudit) run() ([]JobReport, error) {
	ids := make([]string, 0, len(a.w.Jobs))
	for id := range a.w.Jobs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		pi, pj := a.w.Jobs[ids[i]].Pos, a.w.Jobs[ids[j]].Pos
		if pi == nil || pj == nil {
			return ids[i] < ids[j]
		}
		return pi.IsBefore(pj)
	})
	var out []JobReport
	for _, id := range ids {
		jr, err := a.job(a.w.Jobs[id])
		if err != nil {
			return nil, err
		}
		out = append(out, jr)
	}
	return out, nil
}

// jobAudit holds one job's parsed pieces.
type jobAudit struct {
	*fileAudit
	j      *actionlint.Job
	ss     *scenarioSet
	cond   *cond
	runsOn *runsOn
	refs   *refSet
	combos []map[string]any
	rep    JobReport
	// rows are the evaluated rows, in catalog order.
	rows []*rowResult
	// inputRefLine is the line of a checkout of a ref taken from
	// inputs (0: none).
	inputRefLine int
}

type rowResult struct {
	s         *Scenario
	lands     bool
	reachable bool
	witness   string
	labels    []string
	// vars are the variants the row was evaluated over.
	vars []variant
}

func (a *fileAudit) job(j *actionlint.Job) (JobReport, error) {
	ja := &jobAudit{fileAudit: a, j: j}
	ja.rep = JobReport{File: a.name, ID: j.ID.Value, Line: posLine(j.ID.Pos), Verdict: "pass", Scenarios: []ScenarioResult{}, Findings: []Finding{}}
	var err error
	if ja.ss, err = buildScenarios(a.w, a.repo()); err != nil {
		return JobReport{}, err
	}
	if ja.cond, err = parseCond(j.If); err != nil {
		return JobReport{}, err
	}
	if ja.runsOn, err = parseRunsOn(j.RunsOn); err != nil {
		return JobReport{}, err
	}
	// Parse every other expression of the job up front: a syntax error
	// anywhere is bad input.
	all, err := ja.templates()
	if err != nil {
		return JobReport{}, err
	}
	ja.combos = matrixCombos(j)
	ja.rep.RunsOn = runsOnText(j.RunsOn)
	if ja.runsOn == nil {
		if j.WorkflowCall != nil {
			ja.rep.RunsOn = "(calls " + j.WorkflowCall.Uses.Value + ")"
		}
		ja.callerFindings()
		return ja.finish(), nil
	}
	ja.refs = newRefSet()
	if ja.cond != nil && ja.cond.e != nil {
		ja.refs.add(ja.cond.e)
	}
	for _, t := range ja.runsOn.templates() {
		for _, e := range t.exprs {
			ja.refs.add(e)
		}
	}
	if err := ja.evalRows(); err != nil {
		return JobReport{}, err
	}
	for _, r := range ja.rows {
		if r.lands {
			ja.rep.LandsOnRunner = true
		}
	}
	if ja.rep.LandsOnRunner {
		ja.triggerFindings()
		if err := ja.secretFindings(all); err != nil {
			return JobReport{}, err
		}
		ja.permissionFindings()
		ja.pinFindings()
		if err := ja.stepFindings(); err != nil {
			return JobReport{}, err
		}
		if err := ja.concurrencyFindings(); err != nil {
			return JobReport{}, err
		}
		for _, r := range ja.rows {
			ja.rep.Scenarios = append(ja.rep.Scenarios, ScenarioResult{
				ID: r.s.ID, Event: r.s.Event, Trust: r.s.Trust.String(), Trusted: r.s.Trust.OK(),
				Admitted: r.s.Admitted(), Lands: r.lands, Reachable: r.reachable,
				Via: strings.Join(r.s.sortedVia(), ","), Witness: r.witness, Note: r.s.Note,
			})
		}
	}
	if a.o.Recipe != nil && (ja.rep.LandsOnRunner || ja.meantForRunner()) {
		if err := ja.hostFindings(); err != nil {
			return JobReport{}, err
		}
	}
	return ja.finish(), nil
}

func (ja *jobAudit) finish() JobReport {
	for _, f := range ja.rep.Findings {
		if f.Level == LevelFail {
			ja.rep.Verdict = "fail"
		}
	}
	return ja.rep
}

func (ja *jobAudit) add(f Finding) {
	ja.rep.Findings = append(ja.rep.Findings, f)
}

// meantForRunner reports whether the job is the recipe's job or asks for
// a self-hosted runner, so that a label mismatch that keeps it off the
// runner is reported.
func (ja *jobAudit) meantForRunner() bool {
	if ja.o.Recipe != nil && ja.o.Recipe.Job != nil && strings.EqualFold(ja.o.Recipe.Job.ID, ja.j.ID.Value) {
		return true
	}
	if ja.j.RunsOn != nil {
		for _, l := range ja.j.RunsOn.Labels {
			if strings.EqualFold(l.Value, "self-hosted") {
				return true
			}
		}
	}
	return false
}

func runsOnText(r *actionlint.Runner) string {
	if r == nil {
		return ""
	}
	var parts []string
	for _, l := range r.Labels {
		parts = append(parts, l.Value)
	}
	s := ""
	switch {
	case r.LabelsExpr != nil:
		s = r.LabelsExpr.Value
	case len(parts) == 1:
		s = parts[0]
	case len(parts) > 1:
		s = "[" + strings.Join(parts, ", ") + "]"
	}
	if r.Group != nil {
		s = strings.TrimSpace(s + " group=" + r.Group.Value)
	}
	return s
}

// evalRows evaluates runs-on and if: in every admitted row.
func (ja *jobAudit) evalRows() error {
	if ok, line := ja.checksOutInputRef(); ok {
		ja.inputRefLine = line
		for _, id := range []string{"dispatch-main", "dispatch-branch"} {
			if s := ja.ss.byID(id); s != nil {
				s.Trust = Forbidden
				s.Desc += fmt.Sprintf(", checking out a ref taken from inputs at line %d", line)
			}
		}
	}
	others := ja.refs.labelLiterals()
	for _, s := range ja.ss.rows {
		r := &rowResult{s: s}
		ja.rows = append(ja.rows, r)
		if !s.Admitted() {
			continue
		}
		r.vars = s.variants(others, false)
		if err := ja.evalRow(r); err != nil {
			return err
		}
	}
	return nil
}

func (ja *jobAudit) evalRow(r *rowResult) error {
	c := ja.cond
	statuses := allStatuses[:1]
	if c != nil && c.status {
		statuses = allStatuses
	}
	cut := false
	for _, v := range r.vars {
		for _, combo := range ja.combos {
			base := completeContext(deepCopy(v.ctx).(map[string]any))
			if combo != nil {
				base["matrix"] = deepCopy(map[string]any(combo))
			}
			as, ok := assignments(base, ja.refs.unknowns(base))
			cut = cut || !ok
			for _, as := range as {
				labels, group, err := ja.runsOn.resolve(as.ctx)
				if err != nil {
					return err
				}
				if !landsOn(labels, group, ja.labels) {
					continue
				}
				if !r.lands {
					r.lands, r.labels = true, labels
				}
				if c != nil && c.always != "" {
					r.reachable = true
					r.witness = r.s.ID + ": if: " + oneLine(c.src) + " — " + c.always
					return nil
				}
				if c == nil {
					r.reachable = true
					r.witness = r.s.ID + ": the job has no if: guard"
					if d := joinNonEmpty(v.desc, describeCombo(combo)); d != "" {
						r.witness += " [" + d + "]"
					}
					return nil
				}
				for _, st := range statuses {
					val, steps, err := c.e.TraceWith(exprCtx(as.ctx), exprOpts(st))
					if err != nil {
						return fmt.Errorf("line %d: evaluating if: %q: %w", c.line, c.src, err)
					}
					if !truthy(val) {
						continue
					}
					v2 := v
					v2.desc = joinNonEmpty(v.desc, describeCombo(combo))
					r.reachable = true
					r.witness = r.s.ID + ": " + witness(v2, as, st, c, steps)
					return nil
				}
			}
		}
	}
	if cut && !r.reachable && r.lands {
		r.reachable = true
		r.witness = fmt.Sprintf("%s: too many unknown values to enumerate (more than %d combinations): assumed reachable", r.s.ID, maxAssignments)
	}
	return nil
}

func joinNonEmpty(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

// triggerFindings reports reachable runs that must not reach the runner,
// forbidden triggers the guard happens to exclude, and a guard that no
// run can pass (a guard written wrongly, such as head.repo.fork ==
// 'false', which compares a boolean with a non-numeric string: NaN).
func (ja *jobAudit) triggerFindings() {
	if ja.cond != nil && !ja.anyReachable() {
		ja.add(Finding{Rule: "dead-job", Level: LevelWarn, Line: ja.cond.line,
			Message: "the job never runs: its if: is false in every run the workflow admits that lands on the runner",
			Witness: "if: " + oneLine(ja.cond.src)})
	}
	for _, r := range ja.rows {
		s := r.s
		if !s.Admitted() || s.Trust.OK() {
			continue
		}
		line := posLine(ja.j.ID.Pos)
		if ja.j.If != nil {
			line = posLine(ja.j.If.Pos)
		}
		switch {
		case r.reachable && s.Trust == Forbidden:
			w := r.witness
			if s.Event == "workflow_dispatch" && ja.inputRefLine > 0 {
				w += fmt.Sprintf("; and the job checks out a ref taken from inputs (line %d)", ja.inputRefLine)
			}
			ja.add(Finding{Rule: "forbidden-trigger", Level: LevelFail, Line: line,
				Message: fmt.Sprintf("%s (%s) can run this job on the runner", s.ID, s.Desc), Witness: w})
		case r.reachable:
			ja.add(Finding{Rule: "untrusted-run", Level: LevelFail, Line: line,
				Message: fmt.Sprintf("%s (%s, %s) can run this job on the runner", s.ID, s.Desc, s.Trust), Witness: r.witness})
		case s.Trust == Forbidden && r.lands && !(len(s.Via) == 1 && s.Via[0] == "workflow_call"):
			ja.add(Finding{Rule: "forbidden-trigger", Level: LevelWarn, Line: line,
				Message: fmt.Sprintf("on: admits %s (%s); the if: excludes it today, but a job on the runner should not share a workflow with this trigger", s.ID, s.Desc),
				Witness: s.ID + " via " + strings.Join(s.sortedVia(), ",")})
		}
	}
}

// anyReachable reports whether some admitted run lands on the runner and
// passes the job's if:.
func (ja *jobAudit) anyReachable() bool {
	for _, r := range ja.rows {
		if r.reachable {
			return true
		}
	}
	return false
}
