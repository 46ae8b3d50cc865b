package engine

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// DestroyOptions configures DestroyPlan and Destroy.
type DestroyOptions struct {
	// All includes the resources declared with destroy_with_all = True
	// (the runner account, caches).
	All bool
}

// DestroyPlan checks every resource that has a destroy function, in
// reverse declaration order (a resource is always declared after the
// ones it requires, so this is reverse dependency order), and asks that
// function what it would remove. It changes nothing. A resource whose
// destroy function returns no action is already gone (StatusOK); one
// with actions is StatusChange with Destroy set.
func (r *Recipe) DestroyPlan(ctx context.Context, o DestroyOptions) *Report {
	mark := r.mark()
	rep := r.report(ModeDestroyPlan, r.destroyPlan(ctx, o), nil, mark)
	rep.Kept = r.kept(o)
	return rep
}

// Destroy plans the destroy, refuses it whole when an action would write
// outside allow_writes, then handles each resource in reverse order:
// re-check, ask its destroy function, run the actions, and re-verify by
// asking again, which must then return nothing. A resource whose destroy
// fails makes the resources it requires skipped (removing what a
// still-present resource needs would break it); the others continue.
func (r *Recipe) Destroy(ctx context.Context, o DestroyOptions) *Report {
	mark := r.mark()
	plan := r.destroyPlan(ctx, o)
	if refusals := r.refusals(plan); len(refusals) > 0 {
		rep := r.report(ModeDestroy, plan, append([]string{"nothing was run: an action would write outside allow_writes"}, refusals...), mark)
		rep.Kept = r.kept(o)
		return rep
	}
	r.sess.ForgetFacts()
	out := r.walk(r.destroyOrder(o), func(res *Resource, status map[string]Status) string {
		return r.destroyBlocked(ctx, res, status, o)
	}, func(p *planned) { r.destroyOne(ctx, p) })
	rep := r.report(ModeDestroy, out, nil, mark)
	rep.Kept = r.kept(o)
	return rep
}

// destroyOrder is the resources destroy handles, last declared first.
func (r *Recipe) destroyOrder(o DestroyOptions) []*Resource {
	var out []*Resource
	for i := len(r.resources) - 1; i >= 0; i-- {
		res := r.resources[i]
		if res.Destroy != nil && (o.All || !res.DestroyWithAll) {
			out = append(out, res)
		}
	}
	return out
}

// kept lists, in declaration order, the resources destroy leaves alone
// and why.
func (r *Recipe) kept(o DestroyOptions) []KeptResource {
	var out []KeptResource
	for _, res := range r.resources {
		switch {
		case res.Destroy == nil && res.IsAssertion():
			// An assertion created nothing.
		case res.Destroy == nil && res.KeepReason != "":
			out = append(out, KeptResource{ID: res.ID, Why: res.KeepReason})
		case res.Destroy == nil:
			out = append(out, KeptResource{ID: res.ID, Why: "the recipe does not remove it"})
		case res.DestroyWithAll && !o.All:
			out = append(out, KeptResource{ID: res.ID, Why: "removed only with --all"})
		}
	}
	return out
}

// destroyBlocked says why a resource cannot be destroyed now: a resource
// that requires it failed or was skipped, so it may still be in use.
func (r *Recipe) destroyBlocked(ctx context.Context, res *Resource, status map[string]Status, o DestroyOptions) string {
	if ctx.Err() != nil {
		return "interrupted"
	}
	for _, other := range r.destroyOrder(o) {
		for _, dep := range other.Requires {
			if dep != res.ID {
				continue
			}
			if st := status[other.ID]; st == StatusFailed || st == StatusSkipped {
				return fmt.Sprintf("kept: %s requires it and %s", other.ID, pastTense(st))
			}
		}
	}
	return ""
}

func (r *Recipe) destroyPlan(ctx context.Context, o DestroyOptions) []*planned {
	return r.walk(r.destroyOrder(o), func(res *Resource, status map[string]Status) string {
		return r.destroyBlocked(ctx, res, status, o)
	}, r.checkAndDestroy)
}

// walk handles resources in the given order: a resource blocked says why
// (from the statuses so far) is skipped, any other is handled.
func (r *Recipe) walk(order []*Resource, blocked func(*Resource, map[string]Status) string, handle func(*planned)) []*planned {
	out := make([]*planned, 0, len(order))
	status := map[string]Status{}
	for _, res := range order {
		p := &planned{res: res, rep: newResourceReport(res)}
		out = append(out, p)
		if why := blocked(res, status); why != "" {
			p.rep.Status, p.rep.Error = StatusSkipped, why
		} else {
			handle(p)
		}
		status[res.ID] = p.rep.Status
	}
	return out
}

// checkAndDestroy runs the resource's check and its destroy function and
// records the actions (none: the resource is already gone).
func (r *Recipe) checkAndDestroy(p *planned) {
	defer r.failOnRecorded(p, len(r.sess.Errors()))
	p.rep.Effect = ""
	actions, err := r.destroyActions(p.res)
	if err != nil {
		p.rep.Status, p.rep.Error = StatusFailed, r.scrub(err.Error())
		return
	}
	p.actions = actions
	p.rep.Actions = r.actionReports(actions)
	if len(actions) == 0 {
		p.rep.Status = StatusOK
		return
	}
	p.rep.Status, p.rep.Effect = StatusChange, EffectDestroy
}

// destroyActions calls the resource's check, then its destroy function
// with what the check returned.
func (r *Recipe) destroyActions(res *Resource) ([]*Action, error) {
	have, _, _, err := r.checkOne(res)
	if err != nil {
		return nil, err
	}
	r.sess.SetPhase(PhaseFix)
	defer r.sess.SetPhase(PhaseEval)
	v, err := Call(r.thread, res.Destroy, starlark.Tuple{have}, nil)
	if err != nil {
		return nil, fmt.Errorf("destroy of %s: %w", res.ID, joinErrors(starlarkErrors(err)))
	}
	var actions []*Action
	if err := flattenActions(v, &actions, 0); err != nil {
		return nil, fmt.Errorf("%s: destroy of %s: %w", res.Pos, res.ID, err)
	}
	for i, a := range actions {
		if a.Reason == "" {
			c := *a
			c.Reason = "destroy " + res.ID
			actions[i] = &c
		}
	}
	return actions, nil
}

// refusals lists the planned actions that would write outside the
// recipe's allow_writes.
func (r *Recipe) refusals(plan []*planned) []string {
	var out []string
	for _, p := range plan {
		for _, a := range p.actions {
			for _, w := range a.Writes {
				if err := r.sess.CheckWrite(w); err != nil {
					out = append(out, fmt.Sprintf("resource %s: %v", p.res.ID, err))
				}
			}
		}
	}
	return out
}

func (r *Recipe) destroyOne(ctx context.Context, p *planned) {
	r.checkAndDestroy(p)
	if p.rep.Status != StatusChange {
		return
	}
	if _, ok := r.runActions(ctx, p); !ok {
		return
	}
	still, err := r.destroyActions(p.res)
	if err != nil {
		p.rep.Status, p.rep.Error = StatusFailed, r.scrub("re-check after the actions: "+err.Error())
		return
	}
	if len(still) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString("still present after its actions; destroy would still run:")
	for _, a := range still {
		fmt.Fprintf(&b, "\n  %s (as %s)", ArgvString(a.Argv), a.User)
	}
	p.rep.Status, p.rep.Error = StatusFailed, r.scrub(b.String())
}

// runActions runs a planned resource's actions in order, forgetting the
// facts after each, and records what ran (with the argv an action
// resolved while running, such as the label softwareupdate installed).
// It returns the last host command that ran, and false (the resource
// failed) when an action is refused, fails, or the run is interrupted.
func (r *Recipe) runActions(ctx context.Context, p *planned) (*host.Entry, bool) {
	for _, a := range p.actions {
		for _, w := range a.Writes {
			if err := r.sess.CheckWrite(w); err != nil {
				p.rep.Status, p.rep.Error = StatusFailed, r.scrub(err.Error())
				return nil, false
			}
		}
	}
	var lastCmd *host.Entry
	for i, a := range p.actions {
		if err := ctx.Err(); err != nil {
			p.rep.Status, p.rep.Error = StatusFailed, "interrupted before "+strings.Join(a.Argv, " ")
			return lastCmd, false
		}
		mark := len(r.sess.Recorder().Transcript())
		if r.progress != nil {
			r.progress(r.scrub(fmt.Sprintf("%s: running %s (as %s)", p.res.ID, ArgvString(a.Argv), a.User)))
		}
		// Resolve what the action writes on the host as it is now, right
		// before it runs: a CI job may have planted a link since the plan.
		if gerr := r.sess.GuardAction(ctx, a); gerr != nil {
			msg := r.scrub(fmt.Sprintf("refused before it ran: %s (as %s): %v", ArgvString(a.Argv), a.User, gerr))
			p.rep.Actions[i].Error = msg
			p.rep.Status, p.rep.Error = StatusFailed, msg
			return lastCmd, false
		}
		r.sess.takeResolved()
		err := a.Run(ctx, r.sess)
		r.sess.ForgetFacts()
		r.sess.markChanged()
		p.rep.Actions[i].Ran = true
		if resolved := r.sess.takeResolved(); resolved != nil {
			argv := make([]string, len(resolved))
			for j, s := range resolved {
				argv[j] = r.scrub(s)
			}
			p.rep.Actions[i].Argv = argv
		}
		if err != nil {
			msg := r.scrub(describeActionError(a, err))
			p.rep.Actions[i].Error = msg
			p.rep.Status, p.rep.Error = StatusFailed, msg
			return lastCmd, false
		}
		if entries := r.sess.Recorder().Transcript(); len(entries) > mark {
			e := entries[len(entries)-1]
			lastCmd = &e
		}
	}
	return lastCmd, true
}
