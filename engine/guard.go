package engine

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// maxGuardWalk bounds the entries a recursive action's tree walk looks
// at before it runs; a larger tree is refused rather than trusted.
const maxGuardWalk = 200000

// GuardAction checks, on the host and right before a runs, every path it
// writes (see Action.Writes, Replaces, Recursive and Follows):
//
//   - the path is resolved component by component as the kernel resolves
//     it (host.Resolve), and the real path must lie under the recipe's
//     allow_writes, whose entries are resolved the same way;
//   - an action run as uid 0 refuses a path that crosses a symlink a
//     principal other than root could have made or can change, and, unless
//     it only replaces the entry (Replaces), a final symlink, FIFO or
//     hard-linked file;
//   - device nodes and sockets are refused for every action;
//   - a recursive root action refuses a tree that holds a hard-linked file
//     or a device node.
//
// A host that cannot inspect paths (a test double) is checked lexically
// only, as before the action was planned.
func (s *Session) GuardAction(ctx context.Context, a *Action) error {
	in, ok := host.InspectorOf(s.rec)
	if !ok || (len(a.Writes) == 0 && len(a.Follows) == 0) {
		return nil
	}
	root, err := s.isSuperuser(ctx, in, a.User)
	if err != nil {
		return err
	}
	allow, err := s.resolvedAllow(ctx, in)
	if err != nil {
		return err
	}
	for _, w := range a.Writes {
		if err := guardPath(ctx, in, a, w, root, allow); err != nil {
			return err
		}
	}
	for _, f := range a.Follows {
		res, err := host.Resolve(ctx, in, f, true)
		if err != nil {
			return fmt.Errorf("link target %s: %w", f, err)
		}
		if root {
			if u := res.Untrusted(); len(u) > 0 {
				return fmt.Errorf("link target %s goes through %s: root does not follow a link another account can change", f, u[0])
			}
		}
		if !allow.allows(res.Path) {
			return fmt.Errorf("link target %s resolves to %s, outside the recipe's allow_writes %v: a link may only point where the recipe may write", f, res.Path, s.allowList())
		}
	}
	return nil
}

func guardPath(ctx context.Context, in host.Inspector, a *Action, w string, root bool, allow resolvedAllow) error {
	res, err := host.Resolve(ctx, in, w, false)
	if err != nil {
		return fmt.Errorf("write to %s refused: %w", w, err)
	}
	if root {
		if u := res.Untrusted(); len(u) > 0 {
			return fmt.Errorf("write to %s refused: the path goes through %s, a symlink another account can change; root does not follow it", w, u[0])
		}
	}
	if res.FinalLink != nil && !a.Replaces {
		if root && !res.FinalLink.Trusted {
			return fmt.Errorf("write to %s refused: it is a symlink (%s); root does not follow it", w, res.FinalLink)
		}
		if res, err = host.Resolve(ctx, in, w, true); err != nil {
			return fmt.Errorf("write to %s refused: %w", w, err)
		}
	}
	if res.Exists {
		switch t := res.Final.Type; {
		case t == host.TypeChar || t == host.TypeBlock || t == host.TypeSocket:
			return fmt.Errorf("write to %s refused: %s is a %s, not a file or directory", w, res.Path, typeName(t))
		case root && !a.Replaces && t == host.TypeFIFO:
			return fmt.Errorf("write to %s refused: %s is a FIFO, not a file or directory", w, res.Path)
		case root && !a.Replaces && t == host.TypeFile && res.Final.Nlink > 1:
			return fmt.Errorf("write to %s refused: %s is a file with %d hard links; root never changes a file that has another name", w, res.Path, res.Final.Nlink)
		}
	}
	if !allow.allows(res.Path) {
		return fmt.Errorf("write to %s refused: it resolves to %s, outside the recipe's allow_writes %v", w, res.Path, allow.entries)
	}
	if root && a.Recursive && !a.Replaces && res.Exists && res.Final.Type == host.TypeDir {
		budget := maxGuardWalk
		if err := guardTree(ctx, in, res.Path, &budget); err != nil {
			return fmt.Errorf("write to %s refused: %w", w, err)
		}
	}
	return nil
}

// guardTree walks dir without following links and refuses hard-linked
// files and device nodes, which a recursive change would reach outside
// the tree.
func guardTree(ctx context.Context, in host.Inspector, dir string, budget *int) error {
	names, err := in.ReadDir(ctx, dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		*budget--
		if *budget < 0 {
			return fmt.Errorf("the tree under it holds more than %d entries", maxGuardWalk)
		}
		p := path.Join(dir, n)
		fi, err := in.Lstat(ctx, p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		switch fi.Type {
		case host.TypeFile:
			if fi.Nlink > 1 {
				return fmt.Errorf("%s inside it is a file with %d hard links; a recursive change would reach its other names", p, fi.Nlink)
			}
		case host.TypeChar, host.TypeBlock:
			return fmt.Errorf("%s inside it is a %s", p, typeName(fi.Type))
		case host.TypeDir:
			if err := guardTree(ctx, in, p, budget); err != nil {
				return err
			}
		}
	}
	return nil
}

func typeName(t string) string {
	switch t {
	case host.TypeChar:
		return "character device"
	case host.TypeBlock:
		return "block device"
	case host.TypeFIFO:
		return "FIFO"
	}
	return t
}

// isSuperuser resolves a principal name to its uid on the host: uid 0
// under any name ("Root", an alias) is root.
func (s *Session) isSuperuser(ctx context.Context, in host.Inspector, user string) (bool, error) {
	if user == "" || user == host.Root {
		return true, nil
	}
	uid, err := in.UserID(ctx, user)
	if err != nil {
		return false, fmt.Errorf("principal %q: %w", user, err)
	}
	return uid == 0, nil
}

// UserIsSuperuser reports whether the account name designates uid 0 on
// the session's host (names are matched as the system matches them; a
// host that cannot resolve names compares with "root" case-insensitively).
func (s *Session) UserIsSuperuser(ctx context.Context, user string) (bool, error) {
	in, ok := host.InspectorOf(s.rec)
	if !ok {
		return strings.EqualFold(user, host.Root), nil
	}
	return s.isSuperuser(ctx, in, user)
}

// resolvedAllow is the allowlist with each entry resolved on the host.
type resolvedAllow struct {
	entries []string
	// real holds, per entry, its lexical form and, when its directory
	// resolves through links only root can change, its real form.
	real [][]string
}

func (ra resolvedAllow) allows(p string) bool {
	for i, e := range ra.entries {
		for _, form := range ra.real[i] {
			if IsPattern(e) {
				if ok, err := path.Match(form, p); err == nil && ok {
					return true
				}
				continue
			}
			if host.Within(p, form) {
				return true
			}
		}
	}
	return false
}

// AllowList returns the recipe's allow_writes entries as declared.
func (s *Session) AllowList() []string { return s.allowList() }

func (s *Session) allowList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.allow...)
}

// resolvedAllow resolves every allow_writes entry (a pattern's directory
// part) through symlinks that only root can change; an entry that crosses
// another symlink keeps only its lexical form.
func (s *Session) resolvedAllow(ctx context.Context, in host.Inspector) (resolvedAllow, error) {
	ra := resolvedAllow{entries: s.allowList()}
	for _, e := range ra.entries {
		forms := []string{e}
		dir, base := e, ""
		if IsPattern(e) {
			dir, base = path.Dir(e), path.Base(e)
		}
		res, err := host.Resolve(ctx, in, dir, true)
		if err == nil && len(res.Untrusted()) == 0 {
			real := res.Path
			if base != "" {
				real = path.Join(real, base)
			}
			// The rules on an entry's width (not "/", a pattern's literal
			// directory of two components) hold for the entry as the
			// host resolves it: a link root made (the boot volume's
			// alias /Volumes/Macintosh HD -> /) would otherwise widen
			// "/Volumes/Macintosh HD/U*" to "/U*".
			if normalize(real) == "/" {
				return ra, fmt.Errorf("allow_writes entry %q resolves to %q on the host, which would allow writing anywhere: name the directories", e, real)
			}
			if base != "" && badPattern(real) != "" {
				return ra, fmt.Errorf("allow_writes entry %q resolves to %q on the host: %s", e, real, badPattern(real))
			}
			if real != e {
				forms = append(forms, real)
			}
		}
		ra.real = append(ra.real, forms)
	}
	return ra, nil
}
