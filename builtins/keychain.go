package builtins

import (
	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/engine"
)

func keychainModule() engine.Module {
	return engine.Module{
		Name: "keychain",
		Doc:  "The login keychain (report only; the elfuse CI needs none).",
		Builtins: []engine.Builtin{
			newBuiltin("keychain", "login", "user", engine.KindQuery, `
Returns "local" when `+"`HOME/Library/Keychains/login.keychain-db`"+` exists for
USER and "absent" otherwise (it may only appear after a first GUI login).
Reads the path with the batched files.stat call.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.userArg(args, kwargs)
					if err != nil {
						return nil, err
					}
					home, err := homeOf(c.s, user)
					if err != nil {
						return nil, c.hostError(err)
					}
					p := home + "/Library/Keychains/login.keychain-db"
					if err := checkPath("keychain path", p); err != nil {
						return nil, c.wrap(err)
					}
					st, err := statPaths(c.ctx(), c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					if st[p].Exists {
						return starlark.String("local"), nil
					}
					return starlark.String("absent"), nil
				}),
		},
	}
}
