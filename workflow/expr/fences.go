package expr

import (
	"fmt"
	"strings"
)

// Part is one piece of a string with ${{ }} fences.
type Part struct {
	// Expr is true for a fence, false for literal text.
	Expr bool
	// Text is the literal text, or for a fence the expression source
	// between "${{" and "}}", untrimmed.
	Text string
	// Start and End are byte offsets of the whole part in the input,
	// delimiters included; a fence's Text starts at Start+3.
	Start, End int
}

// SplitFences splits s into literal text and ${{ }} expressions, in order.
// A "}}" inside a single-quoted string literal does not close a fence. An
// unclosed fence is a *SyntaxError whose Col is the position of its "${{"
// in s. Literal parts are never empty.
func SplitFences(s string) ([]Part, error) {
	var parts []Part
	pos := 0
	for {
		i := strings.Index(s[pos:], "${{")
		if i < 0 {
			if pos < len(s) {
				parts = append(parts, Part{Text: s[pos:], Start: pos, End: len(s)})
			}
			return parts, nil
		}
		open := pos + i
		if open > pos {
			parts = append(parts, Part{Text: s[pos:open], Start: pos, End: open})
		}
		end, ok := fenceEnd(s, open+3)
		if !ok {
			return nil, syntaxErrorAt(s, open, "unclosed ${{: no matching }}")
		}
		parts = append(parts, Part{Expr: true, Text: s[open+3 : end], Start: open, End: end + 2})
		pos = end + 2
	}
}

// fenceEnd finds the "}}" closing a fence whose body starts at i, skipping
// single-quoted strings (” is an escaped quote).
func fenceEnd(s string, i int) (int, bool) {
	inString := false
	for ; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			inString = !inString // '' toggles twice: still inside
		case !inString && s[i] == '}' && i+1 < len(s) && s[i+1] == '}':
			return i, true
		}
	}
	return 0, false
}

// Condition is a parsed `if:` value.
type Condition struct {
	// Expr is the condition expression; nil when Literal is set.
	Expr *Expr
	// Literal is set when the value has a fence with text around it (or
	// several fences): it is then a non-empty string, always true.
	Literal bool
	// Implicit is set when the expression uses no status function, so
	// GitHub evaluates success() && (expr).
	Implicit bool
}

// ParseIf parses the value of an `if:` key with GitHub's rules: a value
// with "${{" must be exactly one fence with nothing around it (not even a
// newline, as a `|` block scalar leaves), else it is a non-empty string and
// always true; a value without a fence is the expression itself. names,
// when non-empty, restricts the named values as in ParseNamed.
func ParseIf(value string, names ...string) (*Condition, error) {
	src := value
	if strings.Contains(value, "${{") {
		parts, err := SplitFences(value)
		if err != nil {
			return nil, err
		}
		if len(parts) != 1 || !parts[0].Expr {
			return &Condition{Literal: true}, nil
		}
		src = parts[0].Text
	}
	var (
		e   *Expr
		err error
	)
	if len(names) > 0 {
		e, err = ParseNamed(src, names...)
	} else {
		e, err = Parse(src)
	}
	if err != nil {
		return nil, fmt.Errorf("if: %w", err)
	}
	return &Condition{Expr: e, Implicit: !e.HasStatusFunction()}, nil
}

// Eval decides the condition: a Literal is true; otherwise the expression
// is evaluated, under success() && (...) when Implicit, and its
// truthiness returned. An empty expression counts as success().
func (c *Condition) Eval(ctx Context, opts Options) (bool, error) {
	if c.Literal {
		return true, nil
	}
	if c.Implicit && opts.Status != StatusSuccess {
		return false, nil
	}
	if c.Expr == nil || c.Expr.root == nil {
		return true, nil
	}
	v, err := c.Expr.EvalWith(ctx, opts)
	if err != nil {
		return false, err
	}
	return Truthy(v), nil
}
