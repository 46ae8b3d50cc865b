package engine

import (
	"context"
	"strings"
	"testing"
)

func TestSecretPathReason(t *testing.T) {
	protected := []string{"/Users/admin/hvfctl-token"}
	for _, tc := range []struct {
		path   string
		secret bool
	}{
		{"/etc/sudoers", true},
		{"/private/etc/sudoers", true},
		{"/ETC/Sudoers", true},
		{"/etc/sudoers.d/ghrunner", true},
		{"/var/root", true},
		{"/System/Volumes/Data/private/var/root/.zsh_history", true},
		{"/var/db/dslocal/nodes/Default/users/admin.plist", true},
		{"/Library/Keychains/System.keychain", true},
		{"/Users/ghrunner/Library/Keychains/login.keychain-db", true},
		{"/Library/Application Support/com.apple.TCC/TCC.db", true},
		{"/Users/x/Library/Application Support/com.apple.TCC/TCC.db", true},
		{"/Users/ghrunner/actions-runner/.credentials", true},
		{"/Users/ghrunner/actions-runner/.credentials_rsaparams", true},
		{"/Users/admin/.ssh/id_ed25519", true},
		{"/etc/ssh/ssh_host_ed25519_key", true},
		{"/users/ADMIN/hvfctl-token", true},
		{"/etc/kcpassword", true},
		// Spellings a case-insensitive APFS volume resolves to the same
		// file (host.FoldName): full case folding and NFD, which
		// strings.ToLower does not see.
		{"/etc/\u017fudoers", true},                // long s
		{"/etc/ma\ufb06er.passwd", true},           // st ligature
		{"/Users/admin/.\u00dfh/id_ed25519", true}, // ß is ss
		{"/Users/ghrunner/actions-runner/.credential\u017f", true},
		{"/Users/x/Library/\u212aeychains/login.keychain-db", true},         // Kelvin sign
		{"/Library/Application Support/com.apple.\u0422CC/other.db", false}, // Cyrillic Te is another letter
		{"/private/var/db/d\u017flocal/nodes", true},
		{"/\u017fystem/Volumes/Data/etc/sudoers", true},
		{"/Users/admin/.ssh/id_ed25519.pub", false},
		{"/etc/ssh/ssh_host_ed25519_key.pub", false},
		{"/Users/ghrunner/actions-runner/.runner", false},
		{"/Users/ghrunner/actions-runner/.path", false},
		{"/etc/sudoers-not", false},
		{"/var/rooted", false},
		{"/Library/LaunchDaemons/com.example.plist", false},
		{"/Library/Preferences/com.apple.loginwindow.plist", false},
	} {
		got := SecretPathReason(tc.path, protected) != ""
		if got != tc.secret {
			t.Errorf("%s: secret = %v, want %v", tc.path, got, tc.secret)
		}
	}
}

// TestCheckQueryRead: a recipe reads an account's home only where its
// allow_writes covers it, however the path is spelled.
func TestCheckQueryRead(t *testing.T) {
	s := NewSession(context.Background(), SessionOptions{Host: newScriptedHost(nil)})
	s.AllowWrites("/Users/ghrunner", "/Library/LaunchDaemons/org.example.*.plist")
	for _, tc := range []struct {
		path string
		ok   bool
	}{
		{"/Users/ghrunner/actions-runner/.runner", true},
		{"/users/GHRUNNER/actions-runner/.path", true},
		{"/Users/admin/.config/gh/hosts.yml", false},
		{"/System/Volumes/Data/Users/admin/.aws/credentials", false},
		{"/USERS/Admin/Library/Cookies/Cookies.binarycookies", false},
		{"/Users/ghrunner2/x", false},
		{"/U\u017fers/admin/.config/gh/hosts.yml", false}, // long s: /Users on APFS
		{"/Users/ADMIN\u0301/x", false},                   // another account's name, whatever it is
		{"/\u017fystem/Volumes/Data/Users/admin/.aws/credentials", false},
		{"/Users/\u017fhared/build.log", true}, // /Users/Shared, spelled otherwise
		{"/Users/Shared/build.log", true},
		{"/Library/Application Support/hvfctl/test-fixtures.lock", true},
		{"/etc/sudoers", false}, // a secret wherever allow_writes points
	} {
		err := s.CheckQueryRead(tc.path)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed %v", tc.path, err, tc.ok)
		}
	}
}

// TestResolvingGuard: the read rule applies to the path as given and as
// the host resolves it (a link root made, such as /Volumes/Macintosh HD
// -> /, leads a harmless name to a secret).
func TestResolvingGuard(t *testing.T) {
	real := map[string]string{
		"/Volumes/Macintosh HD/etc/sudoers": "/private/etc/sudoers",
		"/Volumes/Macintosh HD/etc/hosts":   "/private/etc/hosts",
		"/opt/alias/keys/id_ed25519":        "/var/root/.ssh/id_ed25519",
		"/Library/LaunchDaemons/x.plist":    "",
	}
	g := resolvingGuard(readGuard(nil), func(p string) string { return real[p] })
	for p, want := range map[string]string{
		"/Volumes/Macintosh HD/etc/sudoers": "/etc/sudoers is a secret",
		"/opt/alias/keys/id_ed25519":        "/var/root holds secrets",
		"/Volumes/Macintosh HD/etc/hosts":   "",
		"/Library/LaunchDaemons/x.plist":    "",
		"/etc/sudoers":                      "/etc/sudoers is a secret",
	} {
		err := g(p)
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", p, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: %v, want %q", p, err, want)
		}
	}
}
