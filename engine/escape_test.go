package engine

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestEscapeControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\n\twith tab", "plain text\n\twith tab"},
		{"\x1b[2J\x1b]0;pwned\x07", `\u001b[2J\u001b]0;pwned\u0007`},
		{"ok\rFAILED", `ok\u000dFAILED`},
		{"nul\x00byte", `nul\u0000byte`},
		{"del\x7f", `del\u007f`},
		{"c1\u0085\u009b", `c1\u0085\u009b`},
		{"bidi \u202eevil\u202c \u2066x\u2069 \u200f", `bidi \u202eevil\u202c \u2066x\u2069 \u200f`},
		{"zero\u200bwidth\ufeff", `zero\u200bwidth\ufeff`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"café → ok ✓", "café → ok ✓"},
	} {
		if got := EscapeControls(tc.in); got != tc.want {
			t.Errorf("EscapeControls(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := EscapeControls(EscapeControls(tc.in)); got != tc.want {
			t.Errorf("EscapeControls twice on %q = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// painterColours are every sequence the report painter writes.
var painterColours = []colour{ansiReset, ansiRed, ansiGreen, ansiYellow, ansiCyan, ansiDim, ansiBold}

// hostileText holds, between visible markers, each of the painter's own
// sequences and other terminal controls a job could put in host output,
// a file, a name or a message: SGR, cursor and screen control, an OSC
// title ended by BEL, CR, NUL, a C1 CSI, bidi overrides and bytes that
// are not UTF-8.
func hostileText() string {
	var b strings.Builder
	b.WriteString("<")
	for _, c := range painterColours {
		b.WriteString(string(c) + "x")
	}
	b.WriteString("\x1b[2J\x1b[1;1H\x1b]0;title\x07\rover\x00\u009b31m\u202eevil\u202c\xff\xfe\x1b")
	b.WriteString(">")
	return b.String()
}

// hostileReport is a report with hostile text in every field a report
// shows, in mode.
func hostileReport(mode Mode) *Report {
	h := hostileText()
	multi := starlark.String("line one " + h + "\nline two\n")
	actions := []ActionReport{
		{Argv: []string{"/bin/echo", h}, User: "root" + h, Reason: "because " + h, Destroys: "runner " + h},
		{Argv: []string{h}, User: h, Ran: true, Error: h},
	}
	r := &Report{
		Recipe: "recipe" + h + ".star", Target: "fake" + h, Mode: mode,
		Errors:       []string{h},
		Vars:         []Var{{Name: "v" + h, Value: h, Recorded: "old" + h, HasRecorded: true, Given: true}, {Name: h, Value: h, Given: true}, {Name: h, Value: h}},
		Secrets:      []*Secret{{name: "runner_token" + h, doc: "doc " + h}},
		NextSteps:    []string{h, "step\n" + h},
		Kept:         []KeptResource{{ID: h, Why: h}},
		HostCommands: []host.Entry{{Argv: []string{"/bin/cat", h}, User: h}},
		secretUsers:  map[string][]string{"runner_token" + h: {h}},
	}
	for i, st := range []Status{StatusChange, StatusAssertFailed, StatusUnknown, StatusSkipped, StatusFailed, StatusOK} {
		r.Resources = append(r.Resources, ResourceReport{
			ID: fmt.Sprintf("res%d%s", i, h), Kind: "kind" + h, Status: st, Effect: EffectReplace,
			Doc: "doc " + h, Remediation: "fix " + h, Error: "error " + h,
			Changes: []Change{
				{Property: "p" + h, Before: starlark.String(h), After: starlark.String("new" + h)},
				{Property: "text" + h, Before: multi, After: starlark.String("line one\n" + h + "\n")},
			},
			Actions: actions,
		})
		r.Summary.add(st, EffectReplace)
	}
	return r
}

// TestPaintingIsStructural: whatever text a report holds, its coloured
// form holds no control sequence but the painter's own, at places the
// painter chose: without them it is exactly the uncoloured form, which
// holds no control character at all, with the hostile text escaped.
func TestPaintingIsStructural(t *testing.T) {
	for _, mode := range []Mode{ModePlan, ModeCheck, ModeApply, ModeDestroyPlan, ModeDestroy} {
		t.Run(string(mode), func(t *testing.T) {
			r := hostileReport(mode)
			var plain, colored bytes.Buffer
			if err := r.WriteText(&plain, TextOptions{All: true, Commands: true}); err != nil {
				t.Fatal(err)
			}
			if err := r.WriteText(&colored, TextOptions{All: true, Commands: true, Color: true}); err != nil {
				t.Fatal(err)
			}
			for i, c := range plain.String() {
				if needsEscape(c) || c == utf8.RuneError {
					t.Fatalf("the uncoloured report holds %q at byte %d:\n%s", c, i, plain.String())
				}
			}
			if !strings.Contains(plain.String(), `\u001b[31mx`) || !strings.Contains(plain.String(), `\u202eevil`) {
				t.Fatalf("the hostile text is not shown escaped:\n%s", plain.String())
			}
			// Take the painter's sequences out of the coloured form; any
			// other ESC, or a painter sequence that came from the text,
			// makes the rest differ from the uncoloured form.
			var rest strings.Builder
			painted := 0
			s := colored.String()
		next:
			for i := 0; i < len(s); {
				if s[i] == 0x1b {
					for _, c := range painterColours {
						if strings.HasPrefix(s[i:], string(c)) {
							i += len(c)
							painted++
							continue next
						}
					}
					t.Fatalf("an ESC that is not the painter's at byte %d: %q", i, s[i:min(i+20, len(s))])
				}
				rest.WriteByte(s[i])
				i++
			}
			if painted == 0 {
				t.Fatal("the coloured report has no colour")
			}
			if rest.String() != plain.String() {
				t.Errorf("without the painter's sequences the coloured report differs from the uncoloured one:\n%s", UnifiedDiff(plain.String(), rest.String(), 1))
			}
		})
	}
}

// paintedSink is a PaintedWriter that records how it was written to.
type paintedSink struct {
	plain, painted strings.Builder
}

func (p *paintedSink) Write(b []byte) (int, error) { return p.plain.Write(b) }

func (p *paintedSink) WritePainted(s string) error {
	p.painted.WriteString(s)
	return nil
}

// TestColouredReportUsesWritePainted: a coloured report reaches a
// PaintedWriter only through WritePainted, an uncoloured one only through
// Write.
func TestColouredReportUsesWritePainted(t *testing.T) {
	r := hostileReport(ModePlan)
	var sink paintedSink
	if err := r.WriteText(&sink, TextOptions{Color: true}); err != nil {
		t.Fatal(err)
	}
	if sink.plain.Len() != 0 || !strings.Contains(sink.painted.String(), string(ansiRed)) {
		t.Errorf("coloured: Write got %d bytes, WritePainted %q", sink.plain.Len(), sink.painted.String())
	}
	sink = paintedSink{}
	if err := r.WriteText(&sink, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if sink.painted.Len() != 0 || sink.plain.Len() == 0 {
		t.Errorf("uncoloured: Write got %d bytes, WritePainted %d", sink.plain.Len(), sink.painted.Len())
	}
}
