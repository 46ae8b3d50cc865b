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
		return nil, 0, differs(fmt.Errorf("runner root %s goes through %s: refusing to run a program from it", root, u[0]))
	}
	switch {
	case !res.Exists:
		return nil, 0, fmt.Errorf("runner root %s: %w", root, fs.ErrNotExist)
	case res.FinalLink != nil:
		return nil, 0, differs(fmt.Errorf("runner root %s is a symlink (%s): refusing to run a program from it", root, res.FinalLink))
	case res.Final.Type != host.TypeDir:
		return nil, 0, differs(fmt.Errorf("runner root %s is a %s, not a directory", root, res.Final.Type))
	case res.Final.UID != uid:
		return nil, 0, differs(fmt.Errorf("runner root %s is owned by %s, not by %s: its scripts run only as the account that owns them", root, res.Final.Owner, user))
	}
	return in, uid, nil
}

// runnerVerifiedDirs are the runner root's directories whose every file
// must be the archive's: bin/ (the listener and worker, run for every
// job) and externals/ (node, which runs every JavaScript action). A job
// that changed either would persist into the next jobs.
var runnerVerifiedDirs = []string{"bin", "externals"}

// runnerVerified is a member of the runner archive that must be in the
// runner root exactly as the archive holds it before config.sh receives a
// token and for check to call the runner's files the pinned archive's:
// the top-level scripts and everything under bin/ and externals/.
func runnerVerified(name string) bool {
	for _, d := range runnerVerifiedDirs {
		if strings.HasPrefix(name, d+"/") {
			return true
		}
	}
	return !strings.Contains(name, "/") && strings.HasSuffix(name, ".sh")
}

// differsError marks a verifyRunnerRoot error that is a difference of
// the runner root from the archive (a changed, extra, missing or planted
// file), as opposed to a host that failed to answer.
type differsError struct{ error }

func (e differsError) Unwrap() error { return e.error }

func differs(err error) error { return differsError{err} }

// errArchive is wrapped by verifyRunnerRoot errors about the archive
// itself (not the pinned one, no runner in it), as opposed to the runner
// root or a host that failed to read it.
var errArchive = errors.New("the pinned runner archive")

// verifyRunnerRoot checks, right before a runner script is handed a
// token, that root is the account's own directory (runnerOwnedRoot) and
// that it holds what hvfctl unpacked from the pinned archive: the archive
// still has its pinned SHA-256, every top-level script and every file
// under bin/ and externals/ matches its member's SHA-256, and those
// directories hold nothing else.
func verifyRunnerRoot(ctx context.Context, s *engine.Session, root, user, archive, sum string) error {
	in, uid, err := runnerOwnedRoot(ctx, s, root, user)
	if err != nil {
		return err
	}
	hasher, ok := host.ArchiveHasherOf(s.Host())
	if !ok {
		return fmt.Errorf("%w: cannot hash the members of %s on this host: config.sh gets a token only from a verified runner root", errArchive, archive)
	}
	got, _, err := s.Host().Hash(ctx, archive)
	if err != nil {
		return fmt.Errorf("verifying %s: %w", archive, err)
	}
	if got != sum {
		return fmt.Errorf("%w: %s has SHA-256 %s, not the pinned %s", errArchive, archive, got, sum)
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
		return fmt.Errorf("%w: %s holds no runner scripts to verify", errArchive, archive)
	}
	// The runner's self-update (and hvfctl's upgrade) leaves bin and
	// externals as links to bin.VERSION and externals.VERSION beside
	// them, inside the root: files under them are looked up there.
	onDiskDir := map[string]string{}
	for _, d := range runnerVerifiedDirs {
		onDiskDir[d] = d
		if fi, err := in.Lstat(ctx, path.Join(root, d)); err == nil && fi.Type == host.TypeSymlink {
			t := strings.TrimPrefix(fi.Target, root+"/")
			if strings.Contains(t, "/") || !strings.HasPrefix(t, d+".") {
				return differs(fmt.Errorf("%s/%s is a symlink to %s, not to a %s.VERSION directory of the runner root", root, d, fi.Target, d))
			}
			onDiskDir[d] = t
		}
	}
	onDisk := func(member string) string {
		for _, d := range runnerVerifiedDirs {
			if rest, ok := strings.CutPrefix(member, d+"/"); ok {
				return path.Join(root, onDiskDir[d], rest)
			}
		}
		return path.Join(root, member)
	}
	// Nothing in bin/ or externals/ that the archive does not hold.
	budget := maxRunnerBinEntries
	var walk func(d, rel string) error
	walk = func(d, rel string) error {
		names, err := in.ReadDir(ctx, path.Join(root, onDiskDir[d], rel))
		if err != nil {
			return err
		}
		for _, n := range names {
			if budget--; budget < 0 {
				return differs(fmt.Errorf("%s/%s holds more than %d entries", root, d, maxRunnerBinEntries))
			}
			r := path.Join(rel, n)
			fi, err := in.Lstat(ctx, path.Join(root, onDiskDir[d], r))
			if err != nil {
				return err
			}
			switch {
			case fi.Type == host.TypeDir:
				if err := walk(d, r); err != nil {
					return err
				}
			case want[d+"/"+r] == "":
				return differs(fmt.Errorf("%s/%s/%s is not in the pinned archive %s", root, d, r, path.Base(archive)))
			}
		}
		return nil
	}
	for _, d := range runnerVerifiedDirs {
		if err := walk(d, ""); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("verifying %s against %s: %w", root, path.Base(archive), err)
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := onDisk(n)
		fi, err := in.Lstat(ctx, p)
		if errors.Is(err, fs.ErrNotExist) {
			return differs(fmt.Errorf("%s, a file of the pinned archive %s, is missing", p, path.Base(archive)))
		}
		if err != nil {
			return fmt.Errorf("verifying %s against %s: %w", root, path.Base(archive), err)
		}
		if fi.Type != host.TypeFile || fi.Nlink != 1 || (fi.UID != uid && fi.UID != 0) {
			return differs(fmt.Errorf("%s is a %s owned by %s with %d links, not the archive's file", p, fi.Type, fi.Owner, fi.Nlink))
		}
		h, _, err := s.Host().Hash(ctx, p)
		if err != nil {
			return fmt.Errorf("verifying %s: %w", p, err)
		}
		if h != want[n] {
			return differs(fmt.Errorf("%s differs from the pinned archive %s (SHA-256 %s, want %s): reinstall the runner from the archive", p, path.Base(archive), h, want[n]))
		}
	}
	return nil
}
