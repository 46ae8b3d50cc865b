package builtins

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// lstatTable answers Lstat from a table.
type lstatTable map[string]host.FileInfo

func (t lstatTable) Lstat(_ context.Context, p string) (host.FileInfo, error) {
	if fi, ok := t[p]; ok {
		return fi, nil
	}
	return host.FileInfo{}, fmt.Errorf("lstat %s: %w", p, fs.ErrNotExist)
}

// TestXcodeSwitchPaths: xcode-select --switch DIR accepts DIR only when
// it holds usr/lib/libxcrun.dylib (or is an Xcode.app bundle whose
// Contents/Developer does): the point-of-use rule must cover what it
// reads there, not only DIR.
func TestXcodeSwitchPaths(t *testing.T) {
	dir := func(mode fs.FileMode, uid int) host.FileInfo {
		return host.FileInfo{Type: host.TypeDir, Mode: mode, UID: uid, Owner: map[int]string{0: "root", 502: "ghrunner"}[uid]}
	}
	table := func(lib host.FileInfo) lstatTable {
		return lstatTable{
			"/":                                 dir(0o755, 0),
			"/Library":                          dir(0o755, 0),
			"/Library/Developer":                dir(0o755, 0),
			cltPath:                             dir(0o755, 0),
			cltPath + "/usr":                    dir(0o755, 0),
			cltPath + "/usr/lib":                lib,
			cltPath + "/usr/lib/libxcrun.dylib": {Type: host.TypeFile, Mode: 0o755, Owner: "root"},
		}
	}
	cmd := xcodeSwitchCmd(cltPath)
	if err := host.CheckCommand(t.Context(), table(dir(0o755, 0)), cmd, "", 0); err != nil {
		t.Fatalf("root-only developer directory refused: %v", err)
	}
	for name, lib := range map[string]host.FileInfo{
		"usr/lib owned by the runner account": dir(0o755, 502),
		"usr/lib writable by everyone":        dir(0o777, 0),
	} {
		err := host.CheckCommand(t.Context(), table(lib), cmd, "", 0)
		if !errors.Is(err, host.ErrNotRootOnly) {
			t.Errorf("%s: got %v, want a refusal", name, err)
		}
	}
}
