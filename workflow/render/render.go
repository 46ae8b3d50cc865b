// Package render writes the job a recipe declares (workflow.JobSpec) into a
// GitHub Actions workflow file. It adds the job, or replaces the lines of
// an existing job with the same id, and leaves every other byte of the
// file unchanged: other jobs, comments, ordering and formatting. Every
// edit is proved before it is returned: the result parses as YAML, reads
// back outside the job exactly as before and holds the job exactly as the
// recipe declares it; a file that cannot be edited that way is refused
// with an error, never returned broken.
package render

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sysprog21/hvfctl/workflow"
)

// layout is the indentation style of the file being edited.
type layout struct {
	// jobIndent is the column (0-based) of job keys under jobs:.
	jobIndent int
	// unit is the indentation step inside a job.
	unit int
	// seqIndent is how far a sequence's "- " is indented from its key
	// (0 or unit).
	seqIndent int
	// newline is "\n" or "\r\n".
	newline string
}

// Result is a rendered workflow and what the render did to it.
type Result struct {
	// Out is the new contents of the file, equal to the input when the
	// job already holds everything the recipe declares.
	Out []byte
	// Created is true when the file had no job with the recipe's id and
	// the job was written in full.
	Created bool
	// Changed says what was set in an existing job, in file order of the
	// keys: "if", "runs-on", "env GNU_OBJCOPY", "persist-credentials of
	// the checkout step at line 40".
	Changed []string
	// Notes say what the render deliberately left as the maintainers
	// wrote it, and why.
	Notes []string
}

// Job returns src with the declared job rendered into it; see Render.
func Job(src []byte, job *workflow.JobSpec) ([]byte, error) {
	r, err := Render(src, job)
	if err != nil {
		return nil, err
	}
	return r.Out, nil
}

// Render writes the declared job into the workflow src.
//
// When the file has no job with the recipe's id, the job is written in
// full after the last job (its needs: must name jobs of the file). When
// the maintainers already have the job (a block mapping), only what the
// recipe declares about security and placement is set in it: if:,
// runs-on, timeout-minutes, permissions, concurrency, the env: variables
// the recipe names and persist-credentials of its actions/checkout
// steps. Its name, needs, matrix, other variables, steps, caches and
// comments stay as they are, and a key that already holds the declared
// value is not touched. A job that is not a mapping (a placeholder) is
// replaced in full. Rendering the result again returns it unchanged.
//
// Every edit is proved before it is returned: the result parses, reads
// back outside the job exactly as before and holds the job exactly as
// intended. An anchor the edit would leave dangling or change the
// meaning of is refused, naming the anchor, its line and its users.
func Render(src []byte, job *workflow.JobSpec) (*Result, error) {
	if job == nil || job.ID == "" {
		return nil, fmt.Errorf("the recipe declares no workflow_job to render")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("parsing the workflow: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the workflow is not a YAML mapping")
	}
	root := doc.Content[0]
	if root.Style&yaml.FlowStyle != 0 {
		return nil, refuse(fmt.Errorf("line %d: a flow-style workflow ({...}) cannot be edited in place", root.Line))
	}
	jobsIdx := -1
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "jobs" {
			jobsIdx = i
		}
	}
	if jobsIdx < 0 {
		return nil, fmt.Errorf("the workflow has no jobs: mapping")
	}
	jobsKey, jobs := root.Content[jobsIdx], root.Content[jobsIdx+1]
	if jobs.Kind != yaml.MappingNode || len(jobs.Content) == 0 {
		return nil, fmt.Errorf("line %d: jobs: must be a non-empty mapping", jobsKey.Line)
	}
	if jobs.Style&yaml.FlowStyle != 0 {
		return nil, refuse(fmt.Errorf("line %d: a flow-style jobs: ({...}) cannot be edited in place", jobsKey.Line))
	}
	var before any
	if err := doc.Decode(&before); err != nil {
		return nil, fmt.Errorf("reading the workflow: %w", err)
	}
	lines := yamlLines(string(src))
	lay := detectLayout(jobs, string(src))

	idx := -1
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		if jobs.Content[i].Value == job.ID {
			idx = i
		}
	}
	if idx >= 0 && isBlockMapping(jobs.Content[idx+1]) {
		return editJob(&doc, root, jobsIdx, jobs, idx, job, lay, lines, before)
	}
	if err := checkNeeds(jobs, job); err != nil {
		return nil, refuse(err)
	}
	var keep []keptAnchor
	if idx >= 0 {
		var err error
		if keep, err = sharedAnchors(&doc, jobs, idx, job); err != nil {
			return nil, refuse(err)
		}
	}
	text := renderJob(job, lay, keep)
	var start, end int // 0-based line indexes, end exclusive
	if idx >= 0 {
		start = jobs.Content[idx].Line - 1
		end = jobEnd(lines, root, jobsIdx, jobs, idx, lay.jobIndent)
	} else {
		last := len(jobs.Content) - 2
		start = jobEnd(lines, root, jobsIdx, jobs, last, lay.jobIndent)
		end = start
		text = lay.newline + text
	}
	var b strings.Builder
	for _, l := range lines[:start] {
		b.WriteString(l)
	}
	if start > 0 && trimBreak(lines[start-1]) == lines[start-1] {
		b.WriteString(lay.newline)
	}
	b.WriteString(text)
	for _, l := range lines[end:] {
		b.WriteString(l)
	}
	out := []byte(b.String())
	if err := verify(before, out, job.ID, declared(job)); err != nil {
		if idx >= 0 {
			return nil, refuse(fmt.Errorf("line %d: job %s cannot be replaced in place (its lines %d-%d): %w", start+1, job.ID, start+1, end, err))
		}
		return nil, refuse(fmt.Errorf("line %d: job %s cannot be added after the last job: %w", start, job.ID, err))
	}
	return &Result{Out: out, Created: true}, nil
}

// checkNeeds refuses a job whose needs: names a job the file does not
// have: GitHub rejects the whole workflow file, so every job in it would
// stop running.
func checkNeeds(jobs *yaml.Node, job *workflow.JobSpec) error {
	have := map[string]bool{}
	var ids []string
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		if id := jobs.Content[i].Value; id != job.ID {
			have[strings.ToLower(id)] = true
			ids = append(ids, id)
		}
	}
	var missing []string
	for _, n := range job.Needs {
		if !have[strings.ToLower(n)] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("job %s needs %s, which the file does not have (its jobs: %s); GitHub would reject the whole workflow: add the job or drop it from the recipe's needs, then render again; the file was not changed",
		job.ID, strings.Join(missing, ", "), strings.Join(ids, ", "))
}

// RefusalError is a well-formed workflow that Job will not edit, because
// the edit could not be proved safe: a flow-style mapping, an anchor whose
// aliases would dangle or change meaning, or a result that would not read
// back as the file with only the job changed. Any other error from Job is
// bad input (not YAML, not a workflow). The CLI exits 1 on a refusal and
// 2 on bad input.
type RefusalError struct {
	// Err says what would go wrong and where.
	Err error
}

// Error returns the reason for the refusal.
func (e *RefusalError) Error() string { return e.Err.Error() }

// Unwrap returns the reason.
func (e *RefusalError) Unwrap() error { return e.Err }

func refuse(err error) error { return &RefusalError{Err: err} }

// splitLines splits s after each "\n", keeping the terminators.
func splitLines(s string) []string {
	var out []string
	for len(s) > 0 {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// yamlBreaks are YAML's line breaks, longest first: the parser counts a
// line after each, so the line numbers of its nodes index yamlLines.
var yamlBreaks = [...]string{"\r\n", "\n", "\r", "\u0085", "\u2028", "\u2029"}

// breakAt returns the length of the line break that starts s, 0 if none.
func breakAt(s string) int {
	for _, b := range yamlBreaks {
		if strings.HasPrefix(s, b) {
			return len(b)
		}
	}
	return 0
}

// yamlLines splits s after each YAML line break, keeping the breaks, so
// that line n of a parsed node is yamlLines(s)[n-1].
func yamlLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		if n := breakAt(s[i:]); n > 0 {
			out = append(out, s[start:i+n])
			i += n
			start = i
			continue
		}
		i++
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// trimBreak returns line without its trailing line break.
func trimBreak(line string) string {
	for _, b := range yamlBreaks {
		if strings.HasSuffix(line, b) {
			return strings.TrimSuffix(line, b)
		}
	}
	return line
}

// jobEnd returns the index after the last line of the job at jobs.Content[i]:
// the last line before the next job key (or the end of the jobs mapping)
// that is not blank and not a comment at or left of the job keys' column
// (such comments belong to what follows). The jobs mapping ends at the
// next top-level key, or at the first line at or left of the job keys'
// column after the last node of its last job (a document marker); lines
// up to that last node belong to the job whatever their indentation (a
// sequence at the job key's column, a flow collection continued further
// left).
func jobEnd(lines []string, root *yaml.Node, jobsIdx int, jobs *yaml.Node, i, jobIndent int) int {
	limit := len(lines)
	if i+2 < len(jobs.Content) {
		limit = jobs.Content[i+2].Line - 1
	} else {
		if jobsIdx >= 0 && jobsIdx+2 < len(root.Content) {
			limit = root.Content[jobsIdx+2].Line - 1
		}
		for l := lastLine(jobs.Content[i+1]); l < limit; l++ {
			t := trimBreak(lines[l])
			trimmed := strings.TrimLeft(t, " ")
			if trimmed == "" || strings.HasPrefix(trimmed, "#") {
				continue
			}
			if len(t)-len(trimmed) <= jobIndent {
				limit = l
				break
			}
		}
	}
	if limit > len(lines) {
		limit = len(lines)
	}
	end := jobs.Content[i].Line // the key line is always part of the job
	for l := jobs.Content[i].Line; l < limit; l++ {
		t := trimBreak(lines[l])
		trimmed := strings.TrimLeft(t, " ")
		if trimmed == "" {
			continue
		}
		if strings.HasPrefix(trimmed, "#") && len(t)-len(trimmed) <= jobIndent {
			continue
		}
		end = l + 1
	}
	return end
}

// lastLine returns the largest (1-based) line on which a node of n's
// tree starts; aliases are not followed.
func lastLine(n *yaml.Node) int {
	last := n.Line
	for _, c := range n.Content {
		if l := lastLine(c); l > last {
			last = l
		}
	}
	return last
}

func detectLayout(jobs *yaml.Node, src string) layout {
	lay := layout{jobIndent: jobs.Content[0].Column - 1, unit: 2, seqIndent: 2, newline: "\n"}
	if strings.Contains(src, "\r\n") {
		lay.newline = "\r\n"
	}
	for i := 0; i+1 < len(jobs.Content); i += 2 {
		body := jobs.Content[i+1]
		if body.Kind != yaml.MappingNode || len(body.Content) < 2 || body.Style&yaml.FlowStyle != 0 {
			continue
		}
		lay.unit = body.Content[0].Column - jobs.Content[i].Column
		for k := 0; k+1 < len(body.Content); k += 2 {
			v := body.Content[k+1]
			if v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && v.Content[0].Line > body.Content[k].Line {
				// The item's content starts two columns after its dash.
				lay.seqIndent = v.Content[0].Column - 2 - body.Content[k].Column
				if lay.seqIndent < 0 {
					lay.seqIndent = 0
				}
				return lay
			}
		}
		lay.seqIndent = lay.unit
		return lay
	}
	if lay.unit <= 0 {
		lay.unit = 2
	}
	lay.seqIndent = lay.unit
	return lay
}

// renderJob writes the job in a fixed key order (jobKeyOrder): name,
// needs, if, runs-on, timeout-minutes, permissions, concurrency, env,
// steps. The anchors in keep are written on the values of their keys.
func renderJob(j *workflow.JobSpec, lay layout, keep []keptAnchor) string {
	var b strings.Builder
	// key writes a job key, with the anchor an existing job defined on
	// its value when that anchor is kept.
	key := func(k string) string {
		for _, a := range keep {
			if a.key == k {
				return k + ": &" + a.name
			}
		}
		return k + ":"
	}
	ind := func(n int) string { return strings.Repeat(" ", lay.jobIndent+n*lay.unit) }
	line := func(indent, s string) {
		b.WriteString(indent + s + lay.newline)
	}
	line(ind(0), scalar(j.ID)+":")
	if j.Name != "" {
		line(ind(1), key("name")+" "+scalar(j.Name))
	}
	switch len(j.Needs) {
	case 0:
	case 1:
		line(ind(1), key("needs")+" "+scalar(j.Needs[0]))
	default:
		line(ind(1), key("needs")+" "+flow(j.Needs))
	}
	for _, k := range securityKeys {
		for _, l := range keyLines(j, k, lay.jobIndent+lay.unit, lay.unit, key(k)) {
			line("", l)
		}
	}
	if len(j.Env) > 0 {
		line(ind(1), key("env"))
		for _, kv := range j.Env {
			line(ind(2), kvLine(kv))
		}
	}
	if len(j.Steps) > 0 {
		line(ind(1), key("steps"))
		dash := strings.Repeat(" ", lay.jobIndent+lay.unit+lay.seqIndent)
		body := dash + "  "
		for _, s := range j.Steps {
			first := true
			item := func(s string) {
				if first {
					line(dash, "- "+s)
					first = false
					return
				}
				line(body, s)
			}
			if s.Name != "" {
				item("name: " + scalar(s.Name))
			}
			if s.ID != "" {
				item("id: " + scalar(s.ID))
			}
			if s.If != "" {
				item("if: " + scalar(normalizeExpr(s.If)))
			}
			if s.Uses != "" {
				item("uses: " + usesValue(s.Uses))
			}
			if s.Run != "" {
				if strings.Contains(s.Run, "\n") {
					// A first line that starts with a space needs the
					// content's indentation given (relative to the
					// step's keys), else it would set it.
					header := "run: |"
					if strings.HasPrefix(strings.TrimLeft(s.Run, "\n"), " ") {
						header += strconv.Itoa(lay.unit)
					}
					item(header)
					for _, l := range strings.Split(strings.TrimRight(s.Run, "\n"), "\n") {
						if l == "" {
							b.WriteString(lay.newline)
							continue
						}
						line(body+strings.Repeat(" ", lay.unit), l)
					}
				} else {
					item("run: " + scalar(s.Run))
				}
			}
			if s.Shell != "" {
				item("shell: " + scalar(s.Shell))
			}
			for _, sec := range []struct {
				key string
				kv  []workflow.KV
			}{{"with", s.With}, {"env", s.Env}} {
				if len(sec.kv) == 0 {
					continue
				}
				item(sec.key + ":")
				for _, kv := range sec.kv {
					line(body+strings.Repeat(" ", lay.unit), kvLine(kv))
				}
			}
		}
	}
	return b.String()
}

// usesValue keeps a trailing "# version" comment of a pinned action as a
// YAML comment.
func usesValue(u string) string {
	if i := strings.Index(u, " #"); i > 0 {
		return scalar(strings.TrimSpace(u[:i])) + " " + strings.TrimSpace(u[i+1:])
	}
	return scalar(u)
}

// scalar renders s as a plain YAML scalar when that reads back as the
// same string, else as a double-quoted one.
func scalar(s string) string {
	if s != "" && !strings.ContainsAny(s, "\n\r\t\u0085\u2028\u2029") && s == strings.TrimSpace(s) {
		var m map[string]any
		if yaml.Unmarshal([]byte("k: "+s+"\n"), &m) == nil {
			if str, ok := m["k"].(string); ok && str == s {
				return s
			}
		}
	}
	return quote(s)
}

// quote renders s as a double-quoted YAML scalar: JSON's escapes, and
// \u escapes too for what YAML reads as a line break (NEL, LS, PS) or
// does not allow unescaped (DEL, the C1 controls, the byte order mark).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20, r >= 0x7f && r <= 0x9f, r == 0x2028, r == 0x2029, r == 0xfeff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// flow renders a list as a flow sequence.
func flow(xs []string) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		p := scalar(x)
		if strings.ContainsAny(p, ",[]{}") && !strings.HasPrefix(p, "\"") {
			p = quote(x)
		}
		parts[i] = p
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// normalizeExpr joins a multi-line expression into one line, collapsing
// line breaks and the indentation after them outside string literals.
func normalizeExpr(s string) string {
	var b strings.Builder
	inStr := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\'' {
			inStr = !inStr
		}
		if !inStr && (c == '\n' || c == '\r') {
			for i+1 < len(s) && (s[i+1] == ' ' || s[i+1] == '\t' || s[i+1] == '\n' || s[i+1] == '\r') {
				i++
			}
			if b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
			continue
		}
		b.WriteByte(c)
	}
	return strings.TrimSpace(b.String())
}
