package render

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
)

// keptAnchor is an anchor the replaced job defines on the value of one of
// its keys and that the rest of the file aliases: the rendered job writes
// it again on the same key, whose value the recipe leaves unchanged.
type keptAnchor struct {
	// key is the job key ("if", "runs-on"); name the anchor's name.
	key, name string
}

// anchorUse is an alias, outside the replaced job, of an anchor the job
// defines.
type anchorUse struct {
	// owner says where the alias is ("job runtime-macos-sanitizers",
	// "top-level key env"); line is its line.
	owner string
	line  int
}

// sharedAnchors checks the anchors the job at jobs.Content[idx] defines
// against the aliases in the rest of the document. An anchor nothing
// else uses goes away with the job. One that is used is kept when it sits
// on the value of a job key the recipe declares with the same value; any
// other is refused with an error naming the anchor, where it is defined
// and which jobs use it, since replacing the job would leave those
// aliases dangling or change what they mean.
func sharedAnchors(doc *yaml.Node, jobs *yaml.Node, idx int, job *workflow.JobSpec) ([]keptAnchor, error) {
	inside := map[*yaml.Node]bool{}
	mark(jobs.Content[idx], inside)
	mark(jobs.Content[idx+1], inside)

	order, uses := aliasUses(doc, jobs, inside, func(n *yaml.Node) bool { return inside[n] })
	if len(order) == 0 {
		return nil, nil
	}

	want := declared(job)
	wantMap, _ := want.(map[string]any)
	body := jobs.Content[idx+1]
	var keep []keptAnchor
	for _, target := range order {
		users := describe(uses[target])
		where := fmt.Sprintf("line %d: job %s defines anchor &%s", target.Line, job.ID, target.Anchor)
		fix := fmt.Sprintf("write the value out in place of *%s there, or move the anchor out of %s, then render again; the file was not changed", target.Anchor, job.ID)
		k := keyOf(body, target)
		if k == "" {
			return nil, fmt.Errorf("%s, which %s; hvfctl keeps an anchor only on the value of a job key it writes (%s) and replacing the job would leave those aliases dangling: %s",
				where, users, strings.Join(jobKeyOrder, ", "), fix)
		}
		var old any
		if err := target.Decode(&old); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if w, ok := wantMap[k]; !ok || !equal(old, w) {
			return nil, fmt.Errorf("%s on %s:, which %s; the recipe declares a different %s:, and replacing the job would change what those aliases mean: %s",
				where, k, users, k, fix)
		}
		keep = append(keep, keptAnchor{key: k, name: target.Anchor})
	}
	return keep, nil
}

// aliasUses finds the aliases outside skip whose anchor isTarget, in
// document order of first use, and where each is used ("job b",
// "top-level key env", and its line).
func aliasUses(doc, jobs *yaml.Node, skip map[*yaml.Node]bool, isTarget func(*yaml.Node) bool) ([]*yaml.Node, map[*yaml.Node][]anchorUse) {
	uses := map[*yaml.Node][]anchorUse{}
	var order []*yaml.Node
	var walk func(n *yaml.Node, owner string)
	walk = func(n *yaml.Node, owner string) {
		if skip[n] {
			return
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil && isTarget(n.Alias) {
			if _, seen := uses[n.Alias]; !seen {
				order = append(order, n.Alias)
			}
			uses[n.Alias] = append(uses[n.Alias], anchorUse{owner, n.Line})
			return
		}
		for i, c := range n.Content {
			o := owner
			if n.Kind == yaml.MappingNode && i%2 == 1 {
				switch {
				case n == jobs:
					o = "job " + n.Content[i-1].Value
				case owner == "":
					o = "top-level key " + n.Content[i-1].Value
				}
			}
			walk(c, o)
		}
	}
	walk(doc, "")
	return order, uses
}

// keyOf returns the job key whose value is target, "" when target is not
// the value of a key renderJob writes.
func keyOf(body, target *yaml.Node) string {
	if body.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(body.Content); i += 2 {
		if body.Content[i+1] != target {
			continue
		}
		for _, k := range jobKeyOrder {
			if body.Content[i].Value == k && body.Content[i].Kind == yaml.ScalarNode {
				return k
			}
		}
	}
	return ""
}

// mark adds n's tree to set, without following aliases.
func mark(n *yaml.Node, set map[*yaml.Node]bool) {
	set[n] = true
	for _, c := range n.Content {
		mark(c, set)
	}
}

// describe says who uses an anchor, in document order: "job b (line 16)
// uses" or "job b (line 16) and job c (lines 20, 21) use".
func describe(us []anchorUse) string {
	byOwner := map[string][]string{}
	var owners []string
	for _, u := range us {
		o := u.owner
		if o == "" {
			o = "the document"
		}
		if _, seen := byOwner[o]; !seen {
			owners = append(owners, o)
		}
		byOwner[o] = append(byOwner[o], fmt.Sprint(u.line))
	}
	parts := make([]string, len(owners))
	for i, o := range owners {
		s := "s"
		if len(byOwner[o]) == 1 {
			s = ""
		}
		parts[i] = fmt.Sprintf("%s (line%s %s)", o, s, strings.Join(byOwner[o], ", "))
	}
	if len(parts) == 1 {
		return parts[0] + " uses"
	}
	return strings.Join(parts, " and ") + " use"
}
