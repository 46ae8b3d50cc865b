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
	if !p || s == "" {
		return s
	}
	return color + s + ansiReset
}

// WriteText writes the report for people: one block per resource, each
// change as `property: before → after` (multi-line values as a unified
// diff), the actions with their principal and reason, a summary line.
func (r *Report) WriteText(w io.Writer, o TextOptions) error {
	p := painter(o.Color)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s on %s\n", r.Mode, r.Recipe, r.Target)
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "%s %s\n", p.paint(ansiRed, "error:"), e)
	}
	for _, res := range r.Resources {
		r.writeResource(&b, p, res)
	}
	b.WriteString("\n")
	b.WriteString(r.summaryLine(p))
	b.WriteString("\n")
	if o.Commands && len(r.HostCommands) > 0 {
		b.WriteString("\nhost commands:\n")
		for _, e := range r.HostCommands {
			fmt.Fprintf(&b, "  [%s] %s\n", e.User, ArgvString(e.Argv))
		}
	}
	_, err := io.WriteString(w, r.redactor.Scrub(b.String()))
	return err
}

var statusLabel = map[Status]struct{ text, color string }{
	StatusOK:           {"ok", ansiGreen},
	StatusChange:       {"change", ansiYellow},
	StatusAssertFailed: {"ASSERT", ansiRed},
	StatusUnknown:      {"verify", ansiCyan},
	StatusSkipped:      {"skipped", ansiDim},
	StatusFailed:       {"FAILED", ansiRed + ansiBold},
}

func (r *Report) writeResource(b *strings.Builder, p painter, res ResourceReport) {
	lab := statusLabel[res.Status]
	label := fmt.Sprintf("%-8s", lab.text)
	fmt.Fprintf(b, "  %s %s %s\n", p.paint(lab.color, label), res.ID, p.paint(ansiDim, "("+res.Kind+")"))
	const ind = "           "
	switch res.Status {
	case StatusOK:
		return
	case StatusUnknown:
		fmt.Fprintf(b, "%sverify manually:\n", ind)
	case StatusAssertFailed:
		fmt.Fprintf(b, "%sassertion failed:\n", ind)
	}
	for _, c := range res.Changes {
		writeChange(b, p, ind, c)
	}
	if res.Status == StatusAssertFailed && res.Remediation != "" {
		fmt.Fprintf(b, "%s%s %s\n", ind, p.paint(ansiBold, "remediation:"), indentRest(res.Remediation, ind+"  "))
	}
	// The changes above already say why; a reason is shown only where the
	// recipe gave one of its own (action.because(...)).
	lastReason := changeReason(res.Changes)
	for _, a := range res.Actions {
		verb, color := actionVerb(r.Mode, a)
		fmt.Fprintf(b, "%s%s %s %s\n", ind, p.paint(color, verb), ArgvString(a.Argv), p.paint(ansiDim, "(as "+a.User+")"))
		if a.Reason != "" && a.Reason != lastReason {
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
	case mode != ModeApply:
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
	parts := []string{fmt.Sprintf("%d ok", s.OK)}
	add := func(n int, text, color string) {
		if n > 0 {
			parts = append(parts, p.paint(color, fmt.Sprintf("%d %s", n, text)))
		}
	}
	if r.Mode == ModeApply {
		// A resource counts as changed only when its actions ran; an
		// apply that was refused leaves its changes not applied.
		changed, notRun := 0, 0
		for _, res := range r.Resources {
			if res.Status != StatusChange {
				continue
			}
			if allRan(res.Actions) {
				changed++
			} else {
				notRun++
			}
		}
		add(changed, "changed", ansiYellow)
		add(notRun, "to change, not applied", ansiYellow)
	} else {
		add(s.Change, "to change", ansiYellow)
	}
	add(s.AssertFailed, "assertion failed", ansiRed)
	add(s.Unknown, "to verify manually", ansiCyan)
	add(s.Skipped, "skipped", ansiDim)
	add(s.Failed, "failed", ansiRed)
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
