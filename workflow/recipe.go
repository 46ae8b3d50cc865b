package workflow

import (
	"context"
	"fmt"
	"net/url"
	"path"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// DefaultRepository is the repository the runner serves when a recipe
// does not say (its runner url is https://github.com/sysprog21/elfuse).
const DefaultRepository = "sysprog21/elfuse"

// Declaration is one declare(kind, **fields) call of an evaluated recipe.
// It mirrors engine.Declaration so that this package does not depend on
// the engine; the CLI converts.
type Declaration struct {
	// Kind is the first argument ("runner", "workflow_job", …).
	Kind string
	// Pos is the position of the declare call (file:line:col).
	Pos string
	// Fields holds the keyword arguments.
	Fields *starlark.Dict
}

// DeclarationLoader evaluates a recipe without touching any host and
// returns everything it declared, in order. The CLI injects the engine's
// entry point; tests inject a small evaluator.
type DeclarationLoader func(ctx context.Context, path string) ([]Declaration, error)

// KV is one ordered key/value pair (env, with:).
type KV struct {
	// Key is the variable or input name; Value its value as written.
	Key   string
	Value string
}

// Concurrency is the concurrency block of the declared job.
type Concurrency struct {
	// Group is the group name, possibly with ${{ }} fences.
	Group string
	// CancelInProgress is "true", "false" or a ${{ }} expression; empty
	// when the recipe leaves it out.
	CancelInProgress string
}

// Step is one step of the declared job.
type Step struct {
	// Name, ID, If, Uses, Run and Shell are the step keys of the same
	// names, empty when left out.
	Name  string
	ID    string
	If    string
	Uses  string
	Run   string
	Shell string
	// With and Env are the with: inputs and env: variables, in order.
	With []KV
	Env  []KV
}

// JobSpec is the workflow job a recipe declares with
// declare("workflow_job", ...): the job that runs on its runner.
type JobSpec struct {
	// ID is the job's key under jobs: ("runtime-macos").
	ID string
	// Name, Needs, If, RunsOn (the labels), TimeoutMinutes, Concurrency
	// (nil when left out), Env and Steps are the job keys of the same
	// names.
	Name           string
	Needs          []string
	If             string
	RunsOn         []string
	TimeoutMinutes int
	Concurrency    *Concurrency
	Env            []KV
	Steps          []Step
	// Permissions are the job's token scopes; empty means the least the
	// job needs, contents: read (see JobPermissions).
	Permissions []KV
	// Pos is where the recipe declared it (file:line:col).
	Pos string
}

// JobPermissions returns the token scopes the job is written with: the
// declared ones, else contents: read (a job without permissions: gets
// the repository's default token scopes, which may include write).
func (j *JobSpec) JobPermissions() []KV {
	if len(j.Permissions) > 0 {
		return j.Permissions
	}
	return []KV{{Key: "contents", Value: "read"}}
}

// Toolchain is a toolchain directory the recipe installs.
type Toolchain struct {
	// Name is the toolchain's name in the recipe; Path its absolute
	// directory.
	Name string
	Path string
}

// RecipeFacts is what the workflow tools need to know about a recipe.
type RecipeFacts struct {
	// Source is the recipe file.
	Source string
	// RunnerName and RepoURL come from declare("runner", ...).
	RunnerName string
	RepoURL    string
	// Labels are the runner's labels.
	Labels []string
	// DefaultBranch and OptInLabel come from declare("runner", ...)'s
	// default_branch and opt_in_label, else from the workflow_job
	// declaration's fields of the same names; empty when left out.
	DefaultBranch string
	OptInLabel    string
	// Job is the declared workflow job, nil if the recipe declares none.
	Job *JobSpec
	// Toolchains are the declared toolchain directories.
	Toolchains []Toolchain
	// BrewPrefix is the Homebrew prefix ("/opt/homebrew").
	BrewPrefix string
	// Formulae and Casks are pre-installed by the recipe (full names, taps
	// included).
	Formulae []string
	Casks    []string
	// RosettaPath is the Rosetta for Linux translator the recipe provides,
	// empty if it provides none.
	RosettaPath string
	// ObjcopyPath is the GNU objcopy the recipe provides (binutils' keg),
	// empty if none.
	ObjcopyPath string
}

// Repository returns owner/name of the repository the runner is
// registered to, from the runner url, or DefaultRepository.
func (f *RecipeFacts) Repository() string {
	if f == nil || f.RepoURL == "" {
		return DefaultRepository
	}
	u, err := url.Parse(f.RepoURL)
	if err != nil {
		return DefaultRepository
	}
	p := strings.Trim(u.Path, "/")
	if strings.Count(p, "/") != 1 {
		return DefaultRepository
	}
	return p
}

// HasFormula reports whether the recipe pre-installs a formula, matching
// either the full name or the short name of a tap formula.
func (f *RecipeFacts) HasFormula(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, have := range append(append([]string(nil), f.Formulae...), f.Casks...) {
		h := strings.ToLower(have)
		if h == name || path.Base(h) == name || h == path.Base(name) {
			return true
		}
	}
	return false
}

// ToolchainPaths returns the declared toolchain paths, sorted.
func (f *RecipeFacts) ToolchainPaths() []string {
	var out []string
	for _, t := range f.Toolchains {
		out = append(out, t.Path)
	}
	sort.Strings(out)
	return out
}

// LoadRecipe evaluates a recipe with load and extracts its facts.
func LoadRecipe(ctx context.Context, recipe string, load DeclarationLoader) (*RecipeFacts, error) {
	if load == nil {
		return nil, fmt.Errorf("recipe %s: no recipe evaluator available", recipe)
	}
	decls, err := load(ctx, recipe)
	if err != nil {
		return nil, fmt.Errorf("evaluating recipe %s: %w", recipe, err)
	}
	f, err := FactsFromDeclarations(decls)
	if err != nil {
		return nil, fmt.Errorf("recipe %s: %w", recipe, err)
	}
	f.Source = recipe
	return f, nil
}

// FactsFromDeclarations reads the runner, workflow_job, toolchain, brew
// and rosetta declarations of an evaluated recipe. Other kinds are
// ignored. A declaration with a field of the wrong type is an error that
// names the declaration's position.
func FactsFromDeclarations(decls []Declaration) (*RecipeFacts, error) {
	f := &RecipeFacts{}
	var jobBranch, jobLabel string
	for _, d := range decls {
		r := fieldReader{d: d}
		switch d.Kind {
		case "runner":
			f.Labels = append(f.Labels, r.strings("labels")...)
			f.RunnerName = r.str("name")
			f.RepoURL = r.str("url")
			f.DefaultBranch = r.str("default_branch")
			f.OptInLabel = r.str("opt_in_label")
		case "workflow_job":
			if f.Job != nil {
				return nil, fmt.Errorf("%s: a second workflow_job declaration (the first is at %s)", d.Pos, f.Job.Pos)
			}
			f.Job = r.job()
			jobBranch, jobLabel = r.str("default_branch"), r.str("opt_in_label")
		case "toolchain":
			t := Toolchain{Name: r.str("name"), Path: r.str("path")}
			if t.Path == "" {
				r.fail("path", "a toolchain needs a path")
			}
			f.Toolchains = append(f.Toolchains, t)
		case "brew":
			f.Formulae = append(f.Formulae, r.strings("formulae")...)
			f.Casks = append(f.Casks, r.strings("casks")...)
			if p := r.str("prefix"); p != "" {
				f.BrewPrefix = p
			}
		case "rosetta":
			f.RosettaPath = r.str("path")
		default:
			continue
		}
		if r.err != nil {
			return nil, r.err
		}
	}
	if f.DefaultBranch == "" {
		f.DefaultBranch = jobBranch
	}
	if f.OptInLabel == "" {
		f.OptInLabel = jobLabel
	}
	if f.BrewPrefix == "" && (len(f.Formulae) > 0 || len(f.Casks) > 0) {
		f.BrewPrefix = "/opt/homebrew"
	}
	for _, t := range f.Toolchains {
		if n := strings.ToLower(t.Name); n == "objcopy" || n == "gnu_objcopy" || n == "gnu-objcopy" {
			f.ObjcopyPath = t.Path
		}
	}
	if f.ObjcopyPath == "" && f.HasFormula("binutils") {
		f.ObjcopyPath = path.Join(f.BrewPrefix, "opt/binutils/bin/objcopy")
	}
	return f, nil
}

// fieldReader converts the Starlark fields of one declaration, keeping
// the first error.
type fieldReader struct {
	d   Declaration
	err error
}

func (r *fieldReader) fail(field, format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%s: %s(%s): %s", r.d.Pos, r.d.Kind, field, fmt.Sprintf(format, args...))
	}
}

func (r *fieldReader) get(names ...string) (starlark.Value, string) {
	if r.d.Fields == nil {
		return nil, names[0]
	}
	for _, n := range names {
		v, found, err := r.d.Fields.Get(starlark.String(n))
		if err == nil && found && v != starlark.None {
			return v, n
		}
	}
	return nil, names[0]
}

func (r *fieldReader) str(names ...string) string {
	v, name := r.get(names...)
	if v == nil {
		return ""
	}
	s, err := scalarString(v)
	if err != nil {
		r.fail(name, "%v", err)
	}
	return s
}

func (r *fieldReader) strings(names ...string) []string {
	v, name := r.get(names...)
	if v == nil {
		return nil
	}
	if s, ok := v.(starlark.String); ok {
		return []string{string(s)}
	}
	it, ok := v.(starlark.Iterable)
	if !ok {
		r.fail(name, "want a list of strings, got %s", v.Type())
		return nil
	}
	var out []string
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := x.(starlark.String)
		if !ok {
			r.fail(name, "want a list of strings, found a %s", x.Type())
			return nil
		}
		out = append(out, string(s))
	}
	return out
}

func (r *fieldReader) pairs(v starlark.Value, name string) []KV {
	if v == nil {
		return nil
	}
	d, ok := v.(*starlark.Dict)
	if !ok {
		r.fail(name, "want a dict, got %s", v.Type())
		return nil
	}
	var out []KV
	for _, it := range d.Items() {
		k, ok := it[0].(starlark.String)
		if !ok {
			r.fail(name, "keys must be strings, found a %s", it[0].Type())
			return nil
		}
		s, err := scalarString(it[1])
		if err != nil {
			r.fail(name, "%s: %v", k, err)
			return nil
		}
		out = append(out, KV{Key: string(k), Value: s})
	}
	return out
}

func (r *fieldReader) job() *JobSpec {
	j := &JobSpec{
		ID:     r.str("id"),
		Name:   r.str("name"),
		Needs:  r.strings("needs"),
		If:     r.str("if_", "if"),
		RunsOn: r.strings("runs_on", "runs-on"),
		Pos:    r.d.Pos,
	}
	if j.ID == "" {
		r.fail("id", "a workflow_job needs an id")
	}
	if v, name := r.get("timeout_minutes", "timeout-minutes"); v != nil {
		n, err := starlark.AsInt32(v)
		if _, isInt := v.(starlark.Int); err != nil || !isInt || n <= 0 {
			r.fail(name, "want a positive int, got %s", v.String())
		}
		j.TimeoutMinutes = n
	}
	if v, name := r.get("concurrency"); v != nil {
		kv := r.pairs(v, name)
		c := &Concurrency{}
		for _, p := range kv {
			switch p.Key {
			case "group":
				c.Group = p.Value
			case "cancel_in_progress", "cancel-in-progress":
				c.CancelInProgress = p.Value
			default:
				r.fail(name, "unknown key %q (want group, cancel_in_progress)", p.Key)
			}
		}
		j.Concurrency = c
	}
	v, name := r.get("env")
	j.Env = r.pairs(v, name)
	v, name = r.get("permissions")
	j.Permissions = r.pairs(v, name)
	if v, name := r.get("steps"); v != nil {
		j.Steps = r.steps(v, name)
	}
	return j
}

func (r *fieldReader) steps(v starlark.Value, name string) []Step {
	it, ok := v.(starlark.Iterable)
	if !ok {
		r.fail(name, "want a list of dicts, got %s", v.Type())
		return nil
	}
	var out []Step
	iter := it.Iterate()
	defer iter.Done()
	var x starlark.Value
	for i := 0; iter.Next(&x); i++ {
		d, ok := x.(*starlark.Dict)
		if !ok {
			r.fail(name, "step %d: want a dict, got %s", i+1, x.Type())
			return nil
		}
		var s Step
		for _, item := range d.Items() {
			k, _ := item[0].(starlark.String)
			key := string(k)
			where := fmt.Sprintf("step %d: %s", i+1, key)
			switch key {
			case "with", "env":
				kv := r.pairs(item[1], name+"["+where+"]")
				if key == "with" {
					s.With = kv
				} else {
					s.Env = kv
				}
				continue
			}
			val, err := scalarString(item[1])
			if err != nil {
				r.fail(name, "%s: %v", where, err)
				return nil
			}
			switch key {
			case "name":
				s.Name = val
			case "id":
				s.ID = val
			case "if", "if_":
				s.If = val
			case "uses":
				s.Uses = val
			case "run":
				s.Run = val
			case "shell":
				s.Shell = val
			default:
				r.fail(name, "%s: unknown step key (want name, id, if_, uses, run, shell, with, env)", where)
				return nil
			}
		}
		if (s.Uses == "") == (s.Run == "") {
			r.fail(name, "step %d: exactly one of uses and run is needed", i+1)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// scalarString converts a Starlark string, int or bool to its YAML text.
func scalarString(v starlark.Value) (string, error) {
	switch x := v.(type) {
	case starlark.String:
		return string(x), nil
	case starlark.Int:
		return x.String(), nil
	case starlark.Bool:
		if x {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("want a string, int or bool, got %s", v.Type())
}
