package fakemac

import (
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// fileType is stat's %HT.
func fileType(n *Node) string {
	switch n.Type {
	case TypeDir:
		return "Directory"
	case TypeSymlink:
		return "Symbolic Link"
	case TypeFIFO:
		return "Fifo File"
	case TypeChar:
		return "Character Device"
	case TypeBlock:
		return "Block Device"
	case TypeSocket:
		return "Socket"
	}
	return "Regular File"
}

// stat emulates stat -f FORMAT PATH... (§1.14). Symlinks are not
// followed (stat without -L).
func (m *Mac) stat(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) < 3 || args[0] != "-f" {
		return unsupported(c, "only stat -f FORMAT PATH... is emulated")
	}
	format := args[1]
	exit := 0
	for _, p := range args[2:] {
		real, n, err := m.lookup(c.user, clean(c.dir, p), false)
		if err != nil {
			c.errf("stat: %s: stat: %s\n", p, errText(err))
			exit = 1
			continue
		}
		line, err := m.statFormat(format, p, real, n)
		if err != nil {
			return unsupported(c, err.Error())
		}
		c.outf("%s\n", line)
	}
	return c.result(exit)
}

// statFormat expands the BSD stat -f specifiers hvfctl uses.
func (m *Mac) statFormat(format, name, real string, n *Node) (string, error) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		ch := format[i]
		if ch != '%' {
			b.WriteByte(ch)
			continue
		}
		// %[0][width][SHML…]spec: Apple file_cmds stat.c pads a field to
		// width, with zeros after the 0 flag (%03Lp prints 077 as 077
		// and 7 as 007).
		j := i + 1
		zero := false
		if j < len(format) && format[j] == '0' {
			zero = true
			j++
		}
		width := 0
		for j < len(format) && format[j] >= '0' && format[j] <= '9' {
			width = width*10 + int(format[j]-'0')
			j++
		}
		for j < len(format) && strings.IndexByte("SHML", format[j]) >= 0 {
			j++
		}
		if j >= len(format) {
			return "", fmt.Errorf("stat format %q ends inside a specifier", format)
		}
		mods, spec := strings.TrimLeft(format[i+1:j], "0123456789"), format[j]
		i = j
		field := b.Len()
		if err := m.statField(&b, mods+string(spec), name, real, n); err != nil {
			return "", err
		}
		if pad := width - (b.Len() - field); pad > 0 {
			out := b.String()
			fill := " "
			if zero {
				fill = "0"
			}
			b.Reset()
			b.WriteString(out[:field] + strings.Repeat(fill, pad) + out[field:])
		}
	}
	return b.String(), nil
}

// statField writes one stat -f field (its modifiers and specifier).
func (m *Mac) statField(b *strings.Builder, field, name, real string, n *Node) error {
	{
		switch field {
		case "%":
			b.WriteByte('%')
		case "t":
			b.WriteByte('\t')
		case "n":
			b.WriteByte('\n')
		case "N":
			b.WriteString(name)
		case "HT":
			b.WriteString(fileType(n))
		case "Mp":
			fmt.Fprintf(b, "%o", (n.Mode>>9)&07)
		case "Lp":
			fmt.Fprintf(b, "%o", n.Mode&0777)
		case "p":
			fmt.Fprintf(b, "%o", m.rawMode(n))
		case "Su":
			b.WriteString(n.Owner)
		case "Sg":
			b.WriteString(n.Group)
		case "u":
			b.WriteString(m.uidOf(n.Owner))
		case "g":
			b.WriteString(m.gidOf(n.Group))
		case "z":
			if n.Type == TypeDir {
				fmt.Fprintf(b, "%d", m.dirSize(real))
			} else {
				fmt.Fprintf(b, "%d", n.size())
			}
		case "Y":
			if n.Type == TypeSymlink {
				b.WriteString(n.Target)
			}
		case "SY":
			if n.Type == TypeSymlink {
				b.WriteString(" -> " + n.Target)
			}
		case "m":
			fmt.Fprintf(b, "%d", n.MTime)
		case "l":
			fmt.Fprintf(b, "%d", m.nlink(real, n))
		case "Sp":
			b.WriteString(modeString(n))
		default:
			return fmt.Errorf("stat format specifier %%%s is not emulated", field)
		}
	}
	return nil
}

func (m *Mac) rawMode(n *Node) uint32 {
	t := uint32(0o100000)
	switch n.Type {
	case TypeDir:
		t = 0o40000
	case TypeSymlink:
		t = 0o120000
	case TypeFIFO:
		t = 0o010000
	case TypeChar:
		t = 0o020000
	case TypeBlock:
		t = 0o060000
	case TypeSocket:
		t = 0o140000
	}
	return t | uint32(n.Mode)
}

func (m *Mac) uidOf(user string) string {
	if u := m.st.Users[user]; u != nil {
		return strconv.Itoa(u.UID)
	}
	return user
}

func (m *Mac) gidOf(group string) string {
	if g := m.st.Groups[group]; g != nil {
		return strconv.Itoa(g.GID)
	}
	return group
}

// lsDate formats a time as ls -l does.
func (m *Mac) lsDate(t int64) string {
	tm := time.Unix(t, 0).UTC()
	if d := m.st.Clock - t; d < 0 || d > 182*24*3600 {
		return tm.Format("Jan _2  2006")
	}
	return tm.Format("Jan _2 15:04")
}

// ls emulates ls -led PATH... and ls -1 DIR.
func (m *Mac) ls(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 2 && args[0] == "-1" {
		real, n, err := m.lookup(c.user, clean(c.dir, args[1]), true)
		if err != nil {
			c.errf("ls: %s: %s\n", args[1], errText(err))
			return c.result(1)
		}
		if n.Type != TypeDir {
			c.outf("%s\n", args[1])
			return c.result(0)
		}
		if !m.may(c.user, n, 4) {
			c.errf("ls: %s: Permission denied\n", args[1])
			return c.result(1)
		}
		for _, name := range m.children(real) {
			if !strings.HasPrefix(name, ".") {
				c.outf("%s\n", name)
			}
		}
		return c.result(0)
	}
	if len(args) < 2 || args[0] != "-led" {
		return unsupported(c, "only ls -led PATH... and ls -1 DIR are emulated")
	}
	type row struct {
		mode, links, owner, group, size, date, name string
		acl                                         []string
	}
	var rows []row
	exit := 0
	for _, p := range args[1:] {
		real, n, err := m.lookup(c.user, clean(c.dir, p), false)
		if err != nil {
			c.errf("ls: %s: %s\n", p, errText(err))
			exit = 1
			continue
		}
		flag := " "
		if len(n.ACL) > 0 {
			flag = "+"
		}
		size := n.size()
		if n.Type == TypeDir {
			size = m.dirSize(real)
		}
		name := p
		if n.Type == TypeSymlink {
			name += " -> " + n.Target
		}
		rows = append(rows, row{modeString(n) + flag, strconv.Itoa(m.nlink(real, n)), n.Owner, n.Group, strconv.FormatInt(size, 10), m.lsDate(n.MTime), name, n.ACL})
	}
	var wl, wo, wg, ws int
	for _, r := range rows {
		wl, wo, wg, ws = max(wl, len(r.links)), max(wo, len(r.owner)), max(wg, len(r.group)), max(ws, len(r.size))
	}
	for _, r := range rows {
		c.outf("%s %*s %-*s  %-*s  %*s %s %s\n", r.mode, wl, r.links, wo, r.owner, wg, r.group, ws, r.size, r.date, r.name)
		for i, a := range r.acl {
			c.outf(" %d: %s\n", i, a)
		}
	}
	return c.result(exit)
}

// parseMode applies an octal or symbolic chmod mode to old.
func parseMode(spec string, old Mode, isDir bool) (Mode, bool) {
	if v, err := strconv.ParseUint(spec, 8, 32); err == nil {
		if v > 07777 {
			return 0, false
		}
		return Mode(v), true
	}
	mode := old
	for _, clause := range strings.Split(spec, ",") {
		i := 0
		var who Mode
		for i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0 {
			switch clause[i] {
			case 'u':
				who |= 04700
			case 'g':
				who |= 02070
			case 'o':
				who |= 01007
			case 'a':
				who |= 07777
			}
			i++
		}
		if who == 0 {
			who = 07777 &^ 022
		}
		if i >= len(clause) || strings.IndexByte("+-=", clause[i]) < 0 {
			return 0, false
		}
		op := clause[i]
		i++
		var perm Mode
		for ; i < len(clause); i++ {
			switch clause[i] {
			case 'r':
				perm |= 0444
			case 'w':
				perm |= 0222
			case 'x':
				perm |= 0111
			case 'X':
				if isDir || old&0111 != 0 {
					perm |= 0111
				}
			case 's':
				perm |= 06000
			case 't':
				perm |= 01000
			default:
				return 0, false
			}
		}
		perm &= who
		switch op {
		case '+':
			mode |= perm
		case '-':
			mode &^= perm
		case '=':
			mode = mode&^(who&0777) | perm
		}
	}
	return mode, true
}

// targets lists what chmod -R or chown -R changes for the operand real
// path p: both walk with fts(3) physically unless -H or -L is given, so a
// symlink is never followed, neither on the command line nor in the tree.
// chown changes such a symlink itself (lchown; macOS's file_cmds chown in
// its default Unix2003 mode), chmod skips it (links is false). A
// hard-linked file in the tree is changed, and with it every other name of
// the file.
func (m *Mac) targets(p string, recursive, links bool) []string {
	if !recursive {
		return []string{p}
	}
	var out []string
	for _, t := range m.tree(p) {
		if m.st.Files[t].Type == TypeSymlink && !links {
			continue
		}
		out = append(out, t)
	}
	return out
}

// fileFlags splits leading single-letter flags (-R, -h, -Rh …) off args,
// accepting only the letters in allowed.
func fileFlags(args []string, allowed string, stop func(string) bool) (map[byte]bool, []string, string) {
	flags := map[byte]bool{}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 && !stop(args[0]) {
		for i := 1; i < len(args[0]); i++ {
			if strings.IndexByte(allowed, args[0][i]) < 0 {
				return nil, nil, args[0]
			}
			flags[args[0][i]] = true
		}
		args = args[1:]
	}
	return flags, args, ""
}

// chmod emulates chmod [-R | -h] MODE PATH... and chmod -N PATH...
// Without -R or -h a symlink operand is followed; with -h the link's own
// mode changes (lchmod); -R walks physically (see targets).
func (m *Mac) chmod(c *call) (host.Result, error) {
	flags, args, bad := fileFlags(c.argv[1:], "RNh", func(a string) bool { return strings.ContainsAny(a[1:], "rwxXst=+") })
	if bad != "" {
		return unsupported(c, "chmod flag "+bad)
	}
	recursive, removeACL, noFollow := flags['R'], flags['N'], flags['h']
	if recursive && noFollow {
		c.errf("chmod: the -R and -h options may not be specified together.\n")
		return c.result(1)
	}
	var spec string
	if !removeACL {
		if len(args) < 2 {
			return unsupported(c, "chmod needs MODE and PATH")
		}
		spec, args = args[0], args[1:]
	} else if len(args) == 0 {
		return unsupported(c, "chmod -N needs a PATH")
	}
	exit := 0
	for _, p := range args {
		real, _, err := m.lookup(c.user, clean(c.dir, p), !noFollow && !recursive)
		if err != nil {
			c.errf("chmod: %s: %s\n", p, errText(err))
			exit = 1
			continue
		}
		for _, t := range m.targets(real, recursive, false) {
			tn := m.st.Files[t]
			if c.user != host.Root && tn.Owner != c.user {
				c.errf("chmod: Unable to change file mode on %s: Operation not permitted\n", t)
				exit = 1
				continue
			}
			if removeACL {
				tn.ACL = nil
				continue
			}
			nm, ok := parseMode(spec, tn.Mode, tn.Type == TypeDir)
			if !ok {
				c.errf("chmod: Invalid file mode: %s\n", spec)
				return c.result(1)
			}
			tn.Mode = nm
		}
	}
	return c.result(exit)
}

// tree lists real path p and, for a directory, everything below it in
// order. It never descends through a symlink.
func (m *Mac) tree(p string) []string {
	out := []string{p}
	if n := m.st.Files[p]; n != nil && n.Type == TypeDir {
		for _, name := range m.children(p) {
			out = append(out, m.tree(path.Join(p, name))...)
		}
	}
	return out
}

// chown emulates chown [-R] [-h] USER[:GROUP] PATH... Without -R a
// symlink operand is followed unless -h; -R walks physically (see
// targets), changing symlinks themselves only with -h.
func (m *Mac) chown(c *call) (host.Result, error) {
	flags, args, bad := fileFlags(c.argv[1:], "Rh", func(string) bool { return false })
	if bad != "" {
		return unsupported(c, "chown flag "+bad)
	}
	recursive, noFollow := flags['R'], flags['h']
	if len(args) < 2 {
		return unsupported(c, "chown needs OWNER[:GROUP] and PATH")
	}
	owner, group, _ := strings.Cut(args[0], ":")
	if owner != "" && !m.userExists(owner) {
		c.errf("chown: %s: illegal user name\n", owner)
		return c.result(1)
	}
	if group != "" && !m.groupExists(group) {
		c.errf("chown: %s: illegal group name\n", group)
		return c.result(1)
	}
	owner = m.canonicalUser(owner)
	exit := 0
	for _, p := range args[1:] {
		real, _, err := m.lookup(c.user, clean(c.dir, p), !noFollow && !recursive)
		if err != nil {
			c.errf("chown: %s: %s\n", p, errText(err))
			exit = 1
			continue
		}
		for _, t := range m.targets(real, recursive, true) {
			tn := m.st.Files[t]
			if c.user != host.Root && (owner != "" && owner != c.user || tn.Owner != c.user || group != "" && !m.inGroup(c.user, group)) {
				c.errf("chown: %s: Operation not permitted\n", t)
				exit = 1
				continue
			}
			if owner != "" {
				tn.Owner = owner
			}
			if group != "" {
				tn.Group = group
			}
		}
	}
	return c.result(exit)
}

// mkdir emulates mkdir [-p] [-m MODE] PATH...; new directories take the
// group of their parent (BSD) and mode 0755 unless -m (which applies to
// the last component only).
func (m *Mac) mkdir(c *call) (host.Result, error) {
	args := c.argv[1:]
	parents := false
	mode := Mode(0o755)
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-p":
			parents = true
		case "-m":
			if len(args) < 2 {
				return unsupported(c, "mkdir -m needs a mode")
			}
			v, ok := parseMode(args[1], 0o777, true)
			if !ok {
				c.errf("mkdir: invalid file mode: %s\n", args[1])
				return c.result(1)
			}
			mode = v
			args = args[1:]
		default:
			return unsupported(c, "mkdir flag "+args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return unsupported(c, "mkdir needs a PATH")
	}
	exit := 0
	for _, p := range args {
		if err := m.mkdirOne(c, clean(c.dir, p), mode, parents); err != "" {
			c.errf("mkdir: %s\n", err)
			exit = 1
		}
	}
	return c.result(exit)
}

func (m *Mac) mkdirOne(c *call, p string, mode Mode, parents bool) string {
	real, n, err := m.lookup(c.user, p, true)
	if err == nil {
		if parents && n.Type == TypeDir {
			return ""
		}
		return p + ": File exists"
	}
	if real == "" {
		if !parents {
			return p + ": " + errText(err)
		}
		if e := m.mkdirOne(c, path.Dir(p), 0o755, true); e != "" {
			return e
		}
		real, _, err = m.lookup(c.user, p, true)
		if real == "" {
			return p + ": " + errText(err)
		}
	}
	parent := path.Dir(real)
	if m.st.Files[parent] == nil {
		if !parents {
			return p + ": No such file or directory"
		}
		if e := m.mkdirOne(c, path.Dir(p), 0o755, true); e != "" {
			return e
		}
	}
	if !m.canCreateIn(c.user, parent) {
		return p + ": Permission denied"
	}
	owner, group := m.newOwner(c.user, parent)
	m.put(real, &Node{Type: TypeDir, Mode: mode, Owner: owner, Group: group})
	return ""
}

// ln emulates ln -sfh TARGET LINK (and ln -s, ln -sf).
func (m *Mac) ln(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 3 || (args[0] != "-sfh" && args[0] != "-sf" && args[0] != "-s" && args[0] != "-shf" && args[0] != "-fhs") {
		return unsupported(c, "only ln -s[f][h] TARGET LINK is emulated")
	}
	force := strings.Contains(args[0], "f")
	noDeref := strings.Contains(args[0], "h")
	target, link := args[1], clean(c.dir, args[2])
	real, n, err := m.lookup(c.user, link, !noDeref)
	if err == nil && n.Type == TypeDir {
		// An existing directory (or a followed link to one): the link
		// goes inside it.
		real = path.Join(real, path.Base(target))
		n = m.st.Files[real]
	} else if real == "" {
		c.errf("ln: %s: %s\n", args[2], errText(err))
		return c.result(1)
	}
	if n != nil {
		if !force {
			c.errf("ln: %s: File exists\n", args[2])
			return c.result(1)
		}
		if n.Type == TypeDir {
			c.errf("ln: %s: Is a directory\n", args[2])
			return c.result(1)
		}
	}
	parent := path.Dir(real)
	if !m.canCreateIn(c.user, parent) {
		c.errf("ln: %s: Permission denied\n", args[2])
		return c.result(1)
	}
	if n != nil {
		m.removeTree(real)
	}
	owner, group := m.newOwner(c.user, parent)
	m.put(real, &Node{Type: TypeSymlink, Mode: 0o755, Owner: owner, Group: group, Target: target})
	return c.result(0)
}

// rm emulates rm [-f] [-r|-rf] PATH...
func (m *Mac) rm(c *call) (host.Result, error) {
	args := c.argv[1:]
	force, recursive := false, false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-f":
			force = true
		case "-r", "-R":
			recursive = true
		case "-rf", "-fr", "-Rf":
			force, recursive = true, true
		default:
			return unsupported(c, "rm flag "+args[0])
		}
		args = args[1:]
	}
	if len(args) == 0 {
		return unsupported(c, "rm needs a PATH")
	}
	exit := 0
	for _, p := range args {
		real, n, err := m.lookup(c.user, clean(c.dir, p), false)
		if err != nil {
			if !force || real == "" {
				c.errf("rm: %s: %s\n", p, errText(err))
				exit = 1
			}
			continue
		}
		if n.Type == TypeDir && !recursive {
			c.errf("rm: %s: is a directory\n", p)
			exit = 1
			continue
		}
		if !m.canCreateIn(c.user, path.Dir(real)) {
			c.errf("rm: %s: Permission denied\n", p)
			exit = 1
			continue
		}
		m.removeTree(real)
	}
	return c.result(exit)
}

// shasum emulates shasum -a 256 FILE... and shasum -a 256 -c LIST (§1.12).
func (m *Mac) shasum(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) < 2 || args[0] != "-a" || args[1] != "256" {
		return unsupported(c, "only shasum -a 256 is emulated (the default algorithm is SHA-1)")
	}
	args = args[2:]
	if len(args) == 2 && args[0] == "-c" {
		var list string
		if args[1] == "-" {
			list = string(c.stdin)
		} else {
			_, n, err := m.lookup(c.user, clean(c.dir, args[1]), true)
			if err != nil || n.Content == nil {
				c.errf("shasum: %s: No such file or directory\n", args[1])
				return c.result(1)
			}
			list = *n.Content
		}
		verified, failed := 0, 0
		for _, line := range strings.Split(list, "\n") {
			sum, file, ok := strings.Cut(strings.TrimSpace(line), " ")
			if !ok || len(sum) != 64 {
				continue
			}
			file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
			_, n, err := m.lookup(c.user, clean(c.dir, file), true)
			switch {
			case err != nil || n.Type != TypeFile:
				c.errf("shasum: %s: No such file or directory\n", file)
				c.outf("%s: FAILED open or read\n", file)
				failed++
			case n.sum() == strings.ToLower(sum):
				c.outf("%s: OK\n", file)
			default:
				c.outf("%s: FAILED\n", file)
				failed++
			}
			verified++
		}
		if verified == 0 {
			c.errf("shasum: %s: no properly formatted SHA checksum lines found\nno file was verified\n", args[1])
			return c.result(1)
		}
		if failed > 0 {
			c.errf("shasum: WARNING: %d computed checksum%s did NOT match\n", failed, map[bool]string{true: "s", false: ""}[failed > 1])
			return c.result(1)
		}
		return c.result(0)
	}
	if len(args) == 0 {
		return unsupported(c, "shasum without files reads stdin, which is not emulated")
	}
	exit := 0
	for _, f := range args {
		if strings.HasPrefix(f, "-") {
			return unsupported(c, "shasum flag "+f)
		}
		_, n, err := m.lookup(c.user, clean(c.dir, f), true)
		if err == nil && n.Type == TypeDir {
			c.errf("shasum: %s: Is a directory\n", f)
			exit = 1
			continue
		}
		if err == nil && !m.may(c.user, n, 4) {
			err = fs.ErrPermission
		}
		if err != nil {
			c.errf("shasum: %s: %s\n", f, errText(err))
			exit = 1
			continue
		}
		c.outf("%s  %s\n", n.sum(), f)
	}
	return c.result(exit)
}

// codesign emulates codesign -d --entitlements - [--xml] PATH (§1.13).
func (m *Mac) codesign(c *call) (host.Result, error) {
	args := c.argv[1:]
	xml := false
	if len(args) == 5 && args[0] == "-d" && args[1] == "--entitlements" && args[2] == "-" && args[3] == "--xml" {
		xml = true
	} else if !(len(args) == 4 && args[0] == "-d" && args[1] == "--entitlements" && (args[2] == "-" || args[2] == ":-")) {
		return unsupported(c, "only codesign -d --entitlements - [--xml] PATH is emulated")
	}
	p := args[len(args)-1]
	real, n, err := m.lookup(c.user, clean(c.dir, p), true)
	if err != nil {
		c.errf("%s: %s\n", p, errText(err))
		return c.result(1)
	}
	if n.Signature == nil {
		c.errf("%s: code object is not signed at all\n", p)
		return c.result(1)
	}
	c.errf("Executable=%s\n", real)
	keys := sortedKeys(n.Signature.Entitlements)
	if len(keys) == 0 {
		return c.result(0)
	}
	if xml || args[2] == ":-" {
		c.outf("<?xml version=\"1.0\" encoding=\"UTF-8\"?><!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"https://www.apple.com/DTDs/PropertyList-1.0.dtd\"><plist version=\"1.0\"><dict>")
		for _, k := range keys {
			c.outf("<key>%s</key><%t/>", k, n.Signature.Entitlements[k])
		}
		c.outf("</dict></plist>")
		return c.result(0)
	}
	c.outf("[Dict]\n")
	for _, k := range keys {
		c.outf("\t[Key] %s\n\t[Value]\n\t\t[Bool] %t\n", k, n.Signature.Entitlements[k])
	}
	return c.result(0)
}

// mv emulates `mv SRC DST` within the volume: a rename of SRC (a file,
// link or whole directory tree) to DST, or into DST when DST is a
// directory. The caller needs write permission on both parents.
func (m *Mac) mv(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 2 || strings.HasPrefix(args[0], "-") {
		return unsupported(c, "only mv SRC DST is emulated")
	}
	src, n, err := m.lookup(c.user, clean(c.dir, args[0]), false)
	if err != nil {
		c.errf("mv: rename %s to %s: %s\n", args[0], args[1], errText(err))
		return c.result(1)
	}
	dst := clean(c.dir, args[1])
	if real, dn, derr := m.lookup(c.user, dst, true); derr == nil && dn.Type == TypeDir {
		dst = path.Join(real, path.Base(src))
	} else if real != "" {
		dst = real
	}
	if dst == src || strings.HasPrefix(dst, src+"/") {
		c.errf("mv: rename %s to %s: Invalid argument\n", args[0], args[1])
		return c.result(1)
	}
	if !m.canCreateIn(c.user, path.Dir(src)) || !m.canCreateIn(c.user, path.Dir(dst)) {
		c.errf("mv: rename %s to %s: Permission denied\n", args[0], args[1])
		return c.result(1)
	}
	if old := m.st.Files[dst]; old != nil {
		if old.Type == TypeDir || n.Type == TypeDir {
			c.errf("mv: rename %s to %s: Directory not empty\n", args[0], args[1])
			return c.result(1)
		}
		m.removeTree(dst)
	}
	moved := map[string]*Node{}
	for q, node := range m.st.Files {
		if q == src || strings.HasPrefix(q, src+"/") {
			moved[dst+strings.TrimPrefix(q, src)] = node
			delete(m.st.Files, q)
		}
	}
	for q, node := range moved {
		m.st.Files[q] = node
	}
	m.filesChanged()
	return c.result(0)
}
