package render

import (
	"fmt"
	"strings"

	"github.com/sysprog21/hvfctl/workflow/audit"
)

// GuardDiff is how a render changes the kinds of run (the audit's
// scenarios) that can reach the runner through one job: a scenario is
// admitted when the audit finds it reachable (its on: trigger starts it,
// runs-on lands on the runner and the if: can be true).
type GuardDiff struct {
	// Job is the job's id.
	Job string
	// Before and After are the admitted scenarios, in the audit's order.
	Before, After []audit.ScenarioResult
	// Admits are admitted after the render and not before; Refuses the
	// reverse.
	Admits, Refuses []audit.ScenarioResult
}

// CompareGuards compares the truth tables of job id before and after a
// render (audit.JobScenarios; nil before for a job the file did not
// have): a scenario is admitted when it is reachable.
func CompareGuards(id string, before, after []audit.ScenarioResult) GuardDiff {
	d := GuardDiff{Job: id, Before: admitted(before), After: admitted(after)}
	d.Admits = minus(d.After, d.Before)
	d.Refuses = minus(d.Before, d.After)
	return d
}

// Widens reports whether the render admits a kind of run the job did not
// admit before.
func (d GuardDiff) Widens() bool { return len(d.Admits) > 0 }

// Changed reports whether the admitted set changes at all.
func (d GuardDiff) Changed() bool { return len(d.Admits)+len(d.Refuses) > 0 }

// String says what the render newly admits and newly refuses, one line
// each, or that the admitted set is unchanged.
func (d GuardDiff) String() string {
	if !d.Changed() {
		return fmt.Sprintf("job %s admits the same runs as before: %s", d.Job, names(d.After))
	}
	var b strings.Builder
	if len(d.Admits) > 0 {
		fmt.Fprintf(&b, "job %s newly admits: %s\n", d.Job, names(d.Admits))
	}
	if len(d.Refuses) > 0 {
		fmt.Fprintf(&b, "job %s newly refuses: %s\n", d.Job, names(d.Refuses))
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// admitted returns the reachable scenarios of a truth table.
func admitted(rows []audit.ScenarioResult) []audit.ScenarioResult {
	var out []audit.ScenarioResult
	for _, s := range rows {
		if s.Reachable {
			out = append(out, s)
		}
	}
	return out
}

// minus returns the scenarios of a whose id b lacks.
func minus(a, b []audit.ScenarioResult) []audit.ScenarioResult {
	var out []audit.ScenarioResult
	for _, s := range a {
		found := false
		for _, t := range b {
			found = found || t.ID == s.ID
		}
		if !found {
			out = append(out, s)
		}
	}
	return out
}

// names lists scenarios as "pr-same-label (pull_request, trusted)".
func names(ss []audit.ScenarioResult) string {
	if len(ss) == 0 {
		return "none"
	}
	parts := make([]string, len(ss))
	for i, s := range ss {
		parts[i] = fmt.Sprintf("%s (%s, %s)", s.ID, s.Event, s.Trust)
	}
	return strings.Join(parts, ", ")
}
