package kauth

import (
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"testing"
)

var le = binary.LittleEndian

// reply builds a getattrlist answer to Request the way
// bsd/vfs/vfs_attrlist.c packs it: the length, the returned set, the
// device id, (when acl is not nil) an attrreference whose offset is
// relative to itself and points past the fixed part, the file id, then
// the filesec padded to 4 bytes.
func reply(dev uint32, ino uint64, acl []byte) []byte {
	common := uint32(AttrCmnReturnedAttr | AttrCmnDevID | AttrCmnFileID)
	fixed := 4 + attributeSetSize + 4 + 8
	if acl != nil {
		common |= AttrCmnExtendedSec
		fixed += 8
	}
	b := le.AppendUint32(nil, 0) // length, set below
	b = le.AppendUint32(b, common)
	b = append(b, make([]byte, 16)...)
	b = le.AppendUint32(b, dev)
	if acl != nil {
		ref := len(b)
		b = le.AppendUint32(b, uint32(fixed-ref))
		b = le.AppendUint32(b, uint32(len(acl)))
	}
	b = le.AppendUint64(b, ino)
	b = append(b, acl...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	le.PutUint32(b, uint32(len(b)))
	return b
}

var (
	everyone = GroupGUID(12)
	ghrunner = GUID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	names    = CompatNamer(func(id uint32) (string, bool) {
		return map[uint32]string{0: "root", 501: "admin"}[id], id == 0 || id == 501
	}, func(id uint32) (string, bool) {
		return map[uint32]string{0: "wheel", 12: "everyone", 20: "staff"}[id], id == 0 || id == 12 || id == 20
	})
)

func TestGUIDs(t *testing.T) {
	for _, c := range []struct {
		g    GUID
		want string
	}{
		{UserGUID(0), "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000"},
		{GroupGUID(0), "ABCDEFAB-CDEF-ABCD-EFAB-CDEF00000000"},
		{GroupGUID(12), "ABCDEFAB-CDEF-ABCD-EFAB-CDEF0000000C"},
		{UserGUID(0xfffffffe), "FFFFEEEE-DDDD-CCCC-BBBB-AAAAFFFFFFFE"},
	} {
		if got := c.g.String(); got != c.want {
			t.Errorf("GUID %x renders %s, want %s", c.g[:], got, c.want)
		}
		if back, err := ParseGUID(c.want); err != nil || back != c.g {
			t.Errorf("ParseGUID(%s) = %v, %v", c.want, back, err)
		}
	}
	if uid, ok := UserGUID(501).CompatUID(); !ok || uid != 501 {
		t.Errorf("CompatUID of user 501's GUID: %d %v", uid, ok)
	}
	if _, ok := GroupGUID(501).CompatUID(); ok {
		t.Error("a group GUID read as a user's")
	}
	if _, ok := ghrunner.CompatGID(); ok {
		t.Error("a random GUID read as a group's")
	}
	for _, s := range []string{"", "FFFFEEEE-DDDD-CCCC-BBBB-AAAA0000000", "FFFFEEEEDDDD-CCCC-BBBB-AAAA000000000", "GFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000"} {
		if _, err := ParseGUID(s); err == nil {
			t.Errorf("ParseGUID(%q) accepted", s)
		}
	}
}

func TestParseReply(t *testing.T) {
	deny := ACE{everyone, KindDeny, 1 << 4}
	allow := ACE{ghrunner, KindPermit, 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6}
	inh := ACE{UserGUID(501), KindPermit | FlagInherited | FlagFileInherit | FlagDirInherit | FlagLimitInherit | FlagOnlyInherit, 1 << 2}
	two := AppendFilesec(nil, le, []ACE{deny, allow}, false)
	for _, c := range []struct {
		name    string
		buf     []byte
		has     bool
		entries []ACE
		err     bool
	}{
		{name: "no ACL: the attribute is not returned", buf: reply(7, 99, nil)},
		{name: "no ACL: a zero-length reference", buf: func() []byte {
			b := reply(7, 99, []byte{})
			return b
		}()},
		{name: "KAUTH_FILESEC_NOACL", buf: reply(7, 99, AppendFilesec(nil, le, nil, true))},
		{name: "empty ACL", buf: reply(7, 99, AppendFilesec(nil, le, nil, false)), has: true, entries: []ACE{}},
		{name: "deny and allow", buf: reply(7, 99, two), has: true, entries: []ACE{deny, allow}},
		{name: "inherited", buf: reply(7, 99, AppendFilesec(nil, le, []ACE{inh}, false)), has: true, entries: []ACE{inh}},
		{name: "empty buffer", buf: nil, err: true},
		{name: "header only", buf: make([]byte, 23), err: true},
		{name: "length past the buffer", buf: func() []byte { b := reply(7, 99, two); le.PutUint32(b, uint32(len(b)+4)); return b }(), err: true},
		{name: "truncated by the length", buf: func() []byte { b := reply(7, 99, two); le.PutUint32(b, uint32(len(b)-24)); return b }(), err: true},
		{name: "truncated buffer", buf: reply(7, 99, two)[:40], err: true},
		{name: "reference out of bounds", buf: func() []byte { b := reply(7, 99, two); le.PutUint32(b[28:], 1<<20); return b }(), err: true},
		{name: "negative reference", buf: func() []byte { b := reply(7, 99, two); le.PutUint32(b[28:], uint32(0xfffffff0)); return b }(), err: true},
		{name: "oversized length", buf: func() []byte { b := reply(7, 99, two); le.PutUint32(b[32:], 0xffffffff); return b }(), err: true},
		{name: "bad magic", buf: func() []byte { f := slices.Clone(two); f[0] ^= 1; return reply(7, 99, f) }(), err: true},
		{name: "count beyond the bytes", buf: func() []byte { f := slices.Clone(two); le.PutUint32(f[36:], 3); return reply(7, 99, f) }(), err: true},
		{name: "count beyond 128", buf: func() []byte { f := slices.Clone(two); le.PutUint32(f[36:], 129); return reply(7, 99, f) }(), err: true},
		{name: "NOACL with entries", buf: func() []byte { f := slices.Clone(two); le.PutUint32(f[36:], NoACL); return reply(7, 99, f) }(), err: true},
		{name: "short filesec", buf: reply(7, 99, two[:20]), err: true},
		{name: "big-endian answer", buf: func() []byte { return reply(7, 99, AppendFilesec(nil, binary.BigEndian, []ACE{deny}, false)) }(), err: true},
		{name: "no file id", buf: func() []byte { b := reply(7, 99, nil); le.PutUint32(b[4:], AttrCmnReturnedAttr|AttrCmnDevID); return b }(), err: true},
		{name: "unasked attribute", buf: func() []byte { b := reply(7, 99, nil); le.PutUint32(b[4:], le.Uint32(b[4:])|1); return b }(), err: true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := ParseReply(c.buf, le)
			if c.err {
				if err == nil || !errors.Is(err, ErrBadBuffer) {
					t.Fatalf("ParseReply = %+v, %v; want an ErrBadBuffer", r, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.DevID != 7 || r.FileID != 99 {
				t.Errorf("dev %d ino %d, want 7 99", r.DevID, r.FileID)
			}
			if r.HasACL != c.has || !slices.Equal(r.Entries, c.entries) {
				t.Errorf("ACL %v %+v, want %v %+v", r.HasACL, r.Entries, c.has, c.entries)
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		a    ACE
		dir  bool
		want string
	}{
		{ACE{everyone, KindDeny, 1 << 4}, true, "group:everyone deny delete"},
		{ACE{ghrunner, KindPermit, 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6}, true, "12345678-9ABC-DEF0-1234-56789ABCDEF0 allow list,add_file,search,add_subdirectory,delete_child"},
		{ACE{ghrunner, KindPermit, 1<<1 | 1<<2 | 1<<3 | 1<<5 | 1<<6}, false, "12345678-9ABC-DEF0-1234-56789ABCDEF0 allow read,write,execute,append"},
		{ACE{UserGUID(501), KindPermit | FlagInherited | FlagFileInherit | FlagDirInherit | FlagLimitInherit | FlagOnlyInherit, 1 << 2}, true,
			"user:admin inherited allow add_file,file_inherit,directory_inherit,limit_inherit,only_inherit"},
		{ACE{UserGUID(501), KindPermit | FlagInherited | FlagFileInherit | FlagLimitInherit, 1 << 2}, false, "user:admin inherited allow write,limit_inherit"},
		{ACE{UserGUID(777), 3, 1 << 13}, false, "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000309 unknown chown"},
		{ACE{GroupGUID(20), KindPermit, 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<12 | 1<<13 | 1<<20 | 1<<21}, false,
			"group:staff allow readattr,writeattr,readextattr,writeextattr,readsecurity,writesecurity,chown,generic_all"}, // ls -le would not name generic_all
	} {
		if got := Text(c.a, c.dir, names); got != c.want {
			t.Errorf("Text(%+v, dir %v) = %q, want %q", c.a, c.dir, got, c.want)
		}
	}
}

func TestParseTextRoundTrip(t *testing.T) {
	guid := func(kind, name string) (GUID, error) {
		switch kind + ":" + name {
		case "group:everyone":
			return everyone, nil
		case "user:admin":
			return UserGUID(501), nil
		case "user:ghrunner":
			return ghrunner, nil
		}
		return GUID{}, errors.New("no such account")
	}
	for _, s := range []string{
		"group:everyone deny delete",
		"12345678-9ABC-DEF0-1234-56789ABCDEF0 allow generic_write",
		"user:admin inherited allow add_file,file_inherit,directory_inherit,limit_inherit,only_inherit",
		"12345678-9ABC-DEF0-1234-56789ABCDEF0 allow list,add_file,search,add_subdirectory,delete_child",
	} {
		a, err := ParseText(s, guid)
		if err != nil {
			t.Fatal(err)
		}
		if got := Text(a, true, names); got != s {
			t.Errorf("%q reads back as %q", s, got)
		}
	}
	if a, err := ParseText("user:ghrunner allow write", guid); err != nil || Text(a, false, names) != ghrunner.String()+" allow write" {
		t.Errorf("an account without a compatibility GUID: %+v %v", a, err)
	}
	for _, s := range []string{"", "group:everyone", "user:nobody allow read", "group:everyone permit read", "group:everyone allow fly", "group:everyone allow read write", "who allow read"} {
		if _, err := ParseText(s, guid); err == nil {
			t.Errorf("ParseText(%q) accepted", s)
		}
	}
}

func TestAllowed(t *testing.T) {
	es := []ACE{
		{everyone, KindDeny, 1<<4 | 1<<6},
		{UserGUID(0), KindPermit, 1<<2 | 1<<6 | 1<<13},
		{GroupGUID(0), KindPermit, 1 << 12},
		{ghrunner, KindPermit, 1<<2 | 1<<5},
		{GroupGUID(20), KindPermit | FlagDirInherit | FlagOnlyInherit, 1 << 4},
		{UserGUID(501), 3, 1 << 13},
	}
	if got := Allowed(es, true); got != "add_file,add_subdirectory,delete" {
		t.Errorf("directory: %q", got)
	}
	if got := Allowed(es, false); got != "append,delete,write" {
		t.Errorf("file: %q", got)
	}
	if got := Allowed(es[:3], true); got != "" {
		t.Errorf("root, wheel and deny entries grant %q", got)
	}
	// Generic rights: the kernel expands them when it evaluates the ACL
	// (kauth_acl_evaluate), so an entry with only KAUTH_ACE_GENERIC_WRITE
	// grants what its expansion holds.
	for _, tc := range []struct {
		rights          uint32
		name, dir, file string
	}{
		{GenericWrite, "generic_write", "add_file,add_subdirectory,delete,delete_child,writeattr,writeextattr,writesecurity", "append,delete,write,writeattr,writeextattr,writesecurity"},
		{GenericAll, "generic_all", "add_file,add_subdirectory,delete,delete_child,list,readattr,readextattr,readsecurity,search,writeattr,writeextattr,writesecurity", "append,delete,execute,read,readattr,readextattr,readsecurity,write,writeattr,writeextattr,writesecurity"},
		{GenericRead, "generic_read", "list,readattr,readextattr,readsecurity", "read,readattr,readextattr,readsecurity"},
		{GenericExecute, "generic_execute", "search", "execute"},
	} {
		g := []ACE{{ghrunner, KindPermit, tc.rights}}
		if got := Allowed(g, true); got != tc.dir {
			t.Errorf("%#x on a directory grants %q, want %q", tc.rights, got, tc.dir)
		}
		if got := Allowed(g, false); got != tc.file {
			t.Errorf("%#x on a file grants %q, want %q", tc.rights, got, tc.file)
		}
		if got := Text(g[0], true, nil); !strings.HasSuffix(got, " allow "+tc.name) {
			t.Errorf("Text hides the generic right: %q", got)
		}
	}
}

// FuzzParseReply feeds arbitrary buffers to the parser: an error or an
// answer, never a panic, and every entry it returns renders.
func FuzzParseReply(f *testing.F) {
	f.Add(reply(1, 2, nil))
	f.Add(reply(1, 2, AppendFilesec(nil, le, nil, true)))
	f.Add(reply(1, 2, AppendFilesec(nil, le, []ACE{{everyone, KindDeny, 1 << 4}, {ghrunner, KindPermit | FlagFileInherit, 0xffffffff}}, false)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseReply(b, le)
		if err != nil {
			if !errors.Is(err, ErrBadBuffer) {
				t.Fatalf("error %v does not wrap ErrBadBuffer", err)
			}
			return
		}
		if len(r.Entries) > MaxEntries {
			t.Fatalf("%d entries", len(r.Entries))
		}
		for _, a := range r.Entries {
			_ = Text(a, true, names)
		}
		_ = Allowed(r.Entries, false)
	})
}
