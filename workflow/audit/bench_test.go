package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// hostileWorkflow is a workflow written to make the audit work hard: every
// trigger, a guard comparing many variables, labels and base branches, a
// 256-job matrix and a concurrency group of unknowns, in n jobs. The
// audit's budgets must keep its cost bounded whatever n is.
func hostileWorkflow(n int) []byte {
	var b strings.Builder
	b.WriteString("on:\n  push:\n  pull_request:\n  pull_request_target:\n  pull_request_review:\n  issue_comment:\n  workflow_dispatch:\n  merge_group:\n  schedule:\n    - cron: '0 0 * * *'\npermissions:\n  contents: read\njobs:\n")
	var terms []string
	for i := 0; i < 8; i++ {
		terms = append(terms, fmt.Sprintf("(vars.V%d == 'a%d' && contains(github.event.pull_request.labels.*.name, 'l%d') && github.base_ref == 'b%d')", i, i, i, i))
	}
	for j := 0; j < n; j++ {
		fmt.Fprintf(&b, `  j%d:
    if: (%s) && github.event.pull_request.head.repo.full_name == 'x/y%d'
    strategy:
      matrix:
        a: [1, 2, 3, 4, 5, 6, 7, 8]
        b: [1, 2, 3, 4, 5, 6, 7, 8]
        c: [1, 2, 3, 4]
    runs-on: ${{ matrix.a == 9 && 'self-hosted' || format('mac-{0}', vars.K) }}
    concurrency:
      group: g-${{ vars.A }}-${{ vars.B }}-${{ github.head_ref }}
    steps:
      - if: vars.S1 == 'x' && vars.S2 == 'y' && vars.S3 == 'z'
        run: make
`, j, strings.Join(terms, " || "), j)
	}
	return []byte(b.String())
}

// BenchmarkHostileWorkflow measures the bounded cost of the audit on
// hostile input (one job, then many): the per-job and per-file budgets,
// not the input, set it.
func BenchmarkHostileWorkflow(b *testing.B) {
	for _, n := range []int{1, 8} {
		src := hostileWorkflow(n)
		b.Run(fmt.Sprintf("jobs=%d", n), func(b *testing.B) {
			for range b.N {
				if _, err := Source("hostile.yml", src, Options{Labels: []string{"self-hosted", "mac-m4"}}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestHostileWorkflowBounded: on hostile input the audit stays within
// its budgets and never passes what it could not finish.
func TestHostileWorkflowBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("hostile input takes seconds")
	}
	jobs, err := Source("hostile.yml", hostileWorkflow(1), Options{Labels: []string{"self-hosted", "mac-m4"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if !j.LandsOnRunner || j.Verdict != "fail" {
			t.Errorf("job %s: lands %v, verdict %s; want a landing job that fails", j.ID, j.LandsOnRunner, j.Verdict)
		}
	}
}

// manyUnknowns is a guard of n clauses, each comparing a variable or an
// input the audit cannot know: every one multiplies the assignments, and
// each assignment's context must be built once, not once per unknown.
// With never set, the pull request part also needs an impossible event
// name, so the audit cannot find a witness and must try every
// assignment its budget allows (then call the row undecided: reachable).
func manyUnknowns(n int, never bool) []byte {
	var conds []string
	for i := 0; i < n; i++ {
		conds = append(conds, fmt.Sprintf("(vars.A%d == 'p%d' || vars.A%d == 'q%d' || inputs.I%d == 'r%d')", i, i, i, i, i, i))
	}
	if never {
		conds = append(conds, "github.event_name == 'nope'")
	}
	return []byte(fmt.Sprintf(`on: [pull_request, workflow_dispatch]
permissions:
  contents: read
jobs:
  j:
    if: github.event_name != 'pull_request' || (%s)
    runs-on: self-hosted
    steps:
      - run: make
`, strings.Join(conds, " && ")))
}

// BenchmarkManyUnknowns measures a guard with many unknown values (60
// clauses took two minutes when every assignment copied the context per
// unknown; 1000 took five gigabytes when every assignment was built first
// and the conversion memo counted maps, not keys).
func BenchmarkManyUnknowns(b *testing.B) {
	for _, n := range []int{10, 60, 1000} {
		src := manyUnknowns(n, true)
		b.Run(fmt.Sprintf("clauses=%d", n), func(b *testing.B) {
			for range b.N {
				if _, err := Source("unknowns.yml", src, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestManyUnknownsFail: a pull request meets the guard for some values
// of the variables, so the job fails however many there are; a guard the
// budget cannot decide is reachable, never safe.
func TestManyUnknownsFail(t *testing.T) {
	for _, tc := range []struct {
		n     int
		never bool
	}{{12, false}, {1000, false}, {1000, true}} {
		jobs, err := Source("unknowns.yml", manyUnknowns(tc.n, tc.never), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) != 1 || jobs[0].Verdict != "fail" {
			t.Errorf("%d clauses (never %v): got %+v, want one failing job", tc.n, tc.never, jobs)
		}
	}
}

// TestCallFanOutBounded: four levels of reusable workflows whose every
// job calls the next level make a tree of k³ calls; past maxCalls the
// calls left are unaudited (a failing finding), never followed without
// end and never passed.
func TestCallFanOutBounded(t *testing.T) {
	dir := t.TempDir()
	const k = 8 // 8 + 64 + 512 calls
	names := []string{"a", "b", "c", "d"}
	for i, n := range names {
		var b strings.Builder
		if i == 0 {
			b.WriteString("on: [pull_request]\n")
		} else {
			b.WriteString("on:\n  workflow_call:\n")
		}
		b.WriteString("permissions:\n  contents: read\njobs:\n")
		for j := 0; j < k; j++ {
			if i < len(names)-1 {
				fmt.Fprintf(&b, "  j%d:\n    uses: ./.github/workflows/%s.yml\n", j, names[i+1])
			} else {
				fmt.Fprintf(&b, "  j%d:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n", j)
			}
		}
		if err := os.WriteFile(filepath.Join(dir, n+".yml"), []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := Files(context.Background(), []string{filepath.Join(dir, "a.yml")}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	unaudited := 0
	for _, j := range rep.Jobs {
		for _, f := range j.Findings {
			if f.Rule == "unaudited-callee" && strings.Contains(f.Message, "its bound") {
				unaudited++
			}
		}
	}
	if rep.Verdict != "fail" || unaudited == 0 {
		t.Fatalf("verdict %s, %d calls past the bound reported; want fail and some", rep.Verdict, unaudited)
	}
	if len(rep.Jobs) > (maxCalls+1)*k {
		t.Errorf("%d jobs reported; the bound of %d calls allows at most %d", len(rep.Jobs), maxCalls, (maxCalls+1)*k)
	}
}
