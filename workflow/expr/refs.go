package expr

import (
	"strings"
)

// Ref is one context property path an expression reads, for enumerating
// the values of unknown inputs.
type Ref struct {
	// Path is the dotted path: the context name in lower case, then each
	// property as written, `*` for a filter, and string or number index
	// literals as segments, e.g. github.event.pull_request.labels.*.name,
	// vars.ALLOW, secrets.X for secrets['X']. Compare paths
	// case-insensitively (strings.EqualFold), as GitHub looks them up.
	Path string
	// Segments is Path split into its parts.
	Segments []string
	// Dynamic is set when the path is followed by an index that is not a
	// literal (secrets[format('{0}', x)]): the property read is unknown.
	Dynamic bool
	// Literals are the literal values the path is directly compared with
	// (== != < <= > >=) or passed with to contains/startsWith/endsWith, in
	// source order without duplicates. Elements of fromJSON('[...]')
	// literals count too.
	Literals []any
	// Peers are the paths it is directly compared with, e.g.
	// github.repository for head.repo.full_name == github.repository.
	Peers []string
}

// References lists every context property path the expression reads, in
// source order, each once (paths are merged case-insensitively).
func (e *Expr) References() []Ref {
	if e == nil || e.root == nil {
		return nil
	}
	c := &refCollector{index: map[string]int{}}
	c.visit(e.root)
	return c.refs
}

// HasStatusFunction reports whether success(), always(), failure() or
// cancelled() appears anywhere in the expression. Without one, GitHub
// evaluates an if: condition as success() && (expr).
func (e *Expr) HasStatusFunction() bool {
	found := false
	if e == nil || e.root == nil {
		return false
	}
	walk(e.root, func(n *node) {
		if n.kind == nCall && statusFunctions[n.fn.name] {
			found = true
		}
	})
	return found
}

// pathOf returns the segments of n when n is a pure property path rooted
// at a named value.
func pathOf(n *node) ([]string, bool) {
	switch n.kind {
	case nNamed:
		return []string{strings.ToLower(n.name)}, true
	case nProp:
		p, ok := pathOf(n.args[0])
		if !ok {
			return nil, false
		}
		return append(p, n.name), true
	case nStar:
		p, ok := pathOf(n.args[0])
		if !ok {
			return nil, false
		}
		return append(p, "*"), true
	case nIndex:
		p, ok := pathOf(n.args[0])
		if !ok || n.args[1].kind != nLiteral || !isPrimitive(n.args[1].val) || n.args[1].val == nil {
			return nil, false
		}
		return append(p, ToString(n.args[1].val)), true
	}
	return nil, false
}

type refCollector struct {
	refs  []Ref
	index map[string]int
}

func (c *refCollector) ref(segs []string) *Ref {
	path := strings.Join(segs, ".")
	key := strings.ToLower(path)
	i, ok := c.index[key]
	if !ok {
		i = len(c.refs)
		c.index[key] = i
		c.refs = append(c.refs, Ref{Path: path, Segments: segs})
	}
	return &c.refs[i]
}

func (r *Ref) addLiteral(v any) {
	for _, l := range r.Literals {
		if Kind(l) == Kind(v) && LooseEqual(l, v) {
			return
		}
	}
	r.Literals = append(r.Literals, v)
}

func (r *Ref) addPeer(p string) {
	for _, q := range r.Peers {
		if strings.EqualFold(p, q) {
			return
		}
	}
	r.Peers = append(r.Peers, p)
}

// literalValues returns the literal values n stands for: a literal, or the
// primitive elements of fromJSON('<literal>').
func literalValues(n *node) ([]any, bool) {
	if n.kind == nLiteral {
		return []any{n.val}, true
	}
	if n.kind == nCall && n.fn.name == "fromJSON" && n.args[0].kind == nLiteral {
		v, err := FromJSON([]byte(ToString(n.args[0].val)))
		if err != nil {
			return nil, false
		}
		if arr, ok := v.([]any); ok {
			var out []any
			for _, el := range arr {
				if isPrimitive(el) {
					out = append(out, el)
				}
			}
			return out, true
		}
		if isPrimitive(v) {
			return []any{v}, true
		}
	}
	return nil, false
}

// relate records that a and b are compared with each other.
func (c *refCollector) relate(a, b *node) {
	pa, okA := pathOf(a)
	pb, okB := pathOf(b)
	switch {
	case okA && okB:
		c.ref(pa).addPeer(strings.Join(pb, "."))
		c.ref(pb).addPeer(strings.Join(pa, "."))
	case okA:
		if vals, ok := literalValues(b); ok {
			r := c.ref(pa)
			for _, v := range vals {
				r.addLiteral(v)
			}
		}
	case okB:
		if vals, ok := literalValues(a); ok {
			r := c.ref(pb)
			for _, v := range vals {
				r.addLiteral(v)
			}
		}
	}
}

func (c *refCollector) visit(n *node) {
	if segs, ok := pathOf(n); ok {
		c.ref(segs)
		return
	}
	switch n.kind {
	case nBinary:
		if n.op != tkAnd && n.op != tkOr {
			// Register in source order before attaching literals.
			c.visit(n.args[0])
			c.visit(n.args[1])
			c.relate(n.args[0], n.args[1])
			return
		}
	case nCall:
		switch n.fn.name {
		case "contains", "startsWith", "endsWith":
			c.visit(n.args[0])
			c.visit(n.args[1])
			c.relate(n.args[0], n.args[1])
			return
		}
	case nIndex:
		if segs, ok := pathOf(n.args[0]); ok {
			c.ref(segs).Dynamic = true
			c.visit(n.args[1])
			return
		}
	}
	for _, a := range n.args {
		c.visit(a)
	}
}
