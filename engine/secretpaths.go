package engine

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Queries never read a secret (docs/security.md, "Secrets"): the paths
// below hold one (credentials, password hashes, private keys, keychains,
// privacy grants), and only their dedicated builtins (tcc.*, keychain.*)
// look at them, through macOS's own tools, returning facts rather than
// contents. The token file hvfctl was given is protected the same way
// (Options.ProtectedFiles).
//
// Paths are compared the way macOS resolves them: as a case-insensitive
// APFS volume (the default) compares names, normalization- and
// case-insensitively with Unicode's full case folding (host.FoldName:
// `/etc/ſudoers` and `.ßh` are /etc/sudoers and .ssh), with the firmlinked
// data volume (/System/Volumes/Data) and /private folded away
// (/etc, /var and /tmp are symlinks into /private).

// secretDirs are directories whose whole contents are secret.
var secretDirs = []string{
	"/var/root",         // root's home: its keychains, ssh keys, history
	"/etc/sudoers.d",    // sudo policy (may name passwords or tokens)
	"/var/db/dslocal",   // the local directory: password hashes
	"/var/db/sudo",      // sudo timestamps
	"/var/db/keychains", // system keychain material
	"/var/db/systemkey",
}

// secretFiles are single secret files.
var secretFiles = []string{
	"/etc/sudoers",
	"/etc/kcpassword", // the automatic-login password, barely obfuscated
	"/etc/master.passwd",
	"/library/keychains/system.keychain",
}

// secretNames are file names that are secret wherever they are.
var secretNames = []string{
	"tcc.db", "tcc.db-wal", "tcc.db-shm", "tcc.db-journal", // privacy grants
	".credentials", ".credentials_rsaparams", // the runner's registration key
	".netrc", ".git-credentials",
	"kcpassword",
}

// normalize folds a clean absolute macOS path for comparison.
func normalize(p string) string {
	p = path.Clean(host.FoldName(path.Clean(p)))
	if rest, ok := strings.CutPrefix(p, "/system/volumes/data"); ok && (rest == "" || rest[0] == '/') {
		p = rest
		if p == "" {
			p = "/"
		}
	}
	for _, d := range []string{"/etc", "/var", "/tmp"} {
		if rest, ok := strings.CutPrefix(p, "/private"+d); ok && (rest == "" || rest[0] == '/') {
			p = d + rest
		}
	}
	return p
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

// SecretPathReason says why a query may not read p, or "" when it may.
// protected are further files to refuse (the token file).
func SecretPathReason(p string, protected []string) string {
	n := normalize(p)
	for _, f := range protected {
		if f != "" && n == normalize(f) {
			return "it is the runner token file"
		}
	}
	for _, d := range secretDirs {
		if under(n, d) {
			return d + " holds secrets"
		}
	}
	for _, f := range secretFiles {
		if n == f {
			return f + " is a secret"
		}
	}
	base := path.Base(n)
	for _, b := range secretNames {
		if base == b {
			return "files named " + b + " hold secrets"
		}
	}
	parts := strings.Split(n, "/")
	for i, c := range parts {
		switch {
		case c == "keychains" && i > 0 && parts[i-1] == "library":
			return "keychains hold secrets (use the keychain builtins)"
		case c == "com.apple.tcc":
			return "the TCC database holds privacy grants (use the tcc builtins)"
		case c == ".ssh" && i == len(parts)-2 && !strings.HasSuffix(base, ".pub") && base != "known_hosts" && base != "authorized_keys" && base != "config":
			return "private SSH keys are secrets"
		case c == ".gnupg":
			return "GnuPG keys are secrets"
		}
	}
	if under(n, "/etc/ssh") && strings.HasPrefix(base, "ssh_host_") && !strings.HasSuffix(base, ".pub") {
		return "SSH host keys are secrets"
	}
	return ""
}

// realPath returns a function giving the real path of a path on the host
// of rec (host.Resolve: every symlink resolved as the kernel resolves it,
// the final one included), or "" when the host cannot be inspected, the
// path is not absolute or cannot be resolved, or it has no link on its
// way.
func realPath(ctx context.Context, rec *host.Recorder) func(string) string {
	in, ok := host.InspectorOf(rec)
	if !ok {
		return func(string) string { return "" }
	}
	return func(p string) string {
		if !path.IsAbs(p) {
			return ""
		}
		res, err := host.Resolve(ctx, in, p, true)
		if err != nil || len(res.Links) == 0 || res.Path == path.Clean(p) {
			return ""
		}
		return res.Path
	}
}

// resolvingGuard applies lexical, the name-based read rule, to a path as
// given and, when it crosses symlinks, as the kernel resolves it: the
// backends follow a link that root made in a directory only root can
// change (`/etc -> private/etc`, `/Volumes/Macintosh HD -> /`,
// `/home -> /System/Volumes/Data/home`), so a secret reached through one
// under another name is refused by what it is.
func resolvingGuard(lexical func(string) error, resolve func(string) string) func(string) error {
	return func(p string) error {
		if err := lexical(p); err != nil {
			return err
		}
		if real := resolve(p); real != "" {
			if err := lexical(real); err != nil {
				return fmt.Errorf("%w (%s leads there through symbolic links)", err, p)
			}
		}
		return nil
	}
}

// readGuard is the lexical host.Recorder read guard of a session.
func readGuard(protected []string) func(string) error {
	return func(p string) error {
		if why := SecretPathReason(p, protected); why != "" {
			return fmt.Errorf("refusing to read %s: %s; queries may not read secrets (docs/security.md)", p, why)
		}
		return nil
	}
}

// userHome returns the home directory under /Users that the normalized
// path n lies in ("/users/NAME"), or "" (/Users/Shared, which every
// account shares, is no one's home).
func userHome(n string) string {
	rest, ok := strings.CutPrefix(n, "/users/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	if name == "" || name == "shared" {
		return ""
	}
	return "/users/" + name
}

// CheckQueryRead refuses a file a recipe's query may not read: a secret
// location (CheckRead), and a file in an account's home under /Users
// that the recipe's allow_writes does not cover. Homes hold credentials
// no list of secret names can enumerate (gh's hosts.yml, ~/.aws, a
// browser's cookies, shell history), and a shared recipe that read one
// could hand it to the runner account in a file it writes; a recipe reads
// a home only where it manages it.
func (s *Session) CheckQueryRead(p string) error {
	// Both rules by name, on the path as given and, resolved once, as
	// the kernel reaches it.
	return resolvingGuard(func(p string) error {
		if err := s.readRule(p); err != nil {
			return err
		}
		return s.homeRule(p)
	}, s.resolve)(p)
}

// homeRule refuses a path in an account's home outside allow_writes
// (CheckQueryRead), by its name.
func (s *Session) homeRule(p string) error {
	n := normalize(p)
	home := userHome(n)
	if home == "" {
		return nil
	}
	s.mu.Lock()
	allow := append([]string(nil), s.allow...)
	s.mu.Unlock()
	for _, a := range allow {
		na := normalize(a)
		if IsPattern(a) {
			if ok, err := path.Match(na, n); err == nil && ok {
				return nil
			}
			continue
		}
		if n == na || strings.HasPrefix(n, strings.TrimSuffix(na, "/")+"/") {
			return nil
		}
	}
	return fmt.Errorf("refusing to read %s: it is in an account's home (%s) outside the recipe's allow_writes %v; a recipe reads a home only where it may write, so that it cannot take another account's credentials (docs/security.md)", p, home, allow)
}
