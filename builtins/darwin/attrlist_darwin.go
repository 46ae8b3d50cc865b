package darwin

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/kauth"
)

// attrRequest is the getattrlist request of kauth.Request.
func attrRequest() unix.Attrlist {
	return unix.Attrlist{Bitmapcount: unix.ATTR_BIT_MAP_COUNT, Commonattr: kauth.Request}
}

// getattrlistat fills buf with the attributes of kauth.Request of the
// entry name in the directory dirfd, never following it
// (FSOPT_NOFOLLOW): getattrlistat(2), system call 476 in xnu's
// bsd/kern/syscalls.master. x/sys/unix has no wrapper, so the trap is
// issued directly (syscall.Syscall6 on darwin enters the kernel with the
// number in x16; no cgo).
func getattrlistat(dirfd int, name string, buf []byte) error {
	p, err := unix.BytePtrFromString(name)
	if err != nil {
		return err
	}
	al := attrRequest()
	_, _, e := syscall.Syscall6(unix.SYS_GETATTRLISTAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&al)), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(kauth.FSOptNoFollow))
	if e != 0 {
		return e
	}
	return nil
}

// fgetattrlist fills buf with the attributes of kauth.Request of the
// object open on fd: fgetattrlist(2), system call 228.
func fgetattrlist(fd int, buf []byte) error {
	al := attrRequest()
	_, _, e := syscall.Syscall6(unix.SYS_FGETATTRLIST, uintptr(fd), uintptr(unsafe.Pointer(&al)),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}
