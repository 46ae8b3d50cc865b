// Package audit proves which GitHub Actions runs can reach the
// self-hosted runner: for every job of every workflow file it decides
// whether the job lands on the runner (runs-on against the runner's
// labels), builds the kinds of run the workflow's on: admits, evaluates the
// job's if: (and the jobs it needs) in each with GitHub's expression
// semantics, follows reusable workflows into their callees, and reports
// every reachable run that is not trusted, with a witness. It also checks
// triggers, secrets, permissions, action pinning, dead steps, concurrency
// and, given a recipe, that the host provides what the job uses.
//
// What the audit cannot know (a variable, an input, a job output) is
// unknown, never assumed away: when a run may reach the runner for some
// value, it is reachable.
package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/workflow"
)

// DefaultLabels are the runner's labels when neither --labels nor a
// recipe gives them (the setup document's registration).
var DefaultLabels = []string{"self-hosted", "macOS", "arm64", "m4", "hvf"}

// DefaultBranch is the default branch when neither Options nor the recipe
// names one.
const DefaultBranch = "main"

// Options configures an audit.
type Options struct {
	// Labels are the runner's labels; empty means the recipe's, else
	// DefaultLabels.
	Labels []string
	// Recipe, when set, enables the host cross-check and gives the
	// repository, default branch and opt-in label the options leave out.
	Recipe *workflow.RecipeFacts
	// Repo is the repository (owner/name) the runner serves; empty means
	// the recipe's, else workflow.DefaultRepository.
	Repo string
	// DefaultBranch is the repository's default branch; empty means the
	// recipe's, else DefaultBranch.
	DefaultBranch string
	// OptInLabel is the label a maintainer adds to a pull request to let
	// it reach the runner; empty means the recipe's, else
	// DefaultOptInLabel.
	OptInLabel string
	// TrustCallee are patterns (path.Match syntax, * also matching /) of
	// reusable workflows (a job's uses:) the user vouches for: a callee the
	// audit cannot read that matches one is not a failure.
	TrustCallee []string
}

func (o Options) labels() []string {
	switch {
	case len(o.Labels) > 0:
		return o.Labels
	case o.Recipe != nil && len(o.Recipe.Labels) > 0:
		return o.Recipe.Labels
	}
	return DefaultLabels
}

func (o Options) policy() policy {
	p := policy{repo: o.Repo, branch: o.DefaultBranch, label: o.OptInLabel}
	if p.repo == "" {
		p.repo = o.Recipe.Repository()
	}
	if p.branch == "" && o.Recipe != nil {
		p.branch = o.Recipe.DefaultBranch
	}
	if p.branch == "" {
		p.branch = DefaultBranch
	}
	if p.label == "" && o.Recipe != nil {
		p.label = o.Recipe.OptInLabel
	}
	if p.label == "" {
		p.label = DefaultOptInLabel
	}
	return p
}

// Check validates the options: the repository is owner/name and the
// branch and label are non-empty names.
func (o Options) Check() error {
	if o.Repo != "" {
		owner, name, ok := strings.Cut(o.Repo, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return fmt.Errorf("--repo %q: want OWNER/NAME", o.Repo)
		}
	}
	if strings.ContainsAny(o.DefaultBranch, " \t\n") {
		return fmt.Errorf("--default-branch %q: not a branch name", o.DefaultBranch)
	}
	for _, p := range o.TrustCallee {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("--trust-callee %q: %w", p, err)
		}
	}
	return nil
}

// Files audits workflow files; a directory stands for every .yml and
// .yaml file in it. Each file is audited on its own: one that cannot be
// read or parsed is an *InputError (naming file:line) in the joined error
// and in Report.Errors, and the others are still reported. The report is
// nil only when ctx is done.
func Files(ctx context.Context, paths []string, o Options) (*Report, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	sess := newSession(o)
	var given []string
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err == nil && fi.IsDir() {
			found, err := workflowsIn(p)
			if err != nil {
				sess.fail(err)
				continue
			}
			given = append(given, found...)
			continue
		}
		given = append(given, p)
	}
	for _, f := range given {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit interrupted: %w", err)
		}
		src, err := host.ReadLocalFile(f, maxWorkflowBytes)
		if err != nil {
			sess.fail(&InputError{File: f, Msg: fmt.Sprintf("reading workflow: %v", err)})
			continue
		}
		sess.add(f, src, true)
	}
	return sess.report(ctx)
}

// workflowsIn lists the .yml and .yaml files of a directory, sorted.
func workflowsIn(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &InputError{File: dir, Msg: fmt.Sprintf("reading the directory: %v", err)}
	}
	var out []string
	for _, e := range ents {
		n := e.Name()
		if e.Type().IsRegular() && (strings.HasSuffix(n, ".yml") || strings.HasSuffix(n, ".yaml")) {
			out = append(out, filepath.Join(dir, n))
		}
	}
	if len(out) == 0 {
		return nil, &InputError{File: dir, Msg: "no .yml or .yaml workflow file in the directory"}
	}
	return out, nil
}

// Source audits one workflow file's contents; name is used in reports
// and errors, and local reusable workflows it calls are looked for beside
// it on disk.
func Source(name string, src []byte, o Options) ([]JobReport, error) {
	if err := o.Check(); err != nil {
		return nil, err
	}
	sess := newSession(o)
	sess.add(name, src, true)
	rep, err := sess.report(context.Background())
	if err != nil {
		return nil, err
	}
	return rep.Jobs, nil
}

// wfFile is one parsed workflow file.
type wfFile struct {
	name string
	w    *actionlint.Workflow
	ys   *yamlScan
	// given is set for files the user named (others are callees found
	// beside them).
	given bool
	// callers are the jobs of other files that call this one.
	callers []string
}

// parseWorkflow checks the YAML's size and parses the workflow.
func parseWorkflow(name string, src []byte) (*wfFile, error) {
	ys, err := scanYAML(src)
	if err != nil {
		var ie *InputError
		if errors.As(err, &ie) {
			ie.File = name
		}
		return nil, err
	}
	w, errs := actionlint.Parse(src)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		e := errs[0]
		line := e.Line
		if line < 1 {
			// The YAML parser gives no line for some errors at the
			// end of the input (an unclosed quote): point at the last.
			line = bytes.Count(bytes.TrimRight(src, "\n"), []byte("\n")) + 1
		}
		return nil, &InputError{File: name, Line: line, Col: e.Column, Msg: e.Message}
	}
	if w == nil {
		return nil, &InputError{File: name, Line: 1, Msg: "not a workflow"}
	}
	return &wfFile{name: name, w: w, ys: ys}, nil
}

// session is one audit over a set of files and the callees they reach.
type session struct {
	o      Options
	pol    policy
	labels []string
	// files are the parsed files by cleaned path, in the order given.
	files map[string]*wfFile
	order []string
	// bad are the files that failed to load, by cleaned path.
	bad  map[string]bool
	errs []error
	vo   variantOpts
	// calls counts the reusable-workflow calls followed (maxCalls).
	calls int
}

func newSession(o Options) *session {
	return &session{o: o, pol: o.policy(), labels: o.labels(), files: map[string]*wfFile{}, bad: map[string]bool{}}
}

func (s *session) fail(err error) { s.errs = append(s.errs, err) }

// add parses a file; a bad one is recorded as an error.
func (s *session) add(name string, src []byte, given bool) *wfFile {
	key := filepath.Clean(name)
	if f, ok := s.files[key]; ok {
		f.given = f.given || given
		return f
	}
	if s.bad[key] {
		return nil
	}
	f, err := parseWorkflow(name, src)
	if err != nil {
		s.bad[key] = true
		s.fail(err)
		return nil
	}
	f.given = given
	s.files[key] = f
	s.order = append(s.order, key)
	return f
}

// report resolves callees, then audits every given file.
func (s *session) report(ctx context.Context) (*Report, error) {
	// Load the local callees of every file, transitively.
	for i := 0; i < len(s.order); i++ {
		f := s.files[s.order[i]]
		for _, id := range sortedKeys(f.w.Jobs) {
			j := f.w.Jobs[id]
			if j.WorkflowCall == nil || j.WorkflowCall.Uses == nil {
				continue
			}
			if callee := s.callee(f, j.WorkflowCall.Uses.Value); callee != nil {
				callee.callers = append(callee.callers, f.name+":"+j.ID.Value)
			}
		}
	}
	s.vo = s.literals()
	r := &Report{Verdict: "pass", ResidualRisk: ResidualRisk, Jobs: []JobReport{}}
	for _, key := range s.order {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("audit interrupted: %w", err)
		}
		f := s.files[key]
		if !f.given || (len(f.callers) > 0 && onlyCalled(f.w)) {
			// A reusable workflow with callers in this audit is
			// reported under each of them.
			continue
		}
		fa := newFileAudit(s, f, nil, 0)
		jobs, err := fa.run()
		if err != nil {
			var ie *InputError
			if errors.As(err, &ie) {
				ie.File = f.name
				s.fail(ie)
			} else {
				s.fail(fmt.Errorf("%s: %w", f.name, err))
			}
			continue
		}
		r.Jobs = append(r.Jobs, jobs...)
	}
	for _, j := range r.Jobs {
		if j.Verdict == "fail" {
			r.Verdict = "fail"
		}
	}
	for _, err := range s.errs {
		r.Errors = append(r.Errors, errorEntry(err))
		// A file that was not audited is never a pass.
		r.Verdict = "fail"
	}
	return r, errors.Join(s.errs...)
}

// onlyCalled reports whether workflow_call is a workflow's only trigger.
func onlyCalled(w *actionlint.Workflow) bool {
	for _, ev := range w.On {
		if _, ok := ev.(*actionlint.WorkflowCallEvent); !ok {
			return false
		}
	}
	return len(w.On) > 0
}

// callee finds the workflow a job's uses: names when it is a local one
// (./.github/workflows/x.yml): a file of the run with that path, or the
// file of that name beside the caller. It returns nil when the callee is
// not local or cannot be read or parsed (a parse error is reported).
func (s *session) callee(caller *wfFile, uses string) *wfFile {
	if !strings.HasPrefix(uses, "./") {
		return nil
	}
	rel := filepath.Clean(strings.TrimPrefix(uses, "./"))
	for _, key := range s.order {
		if key == rel || strings.HasSuffix(key, string(filepath.Separator)+rel) {
			return s.files[key]
		}
	}
	beside := filepath.Join(filepath.Dir(caller.name), filepath.Base(rel))
	if f, ok := s.files[filepath.Clean(beside)]; ok {
		return f
	}
	if s.bad[filepath.Clean(beside)] {
		return nil
	}
	src, err := host.ReadLocalFile(beside, maxWorkflowBytes)
	if err != nil {
		return nil
	}
	return s.add(beside, src, false)
}

// trusted reports whether the user vouches for a callee.
func (s *session) trusted(uses string) bool {
	for _, p := range s.o.TrustCallee {
		if ok, _ := filepath.Match(p, uses); ok {
			return true
		}
		if ok, _ := filepath.Match(strings.ReplaceAll(p, "/", "\x00"), strings.ReplaceAll(uses, "/", "\x00")); ok {
			return true
		}
	}
	return false
}

// errorEntry turns an error into its report entry.
func errorEntry(err error) FileError {
	var ie *InputError
	if errors.As(err, &ie) {
		return FileError{File: ie.File, Line: ie.Line, Message: ie.Error()}
	}
	return FileError{Message: err.Error()}
}
