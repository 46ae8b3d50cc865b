package render_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/render"
)

// editJob is a short job, so that its if: stays on one line.
func editJob() *workflow.JobSpec {
	return &workflow.JobSpec{
		ID:             "rt",
		Needs:          []string{"build"},
		If:             "github.event_name == 'push'",
		RunsOn:         []string{"self-hosted", "m4"},
		TimeoutMinutes: 60,
		Concurrency:    &workflow.Concurrency{Group: "rt-${{ github.ref }}", CancelInProgress: "false"},
		Env:            []workflow.KV{{Key: "A", Value: "1"}, {Key: "B", Value: "two"}},
		Steps: []workflow.Step{
			{Uses: "actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8", With: []workflow.KV{{Key: "persist-credentials", Value: "false"}}},
			{Run: "make"},
		},
	}
}

// TestEditExisting sets the recipe's keys in jobs the maintainers
// already have: the result is exactly want, rendering it again changes
// nothing, and refusals name what stops them.
func TestEditExisting(t *testing.T) {
	const head = "on: push\njobs:\n  build:\n    runs-on: x\n    steps: [{run: make}]\n"
	for _, tc := range []struct {
		name, job string
		// want is the job's lines after the render; refused a part of
		// the refusal instead.
		want, refused string
		// changed is Result.Changed, joined by "; ".
		changed string
	}{{
		name: "already as declared: untouched",
		job: "  rt:\n    if: ${{ github.event_name == 'push' }}\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 30\n    permissions: {contents: read}\n" +
			"    concurrency: {group: 'rt-${{ github.ref }}', cancel-in-progress: false}\n    env:\n      A: 1\n      B: two\n" +
			"    steps:\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n        with: {persist-credentials: false}\n",
		want: "  rt:\n    if: ${{ github.event_name == 'push' }}\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 30\n    permissions: {contents: read}\n" +
			"    concurrency: {group: 'rt-${{ github.ref }}', cancel-in-progress: false}\n    env:\n      A: 1\n      B: two\n" +
			"    steps:\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n        with: {persist-credentials: false}\n",
	}, {
		name: "missing keys inserted in order, steps and comments kept",
		job:  "  rt:\n    name: mine   # the name stays\n    # the guard comes next\n    steps:\n      # check out first\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n\n      - run: make  # build\n",
		want: "  rt:\n    name: mine   # the name stays\n    if: github.event_name == 'push'\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 60\n    permissions:\n      contents: read\n" +
			"    concurrency:\n      group: rt-${{ github.ref }}\n      cancel-in-progress: false\n    env:\n      A: \"1\"\n      B: two\n" +
			"    # the guard comes next\n    steps:\n      # check out first\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n        with:\n          persist-credentials: false\n\n      - run: make  # build\n",
		changed: "if; runs-on; timeout-minutes; permissions; concurrency; env; persist-credentials of the checkout step (line 11)",
	}, {
		name: "env: only the named variables; with: keys kept",
		job: "  rt:\n    if: github.event_name == 'push'\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 60\n    permissions:\n      contents: read\n    concurrency:\n      group: rt-${{ github.ref }}\n      cancel-in-progress: false\n" +
			"    env:\n      A: 2\n      KEEP: yes\n    steps:\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n        with:\n          fetch-depth: 0\n          persist-credentials: \"true\"\n",
		want: "  rt:\n    if: github.event_name == 'push'\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 60\n    permissions:\n      contents: read\n    concurrency:\n      group: rt-${{ github.ref }}\n      cancel-in-progress: false\n" +
			"    env:\n      A: \"1\"\n      KEEP: yes\n      B: two\n    steps:\n      - uses: actions/checkout@8e8c483db84b4bee98b60c0593521ed34d9990e8\n        with:\n          fetch-depth: 0\n          persist-credentials: false\n",
		changed: "env A; env B; persist-credentials of the checkout step (line 19)",
	}, {
		name: "a looser timeout is lowered, an expression over wider legs too",
		job:  "  rt:\n    timeout-minutes: ${{ matrix.t }}\n    strategy:\n      matrix:\n        t: [30, 90]\n    concurrency:\n      group: rt-${{ matrix.t }}\n    steps:\n      - run: make\n",
		want: "  rt:\n    if: github.event_name == 'push'\n    runs-on: [self-hosted, m4]\n    timeout-minutes: 60\n    permissions:\n      contents: read\n    strategy:\n      matrix:\n        t: [30, 90]\n" +
			"    concurrency:\n      group: rt-${{ matrix.t }}\n      cancel-in-progress: false\n    env:\n      A: \"1\"\n      B: two\n    steps:\n      - run: make\n",
		changed: "if; runs-on; timeout-minutes; permissions; concurrency; env",
	}, {
		name:    "a reusable workflow call",
		job:     "  rt:\n    uses: ./.github/workflows/rt.yml\n",
		refused: "line 7: job rt calls a reusable workflow (uses: ./.github/workflows/rt.yml)",
	}, {
		name:    "matrix legs in one group",
		job:     "  rt:\n    strategy:\n      matrix:\n        os: [a, b]\n    steps:\n      - run: make\n",
		refused: "line 7: job rt runs a matrix, and the recipe's concurrency group \"rt-${{ github.ref }}\" is the same for every leg",
	}, {
		name:    "flow-style env",
		job:     "  rt:\n    env: {A: 2}\n    steps:\n      - run: make\n",
		refused: "line 7: job rt's env: is not a block mapping",
	}, {
		name:    "flow-style checkout step",
		job:     "  rt:\n    steps:\n      - {uses: actions/checkout@v4}\n",
		refused: "the checkout step of job rt is in flow style",
	}, {
		name:    "anchored job aliased by another",
		job:     "  rt: &rt\n    runs-on: x\n    steps:\n      - run: make\n  other: *rt\n",
		refused: "job rt defines anchor &rt, which job other (line 10) uses",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			src := head + tc.job
			res, err := render.Render([]byte(src), editJob())
			if tc.refused != "" {
				var refusal *render.RefusalError
				if err == nil || !errors.As(err, &refusal) || !strings.Contains(err.Error(), tc.refused) {
					t.Fatalf("error %v, want a refusal containing %q", err, tc.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if got := string(res.Out); got != head+tc.want {
				t.Errorf("render:\n%s\nwant:\n%s\n%s", got, head+tc.want, render.Diff("want", []byte(head+tc.want), res.Out))
			}
			if got := strings.Join(res.Changed, "; "); got != tc.changed || res.Created {
				t.Errorf("changed %q (created %v), want %q", got, res.Created, tc.changed)
			}
			again, err := render.Job(res.Out, editJob())
			if err != nil || string(again) != string(res.Out) {
				t.Errorf("second render: %v\n%s", err, render.Diff("f", res.Out, again))
			}
		})
	}
}

// TestFoldedGuard folds a long if: after && and || outside string
// literals, and reads back as the one-line expression.
func TestFoldedGuard(t *testing.T) {
	job := editJob()
	job.Needs = nil
	job.If = "github.event_name == 'push' || (github.event_name == 'pull_request' && contains(github.event.pull_request.labels.*.name, 'a && b || c'))"
	res, err := render.Render([]byte("on: push\njobs:\n  build:\n    runs-on: x\n"), job)
	if err != nil {
		t.Fatal(err)
	}
	want := "    if: >-\n      github.event_name == 'push' ||\n      (github.event_name == 'pull_request' &&\n      contains(github.event.pull_request.labels.*.name, 'a && b || c'))\n"
	if !strings.Contains(string(res.Out), want) || !res.Created {
		t.Errorf("render:\n%s\nwant it to hold:\n%s", res.Out, want)
	}
	job.If = strings.Repeat("x", 120)
	res, err = render.Render([]byte("on: push\njobs:\n  build:\n    runs-on: x\n"), job)
	if err != nil || !strings.Contains(string(res.Out), "    if: "+job.If+"\n") {
		t.Errorf("an expression without operators stays on one line: %v\n%s", err, res.Out)
	}
}

// TestEditCommentNotes: comments written for a replaced value are named,
// the one above kept, the one inside dropped with the value.
func TestEditCommentNotes(t *testing.T) {
	src := "on: push\njobs:\n  build:\n    runs-on: x\n  rt:\n    # only pushes\n    if: github.event_name != 'x'\n    concurrency:\n      # per ref\n      group: g\n    steps:\n      - run: make\n"
	res, err := render.Render([]byte(src), editJob())
	if err != nil {
		t.Fatal(err)
	}
	want := "the comment above if: (line 6) was written for the value render replaced; check that it still holds; " +
		"dropped the comment inside concurrency: (line 9) with the value it described"
	if got := strings.Join(res.Notes, "; "); got != want {
		t.Errorf("notes %q\nwant %q", got, want)
	}
	if !strings.Contains(string(res.Out), "    # only pushes\n    if: github.event_name == 'push'\n") || strings.Contains(string(res.Out), "# per ref") {
		t.Errorf("render:\n%s", res.Out)
	}
}
