package darwin

import "golang.org/x/sys/unix"

// getTermiosRequest is the ioctl that reads a terminal's settings.
const getTermiosRequest = unix.TIOCGETA
