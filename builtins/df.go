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

// dataVolume is the APFS data volume whose free space counts.
const dataVolume = "/System/Volumes/Data"

var capacityPat = regexp.MustCompile(`^[0-9]+%$`)

// ParseDf returns the available bytes reported by `df -k PATH`.
// Filesystem and mount-point fields can contain spaces, so the parser
// anchors on the numeric columns: the first `N%` capacity token preceded
// by three integers (blocks, used, available, in KiB).
func ParseDf(out string) (int64, error) {
	for _, ln := range lines(out) {
		f := strings.Fields(ln)
		for i := 3; i < len(f); i++ {
			if !capacityPat.MatchString(f[i]) {
				continue
			}
			var nums [3]int64
			ok := true
			for j := 0; j < 3; j++ {
				n, err := strconv.ParseInt(f[i-3+j], 10, 64)
				if err != nil || n < 0 {
					ok = false
					break
				}
				nums[j] = n
			}
			if !ok {
				continue
			}
			if nums[2] > (1<<63-1)/1024 {
				return 0, fmt.Errorf("df: available %d KiB overflows", nums[2])
			}
			return nums[2] * 1024, nil
		}
	}
	return 0, fmt.Errorf("df: no line with blocks, used, available and capacity columns")
}

func gatherDf(p string) func(ctx context.Context, h host.Host) (int64, error) {
	return func(ctx context.Context, h host.Host) (int64, error) {
		res, err := runPaths(ctx, h, "", []string{p}, "/bin/df", "-k", p)
		if err != nil {
			return 0, err
		}
		if res.Exit != 0 {
			return 0, exitError("df -k "+p, res)
		}
		return ParseDf(res.Stdout)
	}
}

func dfFact(s *engine.Session, p string) (int64, error) { return cached(s, "disk:"+p, gatherDf(p)) }

func dfModule() engine.Module {
	return engine.Module{
		Name: "df",
		Doc:  "Free disk space (`df -k`).",
		Builtins: []engine.Builtin{
			newBuiltin("df", "free_bytes", `path="/System/Volumes/Data"`, engine.KindQuery, `
Runs `+"`/bin/df -k PATH`"+` (no privilege needed) and returns the available
space in bytes as an int (the Available column, in KiB, times 1024). Query
the data volume or the runner root: `+"`/`"+` is a sealed snapshot.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p := dataVolume
					if err := c.unpack(args, kwargs, "path?", &p); err != nil {
						return nil, err
					}
					if err := checkPath("path", p); err != nil {
						return nil, c.wrap(err)
					}
					n, err := dfFact(c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					return starlark.MakeInt64(n), nil
				}),
		},
	}
}
