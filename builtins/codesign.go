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

var (
	csKey  = regexp.MustCompile(`\[Key\]\s*(\S+)`)
	csBool = regexp.MustCompile(`\[Bool\]\s*(true|false)`)
)

// ParseEntitlements returns the entitlements whose value is true, from
// either format of `codesign -d --entitlements -`: the XML plist of
// `--xml` (parsed with a plist parser; only `<true/>` counts) or the
// human format (`[Key] name`, then the first `[Bool]` before the next
// `[Key]`, on the same line or a later one). A key with a false or
// non-boolean value does not count.
func ParseEntitlements(out string) (map[string]bool, error) {
	if i := strings.Index(out, "<?xml"); i >= 0 || strings.Contains(out, "<plist") {
		if i < 0 {
			i = strings.Index(out, "<plist")
		}
		v, err := DecodePlist([]byte(out[i:]))
		if err != nil {
			return nil, err
		}
		d, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("entitlements plist is not a dict")
		}
		m := map[string]bool{}
		for k, val := range d {
			// An entitlement has a name; an empty key names nothing.
			if b, ok := val.(bool); ok && b && k != "" {
				m[k] = true
			}
		}
		return m, nil
	}
	if !strings.Contains(out, "[Key]") && !strings.Contains(out, "[Dict]") {
		return nil, fmt.Errorf("no entitlements in either codesign format")
	}
	m := map[string]bool{}
	key := ""
	decided := true
	for _, ln := range lines(out) {
		// A key's value may share its line: handle [Key] before [Bool].
		if k := csKey.FindStringSubmatchIndex(ln); k != nil {
			key, decided = ln[k[2]:k[3]], false
			ln = ln[k[1]:]
		}
		if b := csBool.FindStringSubmatch(ln); b != nil && !decided && key != "" {
			if b[1] == "true" {
				m[key] = true
			}
			decided = true
		}
	}
	return m, nil
}

// entState is a cached entitlement reading.
type entState struct {
	Ents    map[string]bool
	Missing bool
	Why     string
}

func gatherEntitlements(p string) func(ctx context.Context, h host.Host) (entState, error) {
	return func(ctx context.Context, h host.Host) (entState, error) {
		res, err := runPaths(ctx, h, "", []string{p}, "/usr/bin/codesign", "-d", "--entitlements", "-", "--xml", p)
		if err != nil {
			return entState{}, err
		}
		all := res.Stdout + "\n" + res.Stderr
		low := strings.ToLower(all)
		switch {
		case strings.Contains(low, "no such file"):
			return entState{Missing: true}, nil
		case strings.Contains(low, "not signed at all"):
			return entState{Ents: map[string]bool{}}, nil
		case res.Exit != 0:
			// Not one of codesign's answers for a missing or unsigned
			// file: a failure of the query, never a state.
			return entState{}, exitError("codesign -d --entitlements - --xml "+p, res)
		}
		if strings.TrimSpace(res.Stdout) == "" {
			return entState{Ents: map[string]bool{}}, nil
		}
		m, err := ParseEntitlements(res.Stdout)
		if err != nil {
			return entState{Why: err.Error()}, nil
		}
		return entState{Ents: m}, nil
	}
}

func codesignModule() engine.Module {
	return engine.Module{
		Name: "codesign",
		Doc:  "Code-signing entitlements (`codesign -d --entitlements`).",
		Builtins: []engine.Builtin{
			newBuiltin("codesign", "entitlements", "path", engine.KindQuery, `
Runs `+"`/usr/bin/codesign -d --entitlements - --xml PATH`"+` and returns a dict of
entitlement → True for the entitlements whose value is true (a key
present with false does not count; an unsigned binary gives {}), None
when PATH is missing, unknown when the output of a successful run cannot
be read; any other failure fails the query with codesign's exit status
and stderr. Both the XML
and the human `+"`[Key]/[Bool]`"+` formats are understood.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					st, err := cached(c.s, "codesign:"+p, gatherEntitlements(p))
					if err != nil {
						return nil, c.hostError(err)
					}
					switch {
					case st.Missing:
						return starlark.None, nil
					case st.Why != "":
						return unknown("%s", st.Why), nil
					}
					d := starlark.NewDict(len(st.Ents))
					for _, k := range sortedKeys(st.Ents) {
						_ = d.SetKey(starlark.String(k), starlark.True)
					}
					return d, nil
				}),
		},
	}
}
