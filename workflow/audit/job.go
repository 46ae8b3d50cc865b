package audit

import (
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// maxEvals bounds the evaluations spent on one job's if: and runs-on;
// past it, the rows not yet decided are assumed reachable (never
// assumed safe).
const maxEvals = 20_000

// maxFileEvals bounds the evaluations spent on one file (a file of many
// jobs); past it, every job left is judged as if its budget had run out.
const maxFileEvals = 100_000

// unknownsPerEval is how many unknowns an evaluation may set for the
// price of one: past it, an evaluation counts as 1+unknowns/16.
const unknownsPerEval = 16

// maxCallDepth bounds nested reusable workflows (GitHub allows four
// levels below the caller).
const maxCallDepth = 4

// maxCalls bounds the reusable-workflow calls followed in one audit: a
// tree of calls (every job of every level calling the next) grows as a
// power of the jobs per file; a call past the bound is unaudited.
const maxCalls = 256

// callContext is how a reusable workflow is entered from one calling job:
// the caller's rows, the runs of each in which the calling job starts,
// and their inputs.
type callContext struct {
	caller string // file:job
	rows   []*Scenario
	vars   [][]variant
	cut    []bool
	chain  []string // files on the call stack, for cycles
}

// fileAudit audits the jobs of one file, standalone or as a callee.
type fileAudit struct {
	sess   *session
	f      *wfFile
	w      *actionlint.Workflow
	o      Options
	labels []string
	ss     *scenarioSet
	// vars are the concrete runs of each row, by row index; cut marks
	// the rows whose runs were too many to build.
	vars  [][]variant
	cut   []bool
	call  *callContext
	depth int
	jobs  map[string]*jobAudit
	// evals counts the evaluations of every job of the file.
	evals int
	// budget is what the rules other than reachability (steps,
	// concurrency) may still spend on assignments, for the whole file.
	budget int
	// memo shares the conversion of context maps between evaluations.
	memo *convMemo
}

func newFileAudit(s *session, f *wfFile, call *callContext, depth int) *fileAudit {
	return &fileAudit{sess: s, f: f, w: f.w, o: s.o, labels: s.labels, call: call, depth: depth, jobs: map[string]*jobAudit{}, budget: maxEvals, memo: newConvMemo()}
}

// name is the file as given.
func (a *fileAudit) name() string { return a.f.name }

// workflowName is github.workflow: the name, else the file's path.
func workflowName(f *wfFile) string {
	if f.w.Name != nil && f.w.Name.Value != "" {
		return f.w.Name.Value
	}
	p := filepath2slash(f.name)
	if i := strings.Index(p, ".github/workflows/"); i >= 0 {
		return p[i:]
	}
	return ".github/workflows/" + path.Base(p)
}

func filepath2slash(p string) string { return strings.ReplaceAll(p, "\\", "/") }

func (a *fileAudit) run() ([]JobReport, error) {
	var err error
	if a.call != nil {
		// The caller's rows, admitted where the calling job starts.
		a.ss = &scenarioSet{}
		for i, r := range a.call.rows {
			sc := *r
			if len(a.call.vars[i]) == 0 {
				sc.Via = nil
			}
			a.ss.rows = append(a.ss.rows, &sc)
		}
		a.vars = a.call.vars
		a.cut = a.call.cut
	} else {
		// A reusable workflow whose callers are in this audit is audited
		// with them; alone, it may be called by any run.
		admitCall := len(a.f.callers) == 0
		if a.ss, err = buildScenarios(a.w, a.sess.pol, admitCall); err != nil {
			return nil, err
		}
		vo := a.sess.vo
		vo.workflow = workflowName(a.f)
		for _, r := range a.ss.rows {
			var vs []variant
			complete := true
			if r.Admitted() {
				vs, complete = r.variants(vo)
			}
			a.vars = append(a.vars, vs)
			a.cut = append(a.cut, !complete)
		}
	}
	ids := sortedJobIDs(a.w)
	for _, id := range ids {
		ja, err := a.parseJob(a.w.Jobs[id])
		if err != nil {
			return nil, err
		}
		a.jobs[strings.ToLower(id)] = ja
	}
	// Evaluate in dependency order: a job's needs first.
	state := map[string]int{}
	var visit func(id string) error
	visit = func(id string) error {
		ja := a.jobs[id]
		if ja == nil || state[id] == 2 {
			return nil
		}
		if state[id] == 1 {
			return &InputError{Line: posLine(ja.j.ID.Pos), Msg: fmt.Sprintf("job %s: its needs form a cycle", ja.j.ID.Value)}
		}
		state[id] = 1
		for _, n := range ja.needs {
			if err := visit(n); err != nil {
				return err
			}
		}
		state[id] = 2
		return ja.evalRows()
	}
	for _, id := range ids {
		if err := visit(strings.ToLower(id)); err != nil {
			return nil, err
		}
	}
	var out []JobReport
	for _, id := range ids {
		ja := a.jobs[strings.ToLower(id)]
		var sub []JobReport
		if ja.j.WorkflowCall != nil {
			if sub, err = ja.followCall(); err != nil {
				return nil, err
			}
		}
		rep, err := ja.findings()
		if err != nil {
			return nil, err
		}
		out = append(out, rep)
		out = append(out, sub...)
	}
	return out, nil
}

func sortedJobIDs(w *actionlint.Workflow) []string {
	ids := make([]string, 0, len(w.Jobs))
	for id := range w.Jobs {
		ids = append(ids, id)
	}
	sort.SliceStable(ids, func(i, j int) bool {
		px, py := w.Jobs[ids[i]].Pos, w.Jobs[ids[j]].Pos
		if px == nil || py == nil {
			return ids[i] < ids[j]
		}
		return px.IsBefore(py)
	})
	return ids
}

// jobAudit holds one job's parsed pieces and results.
type jobAudit struct {
	*fileAudit
	j      *actionlint.Job
	needs  []string // lower-case ids
	cond   *cond
	runsOn *runsOn
	refs   *refSet
	combos []combo
	all    []namedTemplate
	rep    JobReport
	// rows are the evaluated rows, in catalog order.
	rows []*rowResult
	// inputRefLine is the line of a checkout of a ref taken from
	// inputs (0: none).
	inputRefLine int
	evals        int
	// canLand is false when runs-on cannot select the runner whatever
	// the unknown values are.
	canLand bool
}

type rowResult struct {
	// s is the job's own copy of the row (its trust may differ).
	s         *Scenario
	lands     bool
	reachable bool
	witness   string
	labels    []string
	// vars are the runs of the row; runs[i] is whether the job starts
	// (its needs and its if: allow it) in vars[i], wherever it lands.
	vars []variant
	runs []bool
}

func (a *fileAudit) parseJob(j *actionlint.Job) (*jobAudit, error) {
	ja := &jobAudit{fileAudit: a, j: j}
	ja.rep = JobReport{File: a.name(), ID: j.ID.Value, Line: posLine(j.ID.Pos), Verdict: "pass", Scenarios: []ScenarioResult{}, Findings: []Finding{}}
	if a.call != nil {
		ja.rep.CalledBy = a.call.caller
	}
	for _, n := range j.Needs {
		ja.needs = append(ja.needs, strings.ToLower(n.Value))
	}
	var err error
	if ja.cond, err = parseCond(j.If); err != nil {
		return nil, err
	}
	if ja.runsOn, err = parseRunsOn(j.RunsOn); err != nil {
		return nil, err
	}
	// Parse every other expression of the job up front: a syntax error
	// anywhere is bad input.
	if ja.all, err = ja.templates(); err != nil {
		return nil, err
	}
	if ja.combos, err = matrixCombos(j, a.f.ys); err != nil {
		return nil, err
	}
	ja.rep.RunsOn = runsOnText(j.RunsOn)
	if j.WorkflowCall != nil && j.WorkflowCall.Uses != nil {
		ja.rep.RunsOn = "(calls " + j.WorkflowCall.Uses.Value + ")"
	}
	if j.Environment != nil && j.Environment.Name != nil {
		ja.rep.Environment = j.Environment.Name.Value
	}
	ja.refs = newRefSet()
	if ja.cond != nil && ja.cond.e != nil {
		ja.refs.add(ja.cond.e)
	}
	if ja.runsOn != nil {
		for _, t := range ja.runsOn.templates() {
			for _, e := range t.exprs {
				ja.refs.add(e)
			}
		}
	}
	ja.canLand = ja.runsOn != nil && ja.mayLand()
	for i, s := range a.ss.rows {
		sc := *s
		ja.rows = append(ja.rows, &rowResult{s: &sc, vars: a.vars[i], runs: make([]bool, len(a.vars[i]))})
	}
	return ja, nil
}

// statuses returns the job statuses to evaluate the if: with in one run
// (row i, variant v): success when every job it needs starts; a skipped
// dependency (success(), failure() and cancelled() all false) when one
// does not; failure and cancellation too when the if: asks.
func (ja *jobAudit) statuses(i, v int) []expr.Status {
	all, some := true, false
	for _, n := range ja.needs {
		d := ja.jobs[n]
		if d != nil && d.rows[i].runs[v] {
			some = true
		} else {
			all = false
		}
	}
	status := ja.cond != nil && ja.cond.status
	switch {
	case all && status:
		return []expr.Status{expr.StatusSuccess, expr.StatusFailure, expr.StatusCancelled}
	case all:
		return []expr.Status{expr.StatusSuccess}
	case status && some:
		return []expr.Status{expr.StatusSkipped, expr.StatusFailure, expr.StatusCancelled}
	case status:
		return []expr.Status{expr.StatusSkipped, expr.StatusCancelled}
	}
	return []expr.Status{expr.StatusSkipped}
}

// evalRows evaluates the job's needs, if: and runs-on in every run of
// every admitted row.
func (ja *jobAudit) evalRows() error {
	if ok, line := ja.checksOutInputRef(); ok {
		ja.inputRefLine = line
		for _, r := range ja.rows {
			if dispatchEvent(r.s.Event) {
				r.s.Trust = Forbidden
				r.s.Desc += fmt.Sprintf(", checking out a ref taken from inputs at line %d", line)
			}
		}
	}
	for i, r := range ja.rows {
		if !r.s.Admitted() {
			continue
		}
		if ja.fileAudit.evals > maxFileEvals {
			ja.evals = maxEvals + 1
		}
		if err := ja.evalRow(i, r); err != nil {
			return err
		}
	}
	for _, r := range ja.rows {
		if r.lands {
			ja.rep.LandsOnRunner = true
		}
	}
	return nil
}

func (ja *jobAudit) evalRow(i int, r *rowResult) error {
	c := ja.cond
	undecided := ja.fileAudit.cut[i]
	for vi, v := range r.vars {
		if ja.evals > maxEvals {
			undecided = true
			break
		}
		sts := ja.statuses(i, vi)
		success := sts[0] == expr.StatusSuccess
		for _, cb := range ja.combos {
			if (r.runs[vi] && (r.reachable || !ja.canLand)) || ja.evals > maxEvals {
				break
			}
			base := runContext(v.ctx, cb, ja.memo)
			// An evaluation costs more the more unknowns each
			// assignment sets: the budget counts that work, so that a
			// guard of a thousand variables stays as cheap as any.
			us := ja.refs.unknowns(base)
			w := 1 + len(us)/unknownsPerEval
			n, at, ok := assignmentSeq(base, us, min(maxEvals-ja.evals, maxFileEvals-ja.fileAudit.evals)/w+1)
			if !ok {
				undecided = true
			}
			for ai := 0; ai < n; ai++ {
				if r.runs[vi] && (r.reachable || !ja.canLand) {
					break
				}
				ja.evals += w
				ja.fileAudit.evals += w
				if ja.fileAudit.evals > maxFileEvals {
					ja.evals = maxEvals + 1
				}
				if ja.evals > maxEvals {
					undecided = true
					break
				}
				a := at(ai)
				lands := false
				var labels []string
				if ja.canLand {
					ls, group, err := ja.runsOn.resolve(a.ctx)
					if err != nil && !runtimeError(err) {
						return err
					}
					lands = err == nil && landsOn(ls, group, ja.labels)
					labels = ls
				}
				if lands && !r.lands {
					r.lands, r.labels = true, labels
				}
				var (
					yes   bool
					st    expr.Status
					steps []expr.Step
				)
				switch {
				case c == nil || c.always != "":
					yes = success
				default:
					for _, s := range sts {
						val, err := c.e.EvalWith(exprCtx(a.ctx), exprOpts(s))
						if err != nil {
							if !runtimeError(err) {
								return fmt.Errorf("line %d: evaluating if: %q: %w", c.line, c.src, err)
							}
							continue // the job fails instead of running
						}
						if truthy(val) {
							yes, st = true, s
							break
						}
					}
				}
				if !yes {
					continue
				}
				r.runs[vi] = true
				if lands && !r.reachable {
					r.reachable = true
					if c != nil && c.e != nil {
						_, steps, _ = c.e.TraceWith(exprCtx(a.ctx), exprOpts(st))
					}
					r.witness = r.s.ID + ": " + ja.witness(v, cb, a, st, steps)
				}
			}
			if ja.evals > maxEvals {
				break
			}
		}
		if ja.evals > maxEvals {
			undecided = true
			// Every run not decided may start the job.
			for k := vi; k < len(r.runs); k++ {
				r.runs[k] = true
			}
			break
		}
	}
	if undecided && !r.reachable && ja.canLand {
		r.lands, r.reachable = true, true
		r.witness = fmt.Sprintf("%s: too many unknown values and matrix combinations to enumerate: assumed reachable", r.s.ID)
	}
	if undecided {
		for k := range r.runs {
			r.runs[k] = true
		}
	}
	return nil
}

// mayLand reports whether runs-on can select the runner when every value
// the audit fixes is unknown instead.
func (ja *jobAudit) mayLand() bool {
	for _, cb := range ja.combos {
		ctx := map[string]any{}
		for _, n := range contextNames {
			ctx[n] = expr.Unknown{}
		}
		if cb != nil {
			ctx["matrix"] = deepCopy(map[string]any(cb))
		}
		ls, group, err := ja.runsOn.resolve(ctx)
		if err != nil || landsOn(ls, group, ja.labels) {
			return true
		}
	}
	return false
}

// runtimeError reports whether an evaluation error happens when the
// workflow runs (a bad fromJSON text, a format error), which makes
// GitHub fail the job instead of running it, rather than being a syntax
// error in the file.
func runtimeError(err error) bool {
	var syn *expr.SyntaxError
	return !errors.As(err, &syn)
}

// witness describes a run that reaches the runner: only the facts and
// matrix values the job's if: and runs-on read.
func (ja *jobAudit) witness(v variant, cb combo, a assignment, st expr.Status, steps []expr.Step) string {
	c := ja.cond
	ctx := joinNonEmpty(v.describe(ja.reads), describeCombo(cb, ja.matrixKeys()))
	var parts []string
	switch {
	case c == nil && len(ja.needs) > 0:
		parts = append(parts, fmt.Sprintf("the job has no if: of its own and runs whenever the jobs it needs (%s) run", strings.Join(ja.needs, ", ")))
	case c == nil:
		parts = append(parts, "the job has no if: guard")
	case c.always != "":
		parts = append(parts, "if: "+oneLine(c.src)+" — "+c.always)
	}
	if ctx != "" {
		parts = append(parts, "["+ctx+"]")
	}
	if c != nil && c.e != nil {
		if len(a.notes) > 0 {
			parts = append(parts, "with "+strings.Join(a.notes, ", "))
		}
		switch st {
		case expr.StatusFailure:
			parts = append(parts, "after a failed dependency")
		case expr.StatusCancelled:
			parts = append(parts, "after a cancelled run")
		case expr.StatusSkipped:
			parts = append(parts, "after a skipped dependency")
		}
		if atoms := truthyAtoms(c.e.Source(), steps); len(atoms) > 0 {
			parts = append(parts, "true: "+strings.Join(atoms, " ; "))
		}
	}
	return strings.Join(parts, " ")
}

// reads reports whether the job's if: or runs-on reads the context a
// variant fact belongs to.
func (ja *jobAudit) reads(key string) bool {
	switch key {
	case "head":
		return ja.refs.reads("github.event.pull_request.head") || ja.refs.reads("github.head_ref")
	case "event":
		return ja.refs.reads("github.event_name")
	case "action":
		return ja.refs.reads("github.event.action")
	case "labels":
		return ja.refs.reads("github.event.pull_request.labels")
	case "label":
		return ja.refs.reads("github.event.label")
	case "base":
		return ja.refs.reads("github.base_ref") || ja.refs.reads("github.ref") || ja.refs.reads("github.ref_name") || ja.refs.reads("github.event.pull_request.base")
	}
	if in, ok := strings.CutPrefix(key, "input:"); ok {
		return ja.refs.reads("inputs." + in)
	}
	return true
}

// matrixKeys returns the matrix keys the job's if: and runs-on read, nil
// when they read the whole matrix.
func (ja *jobAudit) matrixKeys() map[string]bool {
	keys := map[string]bool{}
	for _, k := range ja.refs.order {
		p := ja.refs.paths[k].path
		if p[0] != "matrix" {
			continue
		}
		if len(p) == 1 || p[1] == "*" {
			return nil
		}
		keys[p[1]] = true
	}
	return keys
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

// anyRuns reports whether the job starts in some admitted run.
func (ja *jobAudit) anyRuns() bool {
	for _, r := range ja.rows {
		for _, ok := range r.runs {
			if ok {
				return true
			}
		}
	}
	return false
}
