package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// FileStat is one path as lstat(2) describes it (a final symlink is
// never followed), in the words of files.stat.
type FileStat struct {
	Path   string
	Exists bool
	// Type is file, dir, symlink, fifo_file, character_device,
	// block_device or socket (the lower-cased names of `stat -f %HT`).
	Type   string
	Mode   int // permission and special bits
	Owner  string
	Group  string
	Size   int64
	Links  int    // st_nlink: a regular file with more than one is another file's alias too
	Target string // symlink target, else ""
}

// statOf converts what the host's Inspector says about p.
func statOf(p string, fi host.FileInfo) FileStat {
	st := FileStat{Path: p, Exists: true, Type: statType(fi.Type), Mode: int(fi.Mode & 0o7777), Owner: fi.Owner, Group: fi.Group, Size: fi.Size, Links: fi.Nlink}
	if fi.Type == host.TypeSymlink {
		st.Target = fi.Target
	}
	return st
}

// statError names a failed batched stat by its first paths.
func statError(paths []string, err error) error { return queryError(host.OpStat, paths, err) }

// queryError names a batched in-process query (op) that failed as a
// whole with its first paths.
func queryError(op string, paths []string, err error) error {
	shown, more := paths, ""
	if len(paths) > 3 {
		shown, more = paths[:3], fmt.Sprintf(" and %d more paths", len(paths)-3)
	}
	return fmt.Errorf("%s %s%s: %w", op, strings.Join(shown, " "), more, err)
}

// answerOf is the FileStat of one answer of a batched stat: a missing
// path (or one below a non-directory) does not exist, as stat(1) says;
// any other failure (a symlink root did not make on the way) is an error.
func answerOf(st host.PathStat) (FileStat, error) {
	switch {
	case st.Err == nil:
		return statOf(st.Path, st.Info), nil
	case errors.Is(st.Err, fs.ErrNotExist), errors.Is(st.Err, syscall.ENOTDIR):
		return FileStat{Path: st.Path}, nil
	}
	return FileStat{}, st.Err
}

// statType names a host.FileInfo type as files.stat always has: stat's
// %HT lower-cased with underscores for the special files.
func statType(t string) string {
	switch t {
	case host.TypeFIFO:
		return "fifo_file"
	case host.TypeChar:
		return "character_device"
	case host.TypeBlock:
		return "block_device"
	}
	return t
}

// filesState batches the stat and ACL queries of a run: the first stat or
// acl query reads, in one call, every path it is asked for plus every
// registered path not yet read. It lives in the session's fact cache, so
// the readings are forgotten with the other facts after an action runs;
// the registered paths (prefetchSet) are kept for the whole run.
type filesState struct {
	mu       sync.Mutex
	pending  *prefetchSet
	stats    map[string]FileStat
	statErrs map[string]error
	acls     map[string][]string
	aclErrs  map[string]error
	aclsDone map[string]bool
}

// prefetchSet is the set of paths files.prefetch registered, kept for
// the whole run (engine.Session.Keep), so that a recipe registers its
// paths once, while it is evaluated, and every re-check after an action
// reads them all with one call again.
type prefetchSet struct {
	mu    sync.Mutex
	paths map[string]bool
}

func prefetchOf(s *engine.Session) *prefetchSet {
	v := s.Keep("files.prefetch", func() any { return &prefetchSet{paths: map[string]bool{}} })
	return v.(*prefetchSet)
}

func (ps *prefetchSet) add(paths ...string) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range paths {
		ps.paths[p] = true
	}
}

func (ps *prefetchSet) list() []string {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return sortedKeys(ps.paths)
}

func filesOf(s *engine.Session) (*filesState, error) {
	pending := prefetchOf(s)
	return cached(s, "files", func(context.Context, host.Host) (*filesState, error) {
		return &filesState{pending: pending, stats: map[string]FileStat{}, statErrs: map[string]error{}, acls: map[string][]string{}, aclErrs: map[string]error{}, aclsDone: map[string]bool{}}, nil
	})
}

// batch returns the sorted set of want plus every registered path not yet
// done.
func (fs *filesState) batch(want []string, done func(string) bool) []string {
	set := map[string]bool{}
	for _, p := range want {
		if !done(p) {
			set[p] = true
		}
	}
	if len(set) == 0 {
		return nil
	}
	for _, p := range fs.pending.list() {
		if !done(p) {
			set[p] = true
		}
	}
	return sortedKeys(set)
}

// statPaths returns the stat of every path, with at most one batched
// stat (`<stat> PATH...`, in-process through the host's
// host.FileQuerier) for all the paths (and pending prefetches) not yet
// read.
func statPaths(ctx context.Context, s *engine.Session, paths ...string) (map[string]FileStat, error) {
	fst, err := filesOf(s)
	if err != nil {
		return nil, err
	}
	fst.mu.Lock()
	defer fst.mu.Unlock()
	if err := fst.statLocked(ctx, s, paths); err != nil {
		return nil, err
	}
	out := map[string]FileStat{}
	for _, p := range paths {
		if e, ok := fst.statErrs[p]; ok {
			return nil, e
		}
		out[p] = fst.stats[p]
	}
	return out, nil
}

// statLocked reads, with fst.mu held, every path of paths and of the
// pending prefetches not read yet, in one batched stat. A missing path
// (or one below a non-directory) is a FileStat without Exists; a path
// the host would not look at (through a symlink root did not make) keeps
// its error, which names the link.
func (fst *filesState) statLocked(ctx context.Context, s *engine.Session, paths []string) error {
	pending := fst.batch(paths, func(p string) bool {
		_, ok := fst.stats[p]
		_, bad := fst.statErrs[p]
		return ok || bad
	})
	if len(pending) == 0 {
		return nil
	}
	q, ok := host.FileQuerierOf(s.Host())
	if !ok {
		return fmt.Errorf("stat: the %s host cannot answer file queries", s.Host().Name())
	}
	sts, err := q.StatPaths(ctx, pending)
	if err != nil {
		return statError(pending, err)
	}
	for _, st := range sts {
		if a, err := answerOf(st); err != nil {
			fst.statErrs[st.Path] = err
		} else {
			fst.stats[st.Path] = a
		}
	}
	for _, p := range pending {
		_, ok := fst.stats[p]
		_, bad := fst.statErrs[p]
		if !ok && !bad {
			fst.statErrs[p] = fmt.Errorf("stat %s: the host gave no answer for this path", p)
		}
	}
	return nil
}

// aclPaths returns the ACL entries of every path (nil for a missing
// path), with at most one batched `<acl> PATH...` query (in-process
// through the host's host.FileQuerier) for the paths not yet read. Each
// path is first looked at with the batched stat: a path through a link
// the runner account planted keeps that error, and only paths that exist
// are read. The host reads each ACL from the object its own walk reached
// (as root, every symlink but root's own refused on the way, the final
// component never followed), never by looking the path up again.
func aclPaths(ctx context.Context, s *engine.Session, paths ...string) (map[string][]string, error) {
	fst, err := filesOf(s)
	if err != nil {
		return nil, err
	}
	fst.mu.Lock()
	defer fst.mu.Unlock()
	pending := fst.batch(paths, func(p string) bool { return fst.aclsDone[p] })
	if len(pending) > 0 {
		if err := fst.statLocked(ctx, s, pending); err != nil {
			return nil, err
		}
		var ask []string
		for _, p := range pending {
			fst.aclsDone[p] = true
			if e, ok := fst.statErrs[p]; ok {
				fst.aclErrs[p] = e
				continue
			}
			if fst.stats[p].Exists {
				ask = append(ask, p)
			}
		}
		if err := fst.readACLs(ctx, s.Host(), ask); err != nil {
			return nil, err
		}
	}
	out := map[string][]string{}
	for _, p := range paths {
		if e, ok := fst.aclErrs[p]; ok {
			return nil, e
		}
		out[p] = fst.acls[p]
	}
	return out, nil
}

// readACLs asks the host for the ACLs of paths in one query and keeps
// the answers: the entries, nothing for a path gone since the stat, or
// the error. A query that fails as a whole fails every path of it.
func (fst *filesState) readACLs(ctx context.Context, h host.Host, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	q, ok := host.FileQuerierOf(h)
	if !ok {
		return fmt.Errorf("acl: the %s host cannot answer file queries", h.Name())
	}
	as, err := q.ACLPaths(ctx, paths)
	if err != nil {
		err = queryError(host.OpACL, paths, err)
		for _, p := range paths {
			fst.aclErrs[p] = err
		}
		return err
	}
	answered := map[string]bool{}
	for _, a := range as {
		answered[a.Path] = true
		switch {
		case a.Err == nil:
			fst.acls[a.Path] = append([]string{}, a.Entries...)
		case errors.Is(a.Err, fs.ErrNotExist), errors.Is(a.Err, syscall.ENOTDIR):
			// Removed since the stat: missing, as files.stat would say now.
		case strings.Contains(a.Err.Error(), a.Path):
			fst.aclErrs[a.Path] = a.Err
		default:
			fst.aclErrs[a.Path] = fmt.Errorf("acl %s: %w", a.Path, a.Err)
		}
	}
	for _, p := range paths {
		if !answered[p] {
			fst.aclErrs[p] = fmt.Errorf("acl %s: the host gave no answer for this path", p)
		}
	}
	return nil
}

// maxReadBytes bounds files.read's max.
const maxReadBytes = 64 << 20

// readFile reads a file once per run; a missing file gives ok=false.
func readFile(s *engine.Session, p string, max int64) (data string, ok bool, err error) {
	type rd struct {
		data string
		ok   bool
	}
	r, err := cached(s, fmt.Sprintf("read:%d:%s", max, p), func(ctx context.Context, h host.Host) (rd, error) {
		b, err := h.ReadFile(ctx, p, max)
		if errors.Is(err, fs.ErrNotExist) {
			return rd{}, nil
		}
		if err != nil {
			return rd{}, fmt.Errorf("read %s: %w", p, err)
		}
		return rd{string(b), true}, nil
	})
	return r.data, r.ok, err
}

// listDir lists a directory once per run (`<list> DIR`, in-process
// through the host's host.FileQuerier, walked like files.stat); a missing
// directory gives ok=false.
func listDir(s *engine.Session, dir string) (names []string, ok bool, err error) {
	type ls struct {
		names []string
		ok    bool
	}
	r, err := cached(s, "ls:"+dir, func(ctx context.Context, h host.Host) (ls, error) {
		q, found := host.FileQuerierOf(h)
		if !found {
			return ls{}, fmt.Errorf("list %s: the %s host cannot answer file queries", dir, h.Name())
		}
		n, err := q.ListDir(ctx, dir)
		if errors.Is(err, fs.ErrNotExist) {
			return ls{}, nil
		}
		if err != nil {
			return ls{}, err
		}
		n = append([]string{}, n...)
		sort.Strings(n)
		return ls{n, true}, nil
	})
	return r.names, r.ok, err
}

func statValue(st FileStat) starlark.Value {
	if !st.Exists {
		return mkstruct(map[string]starlark.Value{
			"path": starlark.String(st.Path), "exists": starlark.False, "type": starlark.None,
			"mode": starlark.None, "owner": starlark.None, "group": starlark.None,
			"size": starlark.None, "links": starlark.None, "target": starlark.None,
		})
	}
	var target starlark.Value = starlark.None
	if st.Type == "symlink" {
		target = starlark.String(st.Target)
	}
	return mkstruct(map[string]starlark.Value{
		"path": starlark.String(st.Path), "exists": starlark.True, "type": starlark.String(st.Type),
		"mode": starlark.MakeInt(st.Mode), "owner": starlark.String(st.Owner), "group": starlark.String(st.Group),
		"size": starlark.MakeInt64(st.Size), "links": starlark.MakeInt(st.Links), "target": target,
	})
}

// modeArg formats a mode for chmod and mkdir -m (octal, no prefix).
func modeArg(m int) string { return strconv.FormatInt(int64(m), 8) }

// checkPaths validates path arguments given as name, value pairs.
func (c *call) checkPaths(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkPath(pairs[i], pairs[i+1]); err != nil {
			return c.wrap(err)
		}
	}
	return nil
}

// checkOwner validates an owner and a group.
func checkOwner(owner, group string) error {
	if err := checkUser(owner); err != nil {
		return err
	}
	return checkPattern("group name", group, userPattern)
}

// contentArg accepts a string or bytes value as file content.
func contentArg(v starlark.Value) ([]byte, error) {
	switch x := v.(type) {
	case starlark.String:
		return []byte(string(x)), nil
	case starlark.Bytes:
		return []byte(string(x)), nil
	}
	return nil, fmt.Errorf("content must be a string or bytes, not %s", v.Type())
}

func filesModule() engine.Module {
	const m = "files"
	rootCmd := func(argv ...string) host.Command { return host.Command{Argv: argv, User: host.Root} }
	return engine.Module{
		Name: m,
		Doc:  "Files and directories: batched in-process stat and ACL queries and atomic, owned, allowlisted changes.",
		Builtins: []engine.Builtin{
			newBuiltin(m, "stat", "path", engine.KindQuery, `
Returns `+"`struct(path, exists, type, mode, owner, group, size, links, target)`"+` for PATH
without following a final symlink. type is "file", "dir", "symlink", or the
lower-cased stat name of another type ("fifo_file", "character_device",
"block_device", "socket"); links is the link count (a regular file with
more than one is also reachable under another name);
mode is an int with the special bits (`+"`0o750`"+`); target is the symlink's
target or None. A missing path gives exists=False and None elsewhere.

Looked at in-process as root (`+"`<stat> PATH...`"+`), once for every path asked
for so far plus every path given to files.prefetch, and later calls are
answered from that reading. PATH is walked from / one component at a
time: a symlink in the middle of PATH is crossed only when root made it
in a directory only root can change (/tmp, /var, /etc); any other (one a
CI job planted) fails the query with an error naming the link, never
the metadata behind it.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					st, err := statPaths(c.ctx(), c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					return statValue(st[p]), nil
				}),
			newBuiltin(m, "acl", "path", engine.KindQuery, `
Returns the list of ACL entries of PATH as strings (`+"`\"group:everyone deny delete\"`"+`),
empty when it has none, or None when the path is missing, in the form
`+"`ls -le`"+` prints them: the principal (`+"`user:NAME`"+`, `+"`group:NAME`"+`, or the GUID
when it is not a compatibility GUID of a known uid or gid: accounts
sysadminctl creates have random GUIDs), `+"`inherited`"+`, `+"`allow`"+` or `+"`deny`"+`, then
the rights and inheritance flags named for a file or a directory. PATH
is first looked at like files.stat (a path through a symlink root did
not make fails with that error, and a missing path is None); then the
ACLs of the paths that exist are read in-process as root, batched like
files.stat (`+"`<acl> PATH...`"+`), each from the object the walk reached
(a final symlink's own ACL), never looked up again by path. A failure to
read one fails the query.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					p, err := c.pathArg(args, kwargs, "path")
					if err != nil {
						return nil, err
					}
					acl, err := aclPaths(c.ctx(), c.s, p)
					if err != nil {
						return nil, c.hostError(err)
					}
					if acl[p] == nil {
						return starlark.None, nil
					}
					return stringList(acl[p]), nil
				}),
			newBuiltin(m, "read", "path, max=1048576", engine.KindQuery, `
Reads at most MAX bytes (at most 64 MiB) of PATH in-process as root
(`+"`<read> PATH`"+`) and returns them as a string, or None when the file is
missing. A file larger than MAX, a FIFO, device or directory, a file with
more than one hard link, a path through a symlink root did not make, and
the secret locations of docs/security.md are errors, and so is a file in
an account's home (/Users/NAME) that the recipe's allow_writes does not
cover.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p string
					max := 1 << 20
					if err := c.unpack(args, kwargs, "path", &p, "max?", &max); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if max <= 0 || max > maxReadBytes {
						return nil, c.argError("max must be between 1 and %d, got %d", maxReadBytes, max)
					}
					if err := c.s.CheckQueryRead(p); err != nil {
						return nil, c.wrap(err)
					}
					data, ok, err := readFile(c.s, p, int64(max))
					if err != nil {
						return nil, c.hostError(err)
					}
					if !ok {
						return starlark.None, nil
					}
					return starlark.String(data), nil
				}),
			newBuiltin(m, "list", "dir", engine.KindQuery, `
Returns the sorted list of names in DIR, or None when DIR is missing;
read in-process as root (`+"`<list> DIR`"+`), DIR walked like files.stat's PATH.
DIR itself must be a directory: a symlink (even to one), a file or a
path through a symlink root did not make is an error.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					d, err := c.pathArg(args, kwargs, "dir")
					if err != nil {
						return nil, err
					}
					names, ok, err := listDir(c.s, d)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !ok {
						return starlark.None, nil
					}
					return stringList(names), nil
				}),
			newBuiltin(m, "prefetch", "paths", engine.KindUtil, `
Registers PATHS (a list or tuple of absolute paths) for the batched `+"`<stat>`"+`
and `+"`<acl>`"+` queries of the whole run: the first files.stat (or files.acl)
of a check reads every registered path with one call, and so does the
first one after each action. Call it while the recipe is evaluated, next to
the resource that will look at the paths (stdlib functions do), so that a
recipe checking many files pays for one call of each; calling it inside a
check or fix works too. Returns None; runs nothing by itself.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var l starlark.Value
					if err := c.unpack(args, kwargs, "paths", &l); err != nil {
						return nil, err
					}
					if _, isStr := l.(starlark.String); isStr {
						return nil, c.argError("paths must be a list of paths, not a string")
					}
					ps, err := stringsOf(l, "paths")
					if err != nil {
						return nil, c.wrap(err)
					}
					for _, p := range ps {
						if err := c.checkPaths("path", p); err != nil {
							return nil, err
						}
					}
					prefetchOf(c.s).add(ps...)
					return starlark.None, nil
				}),
			newBuiltin(m, "mkdir", `path, mode, owner, group, user="root"`, engine.KindAction, `
Returns two actions: `+"`/bin/mkdir -p -m MODE PATH`"+` run as USER (root or
the account that should create it), then `+"`/usr/sbin/chown -h OWNER:GROUP PATH`"+`
as root (-h: a symlink is never followed). PATH must be under the recipe's
allow_writes once resolved on the host (see docs/security.md).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p, owner, group string
					var mode int
					user := host.Root
					if err := c.unpack(args, kwargs, "path", &p, "mode", &mode, "owner", &owner, "group", &group, "user?", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if err := checkMode(mode); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkOwner(owner, group); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					mk := engine.Exec(host.Command{Argv: []string{"/bin/mkdir", "-p", "-m", modeArg(mode), p}, User: user}, []string{p}, nil)
					own := engine.Exec(rootCmd("/usr/sbin/chown", "-h", owner+":"+group, p), []string{p}, nil)
					return starlark.NewList([]starlark.Value{mk, own}), nil
				}),
			newBuiltin(m, "chmod", "path, mode", engine.KindAction, `
Returns the action `+"`/bin/chmod -h MODE PATH`"+` (MODE in octal), run as root;
-h changes a symlink itself, never what it points to. Before it runs, a
PATH that crosses a symlink another account can change, is a FIFO or
device, or a file with several hard links is refused.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p string
					var mode int
					if err := c.unpack(args, kwargs, "path", &p, "mode", &mode); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if err := checkMode(mode); err != nil {
						return nil, c.wrap(err)
					}
					return engine.Exec(rootCmd("/bin/chmod", "-h", modeArg(mode), p), []string{p}, nil), nil
				}),
			newBuiltin(m, "chown", "path, owner, group, recursive=False", engine.KindAction, `
Returns the action `+"`/usr/sbin/chown -h OWNER:GROUP PATH`"+`, run as root, or
`+"`/usr/sbin/chown -R OWNER:GROUP PATH`"+` when recursive=True (a physical walk:
no symlink is followed). Before it runs, a PATH that crosses a symlink
another account can change is refused, and so is a tree holding a
hard-linked file or a device node.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p, owner, group string
					recursive := false
					if err := c.unpack(args, kwargs, "path", &p, "owner", &owner, "group", &group, "recursive?", &recursive); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if err := checkOwner(owner, group); err != nil {
						return nil, c.wrap(err)
					}
					// -h: a symlink is changed itself, never followed; -R
					// walks physically (BSD's default), and the engine walks
					// the tree first to refuse hard-linked files in it.
					flag := "-h"
					if recursive {
						flag = "-R"
					}
					a := engine.Exec(rootCmd("/usr/sbin/chown", flag, owner+":"+group, p), []string{p}, nil)
					a.Recursive = recursive
					return a, nil
				}),
			newBuiltin(m, "remove_acl", `path, user="root"`, engine.KindAction, `
Returns the action `+"`/bin/chmod -h -N PATH`"+` (remove every ACL entry), run as
USER: the account that owns PATH (the owner of a file may always change
its ACL), so that root never hands /bin/chmod, which looks PATH up again
itself, a path another account can change. Run as root, PATH and every
directory above it must be changeable by root alone, or the backend
refuses to run it.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p string
					user := host.Root
					if err := c.unpack(args, kwargs, "path", &p, "user?", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					cmd := host.Command{Argv: []string{"/bin/chmod", "-h", "-N", p}, User: user, Paths: []string{p}}
					return engine.Exec(cmd, []string{p}, nil), nil
				}),
			newBuiltin(m, "symlink", `target, link, user="root"`, engine.KindAction, `
Returns the action `+"`/bin/ln -sfh TARGET LINK`"+`, run as USER (root unless LINK
lies in a tree another account owns: then that account, so that root never
writes through a path it can change). Both are absolute paths; LINK must
be under allow_writes, and so must TARGET once resolved on the host (writes
through the link land there).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var target, link string
					user := host.Root
					if err := c.unpack(args, kwargs, "target", &target, "link", &link, "user?", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("target", target, "link", link); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					// ln -sfh replaces LINK itself; what the link leads to
					// must be writable by the recipe too.
					a := engine.Exec(host.Command{Argv: []string{"/bin/ln", "-sfh", target, link}, User: user}, []string{link}, nil)
					a.Replaces = true
					a.Follows = []string{target}
					return a, nil
				}),
			newBuiltin(m, "rename", `src, dst, user="root"`, engine.KindAction, `
Returns the action `+"`/bin/mv SRC DST`"+`, run as USER: moves a file, link or
directory within one volume (a rename). DST must not exist (mv would move
SRC into an existing directory); the caller checks that. Both paths must be
under allow_writes. Run it as the account that owns the tree.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var src, dst string
					user := host.Root
					if err := c.unpack(args, kwargs, "src", &src, "dst", &dst, "user?", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("src", src, "dst", dst); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					a := engine.Exec(host.Command{Argv: []string{"/bin/mv", src, dst}, User: user}, []string{src, dst}, nil)
					a.Replaces = true // rename(2) moves the entries, never what a link points at
					return a, nil
				}),
			newBuiltin(m, "remove_tree", `path, user="root", scratch=False`, engine.KindAction, `
Returns the action `+"`/bin/rm -rf PATH`"+`, run as USER: removes a directory and
everything in it (BSD rm removes symlinks, never what they point at). Run
it as the account that owns the tree: a tree the runner account can change
is removed by the runner account, never by root. PATH must be allowed by
the recipe's allow_writes (checked when called, as files.remove) and have
at least two components. A missing PATH is not an error. The plan marks it
as destroying PATH, unless scratch=True: a staging directory the same fix
creates and removes (an upgrade's unpacked archive).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p string
					user := host.Root
					scratch := false
					if err := c.unpack(args, kwargs, "path", &p, "user?", &user, "scratch?", &scratch); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if strings.Count(strings.Trim(p, "/"), "/") < 1 {
						return nil, c.argError("refusing to remove %s recursively: too close to /", p)
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					if err := c.s.CheckWrite(p); err != nil {
						return nil, c.wrap(err)
					}
					// Paths: the directory rm acts in must be changeable only
					// by root and USER (host.CheckCommand): as root rm is
					// in-process and walks by handles; as another account a
					// directory a third account could swap for a link would
					// steer USER's rm.
					a := engine.Exec(host.Command{Argv: []string{"/bin/rm", "-rf", p}, User: user, Paths: []string{path.Dir(p)}}, []string{p}, nil)
					if !scratch {
						a.Destroys = "directory tree " + p
					}
					a.Replaces = true // rm unlinks entries and never follows a link
					return a, nil
				}),
			newBuiltin(m, "remove", `path, user="root"`, engine.KindAction, `
Returns the action `+"`/bin/rm -f PATH`"+` run as USER: removes one file, symlink,
FIFO or other non-directory entry (unlink(2): a symlink is removed, never
followed; never a directory: see files.remove_tree). Remove what the runner
account could have planted as the runner account. PATH must be allowed by
the recipe's allow_writes: the call is refused when it is not (allow_writes
is complete once the recipe is evaluated, so call it from a fix function).
A missing PATH is not an error.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p string
					user := host.Root
					if err := c.unpack(args, kwargs, "path", &p, "user?", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					if p == "/" {
						return nil, c.argError("refusing to remove /")
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					if err := c.s.CheckWrite(p); err != nil {
						return nil, c.wrap(err)
					}
					a := engine.Exec(host.Command{Argv: []string{"/bin/rm", "-f", p}, User: user, Paths: []string{path.Dir(p)}}, []string{p}, nil)
					a.Destroys = "file " + p
					a.Replaces = true // unlink(2): a link is removed, never followed
					return a, nil
				}),
			newBuiltin(m, "write", "path, content, mode, owner, group", engine.KindAction, `
Returns an action that replaces PATH atomically with CONTENT (string or
bytes): written to a temporary file in the same directory, given MODE and
OWNER:GROUP, synced, renamed. Shown as `+"`<write> PATH MODE OWNER:GROUP`"+`; runs
in-process as root.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var p, owner, group string
					var content starlark.Value
					var mode int
					if err := c.unpack(args, kwargs, "path", &p, "content", &content, "mode", &mode, "owner", &owner, "group", &group); err != nil {
						return nil, err
					}
					if err := c.checkPaths("path", p); err != nil {
						return nil, err
					}
					data, err := contentArg(content)
					if err != nil {
						return nil, c.wrap(err)
					}
					if err := checkMode(mode); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkOwner(owner, group); err != nil {
						return nil, c.wrap(err)
					}
					return writeAction(host.WriteRequest{Path: p, Data: data, Mode: fs.FileMode(mode), Owner: owner, Group: group}), nil
				}),
		},
	}
}

// refuseSuperuser fails when user designates uid 0 on the host under any
// name ("Root", an alias of root): what must never run as root.
func refuseSuperuser(ctx context.Context, s *engine.Session, user, what string) error {
	root, err := s.UserIsSuperuser(ctx, user)
	if err != nil {
		return err
	}
	if root {
		return fmt.Errorf("%s must not run as %q: that account is uid 0 (root)", what, user)
	}
	return nil
}

// writeAction is the atomic write of req as an action.
func writeAction(req host.WriteRequest) *engine.Action {
	argv := host.WriteArgv(req)
	return &engine.Action{
		Argv:   argv,
		User:   host.Root,
		Writes: []string{req.Path},
		// A temporary file renamed over the path: the entry is replaced,
		// whatever it was, never written through.
		Replaces: true,
		Run: func(ctx context.Context, s *engine.Session) error {
			if err := s.Host().WriteFile(ctx, req); err != nil {
				return &engine.ActionError{Argv: argv, User: host.Root, Exit: -1, Err: err}
			}
			return nil
		},
	}
}

// stringsOf converts a Starlark list or tuple of strings.
func stringsOf(v starlark.Value, what string) ([]string, error) {
	it, ok := v.(starlark.Iterable)
	if !ok {
		return nil, fmt.Errorf("%s must be a list of strings, not %s", what, v.Type())
	}
	iter := it.Iterate()
	defer iter.Done()
	var out []string
	var x starlark.Value
	for iter.Next(&x) {
		s, ok := starlark.AsString(x)
		if !ok {
			return nil, fmt.Errorf("%s must contain only strings, found %s", what, x.Type())
		}
		out = append(out, s)
	}
	return out, nil
}
