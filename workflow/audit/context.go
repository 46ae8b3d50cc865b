package audit

import (
	"fmt"
	"hash/fnv"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/workflow/expr"
)

// DefaultOptInLabel is the label a maintainer adds after reading a pull
// request, unless Options says otherwise.
const DefaultOptInLabel = "ci-hvf"

// forkOwner is the owner of a fork pull request's head repository in the
// default fork run.
const forkOwner = "octo-fork"

// forkRepos returns the head repositories a fork pull request may come
// from. The fork's owner and name are chosen by whoever opens it: any
// name but the base repository's. Besides an unrelated owner, they
// include owners that contain, extend or are cut from the base owner, so
// that substring and prefix tests on names (startsWith(full_name,
// 'sysprog21'), contains(github.repository, head.repo.owner.login)) are
// tried with the names an attacker would pick.
func forkRepos(base string) []string {
	owner, name, _ := strings.Cut(base, "/")
	out := []string{forkOwner + "/" + name}
	cands := []string{owner + "-fork", "fork-" + owner}
	if len(owner) > 1 {
		cands = append(cands, owner[:len(owner)-1], owner[1:])
	}
	for _, o := range cands {
		if o != "" && !strings.EqualFold(o, owner) {
			out = append(out, o+"/"+name)
		}
	}
	if name != "" {
		out = append(out, forkOwner+"/"+owner+"-"+name)
	}
	return out
}

// variant is one concrete run of a scenario: a github context with every
// field the scenario fixes. A key absent from a map is unknown (anything,
// chosen by whoever starts the run); a key present with a nil value is
// known to be null; an expr.Unknown value is any value.
type variant struct {
	desc []descPart
	ctx  map[string]any
}

// descPart is one fact of a variant for a witness; key says which
// context it belongs to, so that a witness names only what its
// expressions read.
type descPart struct{ key, text string }

// describe renders the parts the reader wants (all when reads is nil).
func (v variant) describe(reads func(key string) bool) string {
	var out []string
	for _, p := range v.desc {
		if reads == nil || reads(p.key) {
			out = append(out, p.text)
		}
	}
	return strings.Join(out, " ")
}

// variantOpts are the file-wide inputs of variants: what the
// expressions compare with and read.
type variantOpts struct {
	// otherLabels are label names other than the opt-in label that the
	// expressions compare with.
	otherLabels []string
	// bases are branch names the expressions compare a pull request's
	// base with (refs/heads/ removed).
	bases []string
	// readsHead and readsBase are whether any expression reads a pull
	// request's head repository or its base branch; when not, one head
	// and one base suffice.
	readsHead, readsBase bool
	// workflow is github.workflow: the workflow's name, or its path.
	workflow string
}

// maxVariants bounds the concrete runs built for one row; a row with more
// (an expression comparing with hundreds of labels and branches) keeps
// the first ones and is judged as if its evaluation budget had run out.
const maxVariants = 1000

// variants returns the concrete runs of a scenario; complete is false
// when there were more than maxVariants.
func (s *Scenario) variants(vo variantOpts) (out []variant, complete bool) {
	events := []string{s.Event}
	if strings.HasPrefix(s.ID, "pr-review-") {
		events = nil
		for _, v := range s.sortedVia() {
			if v == "workflow_call" {
				v = "pull_request_review"
			}
			if !containsStr(events, v) {
				events = append(events, v)
			}
		}
	}
	actions := s.actions
	if len(actions) == 0 {
		actions = []string{""}
	}
	otherLabels := vo.otherLabels
	if len(otherLabels) == 0 {
		otherLabels = []string{"documentation"}
	}
	heads := []string{""}
	if s.head == "fork" {
		heads = forkRepos(s.pol.repo)
		if !vo.readsHead {
			heads = heads[:1]
		}
	}
	bases := []baseChoice{{name: s.baseRef}}
	if s.head != "" && vo.readsBase {
		bases = s.baseChoices(vo.bases)
	}
	for _, ev := range events {
		for _, a := range actions {
			for _, lv0 := range s.labelVariants(a, otherLabels) {
				for hi, head := range heads {
					for _, base := range bases {
						lv := lv0
						lv.headRepo = head
						g := s.github(ev, a, lv, base)
						g["workflow"] = vo.workflow
						var desc []descPart
						if hi > 0 {
							desc = append(desc, descPart{"head", "head.repo=" + head})
						}
						if ev != s.Event {
							desc = append(desc, descPart{"event", "event=" + ev})
						}
						if a != "" {
							desc = append(desc, descPart{"action", "action=" + a})
						}
						if s.head != "" {
							t := "labels=[" + strings.Join(lv.labels, ",") + "]"
							if !containsFold(lv.labels, s.pol.label) && len(lv.labels) > 0 {
								t += " (not " + s.pol.label + ")"
							}
							desc = append(desc, descPart{"labels", t})
							if lv.label != nil {
								t := "label=" + *lv.label
								if a == "unlabeled" {
									t = "removed label=" + *lv.label
								}
								desc = append(desc, descPart{"label", t})
							}
							if len(bases) > 1 {
								desc = append(desc, descPart{"base", "base=" + base.String()})
							}
						}
						ctx := map[string]any{"github": g}
						if !s.inputsUnknown {
							ctx["inputs"] = map[string]any{closedKey: true}
						}
						if len(out) == maxVariants {
							return out, false
						}
						out = append(out, variant{desc: desc, ctx: ctx})
					}
				}
			}
		}
	}
	return out, true
}

// baseChoice is one base branch a pull request's author may pick; other
// is any branch not named (its name unknown).
type baseChoice struct {
	name  string
	other bool
}

func (b baseChoice) String() string {
	if b.other {
		return "<another branch>"
	}
	return b.name
}

// baseChoices returns the base branches to try for a pull request row:
// the row's, the default branch and every branch name the expressions
// compare with that the trigger's branch filter admits, plus any other
// branch when the filter may admit one not named.
func (s *Scenario) baseChoices(named []string) []baseChoice {
	var out []baseChoice
	seen := map[string]bool{}
	for _, b := range append(append([]string{s.baseRef, s.pol.branch}, named...), otherBranches(s.pol.branch)[0]) {
		if b == "" || seen[b] || !s.baseFilter.admits(b) {
			continue
		}
		seen[b] = true
		out = append(out, baseChoice{name: b})
	}
	if s.baseFilter.include == nil || s.baseFilter.include.hasWildcard() {
		out = append(out, baseChoice{other: true})
	}
	if len(out) == 0 {
		out = append(out, baseChoice{name: s.baseRef})
	}
	return out
}

type labelVariant struct {
	labels []string
	label  *string
	// headRepo is a fork pull request's head repository (owner/name).
	headRepo string
}

func (s *Scenario) labelVariants(action string, others []string) []labelVariant {
	if s.head == "" {
		return []labelVariant{{}}
	}
	optLabel := s.pol.label
	str := func(x string) *string { return &x }
	with := func() []labelVariant {
		switch action {
		case "labeled":
			out := []labelVariant{{labels: []string{optLabel}, label: str(optLabel)}}
			for _, o := range others {
				out = append(out, labelVariant{labels: []string{optLabel, o}, label: str(o)})
			}
			return out
		case "unlabeled":
			var out []labelVariant
			for _, o := range others {
				out = append(out, labelVariant{labels: []string{optLabel}, label: str(o)})
			}
			return out
		}
		return []labelVariant{{labels: []string{optLabel}}}
	}
	without := func() []labelVariant {
		switch action {
		case "labeled":
			var out []labelVariant
			for _, o := range others {
				out = append(out, labelVariant{labels: []string{o}, label: str(o)})
			}
			return out
		case "unlabeled":
			return []labelVariant{{labels: []string{}, label: str(optLabel)}}
		}
		out := []labelVariant{{labels: []string{}}}
		for _, o := range others {
			out = append(out, labelVariant{labels: []string{o}})
		}
		return out
	}
	switch {
	case strings.HasPrefix(s.ID, "pr-review-") || strings.HasPrefix(s.ID, "prt-"):
		return append(with(), without()...)
	case s.labelled:
		return with()
	default:
		return without()
	}
}

// eventRoots are the payload keys of other events; they are null unless
// the scenario's event carries them.
var eventRoots = []string{"pull_request", "issue", "comment", "review", "label", "workflow_run", "inputs", "merge_group", "release", "schedule", "action", "number", "forkee", "discussion"}

// fakeSHA returns a commit SHA for a kind of run: each run has its own
// commit, so no two rows share one (and no SHA equals a pull request
// number).
func fakeSHA(id string) string {
	h := fnv.New64a()
	h.Write([]byte(id))
	return fmt.Sprintf("%016x%016x%08x", h.Sum64(), h.Sum64()^0x5bd1e995, uint32(h.Sum64()))
}

func (s *Scenario) github(event, action string, lv labelVariant, base baseChoice) map[string]any {
	owner, name, _ := strings.Cut(s.pol.repo, "/")
	g := map[string]any{
		"event_name":       event,
		"ref":              s.ref,
		"repository":       s.pol.repo,
		"repository_owner": owner,
		"base_ref":         "",
		"head_ref":         "",
		"server_url":       "https://github.com",
		"sha":              fakeSHA(s.ID),
	}
	switch {
	case strings.HasPrefix(s.ref, "refs/heads/"):
		g["ref_name"], g["ref_type"] = strings.TrimPrefix(s.ref, "refs/heads/"), "branch"
	case strings.HasPrefix(s.ref, "refs/tags/"):
		g["ref_name"], g["ref_type"] = strings.TrimPrefix(s.ref, "refs/tags/"), "tag"
	default:
		g["ref_name"], g["ref_type"] = strings.TrimPrefix(s.ref, "refs/"), "branch"
	}
	ev := map[string]any{
		"repository": map[string]any{
			"full_name": s.pol.repo, "name": name, "fork": false,
			"owner": map[string]any{"login": owner},
		},
	}
	for _, r := range eventRoots {
		ev[r] = nil
	}
	if action != "" {
		ev["action"] = action
	}
	g["event"] = ev
	switch event {
	case "push":
		ev["ref"] = s.ref
	case "pull_request", "pull_request_target", "pull_request_review", "pull_request_review_comment":
		headRepo, fork, headOwner := s.pol.repo, false, owner
		if s.head == "fork" {
			headRepo, fork = lv.headRepo, true
			if headRepo == "" {
				headRepo = forkRepos(s.pol.repo)[0]
			}
			headOwner = strings.SplitN(headRepo, "/", 2)[0]
		}
		labels := []any{}
		for _, l := range lv.labels {
			labels = append(labels, map[string]any{"name": l})
		}
		// The base branch is picked by the pull request's author among
		// the repository's branches.
		var baseRef any = base.name
		if base.other {
			baseRef = expr.Unknown{}
		}
		ev["number"] = 7.0
		ev["pull_request"] = map[string]any{
			"number": 7.0,
			"labels": labels,
			"head": map[string]any{
				"repo": map[string]any{
					"full_name": headRepo, "fork": fork, "name": headRepo[strings.Index(headRepo, "/")+1:],
					"owner": map[string]any{"login": headOwner},
				},
			},
			"base": map[string]any{
				"ref": baseRef,
				"repo": map[string]any{
					"full_name": s.pol.repo, "fork": false, "name": name,
					"owner": map[string]any{"login": owner},
				},
			},
		}
		if lv.label != nil {
			ev["label"] = map[string]any{"name": *lv.label}
		}
		if strings.HasPrefix(event, "pull_request_review") {
			delete(ev, "review")
			if event == "pull_request_review_comment" {
				delete(ev, "comment")
			}
		}
		g["base_ref"] = baseRef
		if event == "pull_request_target" {
			// Its ref is the base branch.
			if base.other {
				g["ref"], g["ref_name"] = expr.Unknown{}, expr.Unknown{}
			} else {
				g["ref"], g["ref_name"] = "refs/heads/"+base.name, base.name
			}
		}
		// The head branch name is chosen by the pull request's author.
		delete(g, "head_ref")
	case "issue_comment":
		delete(ev, "issue")
		delete(ev, "comment")
	case "workflow_run":
		delete(ev, "workflow_run")
	case "workflow_dispatch":
		delete(ev, "inputs")
	case "schedule":
		ev["schedule"] = "0 3 * * *"
	case "merge_group":
		ev["merge_group"] = map[string]any{"head_ref": s.ref, "base_ref": "refs/heads/" + s.pol.branch}
	}
	return g
}

// closedKey marks a map whose absent keys are known to be null rather
// than unknown (the inputs of a run that has none).
const closedKey = "\x00closed"

// stripClosed returns a copy of v without closedKey markers, for the
// evaluator.
func stripClosed(v any) any { return copyTree(v, true) }

// lookup resolves a lower-case path in a context. found is false when a
// map on the way lacks the key (the value is unknown); a nil on the way
// makes the whole path null. A "*" segment maps over arrays and objects.
func lookup(ctx map[string]any, path []string) (val any, found bool) {
	var cur any = ctx
	for i, seg := range path {
		switch c := cur.(type) {
		case nil:
			return nil, true
		case map[string]any:
			if seg == "*" {
				var out []any
				keys := make([]string, 0, len(c))
				for k := range c {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					v, ok := lookup(map[string]any{"x": c[k]}, append([]string{"x"}, path[i+1:]...))
					if !ok {
						return nil, false
					}
					out = append(out, v)
				}
				return out, true
			}
			v, ok := getFold(c, seg)
			if !ok {
				return nil, c[closedKey] == true
			}
			cur = v
		case []any:
			if seg != "*" {
				return nil, true
			}
			out := []any{}
			for _, e := range c {
				v, ok := lookup(map[string]any{"x": e}, append([]string{"x"}, path[i+1:]...))
				if !ok {
					return nil, false
				}
				out = append(out, v)
			}
			return out, true
		default:
			return nil, true
		}
	}
	return cur, true
}

func getFold(m map[string]any, k string) (any, bool) {
	if v, ok := m[k]; ok {
		return v, true
	}
	for kk, v := range m {
		if strings.EqualFold(kk, k) {
			return v, true
		}
	}
	return nil, false
}

// deepCopy copies the maps and arrays of v, so that a row can change its
// context without touching another's.
func deepCopy(v any) any { return copyTree(v, false) }

// copyTree copies the maps and arrays of v, leaving out closedKey
// markers when dropClosed is set.
func copyTree(v any, dropClosed bool) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			if !dropClosed || k != closedKey {
				m[k] = copyTree(e, dropClosed)
			}
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = copyTree(e, dropClosed)
		}
		return a
	}
	return v
}

// describe renders a value for a witness.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case expr.Unknown:
		return "<any other value>"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case bool:
		return fmt.Sprint(x)
	case float64:
		return fmt.Sprint(x)
	}
	return fmt.Sprint(v)
}

func containsFold(xs []string, x string) bool {
	for _, y := range xs {
		if strings.EqualFold(x, y) {
			return true
		}
	}
	return false
}
