//go:build !darwin

package darwin

import (
	"encoding/binary"

	"golang.org/x/sys/unix"

	"github.com/sysprog21/hvfctl/builtins/kauth"
)

// getattrlistat stands in for macOS's getattrlistat(2) where the
// package is built for its tests (Linux): the answer is the one the
// kernel gives for an object without an ACL (the length, the returned
// set, the device and file id; no extended security), built from
// fstatat without following the entry, so that the identity check and
// the parser run there too.
func getattrlistat(dirfd int, name string, buf []byte) error {
	var st unix.Stat_t
	if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	return noACLReply(&st, buf)
}

// fgetattrlist is getattrlistat for the object open on fd.
func fgetattrlist(fd int, buf []byte) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	return noACLReply(&st, buf)
}

func noACLReply(st *unix.Stat_t, buf []byte) error {
	o := binary.NativeEndian
	b := o.AppendUint32(nil, 4+20+4+8)
	b = o.AppendUint32(b, kauth.AttrCmnReturnedAttr|kauth.AttrCmnDevID|kauth.AttrCmnFileID)
	b = append(b, make([]byte, 16)...)
	b = o.AppendUint32(b, uint32(st.Dev))
	b = o.AppendUint64(b, st.Ino)
	copy(buf, b)
	return nil
}
