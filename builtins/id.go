package builtins

import (
	"context"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// ParseIDGroups parses `id -Gn NAME`: space-separated group names.
func ParseIDGroups(out string) []string {
	f := strings.Fields(out)
	if f == nil {
		return []string{}
	}
	return f
}

// noSuchUser says whether res is id's documented answer for an unknown
// user: exit 1 and the line `id: NAME: no such user` on stderr. Any other
// failure of id is an error of the query, never a missing user.
func noSuchUser(res host.Result, user string) bool {
	if res.Exit != 1 {
		return false
	}
	want := "id: " + user + ": no such user"
	for _, ln := range lines(res.Stderr) {
		if strings.EqualFold(strings.TrimSpace(ln), want) {
			return true
		}
	}
	return false
}

// idGroups is the cached reading of one user's groups; Exists is false
// for `id: NAME: no such user`.
type idGroups struct {
	Exists bool
	Groups []string
}

// gatherIDGroups reads the groups of user with id -Gn.
func gatherIDGroups(user string) func(ctx context.Context, h host.Host) (idGroups, error) {
	return func(ctx context.Context, h host.Host) (idGroups, error) {
		res, err := run(ctx, h, "", "/usr/bin/id", "-Gn", user)
		if err != nil {
			return idGroups{}, err
		}
		if res.Exit != 0 {
			if noSuchUser(res, user) {
				return idGroups{}, nil
			}
			return idGroups{}, exitError("id -Gn "+user, res)
		}
		return idGroups{Exists: true, Groups: ParseIDGroups(res.Stdout)}, nil
	}
}

func idModule() engine.Module {
	return engine.Module{
		Name: "id",
		Doc:  "Group lists (`id -Gn`).",
		Builtins: []engine.Builtin{
			newBuiltin("id", "groups", "user", engine.KindQuery, `
Runs `+"`/usr/bin/id -Gn USER`"+` (no privilege needed) and returns the list
of the user's group names, or None when there is no such user (exit 1
with `+"`id: USER: no such user`"+`); any other failure fails the query.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.userArg(args, kwargs)
					if err != nil {
						return nil, err
					}
					g, err := cached(c.s, "id:"+user, gatherIDGroups(user))
					if err != nil {
						return nil, c.hostError(err)
					}
					if !g.Exists {
						return starlark.None, nil
					}
					return stringList(g.Groups), nil
				}),
		},
	}
}
