package audit

import (
	"fmt"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// followCall audits the reusable workflow a job calls, in the runs in
// which the calling job starts and with the inputs it passes. A callee
// the audit cannot read fails the calling job ("unaudited-callee")
// unless the user trusts it, since it may run anything on the runner.
func (ja *jobAudit) followCall() ([]JobReport, error) {
	wc := ja.j.WorkflowCall
	if wc == nil || wc.Uses == nil || !ja.anyRuns() {
		return nil, nil
	}
	uses := wc.Uses.Value
	callee := ja.sess.callee(ja.f, uses)
	why := ""
	switch {
	case callee == nil && strings.HasPrefix(uses, "./"):
		why = "it is neither among the audited files nor beside the caller"
	case callee == nil:
		why = "it lives in another repository, which the audit cannot read"
	case ja.depth >= maxCallDepth:
		why = fmt.Sprintf("it is nested more than %d reusable workflows deep", maxCallDepth)
	case ja.sess.calls >= maxCalls:
		why = fmt.Sprintf("the audit already followed %d reusable-workflow calls, its bound", maxCalls)
	}
	if callee != nil && why == "" {
		for _, c := range ja.callChain() {
			if c == callee.name {
				why = "it calls itself (directly or through others)"
			}
		}
	}
	if why != "" {
		if ja.sess.trusted(uses) {
			return nil, nil
		}
		ja.rep.Findings = append(ja.rep.Findings, Finding{Rule: "unaudited-callee", Level: LevelFail, Line: posLine(wc.Uses.Pos),
			Message: fmt.Sprintf("job %s calls %s, but %s: the audit cannot tell whether it runs on the runner (pass the file to the audit, or --trust-callee %q if you vouch for it)", ja.j.ID.Value, uses, why, uses),
			Witness: fmt.Sprintf("job %s: uses: %s (runs in %s)", ja.j.ID.Value, uses, strings.Join(ja.runningRows(), ", "))})
		return nil, nil
	}
	ja.sess.calls++
	cc := &callContext{caller: ja.name() + ":" + ja.j.ID.Value, chain: append(ja.callChain(), ja.name())}
	for i, r := range ja.rows {
		cc.rows = append(cc.rows, r.s)
		var vs []variant
		cut := ja.fileAudit.cut[i]
		for vi, v := range r.vars {
			if !r.runs[vi] {
				continue
			}
			for _, cb := range ja.combos {
				if len(vs) == maxVariants {
					cut = true
					break
				}
				ctx := shallow(v.ctx)
				in, err := ja.callInputs(ctx, cb, callee)
				if err != nil {
					return nil, err
				}
				ctx["inputs"] = in
				desc := append([]descPart(nil), v.desc...)
				for _, k := range sortedKeys(in) {
					if k != closedKey {
						desc = append(desc, descPart{"input:" + k, "inputs." + k + "=" + describeValue(in[k])})
					}
				}
				vs = append(vs, variant{desc: desc, ctx: ctx})
			}
		}
		cc.vars = append(cc.vars, vs)
		cc.cut = append(cc.cut, cut)
	}
	sub := newFileAudit(ja.sess, callee, cc, ja.depth+1)
	jobs, err := sub.run()
	if err != nil {
		return nil, fmt.Errorf("%s (called by %s): %w", callee.name, cc.caller, err)
	}
	return jobs, nil
}

func (ja *jobAudit) callChain() []string {
	if ja.call == nil {
		return nil
	}
	return ja.call.chain
}

// runningRows names the admitted rows in which the job starts.
func (ja *jobAudit) runningRows() []string {
	var out []string
	for _, r := range ja.rows {
		for _, ok := range r.runs {
			if ok {
				out = append(out, r.s.ID)
				break
			}
		}
	}
	return out
}

// callInputs evaluates the with: of a calling job in one run: declared
// inputs get their value with the callee's type (a boolean input given
// 'true' is true), or their default; what depends on unknown values is
// unknown.
func (ja *jobAudit) callInputs(ctx map[string]any, cb combo, callee *wfFile) (map[string]any, error) {
	base := runContext(ctx, cb, nil)
	types := map[string]string{}
	defaults := map[string]*template{}
	for _, ev := range callee.w.On {
		call, ok := ev.(*actionlint.WorkflowCallEvent)
		if !ok {
			continue
		}
		for _, in := range call.Inputs {
			switch in.Type {
			case actionlint.WorkflowCallEventInputTypeBoolean:
				types[in.ID] = "boolean"
			case actionlint.WorkflowCallEventInputTypeNumber:
				types[in.ID] = "number"
			}
			if in.Default != nil {
				t, err := parseTemplate(in.Default)
				if err != nil {
					return nil, err
				}
				defaults[in.ID] = t
			}
		}
	}
	out := map[string]any{closedKey: true}
	eval := func(t *template) (any, error) {
		rs := newRefSet(t.exprs...)
		as, _ := assignments(base, unknownOnly(rs.unknowns(base)), 1)
		v, err := t.value(as[0].ctx)
		if err != nil {
			if runtimeError(err) {
				return expr.Unknown{}, nil
			}
			return nil, err
		}
		return v, nil
	}
	for id, in := range ja.j.WorkflowCall.Inputs {
		if in.Value == nil {
			continue
		}
		t, err := parseTemplate(in.Value)
		if err != nil {
			return nil, err
		}
		v, err := eval(t)
		if err != nil {
			return nil, err
		}
		out[strings.ToLower(id)] = typedInput(v, types[strings.ToLower(id)])
	}
	for id, t := range defaults {
		if _, given := out[id]; given {
			continue
		}
		v, err := eval(t)
		if err != nil {
			return nil, err
		}
		out[id] = typedInput(v, types[id])
	}
	return out, nil
}

// typedInput converts a with: value to the input's declared type.
func typedInput(v any, typ string) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	switch typ {
	case "boolean":
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return true
		case "false":
			return false
		}
	case "number":
		return expr.ToNumber(s)
	}
	return v
}

// unknownOnly makes every unknown take the single value expr.Unknown.
func unknownOnly(us []unknownRef) []unknownRef {
	out := make([]unknownRef, len(us))
	for i, u := range us {
		out[i] = unknownRef{path: u.path, cands: []any{expr.Unknown{}}}
	}
	return out
}
