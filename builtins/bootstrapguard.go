package builtins

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// daemonDir is where hvfctl's LaunchDaemon plists live.
const daemonDir = "/Library/LaunchDaemons"

// adminGID is the admin group (see host.AdminGID).
const adminGID = host.AdminGID

// changeableBy reports whether a directory entry described by fi can be
// changed (replaced, written) by a principal other than root or uid:
// owned by someone else, writable by others, or writable by a group other
// than wheel and admin (a sticky directory only lets an entry's owner
// replace it).
func changeableBy(fi host.FileInfo, uid int) bool {
	if fi.UID != 0 && fi.UID != uid {
		return true
	}
	if fi.Type == host.TypeDir && fi.Mode&0o1000 != 0 {
		return false
	}
	if fi.Mode&0o002 != 0 {
		return true
	}
	return fi.Mode&0o020 != 0 && fi.GID != 0 && fi.GID != adminGID
}

// checkProgramChain checks that the program p and every directory above it
// can be changed by root or by the account uid runs as alone, and that no
// symlink on the way was made by anyone else.
func checkProgramChain(ctx context.Context, in host.Inspector, p string, uid int, who string) error {
	return checkChain(ctx, in, p, host.TypeFile, uid, who)
}

// checkChain is checkProgramChain for an object of type typ.
func checkChain(ctx context.Context, in host.Inspector, p, typ string, uid int, who string) error {
	res, err := host.Resolve(ctx, in, p, true)
	if err != nil {
		return fmt.Errorf("program %s: %w", p, err)
	}
	for _, l := range res.Links {
		fi, err := in.Lstat(ctx, l.Path)
		if err != nil {
			return err
		}
		parent, err := in.Lstat(ctx, path.Dir(l.Path))
		if err != nil {
			return err
		}
		if changeableBy(fi, uid) || changeableBy(parent, uid) || fi.Nlink > 1 {
			return fmt.Errorf("program %s goes through the symlink %s, which an account other than root and %s can change", p, l, who)
		}
	}
	if !res.Exists || res.Final.Type != typ {
		return fmt.Errorf("%s is not a %s", p, typ)
	}
	if changeableBy(res.Final, uid) || (typ == host.TypeFile && res.Final.Nlink > 1) {
		return fmt.Errorf("program %s (owned by %s, mode %04o, %d links) can be changed by an account other than root and %s", res.Path, res.Final.Owner, uint32(res.Final.Mode), res.Final.Nlink, who)
	}
	for d := path.Dir(res.Path); ; d = path.Dir(d) {
		fi, err := in.Lstat(ctx, d)
		if err != nil {
			return err
		}
		if changeableBy(fi, uid) {
			return fmt.Errorf("program %s: its directory %s (owned by %s, mode %04o) can be changed by an account other than root and %s", p, d, fi.Owner, uint32(fi.Mode), who)
		}
		if d == "/" {
			return nil
		}
	}
}

// checkDaemonPlist is what launchctl.bootstrap verifies right before it
// loads a plist into the system domain: the plist is a root-owned regular
// file with one link in /Library/LaunchDaemons that only root can change,
// reached through no link; the program it starts, and every directory
// above it, can be changed only by root or by the account the job runs as
// (UserName, which must not be root under another name); a job without a
// UserName runs as root, so its program must be root's alone.
func checkDaemonPlist(ctx context.Context, s *engine.Session, plistPath string) error {
	in, ok := host.InspectorOf(s.Host())
	if !ok {
		return fmt.Errorf("cannot inspect %s on this host: launchctl bootstrap loads only verified plists", plistPath)
	}
	if path.Dir(plistPath) != daemonDir {
		return fmt.Errorf("%s is not in %s", plistPath, daemonDir)
	}
	res, err := host.Resolve(ctx, in, plistPath, false)
	if err != nil {
		return err
	}
	switch {
	case len(res.Links) > 0 || res.FinalLink != nil:
		return fmt.Errorf("%s is reached through a symlink", plistPath)
	case !res.Exists || res.Final.Type != host.TypeFile:
		return fmt.Errorf("%s is not a regular file", plistPath)
	case res.Final.UID != 0 || res.Final.Mode&0o022 != 0 || res.Final.Nlink != 1:
		return fmt.Errorf("%s is owned by %s with mode %04o and %d links: launchd loads only root's own plists", plistPath, res.Final.Owner, uint32(res.Final.Mode), res.Final.Nlink)
	}
	if err := checkChain(ctx, in, daemonDir, host.TypeDir, 0, "root"); err != nil {
		return err
	}
	raw, err := s.Host().ReadFile(ctx, plistPath, 1<<20)
	if err != nil {
		return err
	}
	v, err := DecodePlist(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", plistPath, err)
	}
	body, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a dictionary", plistPath)
	}
	prog, _ := body["Program"].(string)
	if prog == "" {
		if args, ok := body["ProgramArguments"].([]any); ok && len(args) > 0 {
			prog, _ = args[0].(string)
		}
	}
	if !path.IsAbs(prog) {
		return fmt.Errorf("%s names no absolute program (Program or ProgramArguments[0])", plistPath)
	}
	user, _ := body["UserName"].(string)
	uid, who := 0, "root"
	if user != "" && !strings.EqualFold(user, host.Root) {
		if uid, err = in.UserID(ctx, user); err != nil {
			return fmt.Errorf("%s: UserName %q: %w", plistPath, user, err)
		}
		who = user
	}
	return checkProgramChain(ctx, in, prog, uid, who)
}
