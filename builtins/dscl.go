package builtins

import (
	"context"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// DSRecord is one directory record: each key with its values in order.
type DSRecord map[string][]string

// First returns the first value of key, or "".
func (r DSRecord) First(key string) string {
	if v := r[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ParseDscl parses `dscl . -read` and `dscl . -readall` output. Records
// of -readall are separated by a line holding a single `-`. Within a
// record, keys come sorted; `Key: v1 v2` holds space-free values on one
// line, while a key any of whose values contains a space stands alone as
// `Key:` and each value follows on its own line with one leading space.
// Keys may contain colons (`dsAttrTypeNative:accountPolicyData:`); lines
// that are neither a key nor an indented value (an unindented line of an
// embedded plist) continue the current key.
func ParseDscl(out string) []DSRecord {
	var recs []DSRecord
	cur := DSRecord{}
	key := ""
	flush := func() {
		if len(cur) > 0 {
			recs = append(recs, cur)
		}
		cur = DSRecord{}
		key = ""
	}
	for _, ln := range lines(out) {
		if ln == "-" {
			flush()
			continue
		}
		if ln == "" {
			continue
		}
		if ln[0] == ' ' || ln[0] == '\t' {
			if key != "" {
				cur[key] = append(cur[key], strings.TrimPrefix(ln, " "))
			}
			continue
		}
		if i := strings.Index(ln, ": "); i > 0 && !strings.ContainsAny(ln[:i], " \t") {
			key = ln[:i]
			cur[key] = append(cur[key], strings.Fields(ln[i+2:])...)
			continue
		}
		if strings.HasSuffix(ln, ":") && !strings.ContainsAny(ln, " \t") && len(ln) > 1 {
			key = strings.TrimSuffix(ln, ":")
			if _, ok := cur[key]; !ok {
				cur[key] = []string{}
			}
			continue
		}
		if key != "" {
			cur[key] = append(cur[key], ln)
		}
	}
	flush()
	return recs
}

// User is an account as the users fact family sees it.
type User struct {
	// Name is the first RecordName; UID, GID, Home, RealName and Shell are
	// UniqueID, PrimaryGroupID, NFSHomeDirectory, RealName and UserShell.
	Name     string
	UID      int
	GID      int
	Home     string
	RealName string
	Shell    string
}

// usersFromRecords converts dscl records into users keyed by their first
// record name. Records without a name or a numeric UniqueID are skipped.
func usersFromRecords(recs []DSRecord) map[string]User {
	m := map[string]User{}
	for _, r := range recs {
		name := r.First("RecordName")
		uid, err := strconv.Atoi(r.First("UniqueID"))
		if name == "" || err != nil {
			continue
		}
		gid, _ := strconv.Atoi(r.First("PrimaryGroupID"))
		m[name] = User{
			Name: name, UID: uid, GID: gid,
			Home:     r.First("NFSHomeDirectory"),
			RealName: strings.Join(r["RealName"], " "),
			Shell:    r.First("UserShell"),
		}
	}
	return m
}

var usersArgv = []string{"/usr/bin/dscl", ".", "-readall", "/Users", "NFSHomeDirectory", "PrimaryGroupID", "RealName", "RecordName", "UniqueID", "UserShell"}

func gatherUsers(ctx context.Context, h host.Host) (map[string]User, error) {
	res, err := run(ctx, h, "", usersArgv...)
	if err != nil {
		return nil, err
	}
	if res.Exit != 0 {
		return nil, exitError("dscl -readall /Users", res)
	}
	return usersFromRecords(ParseDscl(res.Stdout)), nil
}

func usersFact(s *engine.Session) (map[string]User, error) { return cached(s, "users", gatherUsers) }

// gatherAdmins reads the admin group's members with one dscl call.
func gatherAdmins(ctx context.Context, h host.Host) ([]string, error) {
	res, err := run(ctx, h, "", "/usr/bin/dscl", ".", "-read", "/Groups/admin", "GroupMembership")
	if err != nil {
		return nil, err
	}
	if res.Exit != 0 {
		return nil, exitError("dscl -read /Groups/admin", res)
	}
	recs := ParseDscl(res.Stdout)
	if len(recs) == 0 {
		return []string{}, nil
	}
	return recs[0]["GroupMembership"], nil
}

func adminsFact(s *engine.Session) ([]string, error) { return cached(s, "admins", gatherAdmins) }

func userValue(u User) starlark.Value {
	return mkstruct(map[string]starlark.Value{
		"name":      starlark.String(u.Name),
		"uid":       starlark.MakeInt(u.UID),
		"gid":       starlark.MakeInt(u.GID),
		"home":      starlark.String(u.Home),
		"real_name": starlark.String(u.RealName),
		"shell":     starlark.String(u.Shell),
	})
}

func usersModule() engine.Module {
	const src = "`/usr/bin/dscl . -readall /Users NFSHomeDirectory PrimaryGroupID RealName RecordName UniqueID UserShell`"
	return engine.Module{
		Name: "users",
		Doc:  "Local accounts, read from the directory service with one `dscl -readall` per run.",
		Builtins: []engine.Builtin{
			newBuiltin("users", "get", "name", engine.KindQuery, `
Returns `+"`struct(name, uid, gid, home, real_name, shell)`"+` for the account
NAME, or None when there is no such account. Runs `+src+` once per run (no
privilege needed) and answers every later call from that reading.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					name, err := c.stringArg(args, kwargs, "name", checkUser)
					if err != nil {
						return nil, err
					}
					m, err := usersFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					u, ok := m[name]
					if !ok {
						return starlark.None, nil
					}
					return userValue(u), nil
				}),
			newBuiltin("users", "all", "", engine.KindQuery, `
Returns a dict of every account name to `+"`struct(name, uid, gid, home, real_name, shell)`"+`,
from the same single `+src+` reading as users.get.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					m, err := usersFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					d := starlark.NewDict(len(m))
					for _, k := range sortedKeys(m) {
						_ = d.SetKey(starlark.String(k), userValue(m[k]))
					}
					return d, nil
				}),
		},
	}
}
