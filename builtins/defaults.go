package builtins

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// defaultsRead is one cached `defaults read` result.
type defaultsRead struct {
	Exit   int
	Stdout string
	Stderr string
}

func gatherDefaults(user, domain, key string) func(ctx context.Context, h host.Host) (defaultsRead, error) {
	return func(ctx context.Context, h host.Host) (defaultsRead, error) {
		var paths []string
		if strings.HasPrefix(domain, "/") {
			// A path domain: defaults reads DOMAIN.plist.
			paths = []string{domain + ".plist"}
		}
		res, err := runPaths(ctx, h, user, paths, "/usr/bin/defaults", "read", domain, key)
		if err != nil {
			return defaultsRead{}, err
		}
		return defaultsRead{res.Exit, res.Stdout, res.Stderr}, nil
	}
}

var emptyArray = regexp.MustCompile(`^\(\s*\)$`)

// defaultsUnset says whether a `defaults read` result is the tool's
// documented answer for an unset key or a missing domain: exit 1 with
// "does not exist" (`The domain/default pair of (D, K) does not exist`),
// on either stream: defaults logs it through NSLog (stderr), and builds
// have been seen printing it on stdout. Any other failure is an error of
// the query, never an unset key.
func defaultsUnset(exit int, stdout, stderr string) bool {
	return exit == 1 && strings.Contains(strings.ToLower(stderr+"\n"+stdout), "does not exist")
}

// value returns what a read gave: the trimmed output and true, "" and
// false for the documented unset answer, or an error naming the command,
// its exit status and the tail of its stderr for any other failure.
func (r defaultsRead) value(what string) (string, bool, error) {
	switch {
	case r.Exit == 0:
		return strings.TrimSpace(r.Stdout), true, nil
	case defaultsUnset(r.Exit, r.Stdout, r.Stderr):
		return "", false, nil
	}
	return "", false, exitError(what, host.Result{Exit: r.Exit, Stdout: r.Stdout, Stderr: r.Stderr})
}

// ParseICloud reads `defaults read MobileMeAccounts Accounts` run as the
// user: signed in when the output holds an `AccountID = ` entry; signed
// out for an empty `( )` array or the "does not exist" failure (exit 1).
// ok is false when the output says neither; callers report any other
// non-zero exit as a failed query before asking.
func ParseICloud(exit int, stdout, stderr string) (signedIn, ok bool) {
	if exit != 0 {
		return false, defaultsUnset(exit, stdout, stderr)
	}
	if strings.Contains(stdout, "AccountID") {
		return true, true
	}
	if emptyArray.MatchString(strings.TrimSpace(stdout)) {
		return false, true
	}
	return false, false
}

func checkDomain(d string) error {
	if strings.HasPrefix(d, "/") {
		return checkPath("defaults domain", d)
	}
	return checkPattern("defaults domain", d, domainPattern)
}

func defaultsModule() engine.Module {
	return engine.Module{
		Name: "defaults",
		Doc:  "Preference reads (`defaults read`). hvfctl never writes preferences.",
		Builtins: []engine.Builtin{
			newBuiltin("defaults", "read", "domain, key, user=None", engine.KindQuery, `
Runs `+"`/usr/bin/defaults read DOMAIN KEY`"+` as USER (root when None) and
returns its output, trimmed, as a string, or None when the pair does not
exist (exit 1 with "does not exist"); any other failure fails the query
with the command's exit status and stderr. DOMAIN is a reverse-DNS name or
an absolute path. A path domain, or USER's own domain (a file in USER's
home), in an account's home under /Users is read only where the recipe's
allow_writes covers it.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var domain, key string
					var userV starlark.Value = starlark.None
					if err := c.unpack(args, kwargs, "domain", &domain, "key", &key, "user?", &userV); err != nil {
						return nil, err
					}
					user, err := optUser(userV)
					if err != nil {
						return nil, c.wrap(err)
					}
					if err := checkDomain(domain); err != nil {
						return nil, c.wrap(err)
					}
					if strings.HasPrefix(domain, "/") {
						// defaults reads DOMAIN.plist: a path domain is a
						// file read like files.read, kept from secrets.
						for _, p := range []string{domain, domain + ".plist"} {
							if err := c.s.CheckQueryRead(p); err != nil {
								return nil, c.wrap(err)
							}
						}
					}
					if !strings.HasPrefix(domain, "/") && !strings.EqualFold(user, host.Root) {
						// USER's own domain is a file in USER's home: read
						// only where the recipe may write, like files.read.
						if err := c.s.CheckQueryRead("/Users/" + user + "/Library/Preferences/" + domain + ".plist"); err != nil {
							return nil, c.wrap(err)
						}
					}
					if err := checkPattern("defaults key", key, defaultsKeyPat); err != nil {
						return nil, c.wrap(err)
					}
					r, err := cached(c.s, "defaults:"+user+":"+domain+":"+key, gatherDefaults(user, domain, key))
					if err != nil {
						return nil, c.hostError(err)
					}
					v, set, err := r.value("defaults read " + domain + " " + key)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !set {
						return starlark.None, nil
					}
					return starlark.String(v), nil
				}),
		},
	}
}

func icloudModule() engine.Module {
	return engine.Module{
		Name: "icloud",
		Doc:  "Whether an account is signed in to iCloud (report only).",
		Builtins: []engine.Builtin{
			newBuiltin("icloud", "signed_in", "user", engine.KindQuery, `
Runs `+"`/usr/bin/defaults read MobileMeAccounts Accounts`"+` as USER and returns
True when an account (an `+"`AccountID`"+` entry) is listed, False for an empty
list or a missing domain (exit 1 with "does not exist"), and unknown when
the output of a successful read says neither. Any other failure fails the
query with the command's exit status and stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.userArg(args, kwargs)
					if err != nil {
						return nil, err
					}
					r, err := cached(c.s, "defaults:"+user+":MobileMeAccounts:Accounts", gatherDefaults(user, "MobileMeAccounts", "Accounts"))
					if err != nil {
						return nil, c.hostError(err)
					}
					if _, _, err := r.value("defaults read MobileMeAccounts Accounts as " + user); err != nil {
						return nil, c.hostError(err)
					}
					in, ok := ParseICloud(r.Exit, r.Stdout, r.Stderr)
					if !ok {
						return unknown("defaults read MobileMeAccounts as %s: %s", user, engine.Tail(r.Stderr+r.Stdout, 1)), nil
					}
					return starlark.Bool(in), nil
				}),
		},
	}
}

// optUser converts an optional user argument; None means root.
func optUser(v starlark.Value) (string, error) {
	if v == nil || v == starlark.None {
		return host.Root, nil
	}
	s, ok := starlark.AsString(v)
	if !ok {
		return "", fmt.Errorf("user must be a string or None, not %s", v.Type())
	}
	return s, checkUser(s)
}
