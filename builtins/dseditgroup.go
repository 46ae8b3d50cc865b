package builtins

import (
	"context"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// ParseCheckMember reads `dseditgroup -o checkmember` output by its first
// word, because the exit status is inconsistent across releases: it
// returns (true, true) for "yes", (false, true) for "no" and ok=false for
// anything else.
func ParseCheckMember(out string) (member, ok bool) {
	f := strings.Fields(out)
	if len(f) == 0 {
		return false, false
	}
	switch strings.ToLower(f[0]) {
	case "yes":
		return true, true
	case "no":
		return false, true
	}
	return false, false
}

// memberState is the cached result of one checkmember call.
type memberState struct {
	member, known bool
	detail        string
}

func gatherMember(user, group string) func(ctx context.Context, h host.Host) (memberState, error) {
	return func(ctx context.Context, h host.Host) (memberState, error) {
		res, err := run(ctx, h, "", "/usr/sbin/dseditgroup", "-o", "checkmember", "-m", user, group)
		if err != nil {
			return memberState{}, err
		}
		m, ok := ParseCheckMember(res.Stdout)
		// The status of a yes or no answer varies (0, 67); without one, a
		// non-zero exit is a failure of the query, not a membership.
		if !ok && res.Exit != 0 {
			return memberState{}, exitError("dseditgroup -o checkmember -m "+user+" "+group, res)
		}
		return memberState{member: m, known: ok, detail: engine.Tail(res.Stdout+"\n"+res.Stderr, 1)}, nil
	}
}

func dseditgroupModule() engine.Module {
	return engine.Module{
		Name: "dseditgroup",
		Doc:  "Group membership (`dseditgroup -o checkmember`).",
		Builtins: []engine.Builtin{
			newBuiltin("dseditgroup", "is_member", `user, group="admin"`, engine.KindQuery, `
Runs `+"`/usr/sbin/dseditgroup -o checkmember -m USER GROUP`"+` (no privilege
needed) and returns True when the first word of its output is "yes", False
when it is "no" (the exit status is ignored: it differs between macOS
releases), and unknown when a successful run (exit 0) says neither. A
non-zero exit without a yes or no answer fails the query with the
command's status and stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var user string
					group := "admin"
					if err := c.unpack(args, kwargs, "user", &user, "group?", &group); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkPattern("group name", group, userPattern); err != nil {
						return nil, c.wrap(err)
					}
					st, err := cached(c.s, "dseditgroup:"+group+":"+user, gatherMember(user, group))
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st.known {
						return unknown("dseditgroup checkmember printed %q", st.detail), nil
					}
					return starlark.Bool(st.member), nil
				}),
		},
	}
}
