package expr

import (
	"math"
	"strings"
)

// MaxDepth is the deepest expression tree GitHub accepts.
const MaxDepth = 50

// maxNesting bounds parser recursion on pathological input (deeply nested
// parentheses) before the tree depth is even known.
const maxNesting = 4 * MaxDepth

// nodeKind classifies an AST node.
type nodeKind int

const (
	nLiteral nodeKind = iota
	nNamed            // top-level named context value
	nProp             // receiver.name
	nIndex            // receiver[index]
	nStar             // receiver.* or receiver[*]
	nNot
	nBinary // comparison (two operands), && or || (two or more)
	nCall
)

// node is an expression tree node. start/end are byte offsets of its
// source text (parentheses around it included).
type node struct {
	kind       nodeKind
	start, end int
	val        any     // nLiteral
	name       string  // nNamed, nProp: as written; nCall: canonical name
	op         tokKind // nBinary
	args       []*node // receiver first for nProp/nIndex/nStar; operands; call arguments
	fn         *function
	paren      bool // written in parentheses
	depth      int  // height of the subtree, 1 for a leaf
}

// Expr is a parsed expression.
type Expr struct {
	src  string
	root *node // nil for the empty expression
}

// Source returns the expression text Parse was given.
func (e *Expr) Source() string {
	if e == nil {
		return ""
	}
	return e.src
}

// Parse parses an expression (without the surrounding ${{ }}). Function
// names and their argument counts are checked here; named values (github,
// env, ...) are checked against the Context at evaluation. Errors are
// *SyntaxError.
func Parse(src string) (*Expr, error) {
	return parse(src, nil)
}

// ParseNamed is Parse that also rejects, at parse time and in source
// order as GitHub does, a named value not in names (compared
// case-insensitively): use it where a workflow key allows only some
// contexts, e.g. a job-level if: allows github, needs, vars and inputs.
func ParseNamed(src string, names ...string) (*Expr, error) {
	allowed := map[string]bool{}
	for _, n := range names {
		allowed[strings.ToLower(n)] = true
	}
	return parse(src, allowed)
}

func parse(src string, names map[string]bool) (*Expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks, names: names}
	e := &Expr{src: src}
	if p.peek().kind == tkEOF {
		return e, nil
	}
	root, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tkEOF {
		return nil, p.unexpected(t)
	}
	e.root = root
	return e, nil
}

// sized sets n's tree depth from its operands and enforces MaxDepth as
// soon as a node grows too deep, so no later pass recurses over a
// pathological tree.
func (p *parser) sized(n *node) (*node, error) {
	d := 0
	for _, a := range n.args {
		if a.depth > d {
			d = a.depth
		}
	}
	n.depth = d + 1
	if n.depth > MaxDepth {
		return nil, &SyntaxError{Col: column(p.src, n.start), Msg: "Exceeded max expression depth 50"}
	}
	return n, nil
}

type parser struct {
	src     string
	toks    []*token
	i       int
	nesting int
	names   map[string]bool // allowed named values; nil allows any
}

func (p *parser) peek() *token { return p.toks[p.i] }

func (p *parser) take() *token {
	t := p.toks[p.i]
	if t.kind != tkEOF {
		p.i++
	}
	return t
}

// unexpected reports t, or at the end of input the last real token.
func (p *parser) unexpected(t *token) error {
	if t.kind == tkEOF {
		if p.i > 0 {
			last := p.toks[p.i-1]
			return syntaxErrorAt(p.src, last.start, "Unexpected end of expression: '%s'", last.text)
		}
		return syntaxErrorAt(p.src, t.start, "Unexpected end of expression")
	}
	return syntaxErrorAt(p.src, t.start, "Unexpected symbol: '%s'", t.text)
}

func (p *parser) enter() error {
	p.nesting++
	if p.nesting > maxNesting {
		return &SyntaxError{Col: column(p.src, p.peek().start), Msg: "Exceeded max expression depth 50"}
	}
	return nil
}

func (p *parser) leave() { p.nesting-- }

func binary(op tokKind, l, r *node) *node {
	return &node{kind: nBinary, op: op, args: []*node{l, r}, start: l.start, end: r.end}
}

// parseLeft parses a left-associative level: operand (op operand)*.
func (p *parser) parseLeft(operand func() (*node, error), ops ...tokKind) (*node, error) {
	l, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		match := false
		for _, op := range ops {
			if t.kind == op {
				match = true
			}
		}
		if !match {
			return l, nil
		}
		p.take()
		r, err := operand()
		if err != nil {
			return nil, err
		}
		if (t.kind == tkAnd || t.kind == tkOr) && l.kind == nBinary && l.op == t.kind && !l.paren {
			// && and || chains are one n-ary node, as in GitHub's
			// parser; this matters for the depth limit.
			l.args = append(l.args, r)
			l.end = r.end
		} else {
			l = binary(t.kind, l, r)
		}
		if l, err = p.sized(l); err != nil {
			return nil, err
		}
	}
}

func (p *parser) parseOr() (*node, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	return p.parseLeft(p.parseAnd, tkOr)
}

func (p *parser) parseAnd() (*node, error) { return p.parseLeft(p.parseEquality, tkAnd) }

func (p *parser) parseEquality() (*node, error) {
	return p.parseLeft(p.parseRelational, tkEq, tkNe)
}

func (p *parser) parseRelational() (*node, error) {
	return p.parseLeft(p.parseUnary, tkLt, tkLe, tkGt, tkGe)
}

func (p *parser) parseUnary() (*node, error) {
	t := p.peek()
	if t.kind != tkNot {
		return p.parsePostfix()
	}
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	p.take()
	x, err := p.parseUnary()
	if err != nil {
		return nil, err
	}
	return p.sized(&node{kind: nNot, args: []*node{x}, start: t.start, end: x.end})
}

func (p *parser) parsePostfix() (*node, error) {
	n, err := p.parsePrimary()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek().kind {
		case tkDot:
			p.take()
			t := p.take()
			switch t.kind {
			case tkStar:
				n = &node{kind: nStar, args: []*node{n}, start: n.start, end: t.end}
			case tkWord:
				n = &node{kind: nProp, name: t.text, args: []*node{n}, start: n.start, end: t.end}
			default:
				return nil, p.unexpected(t)
			}
		case tkLBracket:
			p.take()
			if p.peek().kind == tkStar {
				p.take()
				t := p.take()
				if t.kind != tkRBracket {
					return nil, p.unexpected(t)
				}
				n = &node{kind: nStar, args: []*node{n}, start: n.start, end: t.end}
				break
			}
			idx, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			t := p.take()
			if t.kind != tkRBracket {
				return nil, p.unexpected(t)
			}
			n = &node{kind: nIndex, args: []*node{n, idx}, start: n.start, end: t.end}
		default:
			return n, nil
		}
		if n, err = p.sized(n); err != nil {
			return nil, err
		}
	}
}

func (p *parser) parsePrimary() (*node, error) {
	t := p.take()
	switch t.kind {
	case tkNumber:
		return &node{kind: nLiteral, depth: 1, val: t.num, start: t.start, end: t.end}, nil
	case tkString:
		return &node{kind: nLiteral, depth: 1, val: t.str, start: t.start, end: t.end}, nil
	case tkLParen:
		n, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		c := p.take()
		if c.kind != tkRParen {
			return nil, p.unexpected(c)
		}
		n.start, n.end, n.paren = t.start, c.end, true
		return n, nil
	case tkWord:
		if p.peek().kind == tkLParen {
			return p.parseCall(t)
		}
		lit := &node{kind: nLiteral, depth: 1, start: t.start, end: t.end}
		switch t.text {
		case "true":
			lit.val = true
		case "false":
			lit.val = false
		case "null":
			return lit, nil
		case "NaN":
			lit.val = math.NaN()
		case "Infinity":
			lit.val = math.Inf(1)
		default:
			if p.names != nil && !p.names[strings.ToLower(t.text)] {
				return nil, syntaxErrorAt(p.src, t.start, "Unrecognized named-value: '%s'", t.text)
			}
			return &node{kind: nNamed, depth: 1, name: t.text, start: t.start, end: t.end}, nil
		}
		return lit, nil
	}
	return nil, p.unexpected(t)
}

func (p *parser) parseCall(name *token) (*node, error) {
	fn, ok := lookupFunction(name.text)
	if !ok {
		return nil, syntaxErrorAt(p.src, name.start, "Unrecognized function: '%s'", name.text)
	}
	p.take() // (
	n := &node{kind: nCall, name: fn.name, fn: fn, start: name.start}
	if p.peek().kind == tkRParen {
		n.end = p.take().end
	} else {
		for {
			a, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			n.args = append(n.args, a)
			t := p.take()
			if t.kind == tkRParen {
				n.end = t.end
				break
			}
			if t.kind != tkComma {
				return nil, p.unexpected(t)
			}
		}
	}
	if err := fn.checkArity(len(n.args)); err != nil {
		return nil, syntaxErrorAt(p.src, name.start, "%s: '%s'", err, name.text)
	}
	return p.sized(n)
}
