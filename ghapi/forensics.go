package ghapi

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// SearchCap is the most results GitHub returns for one filtered search of
// workflow runs.
const SearchCap = 1000

// RunnerJob is a job that ran on one of the runners, with its run.
type RunnerJob struct {
	Run Run
	Job Job
}

// Range is a period of run creation times, [From, To].
type Range struct {
	From, To time.Time
}

// created renders the range in GitHub's search date syntax: whole days
// as dates, anything finer as RFC 3339 times.
func (r Range) created() string {
	day := 24 * time.Hour
	if r.From.Equal(r.From.Truncate(day)) && r.To.Add(time.Second).Equal(r.To.Add(time.Second).Truncate(day)) {
		return r.From.Format("2006-01-02") + ".." + r.To.Format("2006-01-02")
	}
	return r.From.Format(time.RFC3339) + ".." + r.To.Format(time.RFC3339)
}

// split halves the range, on a day boundary when it spans days.
func (r Range) split() (Range, Range, bool) {
	span := r.To.Sub(r.From)
	if span < 2*time.Second {
		return r, r, false
	}
	day := 24 * time.Hour
	mid := r.From.Add(span / 2)
	if span >= 2*day-time.Second {
		mid = mid.Truncate(day)
	} else {
		mid = mid.Truncate(time.Second)
	}
	if !mid.After(r.From) {
		return r, r, false
	}
	return Range{r.From, mid.Add(-time.Second)}, Range{mid, r.To}, true
}

// RunsSince lists every run created in [since, now], splitting the
// period into created ranges whenever one search reaches GitHub's cap of
// 1,000 results. Runs come newest first, each once.
func (c *Client) RunsSince(ctx context.Context, r Repo, since, now time.Time) ([]Run, error) {
	day := 24 * time.Hour
	whole := Range{From: since.UTC().Truncate(day), To: now.UTC().Truncate(day).Add(day - time.Second)}
	seen := map[int64]bool{}
	var out []Run
	var walk func(rg Range, depth int) error
	walk = func(rg Range, depth int) error {
		runs, total, err := c.Runs(ctx, r, RunsQuery{Created: rg.created()})
		if err != nil {
			return err
		}
		if total > len(runs) || len(runs) >= SearchCap {
			a, b, ok := rg.split()
			if ok && depth < 40 {
				if err := walk(b, depth+1); err != nil {
					return err
				}
				return walk(a, depth+1)
			}
			if total > len(runs) {
				return fmt.Errorf("GitHub lists %d runs created in %s but returns only %d; the period cannot be split further", total, rg.created(), len(runs))
			}
		}
		for _, run := range runs {
			if !seen[run.ID] && !run.CreatedAt.Before(since) {
				seen[run.ID] = true
				out = append(out, run)
			}
		}
		return nil
	}
	if err := walk(whole, 0); err != nil {
		return nil, err
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// JobsOn returns the jobs of runs (every attempt) that ran on a runner
// whose name is in names or whose id is in ids.
func (c *Client) JobsOn(ctx context.Context, r Repo, runs []Run, names map[string]bool, ids map[int64]bool) ([]RunnerJob, error) {
	var out []RunnerJob
	for _, run := range runs {
		if neverStarted(run) {
			continue // saves a request: no job of it ran anywhere
		}
		jobs, err := c.Jobs(ctx, r, run.ID)
		if err != nil {
			return nil, err
		}
		for _, j := range jobs {
			if (j.RunnerName != "" && names[j.RunnerName]) || (j.RunnerID != 0 && ids[j.RunnerID]) {
				out = append(out, RunnerJob{Run: run, Job: j})
			}
		}
	}
	return out, nil
}

// neverStarted reports whether no job of a run can have run: its first
// attempt is requested or pending, waits for a fork approval, or GitHub
// skipped it. (A later attempt's state says nothing of the earlier
// attempts' jobs; a "waiting" or "queued" run may have finished jobs
// before one that waits for an environment's approval or a runner.)
func neverStarted(run Run) bool {
	if run.RunAttempt > 1 {
		return false
	}
	switch run.Status {
	case "requested", "pending":
		return true
	}
	return run.Conclusion == "action_required" || run.Conclusion == "skipped"
}
