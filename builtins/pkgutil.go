package builtins

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// Receipt is a package receipt as `pkgutil --pkg-info` prints it.
type Receipt struct {
	// PackageID, Version, Volume and Location are the lines of the same
	// names (package-id, version, volume, location).
	PackageID   string
	Version     string
	Volume      string
	Location    string
	InstallTime int64 // epoch seconds
}

// ParseReceipt parses `pkgutil --pkg-info ID` (`key: value` lines:
// package-id, version, volume, location, install-time, optional groups).
// ok is false when there is no package-id line.
func ParseReceipt(out string) (Receipt, bool) {
	var r Receipt
	for _, ln := range lines(out) {
		k, v, found := strings.Cut(ln, ":")
		if !found {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.TrimSpace(k) {
		case "package-id":
			r.PackageID = v
		case "version":
			r.Version = v
		case "volume":
			r.Volume = v
		case "location":
			r.Location = v
		case "install-time":
			r.InstallTime, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	return r, r.PackageID != ""
}

// receiptState is a cached receipt reading; Found is false for
// `No receipt for 'ID' found at '/'.`.
type receiptState struct {
	Receipt Receipt
	Found   bool
}

// gatherReceipt reads the receipt of id with pkgutil --pkg-info.
func gatherReceipt(id string) func(ctx context.Context, h host.Host) (receiptState, error) {
	return func(ctx context.Context, h host.Host) (receiptState, error) {
		res, err := run(ctx, h, "", "/usr/sbin/pkgutil", "--pkg-info", id)
		if err != nil {
			return receiptState{}, err
		}
		if res.Exit != 0 {
			// The documented answer for a missing receipt: exit 1 and
			// `No receipt for 'ID' found at '/'.`
			if res.Exit == 1 && strings.Contains(res.Stderr+res.Stdout, "No receipt for '"+id+"'") {
				return receiptState{}, nil
			}
			return receiptState{}, exitError("pkgutil --pkg-info "+id, res)
		}
		r, ok := ParseReceipt(res.Stdout)
		if !ok {
			return receiptState{}, fmt.Errorf("pkgutil --pkg-info %s: no package-id in output", id)
		}
		return receiptState{Receipt: r, Found: true}, nil
	}
}

// receiptPresent re-reads the receipt id after an install (what): an
// error wrapping engine.ErrNotConfirmed when there is none.
func receiptPresent(ctx context.Context, h host.Host, id, what string) error {
	r, err := gatherReceipt(id)(ctx, h)
	if err != nil {
		return err
	}
	if !r.Found {
		return fmt.Errorf("no receipt %s after %s: %w", id, what, engine.ErrNotConfirmed)
	}
	return nil
}

// receiptFact is the receipt of id, read once per run.
func receiptFact(s *engine.Session, id string) (receiptState, error) {
	return cached(s, "receipt:"+id, gatherReceipt(id))
}

func pkgutilModule() engine.Module {
	return engine.Module{
		Name: "pkgutil",
		Doc:  "Package receipts (`pkgutil --pkg-info`).",
		Builtins: []engine.Builtin{
			newBuiltin("pkgutil", "receipt", "id", engine.KindQuery, `
Runs `+"`/usr/sbin/pkgutil --pkg-info ID`"+` and returns
`+"`struct(package_id, version, volume, location, install_time)`"+` (install_time in
epoch seconds), or None when there is no receipt.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					id, err := c.stringArg(args, kwargs, "id", checkPkgID)
					if err != nil {
						return nil, err
					}
					r, err := receiptFact(c.s, id)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !r.Found {
						return starlark.None, nil
					}
					return mkstruct(map[string]starlark.Value{
						"package_id": starlark.String(r.Receipt.PackageID), "version": starlark.String(r.Receipt.Version),
						"volume": starlark.String(r.Receipt.Volume), "location": starlark.String(r.Receipt.Location),
						"install_time": starlark.MakeInt64(r.Receipt.InstallTime),
					}), nil
				}),
			newBuiltin("pkgutil", "forget", "id", engine.KindAction, `
Returns the action `+"`/usr/sbin/pkgutil --forget ID`"+`, run as root: deletes the
receipt of package ID (not its files; remove those first). Judged by
`+"`pkgutil --pkg-info ID`"+` finding no receipt afterwards.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					id, err := c.stringArg(args, kwargs, "id", checkPkgID)
					if err != nil {
						return nil, err
					}
					cmd := host.Command{Argv: []string{"/usr/sbin/pkgutil", "--forget", id}, User: host.Root}
					a := confirmedAction(cmd, nil, func(ctx context.Context, h host.Host, _ host.Result) error {
						r, err := gatherReceipt(id)(ctx, h)
						if err != nil {
							return err
						}
						if r.Found {
							return fmt.Errorf("the receipt of %s is still there: %w", id, engine.ErrNotConfirmed)
						}
						return nil
					})
					a.Destroys = "receipt " + id
					return a, nil
				}),
		},
	}
}
