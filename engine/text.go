package engine

import (
	"fmt"
	"io"
	"strings"

	"github.com/sergi/go-diff/diffmatchpatch"
	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
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

// colour is one of the painter's SGR sequences; report text never
// becomes one (see canvas).
type colour string

const (
	ansiReset  colour = "\x1b[0m"
	ansiRed    colour = "\x1b[31m"
	ansiGreen  colour = "\x1b[32m"
	ansiYellow colour = "\x1b[33m"
	ansiCyan   colour = "\x1b[36m"
	ansiDim    colour = "\x1b[2m"
	ansiBold   colour = "\x1b[1m"
)

// canvas builds a report's text so that painting is decided by the
// report's structure, never by its text: text enters only as printf's
// arguments, each scrubbed of the run's secrets and then escaped
// (EscapeControls: ESC, CSI, BEL, CR, NUL, bidi controls … become
// visible), and colour only as a painted argument, whose text is escaped
// the same way before the painter wraps it in one of its colours. The
// format strings are hvfctl's own literals. So the only control
// sequences in a report are the painter's, where the painter put them,
// whatever a job wrote into host output, files or names.
type canvas struct {
	b     strings.Builder
	color bool
	red   *host.Redactor
}

// painted is text to show in a colour (none when color is "").
type painted struct {
	color colour
	text  string
}

// paint returns s to show in color, as an argument of printf.
func paint(color colour, s string) painted { return painted{color, s} }

// clean scrubs and escapes a piece of text for the canvas.
func (c *canvas) clean(s string) string { return EscapeControls(c.red.Scrub(s)) }

// render returns p as it appears on the canvas.
func (c *canvas) render(p painted) string {
	t := c.clean(p.text)
	if !c.color || t == "" || p.color == "" {
		return t
	}
	return string(p.color) + t + string(ansiReset)
}

// printf appends format (a literal of hvfctl's) with args: numbers as
// they are, painted values rendered, anything else as its text, cleaned.
func (c *canvas) printf(format string, args ...any) {
	out := make([]any, len(args))
	for i, a := range args {
		switch x := a.(type) {
		case painted:
			out[i] = c.render(x)
		case int, int64, uint64, bool:
			out[i] = x
		default:
			out[i] = c.clean(fmt.Sprint(x))
		}
	}
	fmt.Fprintf(&c.b, format, out...)
}

// WriteText writes the report for people: what the plan needs first (the
// vars it was made with, the secrets it will ask for, what it destroys),
// one block per resource that is not ok (every resource with All): its
// mark (+ create, ~ change, - destroy, -/+ replace) or status, why it
// exists, each change as `property: before → after` (multi-line values as
// a unified diff), the actions with their principal, the remediation of
// what a person must do; then a summary line and the next steps. An
// apply's blocks list only what ran: its plan was shown before it.
//
// Every piece of text is escaped where it enters (see canvas); with
// Color, the painter's colours are the only control sequences, and a w
// that is a PaintedWriter receives the text through WritePainted.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	c := &canvas{color: o.Color, red: r.redactor}
	c.printf("%s %s on %s\n", r.Mode, r.Recipe, r.Target)
	for _, e := range r.Errors {
		c.printf("%s %s\n", paint(ansiRed, "error:"), e)
	}
	r.writeHeader(c)
	hidden := 0
	for _, res := range r.Resources {
		if res.Status == StatusOK && !o.All {
			hidden++
			continue
		}
		r.writeResource(c, res)
	}
	r.writeVersions(c)
	if len(r.Kept) > 0 {
		c.printf("\nkept:\n")
		for _, k := range r.Kept {
			c.printf("  %s: %s\n", k.ID, paint(ansiDim, k.Why))
		}
	}
	c.printf("\n")
	r.writeSummary(c)
	c.printf("\n")
	if hidden > 0 && hidden == len(r.Resources) && len(r.Resources) > 0 {
		// Nothing else was printed: say the list is not missing.
		c.printf("%s\n", paint(ansiDim, "(every resource is ok; --all lists them)"))
	}
	r.writeNextSteps(c)
	if o.Commands && len(r.HostCommands) > 0 {
		c.printf("\nhost commands:\n")
		for _, e := range r.HostCommands {
			c.printf("  [%s] %s\n", e.User, ArgvString(e.Argv))
		}
	}
	text := c.b.String()
	if pw, ok := w.(PaintedWriter); ok && o.Color {
		return pw.WritePainted(text)
	}
	_, err := io.WriteString(w, text)
	return err
}

// PaintedWriter is a writer that escapes every terminal control sequence
// written to it (the CLI's stdout) and can also take a coloured report:
// WritePainted writes text whose only control sequences are the report
// painter's (WriteText with Color), unescaped.
type PaintedWriter interface {
	WritePainted(text string) error
}

// writeHeader says, before any resource, what the plan needs and what it
// destroys, and the legend of the marks.
func (r *Report) writeHeader(c *canvas) {
	if r.Mode == ModeApply {
		return
	}
	s := r.Summary
	r.writeVars(c)
	if destroys := r.Destroys(); len(destroys) > 0 {
		c.printf("%s\n", paint(ansiRed+ansiBold, "This plan destroys:"))
		for _, d := range destroys {
			c.printf("  - %s\n", d)
		}
	}
	for _, sec := range r.Secrets {
		c.printf("%s %s", paint(ansiBold, "This plan needs the secret"), sec.Name())
		if users := r.SecretUsers(sec.Name()); len(users) > 0 {
			c.printf(" (for %s)", strings.Join(users, ", "))
		}
		c.printf(":\n")
		if doc := strings.TrimSpace(sec.Doc()); doc != "" {
			c.printf("  %s\n", indentRest(doc, "  "))
		}
		if r.Mode != ModeCheck {
			c.printf("  `run` asks for it (or reads it from the environment or --token-file) before the first change.\n")
			if sec.Name() == "runner_token" {
				c.printf("  With a GitHub credential (GH_TOKEN, GITHUB_TOKEN or gh auth login) and neither, `run` creates it through the GitHub API right before config.sh needs it.\n")
			}
		}
	}
	if s.Change > 0 {
		c.printf("%s\n", paint(ansiDim, "(+ create, ~ change in place, - destroy, -/+ destroy and create again)"))
	}
}

// writeVars shows the vars of the run: a var whose --var value differs
// from the one the last run recorded is a change of its own, shown with
// what the plan destroys because of it; a recorded var in use says how to
// change it.
func (r *Report) writeVars(c *canvas) {
	if len(r.Vars) == 0 {
		return
	}
	c.printf("Vars:\n")
	for _, v := range r.Vars {
		switch {
		case v.Changed():
			line := fmt.Sprintf("%s: %s → %s", v.Name, v.Recorded, v.Value)
			if d := CountDestroys(r.Destroys()); d != "" {
				line += ", destroys " + d
			}
			c.printf("  %s %s\n", paint(ansiYellow, "~"), line)
		case v.Given && !v.HasRecorded:
			c.printf("  %s = %s (--var; `run` records it for later runs)\n", v.Name, v.Value)
		case v.Given:
			c.printf("  %s = %s (--var, as recorded)\n", v.Name, v.Value)
		default:
			c.printf("  %s = %s (recorded by the last run in %s; --var %s=VALUE changes it)\n", v.Name, v.Value, VarsFile, v.Name)
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

// writeVersions lists, in a check, the installed version every resource
// with a wanted "version" reported (the pins are floors: what is there
// may be newer), so that a converged Mac still shows them.
func (r *Report) writeVersions(c *canvas) {
	if r.Mode != ModeCheck {
		return
	}
	first := true
	for _, res := range r.Resources {
		if res.Version == "" {
			continue
		}
		if first {
			c.printf("\ninstalled versions:\n")
			first = false
		}
		c.printf("  %s %s\n", res.ID, paint(ansiDim, res.Version))
	}
}

// writeNextSteps prints what the recipe declared a maintainer should do
// after applying it (declare("next_step", text = ...)), in plans and
// applies.
func (r *Report) writeNextSteps(c *canvas) {
	if r.Mode == ModeCheck || len(r.NextSteps) == 0 {
		return
	}
	c.printf("\nNext steps:\n")
	for _, s := range r.NextSteps {
		c.printf("  - %s\n", indentRest(s, "    "))
	}
}

var statusLabel = map[Status]struct {
	text  string
	color colour
}{
	StatusOK:           {"ok", ansiGreen},
	StatusChange:       {"change", ansiYellow},
	StatusAssertFailed: {"ASSERT", ansiRed},
	StatusUnknown:      {"verify", ansiCyan},
	StatusSkipped:      {"skipped", ansiDim},
	StatusFailed:       {"FAILED", ansiRed + ansiBold},
}

var effectColor = map[Effect]colour{
	EffectCreate:  ansiGreen,
	EffectUpdate:  ansiYellow,
	EffectReplace: ansiRed,
	EffectDestroy: ansiRed,
}

func (r *Report) writeResource(c *canvas, res ResourceReport) {
	lab := statusLabel[res.Status]
	text, color := lab.text, lab.color
	if res.Status == StatusChange && res.Effect != "" {
		text, color = res.Effect.Mark(), effectColor[res.Effect]
	} else if res.Status == StatusOK && (r.Mode == ModeDestroy || r.Mode == ModeDestroyPlan) {
		text = "gone"
	}
	c.printf("  %s %s %s\n", paint(color, fmt.Sprintf("%-8s", text)), res.ID, paint(ansiDim, "("+res.Kind+")"))
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
		c.printf("%s%s %s\n", ind, paint(ansiDim, "why:"), indentRest(res.Doc, ind+"  "))
	}
	switch res.Status {
	case StatusUnknown:
		c.printf("%sverify manually:\n", ind)
	case StatusAssertFailed:
		c.printf("%sassertion failed:\n", ind)
	}
	if !compact {
		for _, ch := range res.Changes {
			writeChange(c, ind, ch)
		}
	}
	if res.needsRemediation() {
		c.printf("%s%s %s\n", ind, paint(ansiBold, "remediation:"), indentRest(res.Remediation, ind+"  "))
	}
	// The changes above already say why; a reason is shown only where the
	// recipe gave one of its own (action.because(...)).
	lastReason, lastDestroys := changeReason(res.Changes), ""
	for _, a := range res.Actions {
		verb, color := actionVerb(r.Mode, a)
		c.printf("%s%s %s %s\n", ind, paint(color, verb), ArgvString(a.Argv), paint(ansiDim, "(as "+a.User+")"))
		if a.Destroys != "" && a.Destroys != lastDestroys && !compact {
			c.printf("%s  %s %s\n", ind, paint(ansiRed, "destroys"), a.Destroys)
		}
		lastDestroys = a.Destroys
		if a.Reason != "" && a.Reason != lastReason && !compact {
			c.printf("%s  because %s\n", ind, a.Reason)
		}
		lastReason = a.Reason
	}
	if res.Error != "" {
		color := ansiRed
		if res.Status == StatusSkipped {
			color = ansiDim
		}
		c.printf("%s%s\n", ind, paint(color, indentRest(res.Error, ind)))
	}
}

// actionVerb says what became of an action: "will run" in a plan or
// check; in an apply "ran", "failed" (it ran and failed; the error
// follows the resource) or "not run" (the apply was refused, or an
// earlier action of the resource failed or the run was interrupted).
func actionVerb(mode Mode, a ActionReport) (verb string, color colour) {
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

func writeChange(cv *canvas, ind string, c Change) {
	if isMultiline(c.Before) || isMultiline(c.After) {
		cv.printf("%s%s:\n", ind, c.Property)
		for _, line := range strings.Split(strings.TrimRight(UnifiedDiff(diffText(c.Before), diffText(c.After), 3), "\n"), "\n") {
			var color colour
			switch {
			case strings.HasPrefix(line, "+"):
				color = ansiGreen
			case strings.HasPrefix(line, "-"):
				color = ansiRed
			case strings.HasPrefix(line, "@@"):
				color = ansiCyan
			}
			cv.printf("%s  %s\n", ind, paint(color, line))
		}
		return
	}
	cv.printf("%s%s: %s → %s\n", ind, c.Property, paint(ansiRed, DisplayProperty(c.Property, c.Before)), paint(ansiGreen, DisplayProperty(c.Property, c.After)))
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

// writeSummary writes the summary line (without its newline).
func (r *Report) writeSummary(c *canvas) {
	if r.Mode == ModeDestroy || r.Mode == ModeDestroyPlan {
		r.writeDestroySummary(c)
		return
	}
	s := r.Summary
	var parts []painted
	add := func(n int, text string, color colour) {
		if n > 0 {
			parts = append(parts, paint(color, fmt.Sprintf("%d %s", n, text)))
		}
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
		parts = append(parts, paint("", fmt.Sprintf("%d ok", s.OK)))
	}
	c.printf("%s: ", r.Verdict())
	writeParts(c, parts)
	c.printf(" (%d resources)", s.Total)
}

// writeParts writes parts separated by commas.
func writeParts(c *canvas, parts []painted) {
	for i, p := range parts {
		if i > 0 {
			c.printf(", ")
		}
		c.printf("%s", p)
	}
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

// writeDestroySummary writes the summary line of a destroy plan or
// destroy.
func (r *Report) writeDestroySummary(c *canvas) {
	s := r.Summary
	var parts []painted
	add := func(n int, text string, color colour) {
		if n > 0 {
			parts = append(parts, paint(color, fmt.Sprintf("%d %s", n, text)))
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
		parts = append(parts, paint("", "nothing declared to destroy"))
	}
	c.printf("%s: ", r.Verdict())
	writeParts(c, parts)
}
