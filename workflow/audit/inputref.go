package audit

import (
	"regexp"
	"strings"

	"github.com/rhysd/actionlint"
)

// fromInputsRe matches an expression that reads a dispatch input or a
// repository_dispatch payload (inputs.x, inputs['x'],
// github.event.inputs.x, github.event.client_payload.x).
var fromInputsRe = regexp.MustCompile(`(?i)\binputs\s*[.\[]|client_payload`)

// gitFetchRe matches a command line that fetches, checks out or moves to
// a ref: git's, and the GitHub CLI's pull request checkout and clone.
var gitFetchRe = regexp.MustCompile(`\bgit\b.*\b(checkout|switch|fetch|reset|pull|worktree|clone|restore)\b|\bgh\s+(pr\s+checkout|repo\s+clone)\b`)

// envRefRe matches a shell reference to an environment variable ($X,
// ${X}) or an expression reading env.X.
var envRefRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)|(?i)\benv\.([A-Za-z_][A-Za-z0-9_]*)`)

// stepsOutRe and needsOutRe match an expression reading a step's or a
// needed job's outputs; group 1 is the step or job id.
var (
	stepsOutRe = regexp.MustCompile(`(?i)\bsteps\s*\.\s*([A-Za-z0-9_-]+)\s*\.\s*outputs\b`)
	needsOutRe = regexp.MustCompile(`(?i)\bneeds\s*\.\s*([A-Za-z0-9_-]+)\s*\.\s*outputs\b`)
)

// assignRe matches a shell assignment at the start of a line (NAME=,
// export NAME=, local NAME=, readonly NAME=, declare -x NAME=).
var assignRe = regexp.MustCompile(`^\s*(?:(?:export|local|readonly|declare(?:\s+-\S+)*)\s+)?([A-Za-z_][A-Za-z0-9_]*)=`)

// setVarRe matches NAME= anywhere in a line (what a step appends to
// $GITHUB_ENV or $GITHUB_OUTPUT).
var setVarRe = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_-]*)=`)

// taint is what carries a workflow input in one job: environment and
// shell variables, step outputs and the outputs of other jobs that
// read one.
type taint struct {
	env   map[string]bool // upper-cased names
	steps map[string]bool // lower-cased step ids
	jobs  map[string]bool // lower-cased job ids
	// envAll is set when a step wrote an input into $GITHUB_ENV under a
	// name the audit could not read: every later variable may carry it.
	envAll bool
}

// reads reports whether text reads a workflow input directly or through
// something tainted.
func (t *taint) reads(text string, local map[string]bool) bool {
	if fromInputsRe.MatchString(text) {
		return true
	}
	for _, m := range stepsOutRe.FindAllStringSubmatch(text, -1) {
		if t.steps[strings.ToLower(m[1])] {
			return true
		}
	}
	for _, m := range needsOutRe.FindAllStringSubmatch(text, -1) {
		if t.jobs[strings.ToLower(m[1])] {
			return true
		}
	}
	for _, m := range envRefRe.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if name == "" {
			name = m[2]
		}
		if t.envAll || t.env[strings.ToUpper(name)] || local[strings.ToUpper(name)] {
			return true
		}
	}
	return false
}

// addEnv taints the variables of envs whose values read something
// tainted.
func (t *taint) addEnv(envs ...*actionlint.Env) {
	for _, e := range envs {
		if e == nil {
			continue
		}
		for _, v := range e.Vars {
			if v == nil || v.Name == nil || v.Value == nil {
				continue
			}
			if t.reads(v.Value.Value, nil) {
				t.env[strings.ToUpper(v.Name.Value)] = true
			}
		}
	}
}

// clone copies t, so that a step's own env does not leak to the next.
func (t *taint) clone() *taint {
	c := &taint{env: map[string]bool{}, steps: t.steps, jobs: t.jobs, envAll: t.envAll}
	for k := range t.env {
		c.env[k] = true
	}
	return c
}

// scanJob walks j's steps with the job outputs in jobs tainted. It
// returns the line of the first checkout of a tainted ref (0: none) and
// whether one of j's outputs reads something tainted.
func scanJob(w *actionlint.Workflow, j *actionlint.Job, jobs map[string]bool) (int, bool) {
	t := &taint{env: map[string]bool{}, steps: map[string]bool{}, jobs: jobs}
	t.addEnv(w.Env, j.Env)
	hit := 0
	for _, st := range j.Steps {
		if st == nil {
			continue
		}
		s := t.clone()
		s.addEnv(st.Env)
		readsAny := false
		switch ex := st.Exec.(type) {
		case *actionlint.ExecAction:
			checkout := ex.Uses != nil && strings.HasPrefix(strings.ToLower(ex.Uses.Value), "actions/checkout@")
			for k, in := range ex.Inputs {
				if in == nil || in.Value == nil || !s.reads(in.Value.Value, nil) {
					continue
				}
				readsAny = true
				if checkout && (k == "ref" || k == "repository") && hit == 0 {
					hit = posLine(in.Value.Pos)
				}
			}
		case *actionlint.ExecRun:
			if ex.Run == nil {
				continue
			}
			local := map[string]bool{}
			script := strings.ReplaceAll(ex.Run.Value, "\\\n", " ")
			for _, l := range strings.Split(script, "\n") {
				if !s.reads(l, local) {
					continue
				}
				readsAny = true
				if gitFetchRe.MatchString(l) && hit == 0 {
					hit = posLine(ex.Run.Pos)
				}
				if m := assignRe.FindStringSubmatch(l); m != nil {
					local[strings.ToUpper(m[1])] = true
				}
				if strings.Contains(l, "GITHUB_ENV") {
					names := setVarRe.FindAllStringSubmatch(l, -1)
					for _, m := range names {
						t.env[strings.ToUpper(m[1])] = true
					}
					if len(names) == 0 {
						t.envAll = true
					}
				}
			}
			if len(local) > 0 && strings.Contains(script, "GITHUB_ENV") {
				// A variable set from an input and written to
				// $GITHUB_ENV later in the script.
				t.envAll = true
			}
		}
		if readsAny && st.ID != nil {
			t.steps[strings.ToLower(st.ID.Value)] = true
		}
	}
	out := false
	for _, o := range j.Outputs {
		if o != nil && o.Value != nil && t.reads(o.Value.Value, nil) {
			out = true
		}
	}
	return hit, out
}

// checksOutInputRef reports whether the job checks out a ref or
// repository taken from workflow inputs: actions/checkout's ref or
// repository, or a run step whose git checkout/fetch/switch/reset or gh
// pr checkout line uses an input, directly or through an environment or
// shell variable, a step's output or another job's output. line is
// where.
func (ja *jobAudit) checksOutInputRef() (bool, int) {
	// The jobs whose outputs carry an input, to a fixed point (a needs
	// chain is at most as long as the jobs).
	jobs := map[string]bool{}
	for range ja.w.Jobs {
		grew := false
		for id, j := range ja.w.Jobs {
			if j == nil || jobs[strings.ToLower(id)] {
				continue
			}
			if _, out := scanJob(ja.w, j, jobs); out {
				jobs[strings.ToLower(id)] = true
				grew = true
			}
		}
		if !grew {
			break
		}
	}
	line, _ := scanJob(ja.w, ja.j, jobs)
	return line > 0, line
}

// dispatchEvent reports whether event carries inputs its sender chose
// (workflow_dispatch inputs, repository_dispatch client_payload): a job
// that checks out a ref taken from them runs whatever commit the sender
// named, a fork's pull request head included.
func dispatchEvent(event string) bool {
	return event == "workflow_dispatch" || event == "repository_dispatch"
}
