package builtins

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// systemTCCDB is the system-wide privacy database.
const systemTCCDB = "/Library/Application Support/com.apple.TCC/TCC.db"

const tccQuery = "SELECT service, client, auth_value FROM access"

// TCCGrant is one row of the access table.
type TCCGrant struct {
	// Service, Client and Auth are the service, client and auth_value
	// columns.
	Service string
	Client  string
	Auth    int
}

// ParseTCC parses sqlite3's default list output (`service|client|auth`
// rows). Rows that do not have three fields with a numeric auth value are
// an error: the reply was not the table.
func ParseTCC(out string) ([]TCCGrant, error) {
	var g []TCCGrant
	for _, ln := range lines(out) {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		f := strings.Split(ln, "|")
		if len(f) != 3 {
			return nil, fmt.Errorf("unexpected sqlite3 row %q", ln)
		}
		n, err := strconv.Atoi(strings.TrimSpace(f[2]))
		if err != nil {
			return nil, fmt.Errorf("unexpected auth_value in row %q", ln)
		}
		g = append(g, TCCGrant{Service: f[0], Client: f[1], Auth: n})
	}
	return g, nil
}

// tccResult is a cached reading; Why is set when the database could not
// be read (no Full Disk Access).
type tccResult struct {
	Grants []TCCGrant
	Why    string
}

func gatherTCC(db string) func(ctx context.Context, h host.Host) (tccResult, error) {
	return func(ctx context.Context, h host.Host) (tccResult, error) {
		res, err := runPaths(ctx, h, "", []string{db}, "/usr/bin/sqlite3", "-readonly", db, tccQuery)
		if err != nil {
			return tccResult{}, err
		}
		// Without Full Disk Access sqlite3 says `authorization denied` or
		// `Operation not permitted` (§1.19): the grants cannot be known.
		// Any other failure is an error of the query.
		if strings.Contains(res.Stderr, "authorization denied") || strings.Contains(res.Stderr, "not permitted") {
			return tccResult{Why: fmt.Sprintf("cannot read %s (Full Disk Access needed): %s", db, engine.Tail(res.Stderr, 1))}, nil
		}
		if res.Exit != 0 {
			return tccResult{}, exitError("sqlite3 -readonly "+db, res)
		}
		g, err := ParseTCC(res.Stdout)
		if err != nil {
			return tccResult{Why: err.Error()}, nil
		}
		return tccResult{Grants: g}, nil
	}
}

func tccModule() engine.Module {
	return engine.Module{
		Name: "tcc",
		Doc:  "Privacy grants (TCC), read-only and often unreadable.",
		Builtins: []engine.Builtin{
			newBuiltin("tcc", "grants", "user=None", engine.KindQuery, `
Runs `+"`/usr/bin/sqlite3 -readonly DB \""+tccQuery+"\"`"+` as root (the SQL is
one argv element) on the system database, or on USER's own
`+"`~/Library/Application Support/com.apple.TCC/TCC.db`"+` when USER is given,
and returns a list of `+"`struct(service, client, auth)`"+`. Without Full Disk
Access for the calling process the database is unreadable (sqlite3 says
`+"`authorization denied`"+` or `+"`Operation not permitted`"+`) and the result is
unknown; any other failure of sqlite3 fails the query with its exit status
and stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var userV starlark.Value = starlark.None
					if err := c.unpack(args, kwargs, "user?", &userV); err != nil {
						return nil, err
					}
					user, err := optUser(userV)
					if err != nil {
						return nil, c.wrap(err)
					}
					db := systemTCCDB
					if user != host.Root {
						home, err := homeOf(c.s, user)
						if err != nil {
							return nil, c.hostError(err)
						}
						db = home + "/Library/Application Support/com.apple.TCC/TCC.db"
					}
					r, err := cached(c.s, "tcc:"+db, gatherTCC(db))
					if err != nil {
						return nil, c.hostError(err)
					}
					if r.Why != "" {
						return unknown("%s", r.Why), nil
					}
					l := make([]starlark.Value, len(r.Grants))
					for i, g := range r.Grants {
						l[i] = mkstruct(map[string]starlark.Value{
							"service": starlark.String(g.Service), "client": starlark.String(g.Client), "auth": starlark.MakeInt(g.Auth),
						})
					}
					return starlark.NewList(l), nil
				}),
		},
	}
}

// homeOf returns a user's home from the users fact, /Users/NAME when the
// account is unknown.
func homeOf(s *engine.Session, user string) (string, error) {
	m, err := usersFact(s)
	if err != nil {
		return "", err
	}
	if u, ok := m[user]; ok && u.Home != "" {
		return u.Home, nil
	}
	return "/Users/" + user, nil
}
