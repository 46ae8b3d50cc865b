package audit

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// maxYAMLNodes bounds the size of a workflow with every alias expanded.
// A real workflow has a few thousand nodes; an alias bomb ("billion
// laughs") has billions. The audit runs on pull requests whose authors
// write its input, so it must refuse such a file in bounded time and
// memory, before anything walks the expanded tree.
const maxYAMLNodes = 200_000

// maxWorkflowBytes bounds the size of a workflow file.
const maxWorkflowBytes = 4 << 20

// scalarPos is a scalar's position (1-based line and column), as the
// actionlint AST gives it.
type scalarPos struct{ line, col int }

// yamlScan is what the audit needs from the YAML itself that actionlint's
// AST does not keep: the resolved type of each plain scalar.
type yamlScan struct {
	// tags maps a scalar's position to its resolved short tag (!!str,
	// !!bool, !!int, !!float, !!null).
	tags map[scalarPos]string
}

// scanYAML parses src once more with yaml.v3, refuses a file whose
// expansion (aliases followed) exceeds maxYAMLNodes, and records scalar
// types. Errors are *InputError.
func scanYAML(src []byte) (*yamlScan, error) {
	if len(src) > maxWorkflowBytes {
		return nil, &InputError{Line: 1, Msg: fmt.Sprintf("the workflow is %d bytes, more than the %d an audit reads", len(src), maxWorkflowBytes)}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(src, &root); err != nil {
		// actionlint reports syntax errors with a position; leave them
		// to it.
		return &yamlScan{tags: map[scalarPos]string{}}, nil
	}
	s := &yamlScan{tags: map[scalarPos]string{}}
	memo := map[*yaml.Node]int{}
	var size func(n *yaml.Node, depth int) (int, error)
	errBomb := errors.New("bomb")
	size = func(n *yaml.Node, depth int) (int, error) {
		if n == nil {
			return 0, nil
		}
		if v, ok := memo[n]; ok {
			return v, nil
		}
		if depth > 1000 {
			return 0, errBomb
		}
		memo[n] = maxYAMLNodes + 1 // a cycle counts as too large
		total := 1
		if n.Kind == yaml.AliasNode {
			v, err := size(n.Alias, depth+1)
			if err != nil {
				return 0, err
			}
			total = v
		}
		if n.Kind == yaml.ScalarNode {
			s.tags[scalarPos{n.Line, n.Column}] = n.ShortTag()
		}
		for _, c := range n.Content {
			v, err := size(c, depth+1)
			if err != nil {
				return 0, err
			}
			total += v
			if total > maxYAMLNodes {
				return 0, errBomb
			}
		}
		memo[n] = total
		return total, nil
	}
	if _, err := size(&root, 0); err != nil {
		return nil, &InputError{Line: 1, Msg: fmt.Sprintf("the workflow expands to more than %d YAML nodes once its aliases are followed (an alias bomb?); refused", maxYAMLNodes)}
	}
	return s, nil
}

// typed returns a plain scalar's value with its YAML type: true/false as
// booleans, numbers as numbers, null as nil; quoted and other scalars stay
// strings.
func (s *yamlScan) typed(line, col int, text string) any {
	if s == nil {
		return text
	}
	switch s.tags[scalarPos{line, col}] {
	case "!!bool":
		return strings.EqualFold(text, "true")
	case "!!int", "!!float":
		if f, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64); err == nil {
			return f
		}
		if i, err := strconv.ParseInt(strings.ReplaceAll(text, "_", ""), 0, 64); err == nil {
			return float64(i)
		}
		return text
	case "!!null":
		return nil
	}
	return text
}
