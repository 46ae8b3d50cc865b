package render

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
)

// lineEdit replaces lines[start:end] (0-based, end exclusive; start ==
// end inserts) with text, lines without their breaks.
type lineEdit struct {
	start, end int
	text       []string
}

// entry is one key of a block mapping and the lines it occupies.
type entry struct {
	key, val   *yaml.Node
	start, end int
}

// touch is a node whose meaning an edit changes: a replaced key or value
// (gone), or a mapping or sequence that gains or loses an entry. key is
// the job key it sits under, "" for the job itself.
type touch struct {
	node *yaml.Node
	key  string
	gone bool
}

// editor sets the recipe's security and placement keys in a job the
// maintainers already have, line by line, and records what the job must
// read back as.
type editor struct {
	lines []string
	lay   layout
	job   *workflow.JobSpec
	body  *yaml.Node
	// col is the column of the job's keys, unit its nesting step.
	col, unit int
	ents      []entry
	// keyLine is the 0-based index of the line after the job's key.
	keyLine int
	edits   []lineEdit
	touched []touch
	// expect is the job as it must read back: the old job with the
	// recipe's values set.
	expect map[string]any
	res    *Result
}

// editJob edits the existing job at jobs.Content[idx], a non-empty block
// mapping. The result reads back as the old job with only the recipe's
// security and placement keys set (securityKeys, the env variables it
// names, persist-credentials of the checkout steps).
func editJob(doc *yaml.Node, root *yaml.Node, jobsIdx int, jobs *yaml.Node, idx int, job *workflow.JobSpec, lay layout, lines []string, before any) (*Result, error) {
	body := jobs.Content[idx+1]
	limit := jobEnd(lines, root, jobsIdx, jobs, idx, lay.jobIndent)
	old, _ := lookupKey(lookupKey(before, "jobs"), job.ID).(map[string]any)
	e := &editor{
		lines:   lines,
		lay:     lay,
		job:     job,
		body:    body,
		col:     body.Content[0].Column - 1,
		keyLine: jobs.Content[idx].Line,
		expect:  copyValue(old).(map[string]any),
		res:     &Result{},
	}
	e.unit = e.col - lay.jobIndent
	if e.unit <= 0 {
		e.unit = lay.unit
	}
	e.ents = entries(lines, body, limit)
	if u := e.entry("uses"); u != nil {
		return nil, refuse(fmt.Errorf("line %d: job %s calls a reusable workflow (uses: %s), which cannot take runs-on, timeout-minutes or steps; render the recipe's job into the called workflow, or rename one of them; the file was not changed", u.key.Line, job.ID, u.val.Value))
	}
	e.touched = append(e.touched, touch{node: jobs.Content[idx]})

	// Every error below is about a well-formed file the edit cannot
	// make safely: a refusal.
	for _, k := range securityKeys {
		if err := e.securityKey(k, old); err != nil {
			return nil, refuse(err)
		}
	}
	if err := e.env(old); err != nil {
		return nil, refuse(err)
	}
	if err := e.checkout(old); err != nil {
		return nil, refuse(err)
	}
	if len(e.edits) == 0 {
		e.res.Out = []byte(strings.Join(lines, ""))
		return e.res, nil
	}
	e.touched = append(e.touched, touch{node: body})
	if err := e.anchors(doc, jobs); err != nil {
		return nil, refuse(err)
	}
	out := e.apply()
	if err := verify(before, out, job.ID, e.expect); err != nil {
		return nil, refuse(fmt.Errorf("line %d: job %s cannot be edited in place: %w", jobs.Content[idx].Line, job.ID, err))
	}
	e.res.Out = out
	return e.res, nil
}

// securityKey sets one of securityKeys when the recipe declares it and
// the job does not already hold that value.
func (e *editor) securityKey(k string, old map[string]any) error {
	want, ok := keyValue(e.job, k)
	if !ok {
		return nil
	}
	en := e.entry(k)
	if k == "if" && en != nil {
		s, isStr := old["if"].(string)
		alwaysTrue := strings.Contains(s, "${{") && unfence(s) == s
		if isStr && !alwaysTrue && normalizeExpr(unfence(s)) == normalizeExpr(unfence(want.(string))) {
			return nil
		}
	}
	if k == "timeout-minutes" && en != nil {
		if kept, ok := tighterTimeout(old, e.job.TimeoutMinutes); ok {
			e.res.Notes = append(e.res.Notes, fmt.Sprintf("kept job %s's timeout-minutes %s: at most the recipe's %d in every leg", e.job.ID, kept, e.job.TimeoutMinutes))
			return nil
		}
	}
	var text []string
	if k == "concurrency" {
		var err error
		if want, text, err = e.concurrency(old, en); err != nil {
			return err
		}
	}
	if en != nil && equal(old[k], want) {
		return nil
	}
	if text == nil {
		text = keyLines(e.job, k, e.col, e.nestedUnit(en), k+":")
	}
	e.set(k, en, text)
	e.expect[k] = want
	e.res.Changed = append(e.res.Changed, k)
	if en != nil {
		e.commentNotes(k, en)
	}
	return nil
}

// commentNotes says which maintainers' comments a replaced key leaves
// describing a value that is gone: the comment lines right above the key
// (kept, but written for the old value) and those inside its lines
// (dropped with the value).
func (e *editor) commentNotes(k string, en *entry) {
	isComment := func(i int) bool {
		return strings.HasPrefix(strings.TrimSpace(trimBreak(e.lines[i])), "#")
	}
	first := en.start
	for first > 0 && isComment(first-1) {
		first--
	}
	if first < en.start {
		e.res.Notes = append(e.res.Notes, fmt.Sprintf("the comment above %s: (%s) was written for the value render replaced; check that it still holds", k, lineSpan(first, en.start)))
	}
	var inside []int
	for i := en.start + 1; i < en.end; i++ {
		if isComment(i) && en.val.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 {
			inside = append(inside, i)
		}
	}
	if len(inside) > 0 {
		e.res.Notes = append(e.res.Notes, fmt.Sprintf("dropped the comment inside %s: (%s) with the value it described", k, lineSpan(inside[0], inside[len(inside)-1]+1)))
	}
}

// lineSpan names 0-based lines [from, to) as "line 3" or "lines 3-5".
func lineSpan(from, to int) string {
	if to-from == 1 {
		return fmt.Sprintf("line %d", from+1)
	}
	return fmt.Sprintf("lines %d-%d", from+1, to)
}

// concurrency handles a job with a matrix whose recipe group is the same
// for every leg: GitHub keeps one running and one pending job per group
// and cancels other pending ones, so the legs would cancel each other.
// The job's own group is kept when it tells the legs apart (names a
// matrix value), with the recipe's cancel-in-progress; otherwise the
// edit is refused. want and text are nil when the recipe's block is
// written as declared.
func (e *editor) concurrency(old map[string]any, en *entry) (any, []string, error) {
	c := e.job.Concurrency
	strategy, _ := old["strategy"].(map[string]any)
	if strategy == nil || strategy["matrix"] == nil || strings.Contains(c.Group, "matrix.") {
		want, _ := keyValue(e.job, "concurrency")
		return want, nil, nil
	}
	var group string
	switch v := old["concurrency"].(type) {
	case string:
		group = v
	case map[string]any:
		group, _ = v["group"].(string)
	}
	line := e.keyLine
	if s := e.entry("strategy"); s != nil {
		line = s.key.Line
	}
	if !strings.Contains(group, "matrix.") {
		return nil, nil, fmt.Errorf("line %d: job %s runs a matrix, and the recipe's concurrency group %q is the same for every leg: GitHub keeps one running and one pending job per group and cancels the other pending ones, so legs would be cancelled; declare a group that names a matrix value (${{ matrix.KEY }}) in the recipe; the file was not changed",
			line, e.job.ID, c.Group)
	}
	e.res.Notes = append(e.res.Notes, fmt.Sprintf("kept job %s's concurrency group %q: it tells the matrix legs apart, the recipe's %q does not (legs would cancel each other)", e.job.ID, group, c.Group))
	return concurrencyValue(group, c.CancelInProgress), concurrencyLines(e.col, e.nestedUnit(en), "concurrency:", group, c.CancelInProgress), nil
}

// unfence returns the expression inside an if: that is exactly one
// ${{ }} fence with nothing around it, not even a line break (GitHub
// evaluates it as the bare expression), else s. Anything around a fence
// makes the value a non-empty string, always true, which is never the
// same guard as the expression.
func unfence(s string) string {
	if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") && strings.Count(s, "${{") == 1 {
		return strings.TrimSpace(s[3 : len(s)-2])
	}
	return s
}

// tighterTimeout reports whether the job's own timeout-minutes is at
// most limit in every run: a number, or ${{ matrix.KEY }} where every
// value the matrix gives KEY (axes and include rows) is such a number.
// The recipe's timeout is a ceiling on how long a job may hold the
// runner; a maintainer's tighter budget per leg is kept.
func tighterTimeout(old map[string]any, limit int) (string, bool) {
	within := func(v any) bool {
		n, ok := v.(int)
		return ok && n > 0 && n <= limit
	}
	switch v := old["timeout-minutes"].(type) {
	case int:
		return fmt.Sprint(v), within(v)
	case string:
		key, ok := matrixRef(v)
		if !ok {
			return "", false
		}
		strategy, _ := old["strategy"].(map[string]any)
		matrix, _ := strategy["matrix"].(map[string]any)
		var vals []any
		if axis, ok := matrix[key].([]any); ok {
			vals = append(vals, axis...)
		}
		include, _ := matrix["include"].([]any)
		for _, row := range include {
			if r, ok := row.(map[string]any); ok {
				if x, ok := r[key]; ok {
					vals = append(vals, x)
				}
			}
		}
		if len(vals) == 0 {
			return "", false
		}
		if _, isAxis := matrix[key]; !isAxis && len(include) != len(vals) {
			return "", false // a row without the key has no timeout
		}
		for _, x := range vals {
			if !within(x) {
				return "", false
			}
		}
		return v, true
	}
	return "", false
}

// matrixRef returns KEY when s is exactly "${{ matrix.KEY }}".
func matrixRef(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "${{") || !strings.HasSuffix(s, "}}") {
		return "", false
	}
	inner := strings.TrimSpace(s[3 : len(s)-2])
	key, ok := strings.CutPrefix(inner, "matrix.")
	if !ok || key == "" || strings.ContainsAny(key, " .[]()'\"|&!=<>") {
		return "", false
	}
	return key, true
}

// env sets the variables the recipe names in the job's env:, keeping the
// job's others.
func (e *editor) env(old map[string]any) error {
	if len(e.job.Env) == 0 {
		return nil
	}
	en := e.entry("env")
	if en == nil || isNull(en.val) {
		text := []string{pad(e.col) + "env:"}
		for _, kv := range e.job.Env {
			text = append(text, pad(e.col+e.unit)+kvLine(kv))
		}
		e.set("env", en, text)
		e.expect["env"] = kvs(e.job.Env)
		e.res.Changed = append(e.res.Changed, "env")
		return nil
	}
	if !isBlockMapping(en.val) {
		return fmt.Errorf("line %d: job %s's env: is not a block mapping (flow style or an expression), so the recipe's variables cannot be set in it; write it as a block mapping, then render again", en.key.Line, e.job.ID)
	}
	oldEnv, _ := old["env"].(map[string]any)
	newEnv := copyValue(oldEnv).(map[string]any)
	vars := entries(e.lines, en.val, en.end)
	col := en.val.Content[0].Column - 1
	appendAt := vars[len(vars)-1].end
	var appended []string
	changed := false
	for _, kv := range e.job.Env {
		if v, ok := oldEnv[kv.Key]; ok && fmt.Sprint(v) == kv.Value {
			continue
		}
		changed = true
		newEnv[kv.Key] = kvValue(kv.Value)
		e.res.Changed = append(e.res.Changed, "env "+kv.Key)
		if v := findEntry(vars, kv.Key); v != nil {
			e.replace(*v, "env", []string{pad(col) + kvLine(kv)})
			continue
		}
		appended = append(appended, pad(col)+kvLine(kv))
	}
	if !changed {
		return nil
	}
	if len(appended) > 0 {
		e.edits = append(e.edits, lineEdit{start: appendAt, end: appendAt, text: appended})
	}
	e.touched = append(e.touched, touch{node: en.val, key: "env"})
	e.expect["env"] = newEnv
	return nil
}

// checkout sets with: persist-credentials on every actions/checkout step
// of the job to the value the recipe's own checkout step gives it.
func (e *editor) checkout(old map[string]any) error {
	want, ok := "", false
	for _, s := range e.job.Steps {
		if !isCheckout(s.Uses) {
			continue
		}
		for _, kv := range s.With {
			if kv.Key == "persist-credentials" {
				want, ok = kv.Value, true
			}
		}
	}
	en := e.entry("steps")
	if !ok || en == nil || en.val.Kind != yaml.SequenceNode {
		return nil
	}
	oldSteps, _ := old["steps"].([]any)
	newSteps, _ := copyValue(oldSteps).([]any)
	seq := en.val
	changed := false
	for i, item := range seq.Content {
		uses := ""
		if item.Kind == yaml.MappingNode {
			for k := 0; k+1 < len(item.Content); k += 2 {
				if item.Content[k].Value == "uses" {
					uses = item.Content[k+1].Value
				}
			}
		}
		if !isCheckout(uses) || i >= len(newSteps) {
			continue
		}
		step, _ := newSteps[i].(map[string]any)
		if step == nil {
			return fmt.Errorf("line %d: the checkout step of job %s has keys that are not strings; persist-credentials cannot be set in it safely", item.Line, e.job.ID)
		}
		with, _ := step["with"].(map[string]any)
		if v, has := with["persist-credentials"]; has && fmt.Sprint(v) == want {
			continue
		}
		if seq.Style&yaml.FlowStyle != 0 || item.Style&yaml.FlowStyle != 0 {
			return fmt.Errorf("line %d: the checkout step of job %s is in flow style ({...}), so persist-credentials cannot be set in it; write the step as a block mapping, then render again", item.Line, e.job.ID)
		}
		where := fmt.Sprintf("persist-credentials of the checkout step (line %d)", item.Line)
		if err := e.setWith(item, e.itemEnd(seq, i, en.end), want); err != nil {
			return err
		}
		newWith := copyValue(with).(map[string]any)
		if newWith == nil {
			newWith = map[string]any{}
		}
		newWith["persist-credentials"] = kvValue(want)
		step["with"] = newWith
		e.res.Changed = append(e.res.Changed, where)
		e.touched = append(e.touched, touch{node: item, key: "steps"})
		changed = true
	}
	if changed {
		e.touched = append(e.touched, touch{node: seq, key: "steps"})
		e.expect["steps"] = newSteps
	}
	return nil
}

// setWith writes persist-credentials into the with: of a step mapping
// whose lines end before index end.
func (e *editor) setWith(item *yaml.Node, end int, want string) error {
	kv := workflow.KV{Key: "persist-credentials", Value: want}
	keys := entries(e.lines, item, end)
	col := item.Content[0].Column - 1
	w := findEntry(keys, "with")
	switch {
	case w == nil:
		e.edits = append(e.edits, lineEdit{start: keys[len(keys)-1].end, end: keys[len(keys)-1].end,
			text: []string{pad(col) + "with:", pad(col+e.unit) + kvLine(kv)}})
	case isNull(w.val):
		e.replace(*w, "steps", []string{pad(col) + "with:", pad(col+e.unit) + kvLine(kv)})
	case isBlockMapping(w.val):
		inputs := entries(e.lines, w.val, w.end)
		icol := w.val.Content[0].Column - 1
		if p := findEntry(inputs, kv.Key); p != nil {
			e.replace(*p, "steps", []string{pad(icol) + kvLine(kv)})
		} else {
			at := inputs[len(inputs)-1].end
			e.edits = append(e.edits, lineEdit{start: at, end: at, text: []string{pad(icol) + kvLine(kv)}})
		}
		e.touched = append(e.touched, touch{node: w.val, key: "steps"})
	default:
		return fmt.Errorf("line %d: the with: of the checkout step of job %s is not a block mapping, so persist-credentials cannot be set in it; write it as a block mapping, then render again", w.key.Line, e.job.ID)
	}
	return nil
}

// itemEnd returns the index after the last line of item i of a block
// sequence whose lines end before limit.
func (e *editor) itemEnd(seq *yaml.Node, i, limit int) int {
	next := limit
	if i+1 < len(seq.Content) {
		next = dashLine(e.lines, seq.Content[i+1])
	}
	item := seq.Content[i]
	col := item.Column - 1
	if item.Kind == yaml.MappingNode && len(item.Content) > 0 {
		col = item.Content[0].Column - 1
	}
	return trimTail(e.lines, item.Line, next, col, false)
}

// dashLine returns the 0-based index of the line holding the "- " of a
// block sequence item: the item's own line, or the line before it when
// the item starts on the line after its dash.
func dashLine(lines []string, item *yaml.Node) int {
	l := item.Line - 1
	if l < len(lines) && strings.Contains(lines[l][:min(item.Column-1, len(lines[l]))], "-") {
		return l
	}
	for p := l - 1; p >= 0; p-- {
		if t := strings.TrimSpace(trimBreak(lines[p])); t != "" && !strings.HasPrefix(t, "#") {
			return p
		}
	}
	return l
}

// set replaces the entry of job key k with text, or inserts text where k
// belongs when the job has no such key.
func (e *editor) set(k string, en *entry, text []string) {
	if en != nil {
		e.replace(*en, k, text)
		return
	}
	at := e.keyLine
	rank := keyRank(k)
	for _, o := range e.ents {
		if r := keyRank(o.key.Value); r >= 0 && r < rank && o.end > at {
			at = o.end
		}
	}
	e.edits = append(e.edits, lineEdit{start: at, end: at, text: text})
}

// replace replaces the lines of an entry and records its nodes as gone.
func (e *editor) replace(en entry, k string, text []string) {
	e.edits = append(e.edits, lineEdit{start: en.start, end: en.end, text: text})
	e.touched = append(e.touched, touch{node: en.key, key: k, gone: true}, touch{node: en.val, key: k, gone: true})
}

// apply returns the lines with the edits made, each inserted line ending
// in the file's line break.
func (e *editor) apply() []byte {
	sort.SliceStable(e.edits, func(i, j int) bool {
		if e.edits[i].start != e.edits[j].start {
			return e.edits[i].start < e.edits[j].start
		}
		return e.edits[i].end < e.edits[j].end
	})
	var b strings.Builder
	pos := 0
	for _, ed := range e.edits {
		for _, l := range e.lines[pos:ed.start] {
			b.WriteString(l)
		}
		if ed.start > 0 && ed.start <= len(e.lines) && trimBreak(e.lines[ed.start-1]) == e.lines[ed.start-1] {
			b.WriteString(e.lay.newline)
		}
		for _, l := range ed.text {
			b.WriteString(l + e.lay.newline)
		}
		pos = ed.end
	}
	for _, l := range e.lines[pos:] {
		b.WriteString(l)
	}
	return []byte(b.String())
}

// anchors refuses an edit that would change what an alias elsewhere in
// the file means: an anchor on a replaced value, or on a mapping or
// sequence that gains or loses an entry, that something outside the
// replaced lines aliases.
func (e *editor) anchors(doc, jobs *yaml.Node) error {
	gone := map[*yaml.Node]bool{}
	targets := map[*yaml.Node]string{}
	for _, t := range e.touched {
		if t.gone {
			mark(t.node, gone)
			sub := map[*yaml.Node]bool{}
			mark(t.node, sub)
			for n := range sub {
				targets[n] = t.key
			}
			continue
		}
		targets[t.node] = t.key
	}
	isTarget := func(n *yaml.Node) bool { _, ok := targets[n]; return ok }
	order, uses := aliasUses(doc, jobs, gone, isTarget)
	if len(order) == 0 {
		return nil
	}
	target := order[0]
	where := fmt.Sprintf("line %d: job %s defines anchor &%s", target.Line, e.job.ID, target.Anchor)
	fix := fmt.Sprintf("write the value out in place of *%s there, or move the anchor out of %s, then render again; the file was not changed", target.Anchor, e.job.ID)
	if k := targets[target]; k != "" {
		return fmt.Errorf("%s on %s:, which %s; the recipe declares a different %s:, and changing it would change what those aliases mean: %s", where, k, describe(uses[target]), k, fix)
	}
	return fmt.Errorf("%s, which %s; changing the job would change what those aliases mean: %s", where, describe(uses[target]), fix)
}

// entry returns the job's entry for key k, nil if it has none.
func (e *editor) entry(k string) *entry { return findEntry(e.ents, k) }

// nestedUnit is the indentation step inside an existing mapping value,
// else the job's.
func (e *editor) nestedUnit(en *entry) int {
	if en != nil && isBlockMapping(en.val) {
		if u := en.val.Content[0].Column - 1 - e.col; u > 0 {
			return u
		}
	}
	return e.unit
}

// entries returns the entries of block mapping m with the lines each
// occupies: from its key to the line before the next key, less trailing
// blank lines and the comments that belong to what follows (at or left
// of the key's column; any comment after a value that is not a block
// scalar). limit is the index after the mapping's last line.
func entries(lines []string, m *yaml.Node, limit int) []entry {
	var out []entry
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		next := limit
		if i+2 < len(m.Content) {
			next = min(m.Content[i+2].Line-1, limit)
		}
		start := k.Line - 1
		out = append(out, entry{key: k, val: v, start: start, end: trimTail(lines, start+1, next, k.Column-1, v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0)})
	}
	return out
}

// trimTail returns the index after the last line in lines[from:to] that
// is neither blank nor a comment belonging to what follows (at or left of
// col; deeper ones too unless blockScalar, where they are content).
func trimTail(lines []string, from, to, col int, blockScalar bool) int {
	end := min(to, len(lines))
	for end > from {
		t := trimBreak(lines[end-1])
		tr := strings.TrimLeft(t, " \t")
		if tr == "" || (strings.HasPrefix(tr, "#") && (len(t)-len(tr) <= col || !blockScalar)) {
			end--
			continue
		}
		break
	}
	return end
}

func findEntry(es []entry, k string) *entry {
	for i := range es {
		if es[i].key.Kind == yaml.ScalarNode && es[i].key.Value == k {
			return &es[i]
		}
	}
	return nil
}

func keyRank(k string) int {
	for i, o := range jobKeyOrder {
		if o == k {
			return i
		}
	}
	return -1
}

func isCheckout(uses string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(uses)), "actions/checkout@")
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func isBlockMapping(n *yaml.Node) bool {
	return n.Kind == yaml.MappingNode && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0
}

// lookupKey returns the value of string key k in a decoded mapping.
func lookupKey(m any, k string) any {
	switch mm := m.(type) {
	case map[string]any:
		return mm[k]
	case map[any]any:
		return mm[k]
	}
	return nil
}

// copyValue deep-copies a decoded YAML value (maps and slices); a nil
// map stays a nil map of its type.
func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = copyValue(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = copyValue(x)
		}
		return out
	}
	return v
}
