package audit

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// ResidualRisk is what no YAML can show and every report states.
const ResidualRisk = "Residual risk (not visible in YAML): a fork pull request runs the workflow file of its own merge commit, so it can rewrite or delete any if: guard. " +
	"What stops it is the repository setting \"Require approval for all outside collaborators\" (Settings > Actions > General), " +
	"or an organisation runner group restricted to a workflow pinned at @refs/heads/main; a runner registered on a single repository cannot be restricted per workflow. " +
	"Keep that setting on, and never approve a fork run that changes .github/workflows/."

// Levels of findings.
const (
	// LevelFail makes the job and the audit fail (exit 1).
	LevelFail = "fail"
	// LevelWarn is reported but does not fail the audit.
	LevelWarn = "warn"
)

// Report is the result of auditing a set of workflow files.
type Report struct {
	// Verdict is "pass" or "fail"; a file that could not be audited
	// (Errors) makes it "fail".
	Verdict string `json:"verdict"`
	// Jobs holds one report per job of every file, in file and job order.
	Jobs []JobReport `json:"jobs"`
	// ResidualRisk is the ResidualRisk text.
	ResidualRisk string `json:"residual_risk"`
	// Errors are the files that could not be audited (bad input), each
	// with its file:line error; the others are reported all the same.
	Errors []FileError `json:"errors,omitempty"`
}

// FileError is one file the audit could not read, parse or accept.
type FileError struct {
	// File is the file as given; Line is 1-based, 0 when the error is
	// about the whole file.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Message is the error, FILE:LINE: text.
	Message string `json:"message"`
}

// JobReport is the audit of one job.
type JobReport struct {
	// File is the workflow file as given.
	File string `json:"file"`
	// ID is the job's key under jobs:.
	ID string `json:"id"`
	// Line is the 1-based line of the job's key.
	Line int `json:"line"`
	// LandsOnRunner is whether runs-on selects the runner in any row.
	LandsOnRunner bool `json:"lands_on_runner"`
	// Verdict is "pass" or "fail".
	Verdict string `json:"verdict"`
	// Scenarios is the truth table, one row per kind of run; empty when
	// the job never lands on the runner.
	Scenarios []ScenarioResult `json:"scenarios"`
	// Findings are the rule violations of the job.
	Findings []Finding `json:"findings"`
	// RunsOn is the runs-on value as written.
	RunsOn string `json:"runs_on,omitempty"`
	// CalledBy is FILE:JOB of the job that calls this reusable workflow;
	// the job is audited in the runs in which that job starts.
	CalledBy string `json:"called_by,omitempty"`
	// Environment is the job's environment: name as written.
	Environment string `json:"environment,omitempty"`
	// Notes are what the audit cannot see but the reader must know
	// (an environment's required reviewers).
	Notes []string `json:"notes,omitempty"`
}

// ScenarioResult is one row of a job's truth table.
type ScenarioResult struct {
	// ID is the stable row name ("pr-fork-label").
	ID string `json:"id"`
	// Event is the event_name of the run.
	Event string `json:"event"`
	// Trust is the row's class (trusted, allowed, not-allowed, untrusted,
	// forbidden); Trusted is true for trusted and allowed.
	Trust   string `json:"trust"`
	Trusted bool   `json:"trusted"`
	// Admitted is whether an on: trigger starts this kind of run.
	Admitted bool `json:"admitted"`
	// Lands is whether runs-on selects the runner in this kind of run.
	Lands bool `json:"lands"`
	// Reachable is admitted, landing and the if: can be true.
	Reachable bool `json:"reachable"`
	// Runs is whether the job starts in this kind of run (its needs and
	// its if: allow it), wherever it lands: the set of rows the job's
	// guard admits.
	Runs bool `json:"runs"`
	// Via lists the on: triggers that admit the row, sorted and
	// comma-separated.
	Via string `json:"via,omitempty"`
	// Witness shows why the row is reachable: the if: and the values
	// that make it true.
	Witness string `json:"witness,omitempty"`
	// Note says why an on: trigger does not admit the row (a filter).
	Note string `json:"note,omitempty"`
}

// Finding is one rule violation.
type Finding struct {
	// Rule names the rule ("untrusted-run", "host-env", …).
	Rule string `json:"rule"`
	// Level is LevelFail or LevelWarn.
	Level string `json:"level"`
	// Message says what is wrong, in words.
	Message string `json:"message"`
	// Witness is the run or the text that shows the violation.
	Witness string `json:"witness"`
	// Line is the 1-based line it concerns, 0 when none applies.
	Line int `json:"line,omitempty"`
}

// Failed reports whether any job failed.
func (r *Report) Failed() bool { return r.Verdict == "fail" }

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("writing the audit report: %w", err)
	}
	return nil
}

// Legend explains the truth-table columns of the text report.
const Legend = "columns: admitted = an on: trigger starts this kind of run; lands = runs-on selects this runner in it; " +
	"reachable = admitted, lands, and the job's needs and if: let it start (for some value of what the audit cannot know); " +
	"trust = who can start it (trusted and allowed runs may reach the runner; not-allowed, untrusted and forbidden ones must not)."

// WriteText writes the report for people: a truth table per landing job
// (with a legend), its findings and notes, a line per other job, the files
// that could not be audited, the residual risk and the verdict.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	legend := false
	for _, j := range r.Jobs {
		called := ""
		if j.CalledBy != "" {
			called = " (called by " + j.CalledBy + ")"
		}
		if !j.LandsOnRunner {
			fmt.Fprintf(&b, "%s: job %s%s: does not land on the runner (runs-on %s)\n", j.File, j.ID, called, orDash(j.RunsOn))
			for _, f := range j.Findings {
				writeFinding(&b, f)
			}
			continue
		}
		fmt.Fprintf(&b, "\n%s:%d: job %s%s lands on the runner (runs-on %s) — %s\n", j.File, j.Line, j.ID, called, j.RunsOn, strings.ToUpper(j.Verdict))
		if !legend {
			fmt.Fprintf(&b, "  (%s)\n", Legend)
			legend = true
		}
		fmt.Fprintf(&b, "  %-16s %-20s %-11s %-8s %-5s %-9s\n", "scenario", "event", "trust", "admitted", "lands", "reachable")
		for _, s := range j.Scenarios {
			mark := ""
			if s.Reachable && !s.Trusted {
				mark = "  <-- FAIL"
			}
			fmt.Fprintf(&b, "  %-16s %-20s %-11s %-8s %-5s %-9s%s\n", s.ID, s.Event, s.Trust, yn(s.Admitted), yn(s.Lands), yn(s.Reachable), mark)
		}
		if len(j.Findings) == 0 {
			b.WriteString("  no findings\n")
		}
		for _, f := range j.Findings {
			writeFinding(&b, f)
		}
		for _, n := range j.Notes {
			fmt.Fprintf(&b, "  NOTE %s\n", n)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "\nnot audited (bad input): %s\n", e.Message)
	}
	fmt.Fprintf(&b, "\n%s\n\nverdict: %s\n", ResidualRisk, strings.ToUpper(r.Verdict))
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("writing the audit report: %w", err)
	}
	return nil
}

func writeFinding(b *strings.Builder, f Finding) {
	line := ""
	if f.Line > 0 {
		line = fmt.Sprintf(" (line %d)", f.Line)
	}
	fmt.Fprintf(b, "  %s %s%s: %s\n", strings.ToUpper(f.Level), f.Rule, line, f.Message)
	if f.Witness != "" {
		fmt.Fprintf(b, "      witness: %s\n", f.Witness)
	}
}

func yn(v bool) string {
	if v {
		return "yes"
	}
	return "no"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// InputError is bad input: a YAML, workflow or expression syntax error.
// The CLI exits 2 on it.
type InputError struct {
	// File is the file as given.
	File string
	// Line and Col are 1-based; Col is 0 when unknown.
	Line int
	Col  int
	// Msg says what is wrong.
	Msg string
}

// Error returns FILE:LINE[:COL]: MSG, or FILE: MSG when the error is
// about the whole file (it could not be read).
func (e *InputError) Error() string {
	if e.Line < 1 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}
