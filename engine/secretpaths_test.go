package engine

import "testing"

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
