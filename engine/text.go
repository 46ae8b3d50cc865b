package engine

import (
	"fmt"
	"io"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.starlark.net/starlark"
)

// TextOptions configures WriteText.
type TextOptions struct {
	// Color adds ANSI colours (the CLI sets it only on a terminal and
	// when NO_COLOR is unset).
	Color bool
	// Commands lists every host command the run executed at the end.
	Commands bool
	// All shows every resource; by default resources that are ok are
	// left out (the summary still counts them).
	All bool
}

const (
	ansiReset  = "\x1b[0m"
	ansiRed    = "\x1b[31m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiCyan   = "\x1b[36m"
	ansiDim    = "\x1b[2m"
	ansiBold   = "\x1b[1m"
)

type painter bool

func (p painter) paint(color, s string) string {
	if !p || s == "" || color == "" {
		return s
	}
	return color + s + ansiReset
}

// WriteText writes the report for people: what the plan needs first (the
// vars it was made with, the secrets it will ask for, what it destroys),
// one block per resource that is not ok (every resource with All): its
// mark (+ create, ~ change, - destroy, -/+ replace) or status, why it
// exists, each change as `property: before → after` (multi-line values as
// a unified diff), the actions with their principal, the remediation of
// what a person must do; then a summary line and the next steps. An
// apply's blocks list only what ran: its plan was shown before it.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	p := painter(o.Color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on %s\n", r.Mode, r.Recipe, r.Target)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "%s %s\n", p.paint(ansiRed, "error:"), e)
	}
	r.writeHeader(&b, p)
	hidden := 0
	for _, res := range r.Resources {
		if res.Status == StatusOK && !o.All {
			hidden++
			continue
		}
		r.writeResource(&b, p, res)
	}
	if len(r.Kept) > 0 {
		b.WriteString("\nkept:\n")
		for _, k := range r.Kept {
			fmt.Fprintf(&b, "  %s: %s\n", k.ID, p.paint(ansiDim, k.Why))
		}
	}
	b.WriteString("\n")
	b.WriteString(r.summaryLine(p))
	b.WriteString("\n")
	if hidden > 0 && hidden == len(r.Resources) && len(r.Resources) > 0 {
		// Nothing else was printed: say the list is not missing.
		fmt.Fprintf(&b, "%s\n", p.paint(ansiDim, "(every resource is ok; --all lists them)"))
	}
	r.writeNextSteps(&b)
	if o.Commands && len(r.HostCommands) > 0 {
		b.WriteString("\nhost commands:\n")
		for _, e := range r.HostCommands {
			fmt.Fprintf(&b, "  [%s] %s\n", e.User, ArgvString(e.Argv))
		}
	}
	_, err := io.WriteString(w, r.redactor.Scrub(b.String()))
	return err
}

// writeHeader says, before any resource, what the plan needs and what it
// destroys, and the legend of the marks.
func (r *Report) writeHeader(b *strings.Builder, p painter) {
	if r.Mode == ModeApply {
		return
	}
	s := r.Summary
	r.writeVars(b, p)
	if destroys := r.Destroys(); len(destroys) > 0 {
		fmt.Fprintf(b, "%s\n", p.paint(ansiRed+ansiBold, "This plan destroys:"))
		for _, d := range destroys {
			fmt.Fprintf(b, "  - %s\n", d)
		}
	}
	for _, sec := range r.Secrets {
		fmt.Fprintf(b, "%s %s", p.paint(ansiBold, "This plan needs the secret"), sec.Name())
		if users := r.SecretUsers(sec.Name()); len(users) > 0 {
			fmt.Fprintf(b, " (for %s)", strings.Join(users, ", "))
		}
		b.WriteString(":\n")
		if doc := strings.TrimSpace(sec.Doc()); doc != "" {
			fmt.Fprintf(b, "  %s\n", indentRest(doc, "  "))
		}
		if r.Mode != ModeCheck {
			fmt.Fprintf(b, "  `run` asks for it (or reads it from the environment or --token-file) before the first change.\n")
			if sec.Name() == "runner_token" {
				fmt.Fprintf(b, "  With a GitHub credential (GH_TOKEN, GITHUB_TOKEN or gh auth login) and neither, `run` creates it through the GitHub API right before config.sh needs it.\n")
			}
		}
	}
	if s.Change > 0 {
		fmt.Fprintf(b, "%s\n", p.paint(ansiDim, "(+ create, ~ change in place, - destroy, -/+ destroy and create again)"))
	}
}

// writeVars shows the vars of the run: a var whose --var value differs
// from the one the last run recorded is a change of its own, shown with
// what the plan destroys because of it; a recorded var in use says how to
// change it.
func (r *Report) writeVars(b *strings.Builder, p painter) {
	if len(r.Vars) == 0 {
		return
	}
	b.WriteString("Vars:\n")
	for _, v := range r.Vars {
		switch {
		case v.Changed():
			line := fmt.Sprintf("%s: %s → %s", v.Name, v.Recorded, v.Value)
			if d := CountDestroys(r.Destroys()); d != "" {
				line += ", destroys " + d
			}
			fmt.Fprintf(b, "  %s %s\n", p.paint(ansiYellow, "~"), line)
		case v.Given && !v.HasRecorded:
			fmt.Fprintf(b, "  %s = %s (--var; `run` records it for later runs)\n", v.Name, v.Value)
		case v.Given:
			fmt.Fprintf(b, "  %s = %s (--var, as recorded)\n", v.Name, v.Value)
		default:
			fmt.Fprintf(b, "  %s = %s (recorded by the last run in %s; --var %s=VALUE changes it)\n", v.Name, v.Value, VarsFile, v.Name)
		}
	}
}

// CountDestroys groups what a plan destroys by its kind, the words before
// the first name (one holding a digit, dot, slash, dash or parenthesis):
// "3 runners, 2 prune daemons".
func CountDestroys(what []string) string {
	var order []string
	n := map[string]int{}
	for _, w := range what {
		var kind []string
		for _, f := range strings.Fields(w) {
			if strings.ContainsAny(f, "0123456789./-()") {
				break
			}
			kind = append(kind, f)
		}
		k := strings.Join(kind, " ")
		if k == "" {
			k = "item"
		}
		if n[k] == 0 {
			order = append(order, k)
		}
		n[k]++
	}
	parts := make([]string, len(order))
	for i, k := range order {
		if n[k] == 1 {
			parts[i] = "1 " + k
			continue
		}
		plural := k + "s"
		if strings.HasSuffix(k, "y") {
			plural = strings.TrimSuffix(k, "y") + "ies"
		}
		parts[i] = fmt.Sprintf("%d %s", n[k], plural)
	}
	return strings.Join(parts, ", ")
}

// writeNextSteps prints what the recipe declared a maintainer should do
// after applying it (declare("next_step", text = ...)), in plans and
// applies.
func (r *Report) writeNextSteps(b *strings.Builder) {
	if r.Mode == ModeCheck || len(r.NextSteps) == 0 {
		return
	}
	b.WriteString("\nNext steps:\n")
	for _, s := range r.NextSteps {
		fmt.Fprintf(b, "  - %s\n", indentRest(s, "    "))
	}
}

var statusLabel = map[Status]struct{ text, color string }{
	StatusOK:           {"ok", ansiGreen},
	StatusChange:       {"change", ansiYellow},
	StatusAssertFailed: {"ASSERT", ansiRed},
	StatusUnknown:      {"verify", ansiCyan},
	StatusSkipped:      {"skipped", ansiDim},
	StatusFailed:       {"FAILED", ansiRed + ansiBold},
}

var effectColor = map[Effect]string{
	EffectCreate:  ansiGreen,
	EffectUpdate:  ansiYellow,
	EffectReplace: ansiRed,
	EffectDestroy: ansiRed,
}

func (r *Report) writeResource(b *strings.Builder, p painter, res ResourceReport) {
	lab := statusLabel[res.Status]
	text, color := lab.text, lab.color
	if res.Status == StatusChange && res.Effect != "" {
		text, color = res.Effect.Mark(), effectColor[res.Effect]
	} else if res.Status == StatusOK && (r.Mode == ModeDestroy || r.Mode == ModeDestroyPlan) {
		text = "gone"
	}
	fmt.Fprintf(b, "  %s %s %s\n", p.paint(color, fmt.Sprintf("%-8s", text)), res.ID, p.paint(ansiDim, "("+res.Kind+")"))
	const ind = "           "
	if res.Status == StatusOK {
		return
	}
	// An apply follows its plan: what changed lists only the actions that
	// ran, and what is to verify manually only its name (the plan showed
	// why and the remediation).
	compact := r.Mode == ModeApply && res.Status == StatusChange
	if r.Mode == ModeApply && res.Status == StatusUnknown {
		return
	}
	if res.Doc != "" && !compact {
		fmt.Fprintf(b, "%s%s %s\n", ind, p.paint(ansiDim, "why:"), indentRest(res.Doc, ind+"  "))
	}
	switch res.Status {
	case StatusUnknown:
		fmt.Fprintf(b, "%sverify manually:\n", ind)
	case StatusAssertFailed:
		fmt.Fprintf(b, "%sassertion failed:\n", ind)
	}
	if !compact {
		for _, c := range res.Changes {
			writeChange(b, p, ind, c)
		}
	}
	if res.needsRemediation() {
		fmt.Fprintf(b, "%s%s %s\n", ind, p.paint(ansiBold, "remediation:"), indentRest(res.Remediation, ind+"  "))
	}
	// The changes above already say why; a reason is shown only where the
	// recipe gave one of its own (action.because(...)).
	lastReason, lastDestroys := changeReason(res.Changes), ""
	for _, a := range res.Actions {
		verb, color := actionVerb(r.Mode, a)
		fmt.Fprintf(b, "%s%s %s %s\n", ind, p.paint(color, verb), ArgvString(a.Argv), p.paint(ansiDim, "(as "+a.User+")"))
		if a.Destroys != "" && a.Destroys != lastDestroys && !compact {
			fmt.Fprintf(b, "%s  %s %s\n", ind, p.paint(ansiRed, "destroys"), a.Destroys)
		}
		lastDestroys = a.Destroys
		if a.Reason != "" && a.Reason != lastReason && !compact {
			fmt.Fprintf(b, "%s  because %s\n", ind, a.Reason)
		}
		lastReason = a.Reason
	}
	if res.Error != "" {
		color := ansiRed
		if res.Status == StatusSkipped {
			color = ansiDim
		}
		fmt.Fprintf(b, "%s%s\n", ind, p.paint(color, indentRest(res.Error, ind)))
	}
}

// actionVerb says what became of an action: "will run" in a plan or
// check; in an apply "ran", "failed" (it ran and failed; the error
// follows the resource) or "not run" (the apply was refused, or an
// earlier action of the resource failed or the run was interrupted).
func actionVerb(mode Mode, a ActionReport) (verb, color string) {
	switch {
	case mode != ModeApply && mode != ModeDestroy:
		return "will run", ""
	case a.Ran && a.Error != "":
		return "failed", ansiRed
	case a.Ran:
		return "ran", ""
	}
	return "not run", ansiDim
}

func writeChange(b *strings.Builder, p painter, ind string, c Change) {
	if isMultiline(c.Before) || isMultiline(c.After) {
		fmt.Fprintf(b, "%s%s:\n", ind, c.Property)
		for _, line := range strings.Split(strings.TrimRight(UnifiedDiff(diffText(c.Before), diffText(c.After), 3), "\n"), "\n") {
			color := ""
			switch {
			case strings.HasPrefix(line, "+"):
				color = ansiGreen
			case strings.HasPrefix(line, "-"):
				color = ansiRed
			case strings.HasPrefix(line, "@@"):
				color = ansiCyan
			}
			fmt.Fprintf(b, "%s  %s\n", ind, p.paint(color, line))
		}
		return
	}
	fmt.Fprintf(b, "%s%s: %s → %s\n", ind, c.Property, p.paint(ansiRed, DisplayProperty(c.Property, c.Before)), p.paint(ansiGreen, DisplayProperty(c.Property, c.After)))
}

// diffText is the text a multi-line value is diffed as.
func diffText(v starlark.Value) string {
	switch x := v.(type) {
	case starlark.String:
		return string(x)
	case nil, starlark.NoneType:
		return ""
	}
	return Display(v) + "\n"
}

func indentRest(s, ind string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n"+ind)
}

func (r *Report) summaryLine(p painter) string {
	s := r.Summary
	var parts []string
	add := func(n int, text, color string) {
		if n > 0 {
			parts = append(parts, p.paint(color, fmt.Sprintf("%d %s", n, text)))
		}
	}
	if r.Mode == ModeDestroy || r.Mode == ModeDestroyPlan {
		return r.destroySummary(p)
	}
	if r.Mode == ModeApply {
		// A resource counts as done only when its actions ran; an apply
		// that was refused (or stopped) leaves its changes not applied.
		var done, notRun Summary
		for _, res := range r.Resources {
			if res.Status != StatusChange {
				continue
			}
			if allRan(res.Actions) {
				done.add(res.Status, res.Effect)
			} else {
				notRun.add(res.Status, res.Effect)
			}
		}
		add(done.Create, "created", ansiGreen)
		add(done.Update, "changed", ansiYellow)
		add(done.Replace, "replaced", ansiRed)
		add(done.Destroy, "destroyed", ansiRed)
		add(notRun.Change, "to change, not applied", ansiYellow)
	} else {
		add(s.Create, "to create", ansiGreen)
		add(s.Update, "to change", ansiYellow)
		add(s.Replace, "to replace", ansiRed)
		add(s.Destroy, "to destroy", ansiRed)
	}
	add(s.AssertFailed, "assertion failed", ansiRed)
	add(s.Unknown, "to verify manually", ansiCyan)
	add(s.Skipped, "skipped", ansiDim)
	add(s.Failed, "failed", ansiRed)
	if s.OK > 0 || len(parts) == 0 {
		parts = append(parts, fmt.Sprintf("%d ok", s.OK))
	}
	return fmt.Sprintf("%s: %s (%d resources)", r.Verdict(), strings.Join(parts, ", "), s.Total)
}

// allRan says whether every action ran.
func allRan(actions []ActionReport) bool {
	for _, a := range actions {
		if !a.Ran {
			return false
		}
	}
	return true
}

// UnifiedDiff renders a line diff of a and b in unified format with the
// given lines of context, computed with sergi/go-diff. Equal inputs give
// "".
func UnifiedDiff(a, b string, context int) string {
	if a == b {
		return ""
	}
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToChars(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMain(ca, cb, false), lines)

	type line struct {
		op   diffmatchpatch.Operation
		text string
	}
	var all []line
	for _, d := range diffs {
		text := strings.TrimSuffix(d.Text, "\n")
		for _, l := range strings.Split(text, "\n") {
			all = append(all, line{d.Type, l})
		}
	}
	var out strings.Builder
	i := 0
	for i < len(all) {
		if all[i].op == diffmatchpatch.DiffEqual {
			i++
			continue
		}
		// A hunk: from context lines before the change to context lines
		// after the last change that is within 2*context of the next.
		start := max(i-context, 0)
		end := i
		for end < len(all) {
			if all[end].op != diffmatchpatch.DiffEqual {
				end++
				continue
			}
			run := end
			for run < len(all) && all[run].op == diffmatchpatch.DiffEqual {
				run++
			}
			if run == len(all) || run-end > 2*context {
				end = min(end+context, len(all))
				break
			}
			end = run
		}
		aStart, bStart := 1, 1
		for _, l := range all[:start] {
			if l.op != diffmatchpatch.DiffInsert {
				aStart++
			}
			if l.op != diffmatchpatch.DiffDelete {
				bStart++
			}
		}
		aLen, bLen := 0, 0
		var body strings.Builder
		for _, l := range all[start:end] {
			switch l.op {
			case diffmatchpatch.DiffEqual:
				aLen++
				bLen++
				body.WriteString(" " + l.text + "\n")
			case diffmatchpatch.DiffDelete:
				aLen++
				body.WriteString("-" + l.text + "\n")
			case diffmatchpatch.DiffInsert:
				bLen++
				body.WriteString("+" + l.text + "\n")
			}
		}
		// An empty range names the line before it, as diff -u does
		// ("@@ -0,0 +1,3 @@" for a new file).
		if aLen == 0 {
			aStart--
		}
		if bLen == 0 {
			bStart--
		}
		fmt.Fprintf(&out, "@@ -%d,%d +%d,%d @@\n", aStart, aLen, bStart, bLen)
		out.WriteString(body.String())
		i = end
	}
	return out.String()
}

// ArgvString renders an argv for people: elements that are empty or hold
// spaces, quotes or shell metacharacters are single-quoted so that
// element boundaries stay visible. It is for display only; no shell ever
// sees it.
func ArgvString(argv []string) string {
	out := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`|&;<>()*?[]{}~#!") && !(strings.HasPrefix(a, "<") && strings.HasSuffix(a, ">") && !strings.ContainsAny(a, " ")) {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		out[i] = a
	}
	return strings.Join(out, " ")
}

// destroySummary is the summary line of a destroy plan or destroy.
func (r *Report) destroySummary(p painter) string {
	s := r.Summary
	var parts []string
	add := func(n int, text, color string) {
		if n > 0 {
			parts = append(parts, p.paint(color, fmt.Sprintf("%d %s", n, text)))
		}
	}
	if r.Mode == ModeDestroy {
		removed, notRun := 0, 0
		for _, res := range r.Resources {
			if res.Status != StatusChange {
				continue
			}
			if allRan(res.Actions) {
				removed++
			} else {
				notRun++
			}
		}
		add(removed, "destroyed", ansiRed)
		add(notRun, "to destroy, not run", ansiYellow)
	} else {
		add(s.Change, "to destroy", ansiRed)
	}
	add(s.OK, "already gone", "")
	add(s.Skipped, "skipped", ansiDim)
	add(s.Failed, "failed", ansiRed)
	add(len(r.Kept), "kept", ansiDim)
	if len(parts) == 0 {
		parts = append(parts, "nothing declared to destroy")
	}
	return fmt.Sprintf("%s: %s", r.Verdict(), strings.Join(parts, ", "))
}
