package expr

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// scenario is one kind of run from workflow-guard.md's truth table.
type scenario struct {
	name   string
	github map[string]any
}

func guardScenarios() []scenario {
	const repo = "sysprog21/elfuse"
	plain := func(event, ref string, payload map[string]any) map[string]any {
		return map[string]any{"event_name": event, "ref": ref, "repository": repo, "repository_owner": "sysprog21", "event": payload}
	}
	pr := func(event, ref, head string, labels ...string) map[string]any {
		g := prEvent(head, repo, labels...)
		g["event_name"], g["ref"], g["repository_owner"] = event, ref, "sysprog21"
		return g
	}
	return []scenario{
		{"push-main", plain("push", "refs/heads/main", map[string]any{"ref": "refs/heads/main"})},
		{"push-branch", plain("push", "refs/heads/feature", map[string]any{"ref": "refs/heads/feature"})},
		{"push-tag", plain("push", "refs/tags/v1", map[string]any{"ref": "refs/tags/v1"})},
		{"pr-same-nolabel", pr("pull_request", "refs/pull/7/merge", repo)},
		{"pr-same-label", pr("pull_request", "refs/pull/7/merge", repo, "ci-hvf")},
		{"pr-fork-nolabel", pr("pull_request", "refs/pull/7/merge", "evil/elfuse")},
		{"pr-fork-label", pr("pull_request", "refs/pull/7/merge", "evil/elfuse", "ci-hvf")},
		{"prt-same", pr("pull_request_target", "refs/heads/main", repo, "ci-hvf")},
		{"prt-fork", pr("pull_request_target", "refs/heads/main", "evil/elfuse", "ci-hvf")},
		{"pr-review-fork", pr("pull_request_review", "refs/pull/7/merge", "evil/elfuse", "ci-hvf")},
		{"issue-comment", plain("issue_comment", "refs/heads/main", map[string]any{"comment": map[string]any{"body": "/run ci-hvf"}})},
		{"workflow-run", plain("workflow_run", "refs/heads/main", map[string]any{"workflow_run": map[string]any{"head_branch": "main"}})},
		{"dispatch-main", plain("workflow_dispatch", "refs/heads/main", map[string]any{"inputs": map[string]any{}})},
		{"dispatch-branch", plain("workflow_dispatch", "refs/heads/feature", map[string]any{"inputs": map[string]any{}})},
		{"schedule", plain("schedule", "refs/heads/main", map[string]any{"schedule": "0 3 * * *"})},
		{"merge-group", plain("merge_group", "refs/heads/gh-readonly-queue/main/pr-7-0123abc", map[string]any{})},
	}
}

// The three worked-example guards of workflow-guard.md.
var guards = []struct {
	name, src string
	// reachable lists the scenarios the reference's truth table marks T.
	reachable []string
}{
	{"D", "github.event_name == 'push' || (github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository && contains(github.event.pull_request.labels.*.name, 'ci-hvf'))",
		[]string{"push-main", "push-branch", "push-tag", "pr-same-label"}},
	{"R", "github.repository == 'sysprog21/elfuse' && ((github.event_name == 'push' && github.ref == 'refs/heads/main') || (github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/main'))",
		[]string{"push-main", "dispatch-main"}},
	{"G", "github.event_name != 'pull_request' || github.event.pull_request.head.repo.full_name == github.repository",
		[]string{"push-main", "push-branch", "push-tag", "pr-same-nolabel", "pr-same-label", "prt-same", "prt-fork", "pr-review-fork", "issue-comment", "workflow-run", "dispatch-main", "dispatch-branch", "schedule", "merge-group"}},
}

// TestGuardTruthTable evaluates the reference's example guards over every
// scenario, checks the reachability the reference states, and records the
// top-level operands with their values (the witness) in a golden file.
func TestGuardTruthTable(t *testing.T) {
	var out strings.Builder
	for _, g := range guards {
		cond, err := ParseIf("${{ " + g.src + " }}")
		if err != nil {
			t.Fatalf("guard %s: %v", g.name, err)
		}
		want := map[string]bool{}
		for _, s := range g.reachable {
			want[s] = true
		}
		fmt.Fprintf(&out, "guard %s: %s\n", g.name, g.src)
		for _, sc := range guardScenarios() {
			ctx := MapContext{"github": sc.github}
			got, err := cond.Eval(ctx, Options{})
			if err != nil {
				t.Fatalf("guard %s, %s: %v", g.name, sc.name, err)
			}
			if got != want[sc.name] {
				t.Errorf("guard %s, %s: reachable = %v, want %v", g.name, sc.name, got, want[sc.name])
			}
			_, steps, err := cond.Expr.Trace(ctx)
			if err != nil {
				t.Fatalf("guard %s, %s: trace: %v", g.name, sc.name, err)
			}
			mark := "F"
			if got {
				mark = "T"
			}
			fmt.Fprintf(&out, "  %-16s %s\n", sc.name, mark)
			for _, s := range steps {
				if s.Depth == 1 {
					fmt.Fprintf(&out, "    %s => %s\n", s.Src, ToJSON(s.Value))
				}
			}
		}
	}
	golden := filepath.Join("testdata", "guards.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != out.String() {
		t.Errorf("guard truth table differs from %s (go test -update to refresh):\n%s", golden, out.String())
	}
}

// BenchmarkGuardEval measures one evaluation of the design guard, the
// audit's inner loop (context normalisation included).
func BenchmarkGuardEval(b *testing.B) {
	e, err := Parse(guards[0].src)
	if err != nil {
		b.Fatal(err)
	}
	ctx := MapContext{"github": guardScenarios()[4].github}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := e.Eval(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkParse measures parsing the design guard.
func BenchmarkParse(b *testing.B) {
	for i := 0; i < b.N; i++ {
		if _, err := Parse(guards[0].src); err != nil {
			b.Fatal(err)
		}
	}
}
