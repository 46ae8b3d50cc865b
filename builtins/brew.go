package builtins

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

const (
	// brewPrefix is Homebrew's prefix on Apple Silicon.
	brewPrefix = "/opt/homebrew"
	// brewBin is the brew program.
	brewBin = brewPrefix + "/bin/brew"
)

// brewEnv is the deterministic environment of every brew command.
var brewEnv = []host.EnvVar{
	{Name: "HOMEBREW_NO_AUTO_UPDATE", Value: "1"},
	{Name: "HOMEBREW_NO_INSTALL_CLEANUP", Value: "1"},
	{Name: "HOMEBREW_NO_ANALYTICS", Value: "1"},
	{Name: "NONINTERACTIVE", Value: "1"},
	{Name: "PATH", Value: brewPrefix + "/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
}

// ParseBrewList parses `brew list --versions` (formulae or casks): one
// line per item, the name then one or more space-separated versions.
func ParseBrewList(out string) map[string][]string {
	m := map[string][]string{}
	for _, ln := range lines(out) {
		f := strings.Fields(ln)
		if len(f) == 0 {
			continue
		}
		m[f[0]] = append(m[f[0]], f[1:]...)
	}
	return m
}

// ParseBrewTaps parses `brew tap`: one tap per line.
func ParseBrewTaps(out string) []string {
	taps := []string{}
	for _, ln := range lines(out) {
		if t := strings.TrimSpace(ln); t != "" && !strings.ContainsAny(t, " \t") {
			taps = append(taps, t)
		}
	}
	return taps
}

// brewOwner returns the Homebrew owner, refusing root and an unset owner:
// brew never runs as root.
func brewOwner(s *engine.Session) (string, error) {
	o := s.Principals().BrewOwner
	if o == "" {
		return "", fmt.Errorf("no Homebrew owner is known (run hvfctl with sudo from the administrator account, or declare(\"brew\", owner = NAME))")
	}
	if strings.EqualFold(o, host.Root) {
		//lint:ignore ST1005 the sentence starts with the name Homebrew.
		return "", fmt.Errorf("Homebrew refuses to run as root; the Homebrew owner must be an administrator account")
	}
	if err := checkUser(o); err != nil {
		return "", err
	}
	return o, nil
}

// brewCmd is the brew command with args, run as owner in brewEnv.
func brewCmd(owner string, args ...string) host.Command {
	return host.Command{Argv: append([]string{brewBin}, args...), User: owner, Env: append([]host.EnvVar(nil), brewEnv...), Timeout: 30 * time.Minute}
}

// brewInstallCmd is brewCmd for an install: it also refreshes the
// formula API cache. With HOMEBREW_NO_AUTO_UPDATE set, Homebrew never
// refreshes that cache by itself, and the .pkg seeds it with the formula
// data of the package's build date, so every install would otherwise use
// the formula versions of that date (macos-facts.md §1.9).
func brewInstallCmd(owner string, args ...string) host.Command {
	cmd := brewCmd(owner, args...)
	cmd.Env = append(cmd.Env, host.EnvVar{Name: "HOMEBREW_FORCE_API_AUTO_UPDATE", Value: "1"})
	return cmd
}

// BrewState is what the brew fact family holds.
type BrewState struct {
	// Present is whether the brew program exists.
	Present bool
	// Owner owns the Homebrew prefix.
	Owner string
	// Formulae and Casks map each installed name to its versions.
	Formulae map[string][]string
	Casks    map[string][]string
}

// brewRead runs a reading brew command as owner and returns its stdout,
// failing on a non-zero exit.
func brewRead(ctx context.Context, h host.Host, owner string, args ...string) (string, error) {
	what := "brew " + strings.Join(args, " ")
	res, err := h.Run(ctx, brewCmd(owner, args...))
	if err != nil {
		return "", fmt.Errorf("%s: %w", what, err)
	}
	if res.Exit != 0 {
		return "", exitError(what, res)
	}
	return res.Stdout, nil
}

// brewFact reads whether Homebrew is installed, who owns its prefix, and
// its formulae and casks, once per run.
func brewFact(s *engine.Session) (BrewState, error) {
	owner, oerr := brewOwner(s)
	return cached(s, "brew", func(ctx context.Context, h host.Host) (BrewState, error) {
		st := BrewState{Formulae: map[string][]string{}, Casks: map[string][]string{}}
		stats, err := statPaths(ctx, s, brewBin, brewPrefix)
		if err != nil {
			return st, err
		}
		if !stats[brewBin].Exists {
			return st, nil
		}
		st.Present = true
		st.Owner = stats[brewPrefix].Owner
		if oerr != nil {
			return st, oerr
		}
		for _, list := range []struct {
			args []string
			into map[string][]string
		}{{[]string{"list", "--formula", "--versions"}, st.Formulae}, {[]string{"list", "--cask", "--versions"}, st.Casks}} {
			out, err := brewRead(ctx, h, owner, list.args...)
			if err != nil {
				return st, err
			}
			for k, v := range ParseBrewList(out) {
				list.into[k] = v
			}
		}
		return st, nil
	})
}

// brewTaps runs brew tap as owner and returns the taps.
func brewTaps(ctx context.Context, h host.Host, owner string) ([]string, error) {
	out, err := brewRead(ctx, h, owner, "tap")
	if err != nil {
		return nil, err
	}
	return ParseBrewTaps(out), nil
}

// listed runs brew list --versions (args) and requires every name.
func listed(owner string, args []string, names []string) func(ctx context.Context, h host.Host, _ host.Result) error {
	return func(ctx context.Context, h host.Host, _ host.Result) error {
		// Without names, brew list --versions exits 0 (an empty list
		// included); brewRead reports any other status with its stderr.
		out, err := brewRead(ctx, h, owner, args...)
		if err != nil {
			return err
		}
		have := ParseBrewList(out)
		for _, n := range names {
			short := n[strings.LastIndex(n, "/")+1:]
			if _, ok := have[short]; !ok {
				return fmt.Errorf("%s is not listed by brew %s: %w", n, strings.Join(args, " "), engine.ErrNotConfirmed)
			}
		}
		return nil
	}
}

func brewModule() engine.Module {
	const m = "brew"
	owner := func(c *call) (string, error) {
		o, err := brewOwner(c.s)
		if err != nil {
			return "", c.argError("%v", err)
		}
		return o, nil
	}
	// nameAndOwner unpacks the single name argument param, validates it
	// with check, and returns it with the Homebrew owner.
	nameAndOwner := func(c *call, args starlark.Tuple, kwargs []starlark.Tuple, param string, check func(string) error) (name, o string, err error) {
		if name, err = c.stringArg(args, kwargs, param, check); err != nil {
			return "", "", err
		}
		if o, err = owner(c); err != nil {
			return "", "", err
		}
		return name, o, nil
	}
	return engine.Module{
		Name: m,
		Doc:  "Homebrew, always run as its owner (an administrator), never as root or the runner account.",
		Builtins: []engine.Builtin{
			newBuiltin(m, "installed", "", engine.KindQuery, `
Returns `+"`struct(formulae={name: [versions]}, casks={name: [versions]})`"+`, empty
when `+"`"+brewBin+"`"+` is absent. Runs `+"`"+brewBin+" list --formula --versions`"+` (without --formula brew lists casks too) and
`+"`"+brewBin+" list --cask --versions`"+` as the Homebrew owner, once per run;
a formula with several versions installed lists them all.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					st, err := brewFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					return mkstruct(map[string]starlark.Value{"formulae": versionsDict(st.Formulae), "casks": versionsDict(st.Casks)}), nil
				}),
			newBuiltin(m, "prefix", "", engine.KindQuery, `
Returns Homebrew's prefix, `+"`"+brewPrefix+"`"+` on Apple Silicon, when `+"`"+brewBin+"`"+`
exists, else None. Reads the path with the batched files.stat call (no brew
command, so it works before the owner is known).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					st, err := statPaths(c.ctx(), c.s, brewBin)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st[brewBin].Exists {
						return starlark.None, nil
					}
					return starlark.String(brewPrefix), nil
				}),
			newBuiltin(m, "taps", "", engine.KindQuery, `
Runs `+"`"+brewBin+" tap`"+` as the Homebrew owner and returns the list of taps
(empty when Homebrew is absent).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					st, err := brewFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !st.Present {
						return stringList(nil), nil
					}
					o, err := owner(c)
					if err != nil {
						return nil, err
					}
					taps, err := cached(c.s, "brew.taps", func(ctx context.Context, h host.Host) ([]string, error) { return brewTaps(ctx, h, o) })
					if err != nil {
						return nil, c.hostError(err)
					}
					return stringList(taps), nil
				}),
			newBuiltin(m, "validate_names", "fn, formulae, casks=[]", engine.KindUtil, `
Checks formula and cask names while the recipe is evaluated: each must
be a name Homebrew accepts (lower-case letters, digits and @ . _ + -,
optionally after TAP/) and must not start with a dash. Each problem is
reported at the recipe line, naming FN (the stdlib function), with the
fix, and all of them at once; returns True when there is none.`, validateBrewNames),
			newBuiltin(m, "install", "formulae", engine.KindAction, `
Returns the action `+"`"+brewBin+" install --formula NAME...`"+` run as the Homebrew
owner (FORMULAE is a name or a list of names, tap-qualified names allowed),
judged by `+"`brew list --formula --versions`"+` listing every one afterwards.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var v starlark.Value
					if err := c.unpack(args, kwargs, "formulae", &v); err != nil {
						return nil, err
					}
					var names []string
					if s, ok := starlark.AsString(v); ok {
						names = []string{s}
					} else {
						var err error
						if names, err = stringsOf(v, "formulae"); err != nil {
							return nil, c.wrap(err)
						}
					}
					if len(names) == 0 {
						return nil, c.argError("no formula given")
					}
					for _, n := range names {
						if err := checkFormula(n); err != nil {
							return nil, c.wrap(err)
						}
					}
					o, err := owner(c)
					if err != nil {
						return nil, err
					}
					cmd := brewInstallCmd(o, append([]string{"install", "--formula"}, names...)...)
					return confirmedAction(cmd, engine.ExitZero, listed(o, []string{"list", "--formula", "--versions"}, names)), nil
				}),
			newBuiltin(m, "install_cask", "name", engine.KindAction, `
Returns the action `+"`"+brewBin+" install --cask NAME`"+` run as the Homebrew owner,
judged by `+"`brew list --cask --versions`"+` listing it afterwards.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					name, o, err := nameAndOwner(c, args, kwargs, "name", checkCask)
					if err != nil {
						return nil, err
					}
					cmd := brewInstallCmd(o, "install", "--cask", name)
					return confirmedAction(cmd, engine.ExitZero, listed(o, []string{"list", "--cask", "--versions"}, []string{name})), nil
				}),
			newBuiltin(m, "tap", "name", engine.KindAction, `
Returns the action `+"`"+brewBin+" tap USER/REPO`"+` run as the Homebrew owner,
judged by `+"`brew tap`"+` listing it afterwards. The tap must be one the recipe
declares with `+"`declare(\"brew\", taps = [...])`"+`, and its clone
(PREFIX/Library/Taps/USER/homebrew-REPO) must be under allow_writes.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					name, o, err := nameAndOwner(c, args, kwargs, "name", checkTap)
					if err != nil {
						return nil, err
					}
					if !declaredTap(c.s, name) {
						return nil, c.argError("tap %s is not in the recipe's declared taps: declare(\"brew\", taps = [\"%s\", ...]) names every tap it may add (a tap is code Homebrew runs)", name, name)
					}
					user, repo, _ := strings.Cut(strings.ToLower(name), "/")
					a := confirmedAction(brewCmd(o, "tap", name), engine.ExitZero, func(ctx context.Context, h host.Host, _ host.Result) error {
						taps, err := brewTaps(ctx, h, o)
						if err != nil {
							return err
						}
						for _, t := range taps {
							if strings.EqualFold(t, name) {
								return nil
							}
						}
						return fmt.Errorf("tap %s not listed by brew tap: %w", name, engine.ErrNotConfirmed)
					})
					// Its footprint: the tap's clone under the prefix.
					a.Writes = []string{brewPrefix + "/Library/Taps/" + user + "/homebrew-" + strings.TrimPrefix(repo, "homebrew-")}
					return a, nil
				}),
			newBuiltin(m, "trust", "formula", engine.KindAction, `
Returns the action `+"`"+brewBin+" trust --formula TAP/FORMULA`"+` run as the Homebrew
owner (trust is stored per user, so the installing owner must trust),
judged by its `+"`Trusted formula:`"+` or `+"`Already trusted formula:`"+` line.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					name, o, err := nameAndOwner(c, args, kwargs, "formula", checkTapFormula)
					if err != nil {
						return nil, err
					}
					return confirmedAction(brewCmd(o, "trust", "--formula", name), engine.ExitZero, func(_ context.Context, _ host.Host, res host.Result) error {
						if strings.Contains(strings.ToLower(res.Stdout+res.Stderr), "trusted formula") {
							return nil
						}
						return fmt.Errorf("brew trust did not confirm %s: %w", name, engine.ErrNotConfirmed)
					}), nil
				}),
		},
	}
}

// validateBrewNames implements brew.validate_names: each formula or cask
// name that Homebrew would refuse (or that could be read as an option) is
// recorded at the recipe line.
func validateBrewNames(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var fn string
	var formulae, casks *starlark.List
	if err := c.unpack(args, kwargs, "fn", &fn, "formulae", &formulae, "casks?", &casks); err != nil {
		return nil, err
	}
	pos := c.t.CallFrame(c.t.CallStackDepth() - 1).Pos
	ok := true
	check := func(kind string, l *starlark.List, valid func(string) error) {
		if l == nil {
			return
		}
		for i := 0; i < l.Len(); i++ {
			name, isStr := starlark.AsString(l.Index(i))
			if !isStr {
				c.s.Errorf(pos, "%s: %s: want names (strings), got %s", fn, kind, l.Index(i).Type())
				ok = false
				continue
			}
			if err := valid(name); err != nil {
				c.s.Errorf(pos, "%s: %s %q is not a Homebrew name: names are lower-case letters, digits and @ . _ + - (e.g. python@3.13), optionally after TAP/ (e.g. messense/macos-cross-toolchains/aarch64-unknown-linux-gnu); find the right one with `brew search`", fn, strings.TrimSuffix(kind, "e"), name)
				ok = false
			}
		}
	}
	check("formulae", formulae, checkFormula)
	check("casks", casks, checkCask)
	if !ok {
		c.s.NoteRefusal()
	}
	return starlark.Bool(ok), nil
}

// declaredTap reports whether the recipe declared name among its taps
// (declare("brew", taps = [...])), compared case-insensitively as
// Homebrew compares tap names.
func declaredTap(s *engine.Session, name string) bool {
	for _, d := range s.Declarations("brew") {
		v, found, _ := d.Fields.Get(starlark.String("taps"))
		if !found {
			continue
		}
		taps, err := stringsOf(v, "taps")
		if err != nil {
			continue
		}
		for _, t := range taps {
			if strings.EqualFold(t, name) {
				return true
			}
		}
	}
	return false
}
