package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
)

// TestAllowWritesAliases: the pattern rule (a literal directory of two
// components before the wildcard) and the refusal of "/" count the path
// as macOS resolves it, so an alias (/private/etc for /etc, the
// firmlinked /System/Volumes/Data for /, another case) cannot widen an
// entry past them.
func TestAllowWritesAliases(t *testing.T) {
	for _, tc := range []struct {
		entry string
		want  string // "" when accepted
	}{
		{"/Library/LaunchDaemons/org.example.*.plist", ""},
		{"/Users/ghrunner/actions-runner*", ""},
		{"/private/var/db/hvfctl-*", ""},
		{"/U*", "two path components"},
		{"/private/etc/s*", "two path components"},
		{"/private/var/r*", "two path components"},
		{"/PRIVATE/etc/s*", "two path components"},
		{"/System/Volumes/Data/U*", "two path components"},
		{"/System/Volumes/Data/private/etc/s*", "two path components"},
		{"/system/volumes/data/L*", "two path components"},
		{"/", "would allow writing anywhere"},
		{"/System/Volumes/Data", "would allow writing anywhere"},
		{"/System/Volumes/Data/", "would allow writing anywhere"},
		{"/system/VOLUMES/data", "would allow writing anywhere"},
	} {
		_, err := loadRecipe(t, context.Background(), map[string]string{"main.star": "allow_writes(" + strconv.Quote(tc.entry) + ")\n"}, nil, nil)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.entry, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want a refusal saying %q", tc.entry, err, tc.want)
		}
	}
}
