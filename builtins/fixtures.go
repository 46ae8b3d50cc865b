package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/fixturelock"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// treeCheck is the cached outcome of one fixture-tree verification.
type treeCheck struct {
	report fixturelock.Report
	// unknown, when set, is why the tree could not be compared.
	unknown string
}

// verifyTree runs the host's TreeVerifier capability on dir and manifest
// and records it in the transcript as `<verify-tree> DIR MANIFEST` (exit
// 0 matched, 1 differences, 2 could not verify).
func verifyTree(s *engine.Session, dir, manifest string) (treeCheck, error) {
	key := "fixtures:" + dir + "\x00" + manifest
	return cached(s, key, func(ctx context.Context, _ host.Host) (treeCheck, error) {
		rec := s.Recorder()
		v, ok := rec.Inner().(fixturelock.TreeVerifier)
		if !ok {
			return treeCheck{unknown: fmt.Sprintf("the %s host cannot verify a fixture tree; run `hvfctl fixtures verify %s` on the Mac", rec.Name(), dir)}, nil
		}
		argv := []string{fixturelock.OpVerifyTree, dir, manifest}
		rep, err := v.VerifyTree(ctx, dir, manifest, s.CheckQueryRead)
		switch {
		case err == nil:
			exit := 0
			if !rep.OK() {
				exit = 1
			}
			rec.Note(argv, host.Root, exit)
			return treeCheck{report: rep}, nil
		case errors.Is(err, fs.ErrNotExist):
			// No tree or no manifest yet: nothing to compare, which is not
			// a pass either.
			rec.Note(argv, host.Root, 2)
			return treeCheck{unknown: rec.Redactor().Scrub(err.Error())}, nil
		default:
			rec.Note(argv, host.Root, 2)
			return treeCheck{}, fmt.Errorf("verify fixtures %s: %w", dir, err)
		}
	})
}

// treeValue renders a report for recipes, paths in the manifest's escaped
// form so that any name prints on one line.
func treeValue(rep fixturelock.Report) starlark.Value {
	reasons := starlark.NewDict(len(rep.Changed))
	changed := make([]string, len(rep.Changed))
	for i, ch := range rep.Changed {
		changed[i] = fixturelock.Escape(ch.Path)
		_ = reasons.SetKey(starlark.String(changed[i]), starlark.String(ch.Reason))
	}
	esc := func(ps []string) *starlark.List {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = fixturelock.Escape(p)
		}
		return stringList(out)
	}
	return mkstruct(map[string]starlark.Value{
		"ok":      starlark.Bool(rep.OK()),
		"missing": esc(rep.Missing),
		"extra":   esc(rep.Extra),
		"changed": stringList(changed),
		"reasons": reasons,
		"files":   starlark.MakeInt(rep.Files),
		"links":   starlark.MakeInt(rep.Links),
		"bytes":   starlark.MakeInt64(rep.Bytes),
	})
}

func fixturesModule() engine.Module {
	return engine.Module{
		Name: "fixtures",
		Doc:  "The elfuse test-fixture cache, verified against its `hvfctl fixtures lock` manifest.",
		Builtins: []engine.Builtin{
			newBuiltin("fixtures", "verify", "dir, manifest=None", engine.KindQuery, `
Verifies the fixture tree DIR against the manifest MANIFEST (default
`+"`DIR/"+fixturelock.DefaultName+"`"+`; left out of the tree when inside it), as
`+"`hvfctl fixtures verify`"+` does: every regular file by size and SHA-256,
every symbolic link by its target (never followed). Runs in-process on the
host as root and is recorded as `+"`<verify-tree> DIR MANIFEST`"+`.

Returns struct(ok, missing, extra, changed, reasons, files, links, bytes):
`+"`ok`"+` is True when the tree matches exactly; `+"`missing`"+`, `+"`extra`"+` and
`+"`changed`"+` list paths (escaped as in the manifest); `+"`reasons`"+` maps each
changed path to what differs. Returns unknown(...) when the host cannot
verify trees or the tree or manifest does not exist yet. A malformed
manifest or an unreadable file fails the check.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var dir string
					var manifest starlark.Value = starlark.None
					if err := c.unpack(args, kwargs, "dir", &dir, "manifest?", &manifest); err != nil {
						return nil, err
					}
					if err := c.checkPaths("dir", dir); err != nil {
						return nil, err
					}
					man := fixturelock.DefaultManifest(dir)
					if manifest != starlark.None {
						s, ok := starlark.AsString(manifest)
						if !ok {
							return nil, c.argError("manifest must be a string or None, not %s", manifest.Type())
						}
						if err := c.checkPaths("manifest", s); err != nil {
							return nil, err
						}
						man = s
					}
					// The tree and the manifest are read as root: DIR and
					// MANIFEST follow files.read's rules, and so does every
					// entry of the tree (a digest, a size or a match of a
					// secret file is a read of it).
					for _, p := range []string{dir, man} {
						if err := c.s.CheckQueryRead(p); err != nil {
							return nil, c.wrap(err)
						}
					}
					tc, err := verifyTree(c.s, dir, man)
					if err != nil {
						return nil, c.hostError(err)
					}
					if tc.unknown != "" {
						return unknown("%s", tc.unknown), nil
					}
					return treeValue(tc.report), nil
				}),
		},
	}
}
