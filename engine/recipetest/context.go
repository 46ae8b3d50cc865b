package recipetest

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// testContext is the `t` argument of a test function.
type testContext struct {
	ctx   context.Context
	dir   string // directory of the test file
	opts  Options
	print func(string)
	def   *hostValue // the test's default host, made on first use
	// cleanup runs when the test ends (fake GitHub servers).
	cleanup []func()
}

// close releases what the test made.
func (tc *testContext) close() {
	for _, f := range tc.cleanup {
		f()
	}
}

var (
	_ starlark.HasAttrs = (*testContext)(nil)
	_ starlark.HasAttrs = (*hostValue)(nil)
)

func (tc *testContext) String() string        { return "<test context>" }
func (tc *testContext) Type() string          { return "test_context" }
func (tc *testContext) Freeze()               {}
func (tc *testContext) Truth() starlark.Bool  { return starlark.True }
func (tc *testContext) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: test_context") }
func (tc *testContext) AttrNames() []string {
	return []string{"apply", "check", "github", "host", "plan", "transcript"}
}

// ContextDocs documents the test context for the generated reference.
func ContextDocs() engine.Module {
	return engine.Module{Name: "t", Doc: "The test context passed to every `test_*(t)` function of a `*_test.star` file. Recipe paths and fixtures are relative to the test file's directory.", Builtins: []engine.Builtin{
		{Name: "host", Params: "preset=None, fixture=None", Kind: engine.KindUtil, Doc: "Returns a new fake Mac: an embedded preset (\"fresh-m4\" …) or a fixture JSON file. Without either, a fresh default preset."},
		{Name: "github", Params: "repo=None, fixture=None", Kind: engine.KindUtil, Doc: "Returns a new fake GitHub (an in-process server following docs/github.md): sysprog21/elfuse as a new repository is, with `repo` fields (approval_policy, default_workflow_permissions, labels, runners, runs, …) overriding it, or the state of a fixture JSON file. Its `api` is the API URL, `repo(name=\"sysprog21/elfuse\")` the repository's current state as a dict, `requests()` every request as struct(method, path, body). Pass it as `github = ...` to plan, check and apply."},
		{Name: "plan", Params: "recipe, host=None, vars={}, secrets={}, github=None", Kind: engine.KindUtil, Doc: "Plans the recipe on host (the test's own fresh fake Mac when None) and returns a result: `resources`, `summary`, `exit`, `text`, `host_commands`, `resource(id)`. With `github`, the recipe's GitHub side is read from that fake GitHub; without it, it is unknown."},
		{Name: "check", Params: "recipe, host=None, vars={}, secrets={}, github=None", Kind: engine.KindUtil, Doc: "Checks the recipe on host; the result's `exit` is that of `hvfctl check` (0, 2 on drift, 1 on errors)."},
		{Name: "apply", Params: "recipe, host=None, vars={}, secrets={}, github=None", Kind: engine.KindUtil, Doc: "Applies the recipe on host; the result also has `converged`. Secrets come only from `secrets`."},
		{Name: "transcript", Params: "host=None", Kind: engine.KindUtil, Doc: "Every command run on host so far, as a list of struct(argv, user, exit)."},
	}}
}

func (tc *testContext) Attr(name string) (starlark.Value, error) {
	switch name {
	case "host":
		return starlark.NewBuiltin("t.host", tc.newHost), nil
	case "github":
		return starlark.NewBuiltin("t.github", tc.newGitHub), nil
	case "plan", "check", "apply":
		return starlark.NewBuiltin("t."+name, func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			return tc.run(name, fn, args, kwargs)
		}), nil
	case "transcript":
		return starlark.NewBuiltin("t.transcript", tc.transcript), nil
	}
	return nil, nil
}

// hostValue is a fake Mac in a test; its recorder keeps the transcript
// across the runs of the test.
type hostValue struct {
	name string
	rec  *host.Recorder
}

func (h *hostValue) String() string        { return "<host " + h.name + ">" }
func (h *hostValue) Type() string          { return "host" }
func (h *hostValue) Freeze()               {}
func (h *hostValue) Truth() starlark.Bool  { return starlark.True }
func (h *hostValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: host") }
func (h *hostValue) AttrNames() []string   { return []string{"name"} }
func (h *hostValue) Attr(name string) (starlark.Value, error) {
	if name == "name" {
		return starlark.String(h.name), nil
	}
	return nil, nil
}

func (tc *testContext) newHost(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var preset, fixture string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "preset?", &preset, "fixture?", &fixture); err != nil {
		return nil, err
	}
	if preset != "" && fixture != "" {
		return nil, fmt.Errorf("%s: give a preset or a fixture, not both", fn.Name())
	}
	return tc.makeHost(preset, fixture)
}

func (tc *testContext) makeHost(preset, fixture string) (*hostValue, error) {
	if tc.opts.Hosts == nil {
		return nil, fmt.Errorf("no fake hosts are available to recipe tests")
	}
	var h host.Host
	var err error
	name := preset
	if fixture != "" {
		name = fixture
		h, err = tc.opts.Hosts.Fixture(tc.path(fixture))
	} else {
		if preset == "" {
			preset = tc.opts.DefaultPreset
			name = preset
		}
		h, err = tc.opts.Hosts.Preset(preset)
	}
	if err != nil {
		return nil, err
	}
	return &hostValue{name: name, rec: host.NewRecorder(h, nil)}, nil
}

// path resolves a test-relative path.
func (tc *testContext) path(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(tc.dir, p)
}

func (tc *testContext) hostArg(v starlark.Value) (*hostValue, error) {
	switch h := v.(type) {
	case nil, starlark.NoneType:
		if tc.def == nil {
			d, err := tc.makeHost("", "")
			if err != nil {
				return nil, err
			}
			tc.def = d
		}
		return tc.def, nil
	case *hostValue:
		return h, nil
	}
	return nil, fmt.Errorf("host: want a value of t.host(), got %s", v.Type())
}

// invoker is implemented by the fake Mac: the administrator who runs hvfctl.
type invoker interface{ Invoker() string }

type mapSecrets map[string]string

func (m mapSecrets) Lookup(_ context.Context, name string) (string, error) {
	v, ok := m[name]
	if !ok {
		return "", fmt.Errorf("the test gave no value for secret %q (pass secrets = {%q: ...})", name, name)
	}
	return v, nil
}

func (tc *testContext) run(mode string, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var recipe string
	var hv, gv starlark.Value = starlark.None, starlark.None
	var vars, secrets *starlark.Dict
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "recipe", &recipe, "host?", &hv, "vars?", &vars, "secrets?", &secrets, "github?", &gv); err != nil {
		return nil, err
	}
	svc, err := gitHubServices(gv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	h, err := tc.hostArg(hv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	varMap := map[string]string{}
	if vars != nil {
		for _, item := range vars.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				return nil, fmt.Errorf("%s: vars: names are strings", fn.Name())
			}
			if s, ok := starlark.AsString(item[1]); ok {
				varMap[k] = s
			} else {
				varMap[k] = strings.ToLower(item[1].String())
			}
		}
	}
	sec := mapSecrets{}
	if secrets != nil {
		for _, item := range secrets.Items() {
			k, ok1 := starlark.AsString(item[0])
			v, ok2 := starlark.AsString(item[1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%s: secrets: want a dict of name → string", fn.Name())
			}
			sec[k] = v
		}
	}
	p := engine.Principals{}
	if inv, ok := h.rec.Inner().(invoker); ok {
		p = engine.Principals{BrewOwner: inv.Invoker(), Invoker: inv.Invoker()}
	}
	r, err := engine.Load(tc.ctx, tc.path(recipe), engine.Options{
		Host: h.rec, Modules: tc.opts.Modules, Stdlib: tc.opts.Stdlib, Vars: varMap,
		Secrets: sec, Principals: p, MaxSteps: tc.opts.MaxSteps, Log: tc.print, Services: svc,
		Limits:   tc.opts.Limits,
		Programs: tc.opts.Programs,
	})
	if err != nil {
		return nil, fmt.Errorf("%s(%q): %w", fn.Name(), recipe, err)
	}
	defer r.Close()
	var rep *engine.Report
	switch mode {
	case "plan":
		rep = r.Plan(tc.ctx)
	case "check":
		rep = r.Check(tc.ctx)
	default:
		rep = r.Apply(tc.ctx)
	}
	return resultValue(rep), nil
}

func (tc *testContext) transcript(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var hv starlark.Value = starlark.None
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "host?", &hv); err != nil {
		return nil, err
	}
	h, err := tc.hostArg(hv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", fn.Name(), err)
	}
	return entriesValue(h.rec.Transcript()), nil
}

func strList(ss []string) *starlark.List {
	l := make([]starlark.Value, len(ss))
	for i, s := range ss {
		l[i] = starlark.String(s)
	}
	return starlark.NewList(l)
}

func entriesValue(es []host.Entry) *starlark.List {
	l := make([]starlark.Value, len(es))
	for i, e := range es {
		l[i] = starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"argv": strList(e.Argv), "user": starlark.String(e.User), "exit": starlark.MakeInt(e.Exit),
		})
	}
	return starlark.NewList(l)
}

// resultValue exposes a report to a test.
func resultValue(rep *engine.Report) starlark.Value {
	byID := map[string]starlark.Value{}
	var resources []starlark.Value
	for _, res := range rep.Resources {
		var changes, actions []starlark.Value
		for _, c := range res.Changes {
			changes = append(changes, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
				"property": starlark.String(c.Property), "before": orNone(c.Before), "after": orNone(c.After),
			}))
		}
		for _, a := range res.Actions {
			actions = append(actions, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
				"argv": strList(a.Argv), "user": starlark.String(a.User), "reason": starlark.String(a.Reason),
			}))
		}
		v := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
			"id": starlark.String(res.ID), "kind": starlark.String(res.Kind), "status": starlark.String(res.Status),
			"changes": starlark.NewList(changes), "actions": starlark.NewList(actions),
			"error": starlark.String(res.Error), "remediation": starlark.String(res.Remediation),
		})
		resources = append(resources, v)
		byID[res.ID] = v
	}
	s := rep.Summary
	summary := starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"ok": starlark.MakeInt(s.OK), "change": starlark.MakeInt(s.Change), "assert_failed": starlark.MakeInt(s.AssertFailed),
		"unknown": starlark.MakeInt(s.Unknown), "skipped": starlark.MakeInt(s.Skipped), "failed": starlark.MakeInt(s.Failed),
		"total": starlark.MakeInt(s.Total),
	})
	var text strings.Builder
	_ = rep.WriteText(&text, engine.TextOptions{})
	ids := make([]string, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	lookup := starlark.NewBuiltin("resource", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var id string
		if err := starlark.UnpackPositionalArgs(fn.Name(), args, kwargs, 1, &id); err != nil {
			return nil, err
		}
		if v, ok := byID[id]; ok {
			return v, nil
		}
		return nil, fmt.Errorf("no resource %q in this result (have %s)", id, strings.Join(ids, ", "))
	})
	errs := make([]starlark.Value, len(rep.Errors))
	for i, e := range rep.Errors {
		errs[i] = starlark.String(e)
	}
	return starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
		"resources":     starlark.NewList(resources),
		"summary":       summary,
		"exit":          starlark.MakeInt(rep.ExitCode()),
		"converged":     starlark.Bool(rep.Converged()),
		"errors":        starlark.NewList(errs),
		"text":          starlark.String(text.String()),
		"host_commands": entriesValue(rep.HostCommands),
		"resource":      lookup,
	})
}

func orNone(v starlark.Value) starlark.Value {
	if v == nil {
		return starlark.None
	}
	return v
}
