package builtins

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// PmsetValue is one setting: Int when the value starts with an integer
// (a parenthesised annotation after it is ignored), else Str.
type PmsetValue struct {
	// Int is the integer value, when IsInt.
	Int   int64
	IsInt bool
	// Str is the value as printed, when not IsInt.
	Str string
}

// pmsetSpacedKeys are the keys known to contain spaces; they are matched
// whole rather than split on whitespace.
var pmsetSpacedKeys = []string{"Sleep On Power Button"}

var (
	pmsetSourceHdr = regexp.MustCompile(`^(\S.*?)\s*:\s*$`)
	leadingInt     = regexp.MustCompile(`^(-?[0-9]+)(?:\s+\(.*\)?)?\s*$`)
)

// pmsetSources maps pmset block titles to source names.
var pmsetSources = map[string]string{"AC Power": "ac", "Battery Power": "battery", "UPS Power": "ups"}

// pmsetFlags maps source names to the flag of `pmset -X key value`.
var pmsetFlags = map[string]string{"ac": "-c", "battery": "-b", "all": "-a", "ups": "-u"}

// ParsePmset parses `pmset -g custom` (and the settings part of
// `pmset -g`): one block per source (`AC Power:`, `Battery Power:`,
// `UPS Power:`), each line a space, the key padded to 20 columns, a space,
// the value. Keys may contain spaces and overflow the padding (matched
// from a known list); SleepDisabled uses TABs; `sleep` may carry a
// parenthesised annotation naming the processes preventing sleep, so the
// leading integer is taken. Unknown block titles are kept lower-cased.
func ParsePmset(out string) map[string]map[string]PmsetValue {
	res := map[string]map[string]PmsetValue{}
	var cur map[string]PmsetValue
	for _, ln := range lines(out) {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		if ln[0] != ' ' && ln[0] != '\t' {
			m := pmsetSourceHdr.FindStringSubmatch(ln)
			if m == nil {
				cur = nil
				continue
			}
			name, ok := pmsetSources[m[1]]
			if !ok {
				name = strings.ToLower(m[1])
			}
			if res[name] == nil {
				res[name] = map[string]PmsetValue{}
			}
			cur = res[name]
			continue
		}
		if cur == nil {
			continue
		}
		k, v, ok := splitPmsetLine(strings.TrimSpace(ln))
		if !ok {
			continue
		}
		cur[k] = pmsetValue(v)
	}
	return res
}

func splitPmsetLine(t string) (key, val string, ok bool) {
	for _, k := range pmsetSpacedKeys {
		if strings.HasPrefix(t, k) && (len(t) == len(k) || t[len(k)] == ' ' || t[len(k)] == '\t') {
			return k, strings.TrimSpace(t[len(k):]), true
		}
	}
	i := strings.IndexAny(t, " \t")
	if i <= 0 {
		return "", "", false
	}
	return t[:i], strings.TrimSpace(t[i:]), true
}

func pmsetValue(v string) PmsetValue {
	if m := leadingInt.FindStringSubmatch(v); m != nil {
		if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
			return PmsetValue{Int: n, IsInt: true}
		}
	}
	return PmsetValue{Str: v}
}

func (v PmsetValue) starlark() starlark.Value {
	if v.IsInt {
		return starlark.MakeInt64(v.Int)
	}
	return starlark.String(v.Str)
}

// JSON returns the value as a number or a string.
func (v PmsetValue) JSON() any {
	if v.IsInt {
		return v.Int
	}
	return v.Str
}

// String returns the value as pmset would take it.
func (v PmsetValue) String() string {
	if v.IsInt {
		return strconv.FormatInt(v.Int, 10)
	}
	return v.Str
}

var pmsetCustomArgv = []string{"/usr/bin/pmset", "-g", "custom"}

func gatherPmset(ctx context.Context, h host.Host) (map[string]map[string]PmsetValue, error) {
	res, err := run(ctx, h, "", pmsetCustomArgv...)
	if err != nil {
		return nil, err
	}
	if res.Exit != 0 {
		return nil, fmt.Errorf("pmset -g custom exited %d: %s", res.Exit, engine.Tail(res.Stderr+res.Stdout, 2))
	}
	return ParsePmset(res.Stdout), nil
}

func pmsetFact(s *engine.Session) (map[string]map[string]PmsetValue, error) {
	return cached(s, "power", gatherPmset)
}

// pmsetSetting is one KEY VALUE pair of pmset.set.
type pmsetSetting struct{ key, val string }

func pmsetSetAction(source string, settings []pmsetSetting) *engine.Action {
	argv := []string{"/usr/bin/pmset", pmsetFlags[source]}
	for _, kv := range settings {
		argv = append(argv, kv.key, kv.val)
	}
	cmd := host.Command{Argv: argv, User: host.Root}
	return confirmedAction(cmd, engine.ExitZero, func(ctx context.Context, h host.Host, _ host.Result) error {
		have, err := gatherPmset(ctx, h)
		if err != nil {
			return err
		}
		sources := []string{source}
		if source == "all" {
			sources = sortedKeys(have)
		}
		for _, src := range sources {
			for _, kv := range settings {
				got, ok := have[src][kv.key]
				if !ok || got.String() != kv.val {
					return fmt.Errorf("%s %s is %q after pmset, want %q: %w", src, kv.key, got.String(), kv.val, engine.ErrNotConfirmed)
				}
			}
		}
		return nil
	})
}

func pmsetModule() engine.Module {
	return engine.Module{
		Name: "pmset",
		Doc:  "Power management settings (`pmset`).",
		Builtins: []engine.Builtin{
			newBuiltin("pmset", "get", `source="ac"`, engine.KindQuery, `
Runs `+"`/usr/bin/pmset -g custom`"+` once per run and returns the settings of
SOURCE ("ac", "battery" or "ups") as a dict key → int (or string for
non-numeric values). A source the Mac does not have gives an empty dict.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					source := "ac"
					if err := c.unpack(args, kwargs, "source?", &source); err != nil {
						return nil, err
					}
					if source != "ac" && source != "battery" && source != "ups" {
						return nil, c.argError("source must be \"ac\", \"battery\" or \"ups\", not %q", source)
					}
					all, err := pmsetFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					m := all[source]
					d := starlark.NewDict(len(m))
					for _, k := range sortedKeys(m) {
						_ = d.SetKey(starlark.String(k), m[k].starlark())
					}
					return d, nil
				}),
			newBuiltin("pmset", "validate", "settings", engine.KindUtil, `
Checks pmset settings while the recipe is evaluated: every key must be a
setting pmset(1) documents, with a value of its kind (minutes, 0 or 1, a
number, hibernatemode 0/3/25, powermode 0/1/2, hibernatefile a path).
Each problem is reported at the recipe line, with the fix, and all of
them at once; returns True when there is none. power() calls it, so a
wrong key or a string value ("0") fails `+"`plan`"+`, not the apply.`, validatePmset),
			newBuiltin("pmset", "set", "source, settings", engine.KindAction, `
Returns the action `+"`/usr/bin/pmset -c KEY VALUE [KEY VALUE...]`"+` run as root
(`+"`-c`"+` for source "ac", `+"`-b`"+` "battery", `+"`-u`"+` "ups", `+"`-a`"+` "all"), with the
pairs of SETTINGS (dict key → int or string) in their order. Judged by
re-reading `+"`pmset -g custom`"+`: every key must then have its value.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var source string
					var settings *starlark.Dict
					if err := c.unpack(args, kwargs, "source", &source, "settings", &settings); err != nil {
						return nil, err
					}
					if _, ok := pmsetFlags[source]; !ok {
						return nil, c.argError("source must be \"ac\", \"battery\", \"ups\" or \"all\", not %q", source)
					}
					if settings.Len() == 0 {
						return nil, c.argError("settings is empty")
					}
					var kvs []pmsetSetting
					for _, item := range settings.Items() {
						k, ok := starlark.AsString(item[0])
						if !ok {
							return nil, c.argError("setting names must be strings, not %s", item[0].Type())
						}
						if err := checkPattern("pmset key", k, pmsetKeyPat); err != nil {
							return nil, c.wrap(err)
						}
						var v string
						switch x := item[1].(type) {
						case starlark.Int:
							n, ok := x.Int64()
							if !ok || n < 0 {
								return nil, c.argError("pmset %s: value %s out of range", k, x)
							}
							v = strconv.FormatInt(n, 10)
						case starlark.Bool:
							return nil, c.argError("pmset %s: use 0 or 1, not %s", k, x)
						case starlark.String:
							v = string(x)
							if err := checkPattern("pmset value", v, pmsetValuePat); err != nil {
								return nil, c.wrap(err)
							}
						default:
							return nil, c.argError("pmset %s: value must be an int or string, not %s", k, item[1].Type())
						}
						kvs = append(kvs, pmsetSetting{k, v})
					}
					return pmsetSetAction(source, kvs), nil
				}),
		},
	}
}
