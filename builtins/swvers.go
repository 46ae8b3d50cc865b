package builtins

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// swVersArgv is the argv of the os fact family.
var swVersArgv = []string{"/usr/bin/sw_vers"}

// SwVers is what sw_vers reports.
type SwVers struct {
	// ProductName, ProductVersion and BuildVersion are the lines of the
	// same names ("macOS", "15.6", "24G84").
	ProductName    string
	ProductVersion string
	BuildVersion   string
	// Fields holds every `Key: value` line, including ProductVersionExtra.
	Fields map[string]string
}

// ParseSwVers parses sw_vers output: `Key:<padding>value` lines, split on
// the first colon and trimmed because the padding varies by release.
func ParseSwVers(out string) (SwVers, error) {
	v := SwVers{Fields: map[string]string{}}
	for _, ln := range lines(out) {
		k, val, ok := strings.Cut(ln, ":")
		if !ok {
			continue
		}
		v.Fields[strings.TrimSpace(k)] = strings.TrimSpace(val)
	}
	v.ProductName = v.Fields["ProductName"]
	v.ProductVersion = v.Fields["ProductVersion"]
	v.BuildVersion = v.Fields["BuildVersion"]
	if v.ProductVersion == "" {
		return v, fmt.Errorf("sw_vers: no ProductVersion in output")
	}
	return v, nil
}

func gatherSwVers(ctx context.Context, h host.Host) (SwVers, error) {
	res, err := run(ctx, h, "", swVersArgv...)
	if err != nil {
		return SwVers{}, err
	}
	if res.Exit != 0 {
		return SwVers{}, exitError("sw_vers", res)
	}
	return ParseSwVers(res.Stdout)
}

func swVersFact(s *engine.Session) (SwVers, error) { return cached(s, "os", gatherSwVers) }

func swVersModule() engine.Module {
	return engine.Module{
		Name: "sw_vers",
		Doc:  "The macOS version (`sw_vers`).",
		Builtins: []engine.Builtin{
			newBuiltin("sw_vers", "get", "", engine.KindQuery, `
Runs `+"`/usr/bin/sw_vers`"+` (as root; no privilege needed) once per run and
returns `+"`struct(product_name, product_version, build_version)`"+`
(strings). Fails when the output has no ProductVersion.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					v, err := swVersFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					return mkstruct(map[string]starlark.Value{
						"product_name":    starlark.String(v.ProductName),
						"product_version": starlark.String(v.ProductVersion),
						"build_version":   starlark.String(v.BuildVersion),
					}), nil
				}),
		},
	}
}
