package audit

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// maxGroups bounds the group names computed per run kind.
const maxGroups = 256

// concurrencyFindings checks the workflow's and the job's concurrency:
// a run that may not reach the runner must not be able to share a group
// with pushes to main (it could cancel them or hold them back), and only
// pull-request runs may cancel runs in progress.
func (ja *jobAudit) concurrencyFindings() error {
	for _, lvl := range []struct {
		c     *actionlint.Concurrency
		where string
		// onlyReachable: a job's concurrency is only entered when the job
		// runs; a workflow's by every run of the workflow.
		onlyReachable bool
	}{{ja.w.Concurrency, "workflow concurrency", false}, {ja.j.Concurrency, "job concurrency", true}} {
		if lvl.c == nil || lvl.c.Group == nil {
			continue
		}
		group, err := parseTemplate(lvl.c.Group)
		if err != nil {
			return err
		}
		var cancel *template
		if lvl.c.CancelInProgress != nil && lvl.c.CancelInProgress.Expression != nil {
			if cancel, err = parseTemplate(lvl.c.CancelInProgress.Expression); err != nil {
				return err
			}
		}
		main := ja.rowByID("push-main")
		var mainGroups []string
		if main != nil && main.s.Admitted() && (main.reachable || !lvl.onlyReachable) {
			mainGroups, err = ja.groupValues(group, main)
			if err != nil {
				return err
			}
		}
		// Fork rows first: they are the ones the rule is about.
		rows := append([]*rowResult(nil), ja.rows...)
		sort.SliceStable(rows, func(a, b int) bool { return rows[a].s.head == "fork" && rows[b].s.head != "fork" })
		for _, r := range rows {
			s := r.s
			if !s.Admitted() || s.Trust.OK() || len(mainGroups) == 0 {
				continue
			}
			if lvl.onlyReachable && !r.reachable {
				continue
			}
			vals, err := ja.groupValues(group, r)
			if err != nil {
				return err
			}
			if g, m, ok := collide(vals, mainGroups); ok {
				ja.add(Finding{Rule: "concurrency", Level: LevelFail, Line: posLine(lvl.c.Group.Pos),
					Message: fmt.Sprintf("%s group %q: a %s run (%s) can be in the same group as a push to main, and cancel or hold it back", lvl.where, lvl.c.Group.Value, s.ID, s.Desc),
					Witness: fmt.Sprintf("%s: group %s matches push-main's group %q", s.ID, describeGroup(g), m)})
				break
			}
		}
		// Cancellation: only pull-request runs may cancel in progress.
		for _, r := range ja.rows {
			s := r.s
			if !s.Admitted() || strings.HasPrefix(s.Event, "pull_request") || !s.Trust.OK() {
				continue
			}
			if lvl.onlyReachable && !r.reachable {
				continue
			}
			on, desc, err := ja.cancels(lvl.c.CancelInProgress, cancel, r)
			if err != nil {
				return err
			}
			if on {
				line := posLine(lvl.c.Pos)
				if lvl.c.CancelInProgress != nil {
					line = posLine(lvl.c.CancelInProgress.Pos)
				}
				ja.add(Finding{Rule: "concurrency", Level: LevelWarn, Line: line,
					Message: fmt.Sprintf("%s cancels in-progress runs for %s; the design cancels only pull-request runs (a newer push must not kill a run on main)", lvl.where, s.ID),
					Witness: s.ID + ": cancel-in-progress " + desc})
				break
			}
		}
	}
	return nil
}

func (ja *jobAudit) rowByID(id string) *rowResult {
	for _, r := range ja.rows {
		if r.s.ID == id {
			return r
		}
	}
	return nil
}

// groupValues computes the group names a kind of run can produce.
// Values the run's author chooses appear as anyValue.
func (ja *jobAudit) groupValues(t *template, r *rowResult) ([]string, error) {
	rs := newRefSet(t.exprs...)
	var out []string
	for _, v := range r.vars {
		for _, combo := range ja.combos {
			ja.budget--
			if ja.budget <= 0 {
				return append(out, anyValue), nil
			}
			base := runContext(v.ctx, combo, ja.memo)
			us := rs.unknowns(base)
			n, at, ok := assignmentSeq(base, us, ja.budget)
			ja.budget -= n * (1 + len(us)/unknownsPerEval)
			if !ok || ja.budget <= 0 {
				// Not every group was computed: it may be any.
				return append(out, anyValue), nil
			}
			for i := 0; i < n; i++ {
				a := at(i)
				g, err := t.str(a.ctx)
				if err != nil {
					return nil, err
				}
				if !containsStr(out, g) {
					out = append(out, g)
				}
				if len(out) >= maxGroups {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

// collide reports whether a group name of one run (where anyValue stands
// for any text) can equal one of the main groups, compared
// case-insensitively.
func collide(groups, mains []string) (string, string, bool) {
	for _, g := range groups {
		parts := strings.Split(g, anyValue)
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
		for _, m := range mains {
			if strings.Contains(m, anyValue) {
				if strings.Contains(g, anyValue) && bothFreeMatch(g, m) {
					return g, m, true
				}
				if !strings.Contains(g, anyValue) && groupRegexp(m).MatchString(g) {
					return g, m, true
				}
				continue
			}
			if re.MatchString(m) {
				return g, m, true
			}
		}
	}
	return "", "", false
}

// groupRegexp matches the names a group with anyValue parts can take.
func groupRegexp(g string) *regexp.Regexp {
	parts := strings.Split(g, anyValue)
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("(?is)^" + strings.Join(parts, ".*") + "$")
}

// bothFreeMatch reports whether two names that each hold at least one
// anyValue part can be equal. With a free part on each side, a common
// name exists exactly when the fixed text before the first free part of
// one is a prefix of the other's (or the other way round), and likewise
// the fixed text after the last free part: the name made of the longer
// prefix, every middle part of both, and the longer suffix matches both.
func bothFreeMatch(a, b string) bool {
	a, b = strings.ToLower(a), strings.ToLower(b)
	ap, bp := a[:strings.Index(a, anyValue)], b[:strings.Index(b, anyValue)]
	as, bs := a[strings.LastIndex(a, anyValue)+len(anyValue):], b[strings.LastIndex(b, anyValue)+len(anyValue):]
	prefixOK := strings.HasPrefix(ap, bp) || strings.HasPrefix(bp, ap)
	suffixOK := strings.HasSuffix(as, bs) || strings.HasSuffix(bs, as)
	return prefixOK && suffixOK
}

func describeGroup(g string) string {
	return "'" + strings.ReplaceAll(g, anyValue, "<any>") + "'"
}

// cancels reports whether cancel-in-progress can be true in a run.
func (ja *jobAudit) cancels(b *actionlint.Bool, t *template, r *rowResult) (bool, string, error) {
	if b == nil {
		return false, "", nil
	}
	if t == nil {
		return b.Value, "is true", nil
	}
	rs := newRefSet(t.exprs...)
	for _, v := range r.vars {
		ja.budget--
		if ja.budget <= 0 {
			return true, "may be true (too many values to try)", nil
		}
		base := completeContext(shallow(v.ctx))
		us := rs.unknowns(base)
		n, at, ok := assignmentSeq(base, us, ja.budget)
		ja.budget -= n * (1 + len(us)/unknownsPerEval)
		if !ok || ja.budget <= 0 {
			return true, "may be true (too many values to try)", nil
		}
		for i := 0; i < n; i++ {
			a := at(i)
			val, err := t.value(a.ctx)
			if err != nil {
				return false, "", err
			}
			if truthy(val) && !strings.EqualFold(fmt.Sprint(val), "false") {
				return true, fmt.Sprintf("%s is true", oneLine(t.src)), nil
			}
		}
	}
	return false, "", nil
}
