package host

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/kauth"
)

// tableFS is an Lstater over a table of entries, for the rule's tests.
type tableFS map[string]FileInfo

func (t tableFS) Lstat(_ context.Context, p string) (FileInfo, error) {
	if fi, ok := t[p]; ok {
		return fi, nil
	}
	return FileInfo{}, fmt.Errorf("lstat %s: %w", p, fs.ErrNotExist)
}

func rootDir(mode fs.FileMode) FileInfo {
	return FileInfo{Type: TypeDir, Mode: mode, UID: 0, GID: 0, Owner: "root"}
}

// baseFS is a small Mac: root-only system directories, an admin-writable
// /Library, sticky /tmp, and the runner account's home.
func baseFS() tableFS {
	runner := func(typ string, mode fs.FileMode) FileInfo {
		return FileInfo{Type: typ, Mode: mode, UID: 502, GID: 20, Owner: "ghrunner"}
	}
	return tableFS{
		"/":                               rootDir(0o755),
		"/Library":                        {Type: TypeDir, Mode: 0o775, GID: AdminGID, Owner: "root"},
		"/Library/Caches":                 rootDir(0o755),
		"/Library/Caches/x.pkg":           {Type: TypeFile, Mode: 0o644, Owner: "root"},
		"/Library/Caches/hard.pkg":        {Type: TypeFile, Mode: 0o644, Owner: "root", Nlink: 2},
		"/Library/Caches/staff":           {Type: TypeDir, Mode: 0o775, GID: 20, Owner: "root"},
		"/Library/Caches/acl":             {Type: TypeDir, Mode: 0o755, Owner: "root", ACLAllow: "add_file,delete_child"},
		"/Library/Caches/addonly":         {Type: TypeDir, Mode: 0o755, Owner: "root", ACLAllow: "add_file,add_subdirectory"},
		"/Library/Caches/addonly/x.pkg":   {Type: TypeFile, Mode: 0o644, Owner: "root"},
		"/Library/Caches/delete.pkg":      {Type: TypeFile, Mode: 0o644, Owner: "root", ACLAllow: "delete"},
		"/Library/Caches/aclwrite.pkg":    {Type: TypeFile, Mode: 0o644, Owner: "root", ACLAllow: "write"},
		"/Library/Caches/fifo":            {Type: TypeFIFO, Mode: 0o644, Owner: "root"},
		"/Library/Caches/writable.pkg":    {Type: TypeFile, Mode: 0o666, Owner: "root"},
		"/Library/Caches/ghr.pkg":         runner(TypeFile, 0o644),
		"/private":                        rootDir(0o755),
		"/private/tmp":                    rootDir(0o1777),
		"/private/tmp/root-marker":        {Type: TypeFile, Mode: 0o644, Owner: "root"},
		"/private/tmp/job-marker":         runner(TypeFile, 0o644),
		"/private/tmp/alias":              {Type: TypeFile, Mode: 0o440, Owner: "root", Nlink: 2},
		"/private/tmp/link-alias":         {Type: TypeSymlink, Owner: "root", Nlink: 2, Target: "/Library/Caches"},
		"/tmp":                            {Type: TypeSymlink, Mode: 0o755, Owner: "root", Target: "private/tmp"},
		"/Users":                          {Type: TypeDir, Mode: 0o755, GID: AdminGID, Owner: "root"},
		"/Users/ghrunner":                 runner(TypeDir, 0o700),
		"/Users/ghrunner/x.pkg":           runner(TypeFile, 0o644),
		"/Users/ghrunner/evil":            {Type: TypeSymlink, Owner: "ghrunner", UID: 502, Target: "/Library/Caches/x.pkg"},
		"/Library/Caches/jobs-link":       {Type: TypeSymlink, Owner: "ghrunner", UID: 502, Target: "/Library/Caches/x.pkg"},
		"/Library/Caches/roots-link":      {Type: TypeSymlink, Owner: "root", Target: "x.pkg"},
		"/Library/Caches/into-home":       {Type: TypeSymlink, Owner: "root", Target: "/Users/ghrunner/x.pkg"},
		"/Library/Caches/dotdot":          {Type: TypeSymlink, Owner: "root", Target: "../../Users/ghrunner"},
		"/Library/Caches/loop":            {Type: TypeSymlink, Owner: "root", Target: "loop"},
		"/Library/Caches/x.pkg.notadir":   {Type: TypeFile, Mode: 0o644, Owner: "root"},
		"/Library/Caches/staff/inner.pkg": {Type: TypeFile, Mode: 0o644, Owner: "root"},
	}
}

// TestRootOnly is the point-of-use rule's decision table: what a program
// run as root may be given, and the component each refusal names.
func TestRootOnly(t *testing.T) {
	tests := []struct {
		path string
		want string // "" accepted; else a fragment of the refusal
	}{
		{"/", ""},
		{"/Library/Caches/x.pkg", ""},
		{"/Library/Caches/hard.pkg", ""},        // only root can change it, under any name
		{"/Library/Caches/new/deeper", ""},      // missing below a root-only directory
		{"/Library/Caches/roots-link", ""},      // root's link in a root-only directory
		{"/tmp/root-marker", ""},                // sticky directory, root's entry
		{"/Library/Caches/../Caches/x.pkg", ""}, // ".." against the real directory
		{"relative/x.pkg", "not an absolute path"},
		{"/tmp/job-marker", "/private/tmp is writable by every account (sticky) and job-marker is owned by ghrunner"},
		{"/tmp/missing", "/private/tmp is writable by every account (sticky) and missing does not exist"},
		{"/tmp/alias", "alias has 2 hard links"},
		{"/tmp/link-alias/x.pkg", "link-alias has 2 hard links"},
		{"/Users/ghrunner/x.pkg", "/Users/ghrunner is owned by ghrunner, who can replace x.pkg"},
		{"/Users/ghrunner", "/Users/ghrunner is owned by ghrunner, who can change it"},
		{"/Users/ghrunner/evil", "/Users/ghrunner is owned by ghrunner"},
		{"/Library/Caches/jobs-link", "/Library/Caches/jobs-link is a symlink owned by ghrunner"},
		{"/Library/Caches/into-home", "/Users/ghrunner is owned by ghrunner"},
		{"/Library/Caches/dotdot/x.pkg", "/Users/ghrunner is owned by ghrunner"},
		{"/Library/Caches/staff/inner.pkg", "/Library/Caches/staff is writable by its group (gid 20)"},
		{"/Library/Caches/acl/x", "/Library/Caches/acl has an ACL entry allowing add_file,delete_child"},
		{"/Library/Caches/addonly/x.pkg", ""}, // adding entries cannot replace one
		{"/Library/Caches/addonly/new", "addonly has an ACL entry allowing add_file,add_subdirectory and new does not exist"},
		{"/Library/Caches/delete.pkg", "delete.pkg has an ACL entry allowing delete"},
		{"/Library/Caches/aclwrite.pkg", "aclwrite.pkg has an ACL entry allowing write"},
		{"/Library/Caches/fifo", "/Library/Caches/fifo is a FIFO"},
		{"/Library/Caches/writable.pkg", "writable.pkg is writable by every account"},
		{"/Library/Caches/ghr.pkg", "ghr.pkg is owned by ghrunner, who can change it"},
		{"/Library/Caches/x.pkg.notadir/y", "x.pkg.notadir is a file, not a directory"},
		{"/Library/Caches/loop", "too many levels of symbolic links"},
	}
	in := baseFS()
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			err := RootOnly(context.Background(), in, tt.path)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tt.want != "" && err == nil:
				t.Errorf("accepted, want a refusal naming %q", tt.want)
			case tt.want != "" && !strings.Contains(err.Error(), tt.want):
				t.Errorf("error %q lacks %q", err, tt.want)
			case tt.want != "" && tt.want != "too many levels of symbolic links" && !errors.Is(err, ErrNotRootOnly):
				t.Errorf("error %q does not wrap ErrNotRootOnly", err)
			}
		})
	}
}

// TestCheckCommand pins who the rule applies to: every path of a command
// (the program, Dir and Paths) must be changeable only by root and the
// account it runs as, Verified only by root whatever the principal.
func TestCheckCommand(t *testing.T) {
	in := baseFS()
	ctx := context.Background()
	home := Command{Argv: []string{"/usr/bin/tar", "-xzf", "/Library/Caches/x.pkg", "-C", "/Users/ghrunner"}, User: "ghrunner",
		Paths: []string{"/Library/Caches/x.pkg", "/Users/ghrunner"}, Verified: []string{"/Library/Caches/x.pkg"}}
	if err := CheckCommand(ctx, in, home, home.Argv[0], 502); err != nil {
		t.Errorf("the runner account's own extraction: %v", err)
	}
	// An administrator's bsdtar extracting into the runner account's
	// directory writes with the administrator's rights where the runner
	// account can swap a component for a link.
	admin := home
	admin.User = "admin"
	if err := CheckCommand(ctx, in, admin, admin.Argv[0], 501); !errors.Is(err, ErrNotRootOnly) || !strings.Contains(err.Error(), "refusing to run it as admin: /Users/ghrunner: /Users/ghrunner is owned by ghrunner") {
		t.Errorf("the same extraction as another account: %v", err)
	}
	rm := Command{Argv: []string{"/bin/rm", "-f", "/Users/ghrunner/evil"}, User: "admin", Paths: []string{"/Users/ghrunner/evil"}}
	if err := CheckCommand(ctx, in, rm, rm.Argv[0], 501); !errors.Is(err, ErrNotRootOnly) {
		t.Errorf("an administrator's rm in the runner account's directory: %v", err)
	}
	if err := CheckCommand(ctx, in, home, home.Argv[0], 0); err == nil || !strings.Contains(err.Error(), "refusing to run it as ghrunner") {
		t.Errorf("the same extraction as uid 0: %v", err)
	}
	swapped := home
	swapped.Verified = []string{"/Users/ghrunner/x.pkg"}
	if err := CheckCommand(ctx, in, swapped, "", 502); !errors.Is(err, ErrNotRootOnly) {
		t.Errorf("a verified archive the runner account can replace: %v", err)
	}
	prog := Command{Argv: []string{"/Users/ghrunner/x.pkg"}}
	if err := CheckCommand(ctx, in, prog, prog.Argv[0], 0); !errors.Is(err, ErrNotRootOnly) {
		t.Errorf("a program the runner account can replace, run as root: %v", err)
	}
	dir := Command{Argv: []string{"/usr/bin/true"}, Dir: "/Users/ghrunner"}
	if err := CheckCommand(ctx, in, dir, "", 0); !errors.Is(err, ErrNotRootOnly) {
		t.Errorf("root in a working directory the runner account owns: %v", err)
	}
	record := Command{Argv: []string{"/usr/bin/dscl", ".", "-read", "/Users/ghrunner"}}
	if err := CheckCommand(ctx, in, record, "", 0); err != nil {
		t.Errorf("an argv element that is not a declared path: %v", err)
	}
}

// TestInProcessFileOp pins the forms the real backend performs itself.
func TestInProcessFileOp(t *testing.T) {
	for _, tt := range []struct {
		argv []string
		want bool
	}{
		{[]string{"/usr/sbin/chown", "-h", "a:b", "/x"}, true},
		{[]string{"/usr/sbin/chown", "-R", "a:b", "/x"}, true},
		{[]string{"/usr/sbin/chown", "a:b", "/x"}, true},
		{[]string{"/bin/chmod", "-h", "700", "/x"}, true},
		{[]string{"/bin/chmod", "700", "/x"}, true},
		{[]string{"/bin/chmod", "-N", "/x"}, false},
		{[]string{"/bin/chmod", "-h", "-N", "/x"}, false},
		{[]string{"/bin/mkdir", "-p", "-m", "755", "/x"}, true},
		{[]string{"/bin/rm", "-rf", "/x"}, true},
		{[]string{"/bin/ln", "-sfh", "/t", "/x"}, true},
		{[]string{"/bin/mv", "/a", "/b"}, true},
		{[]string{"/usr/bin/tar", "-xzf", "/a", "-C", "/b"}, false},
		{nil, false},
	} {
		if got := InProcessFileOp(tt.argv); got != tt.want {
			t.Errorf("InProcessFileOp(%q) = %v, want %v", tt.argv, got, tt.want)
		}
	}
}

// TestRootOnlyReadsParsedACLs feeds the rule what the darwin backend
// gives it: ACLAllow computed by kauth.Allowed from a getattrlist answer
// (built here from xnu's layout). A directory whose ACL allows add_file
// to an account's (random) GUID refuses a missing entry below it; the
// same rights granted to root's user GUID or wheel's group GUID, or
// denied to everyone, refuse nothing.
func TestRootOnlyReadsParsedACLs(t *testing.T) {
	other := kauth.GUID{0xb3, 0x0f, 0xef, 0xb7, 0xfe, 0x8c, 0xb9, 0x4d, 0x87, 0xfd, 0x13, 0x15, 0x2e, 0x77, 0xfd, 0xa6}
	const addFile, deleteChild = 1 << 2, 1 << 6
	allowed := func(es ...kauth.ACE) string {
		buf := kauth.AppendFilesec(nil, binary.LittleEndian, es, false)
		got, _, err := kauth.ParseFilesec(buf, binary.LittleEndian)
		if err != nil {
			t.Fatal(err)
		}
		return kauth.Allowed(got, true)
	}
	for _, tc := range []struct {
		name string
		es   []kauth.ACE
		want string
	}{
		{"another account may add files", []kauth.ACE{{Applicable: other, Flags: kauth.KindPermit, Rights: addFile}},
			"/Library/Caches/box has an ACL entry allowing add_file and new does not exist"},
		{"another account may delete entries", []kauth.ACE{{Applicable: kauth.GroupGUID(20), Flags: kauth.KindPermit, Rights: deleteChild}},
			"/Library/Caches/box has an ACL entry allowing delete_child"},
		{"root and wheel", []kauth.ACE{{Applicable: kauth.UserGUID(0), Flags: kauth.KindPermit, Rights: addFile | deleteChild},
			{Applicable: kauth.GroupGUID(0), Flags: kauth.KindPermit, Rights: addFile}}, ""},
		{"everyone denied", []kauth.ACE{{Applicable: kauth.GroupGUID(12), Flags: kauth.KindDeny, Rights: addFile | deleteChild}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := baseFS()
			in["/Library/Caches/box"] = FileInfo{Type: TypeDir, Mode: 0o755, Owner: "root", ACLAllow: allowed(tc.es...)}
			err := RootOnly(context.Background(), in, "/Library/Caches/box/new")
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrNotRootOnly)):
				t.Errorf("got %v, want a refusal naming %q", err, tc.want)
			}
		})
	}
}
