package audit

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// namedTemplate is a string of the job (or workflow) that may hold
// expressions, with where it is.
type namedTemplate struct {
	where string
	t     *template
}

// templates parses every string of the job that may hold ${{ }}: job and
// workflow env, step names, run scripts, with: inputs, step env,
// outputs, concurrency and reusable-workflow inputs and secrets.
func (ja *jobAudit) templates() ([]namedTemplate, error) {
	var out []namedTemplate
	add := func(where string, s *actionlint.String) error {
		if s == nil || !strings.Contains(s.Value, "${{") {
			return nil
		}
		t, err := parseTemplate(s)
		if err != nil {
			return err
		}
		out = append(out, namedTemplate{where: where, t: t})
		return nil
	}
	addEnv := func(prefix string, e *actionlint.Env) error {
		if e == nil {
			return nil
		}
		if err := add(prefix+"env", e.Expression); err != nil {
			return err
		}
		for _, k := range sortedKeys(e.Vars) {
			if err := add(prefix+"env."+e.Vars[k].Name.Value, e.Vars[k].Value); err != nil {
				return err
			}
		}
		return nil
	}
	j := ja.j
	if err := addEnv("workflow ", ja.w.Env); err != nil {
		return nil, err
	}
	if err := addEnv("", j.Env); err != nil {
		return nil, err
	}
	for _, k := range sortedKeys(j.Outputs) {
		if err := add("outputs."+k, j.Outputs[k].Value); err != nil {
			return nil, err
		}
	}
	for _, c := range []*actionlint.Concurrency{ja.w.Concurrency, j.Concurrency} {
		if c == nil {
			continue
		}
		if err := add("concurrency.group", c.Group); err != nil {
			return nil, err
		}
		if c.CancelInProgress != nil {
			if err := add("concurrency.cancel-in-progress", c.CancelInProgress.Expression); err != nil {
				return nil, err
			}
		}
	}
	if j.Container != nil {
		if err := addEnv("container.", j.Container.Env); err != nil {
			return nil, err
		}
		if j.Container.Credentials != nil {
			if err := add("container.credentials.password", j.Container.Credentials.Password); err != nil {
				return nil, err
			}
		}
	}
	if wc := j.WorkflowCall; wc != nil {
		for _, k := range sortedKeys(wc.Inputs) {
			if err := add("with."+k, wc.Inputs[k].Value); err != nil {
				return nil, err
			}
		}
		for _, k := range sortedKeys(wc.Secrets) {
			if err := add("secrets."+k, wc.Secrets[k].Value); err != nil {
				return nil, err
			}
		}
	}
	for i, st := range j.Steps {
		p := fmt.Sprintf("steps[%d].", i)
		if _, err := parseCond(st.If); err != nil {
			return nil, err
		}
		if err := add(p+"name", st.Name); err != nil {
			return nil, err
		}
		if err := addEnv(p, st.Env); err != nil {
			return nil, err
		}
		switch e := st.Exec.(type) {
		case *actionlint.ExecRun:
			if err := add(p+"run", e.Run); err != nil {
				return nil, err
			}
		case *actionlint.ExecAction:
			for _, k := range sortedKeys(e.Inputs) {
				if err := add(p+"with."+k, e.Inputs[k].Value); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// callerFindings checks a job that calls a reusable workflow.
func (ja *jobAudit) callerFindings() {
	wc := ja.j.WorkflowCall
	if wc == nil {
		return
	}
	if wc.InheritSecrets {
		ja.add(Finding{Rule: "secrets", Level: LevelWarn, Line: posLine(wc.Uses.Pos),
			Message: fmt.Sprintf("passes every repository secret (secrets: inherit) to %s; if that workflow reaches the runner, the secrets do too", wc.Uses.Value),
			Witness: "secrets: inherit"})
	}
}

// secretFindings fails a job on the runner that can read any secret but
// GITHUB_TOKEN.
func (ja *jobAudit) secretFindings(all []namedTemplate) error {
	seen := map[string]bool{}
	report := func(where string, line int, r expr.Ref) {
		name := strings.Join(r.Segments, ".")
		if r.Dynamic {
			name += "[...]"
		}
		if seen[name] {
			return
		}
		seen[name] = true
		ja.add(Finding{Rule: "secrets", Level: LevelFail, Line: line,
			Message: fmt.Sprintf("%s reads %s; a job on the runner may use no secret but GITHUB_TOKEN", where, name),
			Witness: name})
	}
	check := func(where string, line int, e *expr.Expr) {
		for _, r := range e.References() {
			if len(r.Segments) == 0 || !strings.EqualFold(r.Segments[0], "secrets") {
				continue
			}
			if len(r.Segments) >= 2 && strings.EqualFold(r.Segments[1], "github_token") && !r.Dynamic {
				continue
			}
			report(where, line, r)
		}
	}
	for _, nt := range all {
		for _, e := range nt.t.exprs {
			check(nt.where, nt.t.line, e)
		}
	}
	if ja.cond != nil && ja.cond.e != nil {
		check("if:", ja.cond.line, ja.cond.e)
	}
	for i, st := range ja.j.Steps {
		c, err := parseCond(st.If)
		if err != nil {
			return err
		}
		if c != nil && c.e != nil {
			check(fmt.Sprintf("steps[%d].if", i), c.line, c.e)
		}
	}
	return nil
}

// permissionFindings fails write scopes and warns when the token's
// permissions are left to the repository default.
func (ja *jobAudit) permissionFindings() {
	p := ja.j.Permissions
	where := "job permissions"
	if p == nil {
		p = ja.w.Permissions
		where = "workflow permissions"
	}
	if p == nil {
		ja.add(Finding{Rule: "permissions", Level: LevelWarn, Line: posLine(ja.j.ID.Pos),
			Message: "no permissions: block in the job or the workflow; GITHUB_TOKEN gets the repository default, which may include write scopes",
			Witness: "permissions: (absent)"})
		return
	}
	if p.All != nil {
		if strings.Contains(strings.ToLower(p.All.Value), "write") {
			ja.add(Finding{Rule: "permissions", Level: LevelFail, Line: posLine(p.All.Pos),
				Message: fmt.Sprintf("%s grant %s to a job on the runner", where, p.All.Value),
				Witness: "permissions: " + p.All.Value})
		}
		return
	}
	var writes []string
	line := 0
	for _, k := range sortedKeys(p.Scopes) {
		sc := p.Scopes[k]
		if sc.Value != nil && strings.EqualFold(sc.Value.Value, "write") {
			writes = append(writes, sc.Name.Value+": write")
			if line == 0 {
				line = posLine(sc.Name.Pos)
			}
		}
	}
	if len(writes) > 0 {
		ja.add(Finding{Rule: "permissions", Level: LevelFail, Line: line,
			Message: fmt.Sprintf("%s grant write scopes to a job on the runner: %s", where, strings.Join(writes, ", ")),
			Witness: strings.Join(writes, ", ")})
	}
}

var shaRef = regexp.MustCompile(`^[0-9a-f]{40}$`)

// pinFindings warns about actions not pinned to a full commit SHA.
func (ja *jobAudit) pinFindings() {
	for i, st := range ja.j.Steps {
		act, ok := st.Exec.(*actionlint.ExecAction)
		if !ok || act.Uses == nil {
			continue
		}
		u := act.Uses.Value
		if strings.HasPrefix(u, "./") {
			continue
		}
		if strings.HasPrefix(u, "docker://") {
			if !strings.Contains(u, "@sha256:") {
				ja.add(Finding{Rule: "unpinned-action", Level: LevelWarn, Line: posLine(act.Uses.Pos),
					Message: fmt.Sprintf("steps[%d] uses the image %s without a @sha256: digest", i, u), Witness: u})
			}
			continue
		}
		at := strings.LastIndex(u, "@")
		if at < 0 || !shaRef.MatchString(u[at+1:]) {
			ja.add(Finding{Rule: "unpinned-action", Level: LevelWarn, Line: posLine(act.Uses.Pos),
				Message: fmt.Sprintf("steps[%d] uses %s, not pinned to a full commit SHA", i, u), Witness: u})
		}
	}
}

// stepFindings warns about steps whose if: is false in every run that
// reaches the job.
func (ja *jobAudit) stepFindings() error {
	var rows []*rowResult
	for _, r := range ja.rows {
		if r.reachable {
			rows = append(rows, r)
		}
	}
	if len(rows) == 0 {
		for _, r := range ja.rows {
			if r.s.Admitted() && r.lands {
				rows = append(rows, r)
			}
		}
	}
	var vs []variant
	for _, r := range rows {
		for vi, v := range r.vars {
			if r.reachable && !r.runs[vi] {
				continue
			}
			for _, combo := range ja.combos {
				if len(vs) >= maxVariants {
					// Too many runs to try each step in: no step is
					// called dead.
					return nil
				}
				vs = append(vs, variant{desc: v.desc, ctx: runContext(v.ctx, combo, ja.memo)})
			}
		}
	}
	if len(vs) == 0 {
		return nil
	}
	for i, st := range ja.j.Steps {
		c, err := parseCond(st.If)
		if err != nil {
			return err
		}
		if c == nil || c.e == nil {
			continue
		}
		ok, err := evalCond(c, vs, newRefSet(c.e), &ja.budget)
		if err != nil {
			return err
		}
		if !ok {
			name := fmt.Sprintf("steps[%d]", i)
			if st.Name != nil {
				name += " (" + st.Name.Value + ")"
			}
			ja.add(Finding{Rule: "dead-step", Level: LevelWarn, Line: c.line,
				Message: fmt.Sprintf("%s never runs: its if: is false in every run that reaches this job", name),
				Witness: "if: " + oneLine(c.src)})
		}
	}
	return nil
}
