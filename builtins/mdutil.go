package builtins

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// ParseMdutil classifies `mdutil -s PATH` output: each volume prints
// `VOLUME:` then a TAB-indented status line (maybe with a trailing
// space). "enabled" for `Indexing enabled.`, "disabled" for any line
// mentioning "disabled" (case-insensitive; the wording varies and may give
// a reason, and `Spotlight server is disabled.` counts too), else "". When
// several volumes print, the block for path wins.
func ParseMdutil(out, path string) string {
	state := ""
	inPath := false
	sawPath := false
	for _, ln := range lines(out) {
		t := strings.TrimSpace(ln)
		if !strings.HasPrefix(ln, "\t") && !strings.HasPrefix(ln, " ") && strings.HasSuffix(t, ":") {
			inPath = strings.TrimSuffix(t, ":") == path
			if inPath {
				sawPath = true
				state = ""
			}
			continue
		}
		if sawPath && !inPath {
			continue
		}
		low := strings.ToLower(t)
		switch {
		case strings.Contains(low, "disabled"):
			state = "disabled"
		case strings.Contains(low, "indexing enabled"):
			if state == "" {
				state = "enabled"
			}
		}
	}
	return state
}

type mdutilState struct {
	State  string
	Detail string
}

func gatherMdutil(p string) func(ctx context.Context, h host.Host) (mdutilState, error) {
	return func(ctx context.Context, h host.Host) (mdutilState, error) {
		res, err := runPaths(ctx, h, "", []string{p}, "/usr/bin/mdutil", "-s", p)
		if err != nil {
			return mdutilState{}, err
		}
		// mdutil -s reports every state with exit 0; another status is a
		// failure of the query, never a state.
		if res.Exit != 0 {
			return mdutilState{}, exitError("mdutil -s "+p, res)
		}
		return mdutilState{State: ParseMdutil(res.Stdout+"\n"+res.Stderr, p), Detail: engine.Tail(res.Stdout+"\n"+res.Stderr, 2)}, nil
	}
}

func mdutilFact(s *engine.Session, p string) (mdutilState, error) {
	return cached(s, "spotlight:"+p, gatherMdutil(p))
}

func mdutilModule() engine.Module {
	return engine.Module{
		Name: "mdutil",
		Doc:  "Spotlight indexing (`mdutil`).",
		Builtins: []engine.Builtin{
			newBuiltin("mdutil", "status", "path", engine.KindQuery, `
Runs `+"`/usr/bin/mdutil -s PATH`"+` and returns "enabled", "disabled" (any
wording that says disabled), or unknown when its output (exit 0) says
neither. A non-zero exit fails the query with the command's status and
stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					st, err := mdutilFact(c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					if st.State == "" {
						return unknown("mdutil -s %s printed %q", p, st.Detail), nil
					}
					return starlark.String(st.State), nil
				}),
			newBuiltin("mdutil", "disable", "path", engine.KindAction, `
Returns the action `+"`/usr/bin/mdutil -i off PATH`"+`, run as root, judged by
re-reading `+"`mdutil -s PATH`"+` (it must say disabled).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					cmd := host.Command{Argv: []string{"/usr/bin/mdutil", "-i", "off", p}, User: host.Root, Paths: []string{p}}
					return confirmedAction(cmd, engine.ExitZero, func(ctx context.Context, h host.Host, _ host.Result) error {
						st, err := gatherMdutil(p)(ctx, h)
						if err != nil {
							return err
						}
						if st.State != "disabled" {
							return fmt.Errorf("indexing of %s still %q: %w", p, st.Detail, engine.ErrNotConfirmed)
						}
						return nil
					}), nil
				}),
		},
	}
}
