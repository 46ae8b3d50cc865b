package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDupCloexec: the duplicate is close-on-exec, whatever the original.
func TestDupCloexec(t *testing.T) {
	fd, err := unix.Open(t.TempDir(), unix.O_RDONLY|unix.O_DIRECTORY, 0) // no O_CLOEXEC
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	dup, err := DupCloexec(fd)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dup)
	flags, err := unix.FcntlInt(uintptr(dup), unix.F_GETFD, 0)
	if err != nil {
		t.Fatal(err)
	}
	if flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("the duplicate of %d (%d) is inherited by every program hvfctl starts", fd, dup)
	}
	if _, err := DupCloexec(-1); err == nil {
		t.Error("a bad descriptor was duplicated")
	}
}

// TestNoInheritableDescriptors keeps the class closed: no Go file of
// hvfctl outside tests makes a descriptor with dup(2), which clears
// close-on-exec (use DupCloexec), or with pipe(2) (os.Pipe sets it).
func TestNoInheritableDescriptors(t *testing.T) {
	// go test runs in the package's directory. (runtime.Caller's file
	// name is not a path on disk under -trimpath, which make test sets.)
	root := filepath.Join("..", "..")
	bad := []string{"unix.Dup(", "syscall.Dup(", "unix.Dup2(", "syscall.Dup2(", "unix.Dup3(", "unix.Pipe(", "syscall.Pipe("}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, s := range bad {
				if strings.Contains(line, s) {
					t.Errorf("%s:%d: %s makes a descriptor without close-on-exec (use host.DupCloexec or O_CLOEXEC)", p, i+1, strings.TrimSuffix(s, "("))
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
