package host

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// DupCloexec duplicates fd with the close-on-exec flag set atomically
// (fcntl F_DUPFD_CLOEXEC). dup(2) clears the flag on the copy, so a
// program hvfctl starts from another goroutine between the dup and the
// close would inherit a descriptor root opened: a directory whose entries
// it could then list whatever the directory's mode, or a file it could
// read or write. Every descriptor hvfctl opens is close-on-exec (O_CLOEXEC
// on every open and openat, Go's own files); its duplicates must be too.
func DupCloexec(fd int) (int, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("dup descriptor %d: %w", fd, err)
	}
	return nfd, nil
}
