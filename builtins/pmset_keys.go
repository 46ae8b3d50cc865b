package builtins

import (
	"fmt"
	"sort"
	"strings"

	"go.starlark.net/starlark"
)

// pmsetKind is what a pmset setting takes.
type pmsetKind int

const (
	pmsetMinutes   pmsetKind = iota // minutes, 0 = never
	pmsetFlag                       // 0 or 1
	pmsetNumber                     // a non-negative number (seconds, percent)
	pmsetHibernate                  // 0, 3 or 25
	pmsetPowerMode                  // 0, 1 or 2
	pmsetPath                       // an absolute path
)

// pmsetSettings are the settings pmset(1) documents in its SETTINGS
// section (macOS 14 and later; e.g. the man page at
// https://www.sudo.is/docs/macos/man_pmset.html), with the kind of value
// each takes. A recipe's power() settings are checked against it while
// the recipe is evaluated.
var pmsetSettings = map[string]pmsetKind{
	"displaysleep": pmsetMinutes, "disksleep": pmsetMinutes, "sleep": pmsetMinutes,
	"womp": pmsetFlag, "ring": pmsetFlag, "powernap": pmsetFlag, "proximitywake": pmsetFlag,
	"autorestart": pmsetFlag, "lidwake": pmsetFlag, "acwake": pmsetFlag, "lessbright": pmsetFlag,
	"halfdim": pmsetFlag, "sms": pmsetFlag, "ttyskeepawake": pmsetFlag, "destroyfvkeyonstandby": pmsetFlag,
	"tcpkeepalive": pmsetFlag, "lowpowermode": pmsetFlag, "standby": pmsetFlag, "autopoweroff": pmsetFlag,
	"networkoversleep": pmsetFlag, "disablesleep": pmsetFlag,
	"standbydelayhigh": pmsetNumber, "standbydelaylow": pmsetNumber, "highstandbythreshold": pmsetNumber,
	"autopoweroffdelay": pmsetNumber, "standbydelay": pmsetNumber,
	"hibernatemode": pmsetHibernate, "powermode": pmsetPowerMode, "hibernatefile": pmsetPath,
}

// pmsetSettingProblem says what is wrong with one pmset setting, in words
// for the maintainer who wrote it, with the fix; "" when it is fine.
func pmsetSettingProblem(key string, v starlark.Value) string {
	kind, known := pmsetSettings[key]
	if !known {
		names := make([]string, 0, len(pmsetSettings))
		for k := range pmsetSettings {
			names = append(names, k)
		}
		sort.Strings(names)
		hint, best := "", 3
		for _, n := range names {
			if d := editDistance(strings.ToLower(key), n); d < best {
				hint, best = fmt.Sprintf(" (did you mean %q?)", n), d
			}
		}
		return fmt.Sprintf("%q is not a pmset setting%s; the settings pmset knows are %s (see `man pmset`)", key, hint, strings.Join(names, ", "))
	}
	if kind == pmsetPath {
		s, ok := v.(starlark.String)
		if !ok || checkPath("hibernatefile", string(s)) != nil {
			return fmt.Sprintf("%s takes an absolute path as a string, not %s", key, v.String())
		}
		return ""
	}
	n, isInt := v.(starlark.Int)
	if !isInt {
		example := "0"
		if s, ok := v.(starlark.String); ok && s != "" {
			example = strings.Trim(string(s), " ")
		}
		return fmt.Sprintf("%s takes a number, not the %s %s: write %s: %s", key, v.Type(), v.String(), key, example)
	}
	x, ok := n.Int64()
	if !ok || x < 0 {
		return fmt.Sprintf("%s: %s is out of range (0 or more)", key, n)
	}
	switch kind {
	case pmsetMinutes:
		if x > 10000 {
			return fmt.Sprintf("%s is in minutes (0 = never): %d is out of range", key, x)
		}
	case pmsetFlag:
		if x > 1 {
			return fmt.Sprintf("%s is 0 (off) or 1 (on), not %d", key, x)
		}
	case pmsetHibernate:
		if x != 0 && x != 3 && x != 25 {
			return fmt.Sprintf("hibernatemode is 0, 3 or 25, not %d", x)
		}
	case pmsetPowerMode:
		if x > 2 {
			return fmt.Sprintf("powermode is 0 (automatic), 1 (low power) or 2 (high power), not %d", x)
		}
	}
	return ""
}

// validatePmset implements pmset.validate: every problem is recorded on
// the session at the recipe line (so that all of a recipe's errors are
// reported at once) and the result says whether there was none.
func validatePmset(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var settings *starlark.Dict
	if err := c.unpack(args, kwargs, "settings", &settings); err != nil {
		return nil, err
	}
	pos := c.t.CallFrame(c.t.CallStackDepth() - 1).Pos
	ok := true
	if settings.Len() == 0 {
		c.s.Errorf(pos, "power: settings is empty: name at least one pmset setting, e.g. {\"sleep\": 0}")
		ok = false
	}
	for _, item := range settings.Items() {
		k, isStr := starlark.AsString(item[0])
		if !isStr {
			c.s.Errorf(pos, "power: setting names are strings, not %s", item[0].Type())
			ok = false
			continue
		}
		if p := pmsetSettingProblem(k, item[1]); p != "" {
			c.s.Errorf(pos, "power: %s", p)
			ok = false
		}
	}
	if !ok {
		c.s.NoteRefusal()
	}
	return starlark.Bool(ok), nil
}

// editDistance is the Levenshtein distance of a and b (bytes), for
// suggesting the setting a maintainer meant.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
