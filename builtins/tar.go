package builtins

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// TarEntry is one line of `tar -tvzf` (bsdtar `ls -l` style).
type TarEntry struct {
	Type     byte   // first mode character: '-', 'd', 'l', 'h' (hard link) …
	Name     string // as stored
	Linkname string // symlink target or hard-link source
}

// ParseTarList parses bsdtar's verbose listing: mode, link count, owner,
// group, size, a three-token date, then the name; symlinks end in
// `NAME -> TARGET`, hard links in `NAME link to TARGET`. Names may contain
// spaces, so the name is the rest of the line after the ninth field.
func ParseTarList(out string) ([]TarEntry, error) {
	var es []TarEntry
	for i, ln := range lines(out) {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		rest := ln
		var f []string
		for len(f) < 8 {
			rest = strings.TrimLeft(rest, " ")
			j := strings.IndexByte(rest, ' ')
			if j < 0 {
				return nil, fmt.Errorf("tar listing line %d: too few fields: %q", i+1, ln)
			}
			f = append(f, rest[:j])
			rest = rest[j:]
		}
		if len(f[0]) != 10 {
			return nil, fmt.Errorf("tar listing line %d: bad mode %q", i+1, f[0])
		}
		name := strings.TrimPrefix(rest, " ")
		e := TarEntry{Type: f[0][0], Name: name}
		switch {
		case e.Type == 'l':
			n, t, ok := strings.Cut(name, " -> ")
			if !ok {
				return nil, fmt.Errorf("tar listing line %d: symlink without target: %q", i+1, ln)
			}
			e.Name, e.Linkname = n, t
		case strings.Contains(name, " link to "):
			n, t, _ := strings.Cut(name, " link to ")
			e.Type, e.Name, e.Linkname = 'h', n, t
		}
		if e.Name == "" {
			return nil, fmt.Errorf("tar listing line %d: empty name", i+1)
		}
		es = append(es, e)
	}
	return es, nil
}

// CheckTarEntries refuses entries that would land outside dest: absolute
// names, `..` components, and links whose target resolves outside dest.
func CheckTarEntries(dest string, es []TarEntry) error {
	inside := func(p string) bool {
		return p == dest || strings.HasPrefix(p, strings.TrimSuffix(dest, "/")+"/")
	}
	for _, e := range es {
		if strings.HasPrefix(e.Name, "/") {
			return fmt.Errorf("archive entry %q is an absolute path", e.Name)
		}
		for _, part := range strings.Split(e.Name, "/") {
			if part == ".." {
				//lint:ignore ST1005 the message ends with the path component "..", not with punctuation.
				return fmt.Errorf("archive entry %q contains ..", e.Name)
			}
		}
		full := path.Join(dest, e.Name)
		if !inside(full) {
			return fmt.Errorf("archive entry %q leaves %s", e.Name, dest)
		}
		switch e.Type {
		case 'l':
			var target string
			if strings.HasPrefix(e.Linkname, "/") {
				target = path.Clean(e.Linkname)
			} else {
				target = path.Join(path.Dir(full), e.Linkname)
			}
			if !inside(target) {
				return fmt.Errorf("archive symlink %q -> %q points outside %s", e.Name, e.Linkname, dest)
			}
		case 'h':
			if strings.HasPrefix(e.Linkname, "/") || !inside(path.Join(dest, e.Linkname)) {
				return fmt.Errorf("archive hard link %q -> %q points outside %s", e.Name, e.Linkname, dest)
			}
		}
	}
	return nil
}

func tarExtractAction(archive, dest, user string) *engine.Action {
	list := host.Command{Argv: []string{"/usr/bin/tar", "-tvzf", archive}, User: user, Timeout: 10 * time.Minute}
	extract := host.Command{Argv: []string{"/usr/bin/tar", "-xzf", archive, "-C", dest}, User: user, Timeout: 30 * time.Minute}
	return &engine.Action{
		Argv:   extract.Argv,
		User:   user,
		Writes: []string{dest},
		Run: func(ctx context.Context, s *engine.Session) error {
			res, err := runStep(ctx, s, list, engine.ExitZero)
			if err != nil {
				return err
			}
			es, err := ParseTarList(res.Stdout)
			if err != nil {
				return judgeError(list, res, err)
			}
			if len(es) == 0 {
				return judgeError(list, res, fmt.Errorf("archive %s lists no entries", archive))
			}
			if err := CheckTarEntries(dest, es); err != nil {
				return judgeError(list, res, fmt.Errorf("refusing to extract: %w", err))
			}
			_, err = runStep(ctx, s, extract, engine.ExitZero)
			return err
		},
	}
}

func tarModule() engine.Module {
	return engine.Module{
		Name: "tar",
		Doc:  "Archive extraction that cannot escape its directory (`tar`, bsdtar).",
		Builtins: []engine.Builtin{
			newBuiltin("tar", "extract", "archive, dest, user", engine.KindAction, `
Returns one action, run as USER (the account that owns DEST, or root): it
lists the archive with `+"`/usr/bin/tar -tvzf ARCHIVE`"+`, refuses it if any entry
is absolute, contains `+"`..`"+` or is a link pointing outside DEST, and only
then runs `+"`/usr/bin/tar -xzf ARCHIVE -C DEST`"+`. DEST must exist and be
under allow_writes; verify ARCHIVE's SHA-256 first (download.fetch does).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var archive, dest, user string
					if err := c.unpack(args, kwargs, "archive", &archive, "dest", &dest, "user", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("archive", archive, "dest", dest); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					return tarExtractAction(archive, dest, user), nil
				}),
		},
	}
}
