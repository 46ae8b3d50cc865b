package builtins

import (
	"go.starlark.net/starlark"
)

// stringArg unpacks the single string argument name of a builtin and
// validates it with check, positioning either error at the caller.
func (c *call) stringArg(args starlark.Tuple, kwargs []starlark.Tuple, name string, check func(string) error) (string, error) {
	var s string
	if err := c.unpack(args, kwargs, name, &s); err != nil {
		return "", err
	}
	if err := check(s); err != nil {
		return "", c.wrap(err)
	}
	return s, nil
}

// pathArg unpacks the single argument name of a builtin, which must be an
// absolute, clean path (checkPath).
func (c *call) pathArg(args starlark.Tuple, kwargs []starlark.Tuple, name string) (string, error) {
	return c.stringArg(args, kwargs, name, func(p string) error { return checkPath(name, p) })
}

// userArg unpacks the single argument "user" of a builtin, which must be
// a valid account name (checkUser).
func (c *call) userArg(args starlark.Tuple, kwargs []starlark.Tuple) (string, error) {
	return c.stringArg(args, kwargs, "user", checkUser)
}
