package audit

import (
	"fmt"
	"strings"

	"github.com/rhysd/actionlint"
)

// findings runs the rules on an evaluated job and returns its report.
func (ja *jobAudit) findings() (JobReport, error) {
	if ja.j.WorkflowCall != nil {
		ja.callerFindings()
	}
	if ja.rep.LandsOnRunner {
		ja.triggerFindings()
		if err := ja.secretFindings(ja.all); err != nil {
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
			ja.rep.Scenarios = append(ja.rep.Scenarios, ja.scenarioResult(r))
		}
		if ja.rep.Environment != "" {
			ja.rep.Notes = append(ja.rep.Notes, fmt.Sprintf("the job uses the environment %q: if that environment requires reviewers, each run waits for one to approve it; that is a gate this audit cannot see (Settings > Environments), so the verdict does not count on it", ja.rep.Environment))
		}
	}
	if ja.o.Recipe != nil && (ja.rep.LandsOnRunner || ja.recipeJob()) {
		if err := ja.hostFindings(); err != nil {
			return JobReport{}, err
		}
	}
	return ja.finish(), nil
}

// scenarioResult is a row as the report shows it.
func (ja *jobAudit) scenarioResult(r *rowResult) ScenarioResult {
	runs := false
	for _, ok := range r.runs {
		runs = runs || ok
	}
	return ScenarioResult{
		ID: r.s.ID, Event: r.s.Event, Trust: r.s.Trust.String(), Trusted: r.s.Trust.OK(),
		Admitted: r.s.Admitted(), Lands: r.lands, Reachable: r.reachable, Runs: runs,
		Via: strings.Join(r.s.sortedVia(), ","), Witness: r.witness, Note: r.s.Note,
	}
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

// recipeJob reports whether the job is the one the recipe declares, so
// that a label mismatch that keeps it off the runner is reported.
func (ja *jobAudit) recipeJob() bool {
	return ja.o.Recipe != nil && ja.o.Recipe.Job != nil && strings.EqualFold(ja.o.Recipe.Job.ID, ja.j.ID.Value)
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

// triggerFindings reports reachable runs that must not reach the runner,
// forbidden triggers the guard happens to exclude, and a guard that no
// run can pass (a guard written wrongly, such as head.repo.fork ==
// 'false', which compares a boolean with a non-numeric string: NaN).
func (ja *jobAudit) triggerFindings() {
	if ja.cond != nil && !ja.anyReachable() {
		ja.add(Finding{Rule: "dead-job", Level: LevelWarn, Line: ja.cond.line,
			Message: "the job never runs: its if: (with the jobs it needs) is false in every run the workflow admits that lands on the runner",
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
			if dispatchEvent(s.Event) && ja.inputRefLine > 0 {
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
