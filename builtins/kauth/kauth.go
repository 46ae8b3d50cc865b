// Package kauth reads macOS extended security (ACLs) in pure Go: the
// attribute buffer getattrlist(2) fills for ATTR_CMN_EXTENDED_SECURITY
// (a kauth_filesec), the entries rendered in the text `ls -le` prints,
// and the one rule both backends use to say which rights an ACL grants
// to a principal other than root (host.FileInfo.ACLAllow).
//
// Every constant and layout comes from xnu (apple-oss-distributions/xnu):
// bsd/sys/kauth.h (struct kauth_filesec, kauth_acl, kauth_ace, the
// KAUTH_ACE_* flags and KAUTH_VNODE_* rights), bsd/sys/attr.h (struct
// attrlist, attribute_set_t, attrreference_t, ATTR_CMN_*),
// bsd/vfs/vfs_attrlist.c (attr_pack_common: attributes packed in bit
// order after the length and the returned set, the ACL packed in host
// byte order behind an attrreference) and bsd/kern/kern_credential.c
// (the compatibility GUIDs of uids and gids); the text form from
// apple-oss-distributions/file_cmds ls/print.c (printacl, uuid_to_name).
// docs/host-commands.md cites them. The package does no I/O: the darwin
// backend issues the system call, the fake builds entries from its model.
package kauth

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Attribute request bits (bsd/sys/attr.h).
const (
	AttrBitMapCount     = 5          // ATTR_BIT_MAP_COUNT
	AttrCmnDevID        = 0x00000002 // ATTR_CMN_DEVID: dev_t (4 bytes)
	AttrCmnExtendedSec  = 0x00400000 // ATTR_CMN_EXTENDED_SECURITY: attrreference_t
	AttrCmnFileID       = 0x02000000 // ATTR_CMN_FILEID: uint64
	AttrCmnReturnedAttr = 0x80000000 // ATTR_CMN_RETURNED_ATTRS: attribute_set_t, packed first
	FSOptNoFollow       = 0x00000001 // FSOPT_NOFOLLOW
)

// Request is the commonattr set hvfctl asks getattrlist for: the
// returned set (so an object without an ACL is told apart), the device
// and file id (so the answer is matched to the object a stat saw) and
// the extended security.
const Request = AttrCmnReturnedAttr | AttrCmnDevID | AttrCmnExtendedSec | AttrCmnFileID

// Layout sizes (bsd/sys/kauth.h, bsd/sys/attr.h).
const (
	guidSize      = 16
	filesecHeader = 4 + 2*guidSize // fsec_magic, fsec_owner, fsec_group: offsetof(kauth_filesec, fsec_acl)
	aclHeader     = 8              // acl_entrycount, acl_flags
	// FilesecMin is KAUTH_FILESEC_SIZE(0).
	FilesecMin = filesecHeader + aclHeader
	// AceSize is sizeof(struct kauth_ace): a GUID, flags, rights.
	AceSize = guidSize + 4 + 4
	// MaxEntries is KAUTH_ACL_MAX_ENTRIES.
	MaxEntries = 128
	// FilesecMagic is KAUTH_FILESEC_MAGIC.
	FilesecMagic = 0x012cc16d
	// NoACL is KAUTH_FILESEC_NOACL: an entry count saying there is no ACL.
	NoACL = 0xffffffff
	// attributeSetSize is sizeof(attribute_set_t): five attrgroup_t.
	attributeSetSize = 4 * AttrBitMapCount
	// BufSize is a buffer that holds every answer to Request: the length,
	// the returned set, the device id, the attrreference, the file id and
	// the largest filesec (KAUTH_ACL_MAX_ENTRIES entries).
	BufSize = 4 + attributeSetSize + 4 + 8 + 8 + FilesecMin + MaxEntries*AceSize
)

// ACE flags (struct kauth_ace.ace_flags).
const (
	KindMask         = 0xf
	KindPermit       = 1 // KAUTH_ACE_PERMIT (acl(3) ACL_EXTENDED_ALLOW)
	KindDeny         = 2 // KAUTH_ACE_DENY (ACL_EXTENDED_DENY)
	FlagInherited    = 1 << 4
	FlagFileInherit  = 1 << 5
	FlagDirInherit   = 1 << 6
	FlagLimitInherit = 1 << 7
	FlagOnlyInherit  = 1 << 8
)

// GUID is a kauth guid_t: 16 bytes, shown as uuid_unparse_upper shows
// them.
type GUID [guidSize]byte

// String renders g as XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX, upper case.
func (g GUID) String() string {
	s := strings.ToUpper(hex.EncodeToString(g[:]))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// ParseGUID reads the text form of a GUID (either case).
func ParseGUID(s string) (GUID, error) {
	var g GUID
	h := strings.ReplaceAll(s, "-", "")
	if len(s) != 36 || len(h) != 32 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return g, fmt.Errorf("%q is not a GUID (XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX)", s)
	}
	if _, err := hex.Decode(g[:], []byte(h)); err != nil {
		return g, fmt.Errorf("%q is not a GUID: %w", s, err)
	}
	return g, nil
}

// The compatibility GUIDs (bsd/kern/kern_credential.c, _user_compat_prefix
// and _group_compat_prefix, which "must match" Libinfo's
// mbr_identifier_translate): twelve fixed bytes, then the id in network
// byte order. Root's user GUID is UserGUID(0)
// (FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000) and wheel's group GUID is
// GroupGUID(0) (ABCDEFAB-CDEF-ABCD-EFAB-CDEF00000000); everyone's is
// GroupGUID(12), the well-known KAUTH_WKG_EVERYBODY (kauth_wellknown_guid).
var (
	userPrefix  = [12]byte{0xff, 0xff, 0xee, 0xee, 0xdd, 0xdd, 0xcc, 0xcc, 0xbb, 0xbb, 0xaa, 0xaa}
	groupPrefix = [12]byte{0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef, 0xab, 0xcd, 0xef}
)

// UserGUID is the compatibility GUID of uid.
func UserGUID(uid uint32) GUID { return compat(userPrefix, uid) }

// GroupGUID is the compatibility GUID of gid.
func GroupGUID(gid uint32) GUID { return compat(groupPrefix, gid) }

func compat(prefix [12]byte, id uint32) GUID {
	var g GUID
	copy(g[:], prefix[:])
	binary.BigEndian.PutUint32(g[12:], id)
	return g
}

// CompatUID returns the uid a compatibility user GUID stands for.
func (g GUID) CompatUID() (uint32, bool) {
	if [12]byte(g[:12]) != userPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint32(g[12:]), true
}

// CompatGID returns the gid a compatibility group GUID stands for.
func (g GUID) CompatGID() (uint32, bool) {
	if [12]byte(g[:12]) != groupPrefix {
		return 0, false
	}
	return binary.BigEndian.Uint32(g[12:]), true
}

// ACE is one access control entry (struct kauth_ace).
type ACE struct {
	Applicable GUID
	Flags      uint32
	Rights     uint32
}

// Reply is what getattrlist answered to Request.
type Reply struct {
	DevID  uint32
	FileID uint64
	// HasACL says the object carries an ACL (possibly with no entries);
	// Entries are its entries in order.
	HasACL  bool
	Entries []ACE
}

// ErrBadBuffer is wrapped by every error of ParseReply and ParseFilesec.
var ErrBadBuffer = errors.New("malformed getattrlist answer")

func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadBuffer, fmt.Sprintf(format, a...))
}

// ParseReply reads the buffer getattrlist filled for Request in the byte
// order order (the kernel packs in host order: little-endian on arm64).
// The buffer starts with its length, then the returned attribute set,
// then the fixed part of each returned attribute in bit order (device id,
// the attrreference of the extended security, file id); the
// attrreference's offset is relative to itself and points at a
// kauth_filesec. An attribute the kernel did not return (no ACL) takes
// no room. Anything out of bounds or inconsistent is an error wrapping
// ErrBadBuffer, never a panic.
func ParseReply(buf []byte, order binary.ByteOrder) (Reply, error) {
	var r Reply
	if len(buf) < 4+attributeSetSize {
		return r, bad("%d bytes, shorter than its header", len(buf))
	}
	n := int(order.Uint32(buf))
	if n < 4+attributeSetSize || n > len(buf) {
		return r, bad("length %d outside 24..%d", n, len(buf))
	}
	buf = buf[:n]
	common := order.Uint32(buf[4:])
	if common&AttrCmnDevID == 0 || common&AttrCmnFileID == 0 {
		return r, bad("the device or file id was not returned (attributes %#x)", common)
	}
	if common&^uint32(Request) != 0 {
		return r, bad("attributes %#x were not asked for", common&^uint32(Request))
	}
	off := 4 + attributeSetSize
	need := func(k int) error {
		if off+k > len(buf) {
			return bad("fixed attributes end at %d, past the %d bytes returned", off+k, len(buf))
		}
		return nil
	}
	if err := need(4); err != nil {
		return r, err
	}
	r.DevID = order.Uint32(buf[off:])
	off += 4
	if common&AttrCmnExtendedSec != 0 {
		if err := need(8); err != nil {
			return r, err
		}
		ref := off
		dataOff := int64(int32(order.Uint32(buf[off:])))
		length := int64(order.Uint32(buf[off+4:]))
		off += 8
		if length > 0 {
			start := int64(ref) + dataOff
			if start < int64(ref) || start+length > int64(len(buf)) {
				return r, bad("the ACL's %d bytes at offset %d lie outside the %d bytes returned", length, start, len(buf))
			}
			es, has, err := ParseFilesec(buf[start:start+length], order)
			if err != nil {
				return r, err
			}
			r.HasACL, r.Entries = has, es
		}
	}
	if err := need(8); err != nil {
		return r, err
	}
	r.FileID = order.Uint64(buf[off:])
	return r, nil
}

// ParseFilesec reads a kauth_filesec as getattrlist returns it: the
// magic, two GUIDs (null there), the entry count (NoACL: none), the ACL
// flags and exactly that many entries. has is false for NoACL.
func ParseFilesec(b []byte, order binary.ByteOrder) (entries []ACE, has bool, err error) {
	if len(b) < FilesecMin {
		return nil, false, bad("ACL of %d bytes, shorter than KAUTH_FILESEC_SIZE(0) = %d", len(b), FilesecMin)
	}
	if m := order.Uint32(b); m != FilesecMagic {
		return nil, false, bad("ACL magic %#08x, want %#08x", m, FilesecMagic)
	}
	count := order.Uint32(b[filesecHeader:])
	if count == NoACL {
		if len(b) != FilesecMin {
			return nil, false, bad("ACL without entries (KAUTH_FILESEC_NOACL) of %d bytes, want %d", len(b), FilesecMin)
		}
		return nil, false, nil
	}
	if count > MaxEntries {
		return nil, false, bad("ACL of %d entries, more than KAUTH_ACL_MAX_ENTRIES (%d)", count, MaxEntries)
	}
	if want := FilesecMin + int(count)*AceSize; len(b) != want {
		return nil, false, bad("ACL of %d entries in %d bytes, want %d", count, len(b), want)
	}
	entries = make([]ACE, 0, count)
	for i := 0; i < int(count); i++ {
		e := b[FilesecMin+i*AceSize:]
		var a ACE
		copy(a.Applicable[:], e[:guidSize])
		a.Flags = order.Uint32(e[guidSize:])
		a.Rights = order.Uint32(e[guidSize+4:])
		entries = append(entries, a)
	}
	return entries, true, nil
}

// AppendFilesec encodes entries as a kauth_filesec with null owner and
// group GUIDs, as getattrlist returns it (nil entries and noACL: the
// KAUTH_FILESEC_NOACL form). Tests build answers with it.
func AppendFilesec(b []byte, order binary.AppendByteOrder, entries []ACE, noACL bool) []byte {
	b = order.AppendUint32(b, FilesecMagic)
	b = append(b, make([]byte, 2*guidSize)...)
	if noACL {
		b = order.AppendUint32(b, NoACL)
		return order.AppendUint32(b, 0)
	}
	b = order.AppendUint32(b, uint32(len(entries)))
	b = order.AppendUint32(b, 0)
	for _, e := range entries {
		b = append(b, e.Applicable[:]...)
		b = order.AppendUint32(b, e.Flags)
		b = order.AppendUint32(b, e.Rights)
	}
	return b
}

// right is one access right as ls -le (file_cmds ls/print.c acl_perms,
// in that order) and chmod(1) name it; dir and file say to which objects
// the name applies.
type right struct {
	bit       uint32
	name      string
	dir, file bool
}

// rights are KAUTH_VNODE_* (bsd/sys/kauth.h), equal to acl(3)'s
// ACL_* permissions (Libc include/sys/acl.h).
var rights = []right{
	{1 << 1, "read", false, true},
	{1 << 1, "list", true, false},
	{1 << 2, "write", false, true},
	{1 << 2, "add_file", true, false},
	{1 << 3, "execute", false, true},
	{1 << 3, "search", true, false},
	{1 << 4, "delete", true, true},
	{1 << 5, "append", false, true},
	{1 << 5, "add_subdirectory", true, false},
	{1 << 6, "delete_child", true, false},
	{1 << 7, "readattr", true, true},
	{1 << 8, "writeattr", true, true},
	{1 << 9, "readextattr", true, true},
	{1 << 10, "writeextattr", true, true},
	{1 << 11, "readsecurity", true, true},
	{1 << 12, "writesecurity", true, true},
	{1 << 13, "chown", true, true},
}

// The generic rights of an entry (KAUTH_ACE_GENERIC_*, bsd/sys/kauth.h):
// the kernel expands each into a set of rights when it evaluates the ACL
// (kauth_acl_evaluate in bsd/kern/kern_authorization.c, with the
// KAUTH_VNODE_GENERIC_*_BITS that vnode_authorize passes), so an entry
// granting generic_write grants add_file, delete_child and writesecurity
// although none of those bits is set. ls -le names none of them (its
// table, file_cmds ls/print.c, lists the rights above only), and acl(3)
// cannot set them, but a kauth_filesec given to setattrlist or chmodx_np
// carries whatever bits its writer chose.
const (
	GenericAll     = 1 << 21 // KAUTH_ACE_GENERIC_ALL
	GenericExecute = 1 << 22 // KAUTH_ACE_GENERIC_EXECUTE
	GenericWrite   = 1 << 23 // KAUTH_ACE_GENERIC_WRITE
	GenericRead    = 1 << 24 // KAUTH_ACE_GENERIC_READ
)

// The expansions of the generic rights at evaluation time
// (KAUTH_VNODE_GENERIC_READ_BITS, _WRITE_BITS, _EXECUTE_BITS, _ALL_BITS).
const (
	genericReadBits    = 1<<1 | 1<<7 | 1<<9 | 1<<11                       // read data, attributes, extended attributes, security
	genericWriteBits   = 1<<2 | 1<<5 | 1<<4 | 1<<6 | 1<<8 | 1<<10 | 1<<12 // write, append, delete, delete_child, writeattr, writeextattr, writesecurity
	genericExecuteBits = 1 << 3
	genericAllBits     = genericReadBits | genericWriteBits | genericExecuteBits
)

// generics names the generic rights in Text (hvfctl's names: ls -le
// shows none of them).
var generics = []right{
	{GenericAll, "generic_all", true, true},
	{GenericExecute, "generic_execute", true, true},
	{GenericWrite, "generic_write", true, true},
	{GenericRead, "generic_read", true, true},
}

// Effective returns the rights an entry's rights field grants once the
// kernel has expanded its generic rights.
func Effective(r uint32) uint32 {
	if r&GenericAll != 0 {
		r |= genericAllBits
	}
	if r&GenericWrite != 0 {
		r |= genericWriteBits
	}
	if r&GenericRead != 0 {
		r |= genericReadBits
	}
	if r&GenericExecute != 0 {
		r |= genericExecuteBits
	}
	return r
}

// flags are the inheritance flags ls -le prints after the rights
// (file_cmds ls/print.c acl_flags).
var flags = []right{
	{FlagFileInherit, "file_inherit", true, false},
	{FlagDirInherit, "directory_inherit", true, false},
	{FlagLimitInherit, "limit_inherit", true, true},
	{FlagOnlyInherit, "only_inherit", true, false},
}

// Namer names the principal of a GUID as mbr_identifier_translate does
// for ls: "user:NAME" or "group:NAME", ok false when it cannot.
type Namer func(g GUID) (string, bool)

// CompatNamer names compatibility GUIDs through the account lookups
// user(uid) and group(gid) (each ok false for an id the system does not
// know). Any other GUID (an account sysadminctl created has a random
// GeneratedUID) is not named: telling its account needs the membership
// API (mbr_uuid_to_id), which needs cgo.
func CompatNamer(user, group func(id uint32) (string, bool)) Namer {
	return func(g GUID) (string, bool) {
		if uid, ok := g.CompatUID(); ok {
			if n, ok := user(uid); ok {
				return "user:" + n, true
			}
		}
		if gid, ok := g.CompatGID(); ok {
			if n, ok := group(gid); ok {
				return "group:" + n, true
			}
		}
		return "", false
	}
}

// Text renders an entry as ls -le prints it after " N: ": the principal
// (named by name, else the GUID), " inherited" when it was inherited,
// "allow", "deny" or "unknown", then the rights and inheritance flags
// that apply to a directory (dir) or a file, comma-separated. Unlike ls,
// it names the generic rights too (generic_all, generic_write, ...,
// before the flags): ls -le shows an entry holding only generic_write as
// granting nothing, while the kernel grants what it expands to.
func Text(a ACE, dir bool, name Namer) string {
	who, ok := "", false
	if name != nil {
		who, ok = name(a.Applicable)
	}
	if !ok {
		who = a.Applicable.String()
	}
	kind := "unknown"
	switch a.Flags & KindMask {
	case KindPermit:
		kind = "allow"
	case KindDeny:
		kind = "deny"
	}
	inh := ""
	if a.Flags&FlagInherited != 0 {
		inh = " inherited"
	}
	var names []string
	for _, r := range rights {
		if a.Rights&r.bit != 0 && (dir && r.dir || !dir && r.file) {
			names = append(names, r.name)
		}
	}
	for _, g := range generics {
		if a.Rights&g.bit != 0 {
			names = append(names, g.name)
		}
	}
	for _, f := range flags {
		if a.Flags&f.bit != 0 && (dir && f.dir || !dir && f.file) {
			names = append(names, f.name)
		}
	}
	return fmt.Sprintf("%s%s %s %s", who, inh, kind, strings.Join(names, ","))
}

// Texts renders every entry with Text.
func Texts(es []ACE, dir bool, name Namer) []string {
	out := make([]string, 0, len(es))
	for _, a := range es {
		out = append(out, Text(a, dir, name))
	}
	return out
}

// Privileged reports whether g is root's user GUID or wheel's group GUID:
// what an ACL entry grants them grants nothing root lacks.
func Privileged(g GUID) bool { return g == UserGUID(0) || g == GroupGUID(0) }

// Allowed is the one rule behind host.FileInfo.ACLAllow on both
// backends: the rights (named for a directory or a file, as Text names
// them; sorted, comma-separated) that the PERMIT entries grant to a
// principal other than root and wheel, generic rights expanded as the
// kernel expands them (Effective). Deny entries grant nothing. An
// inherit-only entry is counted too: it grants nothing on the object
// itself, but root's next object created below it would carry it.
func Allowed(es []ACE, dir bool) string {
	set := map[string]bool{}
	for _, a := range es {
		if a.Flags&KindMask != KindPermit || Privileged(a.Applicable) {
			continue
		}
		granted := Effective(a.Rights)
		for _, r := range rights {
			if granted&r.bit != 0 && (dir && r.dir || !dir && r.file) {
				set[r.name] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// ParseText reads an entry in the form chmod(1) takes and Text prints,
// resolving its principal with guid: "user:NAME", "group:NAME" or a
// bare GUID, an optional "inherited", "allow" or "deny", then
// comma-separated rights and inheritance flags (either object's names).
// The fake macOS keeps its ACLs in this form.
func ParseText(s string, guid func(kind, name string) (GUID, error)) (ACE, error) {
	var a ACE
	f := strings.Fields(s)
	if len(f) < 2 {
		return a, fmt.Errorf("ACL entry %q: want PRINCIPAL [inherited] allow|deny RIGHTS", s)
	}
	who := f[0]
	switch kind, name, found := strings.Cut(who, ":"); {
	case found && (kind == "user" || kind == "group"):
		g, err := guid(kind, name)
		if err != nil {
			return a, fmt.Errorf("ACL entry %q: %w", s, err)
		}
		a.Applicable = g
	default:
		g, err := ParseGUID(who)
		if err != nil {
			return a, fmt.Errorf("ACL entry %q: the principal must be user:NAME, group:NAME or a GUID: %w", s, err)
		}
		a.Applicable = g
	}
	f = f[1:]
	if f[0] == "inherited" {
		a.Flags |= FlagInherited
		f = f[1:]
	}
	if len(f) == 0 {
		return a, fmt.Errorf("ACL entry %q: no allow or deny", s)
	}
	switch f[0] {
	case "allow":
		a.Flags |= KindPermit
	case "deny":
		a.Flags |= KindDeny
	default:
		return a, fmt.Errorf("ACL entry %q: %q is neither allow nor deny", s, f[0])
	}
	if len(f) != 2 {
		return a, fmt.Errorf("ACL entry %q: want one comma-separated list of rights", s)
	}
next:
	for _, n := range strings.Split(f[1], ",") {
		for _, r := range rights {
			if r.name == n {
				a.Rights |= r.bit
				continue next
			}
		}
		for _, g := range generics {
			if g.name == n {
				a.Rights |= g.bit
				continue next
			}
		}
		for _, fl := range flags {
			if fl.name == n {
				a.Flags |= fl.bit
				continue next
			}
		}
		return a, fmt.Errorf("ACL entry %q: unknown right %q", s, n)
	}
	return a, nil
}
