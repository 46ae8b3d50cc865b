package recipetest

import (
	"bytes"
	"encoding/json"
	"fmt"

	starjson "go.starlark.net/lib/json"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkstruct"

	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
	"github.com/sysprog21/hvfctl/ghapi/fakegh"
)

// testRepo is the repository t.github(repo = {...}) describes.
const testRepo = "sysprog21/elfuse"

// gitHubValue is a fake GitHub in a test (t.github()).
type gitHubValue struct {
	srv *fakegh.Server
}

var _ starlark.HasAttrs = (*gitHubValue)(nil)

func (g *gitHubValue) String() string        { return "<github " + g.srv.API() + ">" }
func (g *gitHubValue) Type() string          { return "github" }
func (g *gitHubValue) Freeze()               {}
func (g *gitHubValue) Truth() starlark.Bool  { return starlark.True }
func (g *gitHubValue) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: github") }
func (g *gitHubValue) AttrNames() []string   { return []string{"api", "repo", "requests"} }

func (g *gitHubValue) Attr(name string) (starlark.Value, error) {
	switch name {
	case "api":
		return starlark.String(g.srv.API()), nil
	case "repo":
		return starlark.NewBuiltin("github.repo", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			full := testRepo
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "name?", &full); err != nil {
				return nil, err
			}
			st := g.srv.State()
			r, ok := st.Repos[full]
			if !ok {
				return nil, fmt.Errorf("%s: the fake GitHub has no repository %s", fn.Name(), full)
			}
			b, err := json.Marshal(r)
			if err != nil {
				return nil, err
			}
			return starlark.Call(t, starjson.Module.Members["decode"], starlark.Tuple{starlark.String(b)}, nil)
		}), nil
	case "requests":
		return starlark.NewBuiltin("github.requests", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			if err := starlark.UnpackArgs(fn.Name(), args, kwargs); err != nil {
				return nil, err
			}
			var out []starlark.Value
			for _, q := range g.srv.Requests() {
				out = append(out, starlarkstruct.FromStringDict(starlarkstruct.Default, starlark.StringDict{
					"method": starlark.String(q.Method), "path": starlark.String(q.Path), "body": starlark.String(q.Body),
				}))
			}
			return starlark.NewList(out), nil
		}), nil
	}
	return nil, nil
}

// newGitHub implements t.github(repo = None, fixture = None).
func (tc *testContext) newGitHub(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var repo starlark.Value = starlark.None
	var fixture string
	if err := starlark.UnpackArgs(fn.Name(), args, kwargs, "repo?", &repo, "fixture?", &fixture); err != nil {
		return nil, err
	}
	var st *fakegh.State
	switch {
	case fixture != "" && repo != starlark.None:
		return nil, fmt.Errorf("%s: give repo or fixture, not both", fn.Name())
	case fixture != "":
		s, err := fakegh.LoadState(tc.path(fixture))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fn.Name(), err)
		}
		st = s
	default:
		r := fakegh.DefaultRepo()
		if repo != starlark.None {
			b, err := json.Marshal(engine.ToJSON(repo, nil))
			if err != nil {
				return nil, fmt.Errorf("%s: repo: %w", fn.Name(), err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(r); err != nil {
				return nil, fmt.Errorf("%s: repo: %w", fn.Name(), err)
			}
		}
		st = &fakegh.State{Repos: map[string]*fakegh.Repo{testRepo: r}}
	}
	g := &gitHubValue{srv: fakegh.New(st)}
	tc.cleanup = append(tc.cleanup, g.srv.Close)
	return g, nil
}

// gitHubServices returns the engine services of a t.github() value: a
// client of the fake with a test credential.
func gitHubServices(v starlark.Value) (map[string]any, error) {
	switch g := v.(type) {
	case nil, starlark.NoneType:
		return nil, nil
	case *gitHubValue:
		c, err := ghapi.New(ghapi.Options{API: g.srv.API(), Credential: ghapi.Credential{Token: "recipe-test-token", Source: "t.github"}})
		if err != nil {
			return nil, err
		}
		return map[string]any{ghapi.Service: c}, nil
	}
	return nil, fmt.Errorf("github: want a value of t.github(), got %s", v.Type())
}
