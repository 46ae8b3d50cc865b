package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// Status is the state of one resource in a report.
type Status string

// The statuses of a resource. StatusFailed appears when a check or fix
// function fails, or (in apply) when actions fail or do not converge.
const (
	StatusOK           Status = "ok"
	StatusChange       Status = "change"
	StatusAssertFailed Status = "assert-failed"
	StatusUnknown      Status = "unknown"
	StatusSkipped      Status = "skipped"
	StatusFailed       Status = "failed"
)

// planned is one resource's outcome with the actions behind its report.
type planned struct {
	res     *Resource
	have    *starlark.Dict
	rep     ResourceReport
	actions []*Action
}

// Plan checks every resource and computes the actions that would bring
// the host to the wanted state. It changes nothing.
func (r *Recipe) Plan(ctx context.Context) *Report {
	mark := r.mark()
	return r.report(ModePlan, r.plan(ctx), nil, mark)
}

// Check is Plan for drift detection: the same checks and actions, with
// the exit code of `hvfctl check` (2 on drift or a failed assertion).
func (r *Recipe) Check(ctx context.Context) *Report {
	mark := r.mark()
	return r.report(ModeCheck, r.plan(ctx), nil, mark)
}

// mark is the length of the host transcript before a run, so that a
// report lists only the commands of its own run.
// The first report of a recipe starts at the beginning of the transcript,
// so that the commands Load ran are listed too.
func (r *Recipe) mark() int {
	if !r.reported {
		return r.loadMark
	}
	return len(r.sess.Recorder().Transcript())
}

func (r *Recipe) plan(ctx context.Context) []*planned {
	return r.walk(r.resources, func(res *Resource, status map[string]Status) string {
		return r.blocked(ctx, res, status, false)
	}, r.checkAndFix)
}

// blocked says why a resource cannot be handled now, or "".
func (r *Recipe) blocked(ctx context.Context, res *Resource, status map[string]Status, strict bool) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	for _, dep := range res.Requires {
		switch st := status[dep]; {
		case st == StatusFailed || st == StatusSkipped:
			return fmt.Sprintf("requires %s, which %s", dep, pastTense(st))
		case strict && st == StatusAssertFailed:
			return fmt.Sprintf("requires %s, whose assertion failed", dep)
		}
	}
	return ""
}

func pastTense(s Status) string {
	if s == StatusSkipped {
		return "was skipped"
	}
	return "failed"
}

// failOnRecorded fails p with the errors a builtin recorded on the
// session (instead of raising) since there were before of them, while
// its check, fix or destroy function ran; p's own error comes first.
func (r *Recipe) failOnRecorded(p *planned, before int) {
	errs := r.sess.Errors()
	if len(errs) <= before {
		return
	}
	var msgs []string
	if p.rep.Error != "" {
		msgs = append(msgs, p.rep.Error)
	}
	for _, e := range errs[before:] {
		msgs = append(msgs, e.Error())
	}
	p.rep.Status, p.rep.Error = StatusFailed, r.scrub(strings.Join(msgs, "\n"))
}

// checkAndFix runs a resource's check, compares, and for a change runs
// its fix to get the actions.
func (r *Recipe) checkAndFix(p *planned) {
	defer r.failOnRecorded(p, len(r.sess.Errors()))
	have, changes, status, err := r.checkOne(p.res)
	p.have, p.rep.Changes, p.rep.Status = have, changes, status
	p.rep.Version = r.scrub(installedVersion(p.res, have))
	if err != nil {
		p.rep.Status, p.rep.Error = StatusFailed, r.scrub(err.Error())
		return
	}
	if status != StatusChange {
		return
	}
	actions, err := r.fixOne(p.res, have, changes)
	if err != nil {
		p.rep.Status, p.rep.Error = StatusFailed, r.scrub(err.Error())
		return
	}
	p.actions = actions
	p.rep.Actions = r.actionReports(actions)
	p.rep.Effect = effectOf(changes, actions, p.res.Want.Len())
}

// installedVersion is the string a resource that wants a "version"
// property reported for it (the runner's `Runner.Listener --version`, a
// toolchain's linked version), or "".
func installedVersion(res *Resource, have *starlark.Dict) string {
	if have == nil {
		return ""
	}
	if _, wanted, _ := res.Want.Get(starlark.String("version")); !wanted {
		return ""
	}
	v, found, _ := have.Get(starlark.String("version"))
	if !found {
		return ""
	}
	s, _ := starlark.AsString(v)
	return s
}

// effectOf classifies a change: actions that only destroy make it a
// destroy, destroying beside other actions a replace; a resource none of
// whose wanted properties (wanted of them) exists yet is a create;
// anything else (some of it is there) is an update in place.
func effectOf(changes []Change, actions []*Action, wanted int) Effect {
	destroys, others := false, false
	for _, a := range actions {
		if a.Destroys != "" {
			destroys = true
		} else {
			others = true
		}
	}
	switch {
	case destroys && others:
		return EffectReplace
	case destroys:
		return EffectDestroy
	}
	absent := 0
	for _, c := range changes {
		if _, unknown := c.Before.(*Unknown); unknown {
			continue
		}
		if !isAbsent(c.Before, c.After) {
			return EffectUpdate
		}
		absent++
	}
	if absent > 0 && absent == wanted {
		return EffectCreate
	}
	return EffectUpdate
}

// isAbsent says whether a current value means "not there": None, the
// words stdlib checks use for it ("missing", "not loaded"), or False
// where True is wanted (exists, loaded, unpacked).
func isAbsent(before, after starlark.Value) bool {
	switch b := before.(type) {
	case nil, starlark.NoneType:
		return true
	case starlark.String:
		return b == "missing" || b == "not loaded"
	case starlark.Bool:
		return !bool(b) && after == starlark.True
	}
	return false
}

// checkOne calls the resource's check function and compares the result
// with the wanted properties.
func (r *Recipe) checkOne(res *Resource) (*starlark.Dict, []Change, Status, error) {
	r.sess.SetPhase(PhaseCheck)
	defer r.sess.SetPhase(PhaseEval)
	v, err := Call(r.thread, res.Check, nil, nil)
	if err != nil {
		return nil, nil, StatusFailed, fmt.Errorf("check of %s: %w", res.ID, joinErrors(starlarkErrors(err)))
	}
	have, ok := v.(*starlark.Dict)
	if !ok {
		return nil, nil, StatusFailed, fmt.Errorf("%s: check of %s returned %s, want a dict of property → current value", res.Pos, res.ID, v.Type())
	}
	if err := CheckValueDepth(have, "the value it returned"); err != nil {
		return nil, nil, StatusFailed, fmt.Errorf("%s: check of %s: %w", res.Pos, res.ID, err)
	}
	var changes []Change
	mismatch, unknown := false, false
	for _, item := range res.Want.Items() {
		prop, _ := starlark.AsString(item[0])
		want := item[1]
		cur, found, err := have.Get(item[0])
		if err != nil {
			return nil, nil, StatusFailed, fmt.Errorf("check of %s: property %s: %w", res.ID, prop, err)
		}
		if !found {
			cur = starlark.None
		}
		if _, isUnknown := cur.(*Unknown); isUnknown {
			unknown = true
			changes = append(changes, Change{Property: prop, Before: cur, After: want})
			continue
		}
		if !satisfied(want, cur) {
			mismatch = true
			changes = append(changes, Change{Property: prop, Before: cur, After: want})
		}
	}
	switch {
	case mismatch && res.IsAssertion():
		return have, changes, StatusAssertFailed, nil
	case mismatch:
		return have, changes, StatusChange, nil
	case unknown:
		return have, changes, StatusUnknown, nil
	}
	return have, changes, StatusOK, nil
}

// fixOne calls the resource's fix function and flattens its result.
func (r *Recipe) fixOne(res *Resource, have *starlark.Dict, changes []Change) ([]*Action, error) {
	r.sess.SetPhase(PhaseFix)
	defer r.sess.SetPhase(PhaseEval)
	v, err := Call(r.thread, res.Fix, starlark.Tuple{have, res.Want}, nil)
	if err != nil {
		return nil, fmt.Errorf("fix of %s: %w", res.ID, joinErrors(starlarkErrors(err)))
	}
	var actions []*Action
	if err := flattenActions(v, &actions, 0); err != nil {
		return nil, fmt.Errorf("%s: fix of %s: %w", res.Pos, res.ID, err)
	}
	reason := changeReason(changes)
	for i, a := range actions {
		if a.Reason == "" {
			c := *a
			c.Reason = reason
			actions[i] = &c
		}
	}
	return actions, nil
}

func flattenActions(v starlark.Value, out *[]*Action, depth int) error {
	if depth > 8 {
		return fmt.Errorf("actions nested too deeply")
	}
	switch x := v.(type) {
	case starlark.NoneType:
	case *Action:
		*out = append(*out, x)
	case *starlark.List:
		for i := 0; i < x.Len(); i++ {
			if err := flattenActions(x.Index(i), out, depth+1); err != nil {
				return err
			}
		}
	case starlark.Tuple:
		for _, e := range x {
			if err := flattenActions(e, out, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("returned a %s; a fix returns actions (an action, a list of them, or None)", v.Type())
	}
	return nil
}

// changeReason is the default reason of an action: the changes it makes.
func changeReason(changes []Change) string {
	var parts []string
	for _, c := range changes {
		if _, unknown := c.Before.(*Unknown); unknown {
			continue
		}
		if isMultiline(c.Before) || isMultiline(c.After) {
			parts = append(parts, c.Property+" differs")
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: %s → %s", c.Property, DisplayProperty(c.Property, c.Before), DisplayProperty(c.Property, c.After)))
	}
	return strings.Join(parts, "; ")
}

func (r *Recipe) actionReports(actions []*Action) []ActionReport {
	out := make([]ActionReport, len(actions))
	for i, a := range actions {
		argv := make([]string, len(a.Argv))
		for j, s := range a.Argv {
			argv[j] = r.scrub(s)
		}
		out[i] = ActionReport{Argv: argv, User: a.User, Reason: r.scrub(a.Reason), Destroys: r.scrub(a.Destroys)}
	}
	return out
}

func (r *Recipe) scrub(s string) string { return r.sess.Redactor().Scrub(s) }

// Apply plans, refuses the whole run when an action would write outside
// the recipe's allow_writes, then handles each resource in order:
// re-check, run its actions, re-check. A resource that fails (or does not
// converge) makes its dependents skipped; independent resources continue.
func (r *Recipe) Apply(ctx context.Context) *Report {
	mark := r.mark()
	plan := r.plan(ctx)
	refusals := r.refusals(plan)
	if len(refusals) > 0 {
		return r.report(ModeApply, plan, append([]string{"nothing was run: an action would write outside allow_writes"}, refusals...), mark)
	}
	r.sess.ForgetFacts()
	out := r.walk(r.resources, func(res *Resource, status map[string]Status) string {
		return r.blocked(ctx, res, status, true)
	}, func(p *planned) { r.applyOne(ctx, p) })
	// The host now follows these vars: later runs keep them.
	var errs []string
	if r.sticky {
		if err := r.RecordVars(ctx); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return r.report(ModeApply, out, errs, mark)
}

func (r *Recipe) applyOne(ctx context.Context, p *planned) {
	r.checkAndFix(p)
	if p.rep.Status != StatusChange {
		return
	}
	lastCmd, ok := r.runActions(ctx, p)
	if !ok {
		return
	}
	again, after, status, err := r.checkOne(p.res)
	if err != nil {
		p.rep.Status, p.rep.Error = StatusFailed, r.scrub("re-check after the actions: "+err.Error())
		return
	}
	p.rep.Version = r.scrub(installedVersion(p.res, again))
	if status == StatusOK || status == StatusUnknown {
		return // converged; the report keeps the changes made and actions run
	}
	var b strings.Builder
	b.WriteString("did not converge after its actions:")
	for _, c := range after {
		if isMultiline(c.Before) || isMultiline(c.After) {
			fmt.Fprintf(&b, "\n  %s still differs", c.Property)
			continue
		}
		fmt.Fprintf(&b, "\n  %s: %s, want %s", c.Property, DisplayProperty(c.Property, c.Before), DisplayProperty(c.Property, c.After))
	}
	if lastCmd != nil {
		fmt.Fprintf(&b, "\nlast command: %s (as %s) exited %d", strings.Join(lastCmd.Argv, " "), lastCmd.User, lastCmd.Exit)
		if t := strings.TrimSpace(Tail(lastCmd.Stderr, 5)); t != "" {
			fmt.Fprintf(&b, "\nstderr: %s", t)
		}
	}
	p.rep.Status, p.rep.Error = StatusFailed, r.scrub(b.String())
}

func describeActionError(a *Action, err error) string {
	var ae *ActionError
	if errors.As(err, &ae) {
		return "action failed: " + ae.Error()
	}
	return fmt.Sprintf("action failed: %s (as %s): %v", strings.Join(a.Argv, " "), a.User, err)
}

// AskSecrets obtains, before anything changes, every secret a person must
// supply for the plan's actions (the runner registration token), so that
// `run` never stops to ask in the middle of an apply. The values are
// cached for the run and registered with its redactor.
//
// A secret the source creates itself when it is needed, asking nobody
// (the runner token made through the GitHub API just before config.sh
// runs, see DeferredSecrets), is not fetched here.
func (r *Recipe) AskSecrets(ctx context.Context, plan *Report) error {
	d, _ := r.sess.secrets.(DeferredSecrets)
	for _, sec := range plan.Secrets {
		if d != nil && d.Deferred(sec.Name()) {
			continue
		}
		if _, err := sec.Reveal(ctx, r.sess); err != nil {
			return err
		}
	}
	return nil
}
