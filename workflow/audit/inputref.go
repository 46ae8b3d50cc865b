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

// gitFetchRe matches a git command line that fetches, checks out or moves
// to a ref.
var gitFetchRe = regexp.MustCompile(`\bgit\b.*\b(checkout|switch|fetch|reset|pull|worktree|clone|restore)\b`)

// envRefRe matches a shell reference to an environment variable ($X,
// ${X}) or an expression reading env.X.
var envRefRe = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)|(?i)\benv\.([A-Za-z_][A-Za-z0-9_]*)`)

// taintedEnv returns the names (upper-cased) of the variables in envs
// whose values read workflow inputs.
func taintedEnv(envs ...*actionlint.Env) map[string]bool {
	out := map[string]bool{}
	for _, e := range envs {
		if e == nil {
			continue
		}
		for _, v := range e.Vars {
			if v == nil || v.Name == nil || v.Value == nil {
				continue
			}
			if fromInputsRe.MatchString(v.Value.Value) {
				out[strings.ToUpper(v.Name.Value)] = true
			}
		}
	}
	return out
}

// readsInput reports whether text reads a workflow input directly or
// through one of the tainted environment variables.
func readsInput(text string, tainted map[string]bool) bool {
	if fromInputsRe.MatchString(text) {
		return true
	}
	for _, m := range envRefRe.FindAllStringSubmatch(text, -1) {
		name := m[1]
		if name == "" {
			name = m[2]
		}
		if tainted[strings.ToUpper(name)] {
			return true
		}
	}
	return false
}

// checksOutInputRef reports whether the job checks out a ref or
// repository taken from workflow inputs: actions/checkout's ref or
// repository, or a run step whose git checkout/fetch/switch/reset line
// uses an input, directly or through an environment variable. line is
// where.
func (ja *jobAudit) checksOutInputRef() (bool, int) {
	for _, st := range ja.j.Steps {
		tainted := taintedEnv(ja.w.Env, ja.j.Env, st.Env)
		switch ex := st.Exec.(type) {
		case *actionlint.ExecAction:
			if ex.Uses == nil || !strings.HasPrefix(strings.ToLower(ex.Uses.Value), "actions/checkout@") {
				continue
			}
			for _, k := range []string{"ref", "repository"} {
				in := ex.Inputs[k]
				if in == nil || in.Value == nil {
					continue
				}
				if readsInput(in.Value.Value, tainted) {
					return true, posLine(in.Value.Pos)
				}
			}
		case *actionlint.ExecRun:
			if ex.Run == nil {
				continue
			}
			script := strings.ReplaceAll(ex.Run.Value, "\\\n", " ")
			for _, l := range strings.Split(script, "\n") {
				if gitFetchRe.MatchString(l) && readsInput(l, tainted) {
					return true, posLine(ex.Run.Pos)
				}
			}
		}
	}
	return false, 0
}
