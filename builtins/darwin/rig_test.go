package darwin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// standinBin is the stand-in executable built once by TestMain.
var standinBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hvfctl-standin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		standinBin = filepath.Join(dir, "standin")
		build := exec.Command("go", "build", "-o", standinBin, "./testdata/standin")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build the stand-in:", err)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// account is one entry of the fake user database of a rig.
type account struct {
	uid, gid int
	groups   []int
	home     string
}

// Accounts of the fake user database. The ids need no /etc/passwd entry:
// as root, the kernel switches to any id.
const (
	runnerUID = 4242
	runnerGID = 4242
	extraGID  = 4300
	adminUID  = 4100
	staffGID  = 20
)

// rig is a Host whose tools are stand-ins under a tool root.
type rig struct {
	h        *Host
	toolRoot string
	accounts map[string]account
}

// programs are the argv[0] values under which the stand-in is installed.
var programs = []string{"/usr/bin/standin", "/opt/homebrew/bin/brew", "/usr/sbin/sysadminctl"}

func newRig(t *testing.T, mutate func(*Options)) *rig {
	t.Helper()
	requireRoot(t)
	base := worldReadableTempDir(t)
	r := &rig{toolRoot: filepath.Join(base, "tools"), accounts: map[string]account{
		"root":     {0, 0, []int{0}, mkdirOwned(t, filepath.Join(base, "root-home"), 0, 0)},
		"ghrunner": {runnerUID, runnerGID, []int{runnerGID, extraGID}, mkdirOwned(t, filepath.Join(base, "ghrunner-home"), runnerUID, runnerGID)},
		"admin":    {adminUID, staffGID, []int{staffGID}, mkdirOwned(t, filepath.Join(base, "admin-home"), adminUID, staffGID)},
	}}
	for _, p := range programs {
		dst := filepath.Join(r.toolRoot, p)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		copyFile(t, standinBin, dst, 0o755)
	}
	opts := Options{
		ToolRoot: r.toolRoot,
		Lookup: func(name string) (int, int, []int, string, error) {
			a, ok := r.accounts[name]
			if !ok {
				return 0, 0, nil, "", fmt.Errorf("no such user %q", name)
			}
			return a.uid, a.gid, a.groups, a.home, nil
		},
		LookupGroup: func(name string) (int, error) {
			switch name {
			case "wheel":
				return 0, nil
			case "staff":
				return staffGID, nil
			case "ghrunner":
				return runnerGID, nil
			}
			return 0, fmt.Errorf("no such group %q", name)
		},
	}
	if mutate != nil {
		mutate(&opts)
	}
	h, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	r.h = h
	return r
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root: the backend's credential switch and chown are tested for real")
	}
}

// worldReadableTempDir is a t.TempDir that other uids can traverse, so
// that stand-ins run as dropped principals can be executed.
func worldReadableTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mkdirOwned(t *testing.T, dir string, uid, gid int) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatal(err)
	}
	return dir
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// report is what the stand-in prints.
type report struct {
	Argv        []string          `json:"argv"`
	Env         []string          `json:"env"`
	EnvSHA256   map[string]string `json:"env_sha256"`
	Cwd         string            `json:"cwd"`
	UID         int               `json:"uid"`
	GID         int               `json:"gid"`
	Groups      []int             `json:"groups"`
	Stdin       string            `json:"stdin"`
	StdinSHA256 string            `json:"stdin_sha256"`
	TTY         bool              `json:"tty"`
	Pgid        int               `json:"pgid"`
	Pid         int               `json:"pid"`
}

// parseReport finds the stand-in's JSON line in an output.
func parseReport(t *testing.T, out string) report {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		i := strings.IndexByte(line, '{')
		if i < 0 {
			continue
		}
		var r report
		if err := json.Unmarshal([]byte(line[i:]), &r); err == nil {
			return r
		}
	}
	t.Fatalf("no stand-in report in output %q", out)
	return report{}
}

// mustRun runs c and fails the test on a Run error.
func (r *rig) mustRun(t *testing.T, c host.Command) (host.Result, report) {
	t.Helper()
	res, err := r.h.Run(t.Context(), c)
	if err != nil {
		t.Fatalf("Run(%q): %v", c.Argv, err)
	}
	return res, parseReport(t, res.Stdout)
}
