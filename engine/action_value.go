package engine

import (
	"fmt"
	"strings"

	"go.starlark.net/starlark"
)

// String implements starlark.Value: the argv as the plan shows it.
func (a *Action) String() string {
	return fmt.Sprintf("<action %s as %s>", strings.Join(a.Argv, " "), a.User)
}

// Type implements starlark.Value.
func (a *Action) Type() string { return "action" }

// Freeze implements starlark.Value; actions are immutable to recipes.
func (a *Action) Freeze() {}

// Truth implements starlark.Value.
func (a *Action) Truth() starlark.Bool { return starlark.True }

// Hash implements starlark.Value.
func (a *Action) Hash() (uint32, error) { return 0, fmt.Errorf("unhashable type: action") }

// AttrNames implements starlark.HasAttrs.
func (a *Action) AttrNames() []string {
	return []string{"argv", "because", "destroys", "reason", "user"}
}

// Attr implements starlark.HasAttrs: argv, user, reason; because(text),
// which returns a copy of the action with that reason; and destroys(what),
// which returns a copy marked as destroying WHAT (plain words, e.g.
// "runner macmini-m4-hvf-2"): the plan marks its resource "-" (or "-/+"
// beside creating actions) and `run` refuses it without --allow-destroy.
func (a *Action) Attr(name string) (starlark.Value, error) {
	switch name {
	case "argv":
		l := make([]starlark.Value, len(a.Argv))
		for i, s := range a.Argv {
			l[i] = starlark.String(s)
		}
		return starlark.NewList(l), nil
	case "user":
		return starlark.String(a.User), nil
	case "reason":
		return starlark.String(a.Reason), nil
	case "because":
		return starlark.NewBuiltin("because", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var reason string
			if err := starlark.UnpackPositionalArgs("because", args, kwargs, 1, &reason); err != nil {
				return nil, err
			}
			c := *a
			c.Reason = reason
			return &c, nil
		}), nil
	case "destroys":
		return starlark.NewBuiltin("destroys", func(t *starlark.Thread, fn *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			var what string
			if err := starlark.UnpackPositionalArgs("destroys", args, kwargs, 1, &what); err != nil {
				return nil, err
			}
			if strings.TrimSpace(what) == "" {
				return nil, fmt.Errorf("destroys: say what the action destroys (e.g. \"runner NAME\")")
			}
			c := *a
			c.Destroys = what
			return &c, nil
		}), nil
	}
	return nil, nil
}
