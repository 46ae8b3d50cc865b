package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// maxRunnerBinEntries bounds the walk of a runner's bin/ directory.
const maxRunnerBinEntries = 20000

// runnerOwnedRoot checks that the runner root is a real directory owned
// by user, an account other than root, reached through no link another
// account could have made: the only principal a program in it may run as
// is the account that could have written it anyway.
func runnerOwnedRoot(ctx context.Context, s *engine.Session, root, user string) (host.Inspector, int, error) {
	if err := refuseSuperuser(ctx, s, user, "a runner script"); err != nil {
		return nil, 0, err
	}
	in, ok := host.InspectorOf(s.Host())
	if !ok {
		return nil, 0, fmt.Errorf("cannot inspect %s on this host: a runner script runs only from a verified runner root", root)
	}
	uid, err := in.UserID(ctx, user)
	if err != nil {
		return nil, 0, err
	}
	res, err := host.Resolve(ctx, in, root, false)
	if err != nil {
		return nil, 0, fmt.Errorf("runner root %s: %w", root, err)
	}
	if u := res.Untrusted(); len(u) > 0 {
		return nil, 0, fmt.Errorf("runner root %s goes through %s: refusing to run a program from it", root, u[0])
	}
	switch {
	case !res.Exists:
		return nil, 0, fmt.Errorf("runner root %s: %w", root, fs.ErrNotExist)
	case res.FinalLink != nil:
		return nil, 0, fmt.Errorf("runner root %s is a symlink (%s): refusing to run a program from it", root, res.FinalLink)
	case res.Final.Type != host.TypeDir:
		return nil, 0, fmt.Errorf("runner root %s is a %s, not a directory", root, res.Final.Type)
	case res.Final.UID != uid:
		return nil, 0, fmt.Errorf("runner root %s is owned by %s, not by %s: its scripts run only as the account that owns them", root, res.Final.Owner, user)
	}
	return in, uid, nil
}

// runnerVerified is a member of the runner archive that must be in the
// runner root exactly as the archive holds it before config.sh receives a
// token: the top-level scripts and everything under bin/.
func runnerVerified(name string) bool {
	return strings.HasPrefix(name, "bin/") || (!strings.Contains(name, "/") && strings.HasSuffix(name, ".sh"))
}

// verifyRunnerRoot checks, right before a runner script is handed a
// token, that root is the account's own directory (runnerOwnedRoot) and
// that it holds what hvfctl unpacked from the pinned archive: the archive
// still has its pinned SHA-256, every top-level script and every file
// under bin/ matches its member's SHA-256, and bin/ holds nothing else.
func verifyRunnerRoot(ctx context.Context, s *engine.Session, root, user, archive, sum string) error {
	in, uid, err := runnerOwnedRoot(ctx, s, root, user)
	if err != nil {
		return err
	}
	hasher, ok := host.ArchiveHasherOf(s.Host())
	if !ok {
		return fmt.Errorf("cannot hash the members of %s on this host: config.sh gets a token only from a verified runner root", archive)
	}
	got, _, err := s.Host().Hash(ctx, archive)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", archive, err)
	}
	if got != sum {
		return fmt.Errorf("%s has SHA-256 %s, not the pinned %s", archive, got, sum)
	}
	members, err := hasher.HashArchive(ctx, archive)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for name, h := range members {
		if runnerVerified(name) {
			want[name] = h
		}
	}
	if len(want) == 0 {
		return fmt.Errorf("%s holds no runner scripts to verify", archive)
	}
	// The runner's self-update (and hvfctl's upgrade) leaves bin as a
	// link to bin.VERSION beside it, inside the root: files under bin/ are
	// looked up there.
	binDir := "bin"
	if fi, err := in.Lstat(ctx, path.Join(root, "bin")); err == nil && fi.Type == host.TypeSymlink {
		t := strings.TrimPrefix(fi.Target, root+"/")
		if strings.Contains(t, "/") || !strings.HasPrefix(t, "bin.") {
			return fmt.Errorf("%s/bin is a symlink to %s, not to a bin.VERSION directory of the runner root", root, fi.Target)
		}
		binDir = t
	}
	onDisk := func(member string) string {
		if rest, ok := strings.CutPrefix(member, "bin/"); ok {
			return path.Join(root, binDir, rest)
		}
		return path.Join(root, member)
	}
	// Nothing in bin/ that the archive does not hold.
	budget := maxRunnerBinEntries
	var walk func(rel string) error
	walk = func(rel string) error {
		names, err := in.ReadDir(ctx, path.Join(root, binDir, rel))
		if err != nil {
			return err
		}
		for _, n := range names {
			if budget--; budget < 0 {
				return fmt.Errorf("%s/bin holds more than %d entries", root, maxRunnerBinEntries)
			}
			r := path.Join(rel, n)
			fi, err := in.Lstat(ctx, path.Join(root, binDir, r))
			if err != nil {
				return err
			}
			switch {
			case fi.Type == host.TypeDir:
				if err := walk(r); err != nil {
					return err
				}
			case want["bin/"+r] == "":
				return fmt.Errorf("%s/bin/%s is not in the pinned archive %s", root, r, path.Base(archive))
			}
		}
		return nil
	}
	if err := walk(""); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("verifying %s against %s: %w", root, path.Base(archive), err)
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := onDisk(n)
		fi, err := in.Lstat(ctx, p)
		if err != nil {
			return fmt.Errorf("verifying %s against %s: %w", root, path.Base(archive), err)
		}
		if fi.Type != host.TypeFile || fi.Nlink != 1 || (fi.UID != uid && fi.UID != 0) {
			return fmt.Errorf("%s is a %s owned by %s with %d links, not the archive's file", p, fi.Type, fi.Owner, fi.Nlink)
		}
		h, _, err := s.Host().Hash(ctx, p)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", p, err)
		}
		if h != want[n] {
			return fmt.Errorf("%s differs from the pinned archive %s (SHA-256 %s, want %s): reinstall the runner from the archive", p, path.Base(archive), h, want[n])
		}
	}
	return nil
}
