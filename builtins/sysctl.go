package builtins

import (
	"context"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// sysctlNames are the names read by the sysctl fact family, in argv order.
var sysctlNames = []string{"hw.machine", "hw.model", "machdep.cpu.brand_string", "kern.hv_support", "kern.hv_vmm_present", "kern.maxfilesperproc"}

func sysctlArgv() []string { return append([]string{"/usr/sbin/sysctl"}, sysctlNames...) }

// ParseSysctl parses `NAME: value` lines. Lines without a colon are
// ignored; values are trimmed.
func ParseSysctl(out string) map[string]string {
	m := map[string]string{}
	for _, ln := range lines(out) {
		k, v, ok := strings.Cut(ln, ":")
		if !ok || strings.TrimSpace(k) == "" || strings.ContainsAny(strings.TrimSpace(k), " \t") {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

func gatherSysctl(ctx context.Context, h host.Host) (map[string]string, error) {
	res, err := run(ctx, h, "", sysctlArgv()...)
	if err != nil {
		return nil, err
	}
	m := ParseSysctl(res.Stdout)
	// An unknown name makes sysctl exit non-zero while the known names
	// still print: keep what was printed.
	if len(m) == 0 && res.Exit != 0 {
		return nil, exitError("sysctl", res)
	}
	return m, nil
}

func sysctlFact(s *engine.Session) (map[string]string, error) {
	return cached(s, "sysctl", gatherSysctl)
}

func sysctlModule() engine.Module {
	return engine.Module{
		Name: "sysctl",
		Doc:  "Kernel and hardware identification (`sysctl`).",
		Builtins: []engine.Builtin{
			newBuiltin("sysctl", "get", "", engine.KindQuery, `
Runs `+"`/usr/sbin/sysctl hw.machine hw.model machdep.cpu.brand_string kern.hv_support kern.hv_vmm_present kern.maxfilesperproc`"+`
(one call per run, no privilege needed) and returns a dict of those names
to their values as strings. Names the kernel does not know are missing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					m, err := sysctlFact(c.s)
					if err != nil {
						return nil, c.hostError(err)
					}
					d := starlark.NewDict(len(m))
					for _, k := range sysctlNames {
						if v, ok := m[k]; ok {
							_ = d.SetKey(starlark.String(k), starlark.String(v))
						}
					}
					return d, nil
				}),
		},
	}
}
