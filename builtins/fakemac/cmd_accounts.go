package fakemac

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// attr is one directory-service attribute with its values.
type attr struct {
	key    string
	values []string
}

// userAttrs returns every attribute of a user record.
func (m *Mac) userAttrs(name string, u *User) []attr {
	auth := ";ShadowHash;HASHLIST:<SALTED-SHA512-PBKDF2,SRP-RFC5054-4096-SHA512-PBKDF2>"
	if u.SecureToken {
		auth += " ;SecureToken;"
	}
	attrs := []attr{
		{"dsAttrTypeNative:_writers_passwd", []string{name}},
		{"dsAttrTypeNative:accountPolicyData", []string{fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n <!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n <plist version=\"1.0\">\n <dict>\n \t<key>creationTime</key>\n \t<real>%d</real>\n \t<key>passwordLastSetTime</key>\n \t<real>%d</real>\n </dict>\n </plist>", m.st.Clock, m.st.Clock)}},
		{"AppleMetaNodeLocation", []string{"/Local/Default"}},
		{"GeneratedUID", []string{u.GeneratedUID}},
		{"NFSHomeDirectory", []string{u.Home}},
		{"Password", []string{"********"}},
		{"PrimaryGroupID", []string{strconv.Itoa(u.GID)}},
		{"RealName", []string{u.RealName}},
		{"RecordName", append([]string{name}, u.Aliases...)},
		{"RecordType", []string{"dsRecTypeStandard:Users"}},
		{"UniqueID", []string{strconv.Itoa(u.UID)}},
		{"UserShell", []string{u.Shell}},
	}
	if u.HasPassword {
		attrs = append(attrs, attr{"AuthenticationAuthority", []string{auth}})
	}
	return attrs
}

// groupAttrs returns every attribute of a group record.
func groupAttrs(name string, g *Group) []attr {
	attrs := []attr{
		{"AppleMetaNodeLocation", []string{"/Local/Default"}},
		{"GeneratedUID", []string{fakeUUID("group", name)}},
		{"PrimaryGroupID", []string{strconv.Itoa(g.GID)}},
		{"RecordName", []string{name}},
		{"RecordType", []string{"dsRecTypeStandard:Groups"}},
	}
	if len(g.Members) > 0 {
		attrs = append(attrs, attr{"GroupMembership", g.Members})
	}
	return attrs
}

// printAttrs prints attributes dscl style: sorted (native keys first),
// keys with a spaced value alone on their line.
func printAttrs(c *call, attrs []attr, want []string) []string {
	var missing []string
	if len(want) > 0 {
		have := map[string]attr{}
		for _, a := range attrs {
			have[a.key] = a
		}
		var sel []attr
		seen := map[string]bool{}
		for _, k := range want {
			if seen[k] {
				continue
			}
			seen[k] = true
			if a, ok := have[k]; ok {
				sel = append(sel, a)
			} else {
				missing = append(missing, k)
			}
		}
		attrs = sel
	}
	sort.SliceStable(attrs, func(i, j int) bool {
		ni := strings.HasPrefix(attrs[i].key, "dsAttrTypeNative:")
		nj := strings.HasPrefix(attrs[j].key, "dsAttrTypeNative:")
		if ni != nj {
			return ni
		}
		return attrs[i].key < attrs[j].key
	})
	for _, a := range attrs {
		spaced := false
		for _, v := range a.values {
			if strings.ContainsAny(v, " \n") {
				spaced = true
			}
		}
		if spaced {
			c.outf("%s:\n", a.key)
			for _, v := range a.values {
				c.outf(" %s\n", v)
			}
		} else {
			c.outf("%s: %s\n", a.key, strings.Join(a.values, " "))
		}
	}
	return missing
}

// dscl emulates dscl . -read/-readall/-list on /Users and /Groups (§1.2).
func (m *Mac) dscl(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) < 3 || args[0] != "." {
		return unsupported(c, "only dscl . -read|-readall|-list on the local node is emulated")
	}
	verb, rec, keys := args[1], args[2], args[3:]
	notFound := func() (host.Result, error) {
		c.errf("<dscl_cmd> DS Error: -14136 (eDSRecordNotFound)\n")
		return c.result(56)
	}
	switch verb {
	case "-read":
		switch {
		case strings.HasPrefix(rec, "/Users/"):
			name := strings.TrimPrefix(rec, "/Users/")
			u := m.st.Users[name]
			if u == nil {
				return notFound()
			}
			for _, k := range printAttrs(c, m.userAttrs(name, u), keys) {
				c.errf("No such key: %s\n", k)
			}
			return c.result(0)
		case strings.HasPrefix(rec, "/Groups/"):
			name := strings.TrimPrefix(rec, "/Groups/")
			g := m.st.Groups[name]
			if g == nil {
				return notFound()
			}
			for _, k := range printAttrs(c, groupAttrs(name, g), keys) {
				c.errf("No such key: %s\n", k)
			}
			return c.result(0)
		}
	case "-readall":
		switch rec {
		case "/Users":
			for i, name := range sortedKeys(m.st.Users) {
				if i > 0 {
					c.outf("-\n")
				}
				printAttrs(c, m.userAttrs(name, m.st.Users[name]), keys)
			}
			return c.result(0)
		case "/Groups":
			for i, name := range sortedKeys(m.st.Groups) {
				if i > 0 {
					c.outf("-\n")
				}
				printAttrs(c, groupAttrs(name, m.st.Groups[name]), keys)
			}
			return c.result(0)
		}
	case "-list":
		if len(keys) > 1 {
			break
		}
		switch rec {
		case "/Users":
			for _, name := range sortedKeys(m.st.Users) {
				if len(keys) == 0 {
					c.outf("%s\n", name)
					continue
				}
				for _, a := range m.userAttrs(name, m.st.Users[name]) {
					if a.key == keys[0] {
						c.outf("%-23s %s\n", name, strings.Join(a.values, " "))
					}
				}
			}
			return c.result(0)
		case "/Groups":
			for _, name := range sortedKeys(m.st.Groups) {
				if len(keys) == 0 {
					c.outf("%s\n", name)
					continue
				}
				for _, a := range groupAttrs(name, m.st.Groups[name]) {
					if a.key == keys[0] {
						c.outf("%-31s %s\n", name, strings.Join(a.values, " "))
					}
				}
			}
			return c.result(0)
		}
	}
	return unsupported(c, "dscl verb "+verb+" on "+rec+" is not emulated (hvfctl changes accounts with sysadminctl and dseditgroup)")
}

// dseditgroup emulates checkmember and edit -a|-d (§1.2).
func (m *Mac) dseditgroup(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 5 && args[0] == "-o" && args[1] == "checkmember" && args[2] == "-m" {
		user, group := args[3], args[4]
		if m.st.Groups[group] == nil {
			c.errf("Group not found.\n")
			return c.result(64)
		}
		if m.st.Users[user] == nil {
			c.errf("Username %s not found.\n", user)
			return c.result(64)
		}
		if m.inGroup(user, group) {
			c.outf("yes %s is a member of %s\n", user, group)
			return c.result(0)
		}
		c.outf("no %s is NOT a member of %s\n", user, group)
		return c.result(67)
	}
	if len(args) == 7 && args[0] == "-o" && args[1] == "edit" && (args[2] == "-a" || args[2] == "-d") && args[4] == "-t" && args[5] == "user" {
		user, group := args[3], args[6]
		if c.user != host.Root {
			c.errf("Operation not permitted: you must be root to edit the group %s\n", group)
			return c.result(1)
		}
		g := m.st.Groups[group]
		if g == nil {
			c.errf("Group not found.\n")
			return c.result(64)
		}
		if m.st.Users[user] == nil {
			c.errf("Username %s not found.\n", user)
			return c.result(64)
		}
		var out []string
		for _, mem := range g.Members {
			if mem != user {
				out = append(out, mem)
			}
		}
		if args[2] == "-a" {
			out = append(out, user)
		}
		g.Members = out
		return c.result(0)
	}
	return unsupported(c, "only dseditgroup -o checkmember -m USER GROUP and -o edit -a|-d USER -t user GROUP are emulated")
}

// id emulates id [-u|-g|-G|-Gn|-un|-gn] [NAME] (§1.2).
func (m *Mac) id(c *call) (host.Result, error) {
	args := c.argv[1:]
	flag := ""
	if len(args) > 0 && strings.HasPrefix(args[0], "-") {
		flag, args = args[0], args[1:]
	}
	if len(args) > 1 {
		return unsupported(c, "id takes at most one user name")
	}
	name := c.user
	if len(args) == 1 {
		name = args[0]
	}
	u := m.st.Users[name]
	if u == nil {
		c.errf("id: %s: no such user\n", name)
		return c.result(1)
	}
	groups := m.groupsOf(name)
	gid := func(g string) int {
		if gr := m.st.Groups[g]; gr != nil {
			return gr.GID
		}
		return 0
	}
	switch flag {
	case "-u":
		c.outf("%d\n", u.UID)
	case "-un":
		c.outf("%s\n", name)
	case "-g":
		c.outf("%d\n", u.GID)
	case "-gn":
		c.outf("%s\n", m.groupName(u.GID))
	case "-Gn":
		c.outf("%s\n", strings.Join(groups, " "))
	case "-G":
		var ids []string
		for _, g := range groups {
			ids = append(ids, strconv.Itoa(gid(g)))
		}
		c.outf("%s\n", strings.Join(ids, " "))
	case "":
		var gs []string
		for _, g := range groups {
			gs = append(gs, fmt.Sprintf("%d(%s)", gid(g), g))
		}
		c.outf("uid=%d(%s) gid=%d(%s) groups=%s\n", u.UID, name, u.GID, m.groupName(u.GID), strings.Join(gs, ","))
	default:
		return unsupported(c, "id flag "+flag)
	}
	return c.result(0)
}

// fakeUUID derives a stable upper-case UUID from its parts.
func fakeUUID(parts ...string) string {
	s := strings.ToUpper(synthSum(parts...))
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// sysadminctl emulates -addUser, -secureTokenStatus and -autologin
// (§1.1, §1.18). Every line goes to stderr with an NSLog prefix and the
// exit status is 0 whether it worked or not.
func (m *Mac) sysadminctl(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 0 {
		return unsupported(c, "sysadminctl without a verb prints usage")
	}
	pid := m.pid()
	log := func(format string, a ...any) {
		c.errf("%s%s\n", m.nslog("sysadminctl", pid), fmt.Sprintf(format, a...))
	}
	switch args[0] {
	case "-secureTokenStatus":
		if len(args) != 2 {
			return unsupported(c, "-secureTokenStatus takes one user name")
		}
		u := m.st.Users[args[1]]
		if u == nil {
			log("Unknown user %s", args[1])
			return c.result(0)
		}
		state := "DISABLED"
		if u.SecureToken {
			state = "ENABLED"
		}
		log("Secure token is %s for user %s", state, u.RealName)
		return c.result(0)
	case "-autologin":
		if len(args) < 2 {
			return unsupported(c, "-autologin needs status, off or set")
		}
		if c.user != host.Root {
			log("Autologin: this operation requires root privileges")
			return c.result(0)
		}
		const lw = "/Library/Preferences/com.apple.loginwindow"
		switch {
		case args[1] == "status" && len(args) == 2:
			if u := m.st.Defaults[lw]["autoLoginUser"]; u != "" {
				log("Automatic login user: %s", u)
			} else {
				log("Automatic login is off")
			}
			return c.result(0)
		case args[1] == "off" && len(args) == 2:
			delete(m.st.Defaults[lw], "autoLoginUser")
			if n := m.st.Files["/private/etc/kcpassword"]; n != nil {
				m.removeTree("/private/etc/kcpassword")
			}
			return c.result(0)
		case args[1] == "set" && len(args) == 6 && args[2] == "-userName" && args[4] == "-password":
			if m.st.FileVault.Enabled {
				log("Automatic login is disabled because FileVault is enabled.")
				return c.result(0)
			}
			if m.st.Users[args[3]] == nil {
				log("Unknown user %s", args[3])
				return c.result(0)
			}
			if m.st.Defaults[lw] == nil {
				m.st.Defaults[lw] = map[string]string{}
			}
			m.st.Defaults[lw]["autoLoginUser"] = args[3]
			m.put("/private/etc/kcpassword", &Node{Type: TypeFile, Mode: 0o600, Owner: "root", Group: "wheel", Size: 12, SHA256: synthSum("kcpassword", args[3])})
			return c.result(0)
		}
		return unsupported(c, "-autologin "+args[1])
	case "-addUser":
		return m.addUser(c, args, log)
	case "-deleteUser":
		return m.deleteUser(c, args, log)
	}
	return unsupported(c, "sysadminctl verb "+args[0]+" is not emulated")
}

func (m *Mac) addUser(c *call, args []string, log func(string, ...any)) (host.Result, error) {
	if len(args) < 2 || strings.HasPrefix(args[1], "-") {
		return unsupported(c, "-addUser needs a user name")
	}
	name := args[1]
	opts := map[string]string{}
	admin := false
	for i := 2; i < len(args); i++ {
		switch a := args[i]; a {
		case "-admin":
			admin = true
		case "-fullName", "-UID", "-GID", "-shell", "-home", "-password", "-hint", "-adminUser", "-adminPassword":
			if i+1 >= len(args) {
				return unsupported(c, a+" needs a value")
			}
			opts[a] = args[i+1]
			i++
		default:
			return unsupported(c, "-addUser option "+a+" is not emulated")
		}
	}
	if c.user != host.Root {
		log("Operation is not permitted without root privileges.")
		return c.result(0)
	}
	if _, ok := opts["-adminUser"]; !ok {
		log("----------------------------")
		log("No clear text password or interactive option was specified (adduser, change/reset password will not allow user to use FDE) !")
		log("----------------------------")
	}
	if pw, ok := opts["-password"]; ok && pw == "-" {
		if !c.tty {
			log("Unable to read the password: standard input is not a terminal")
			return c.result(0)
		}
		line := strings.TrimRight(strings.SplitN(string(c.stdin), "\n", 2)[0], "\r")
		if line == "" {
			log("New account password error")
			return c.result(0)
		}
	}
	if _, ok := m.st.Users[name]; ok {
		log("Creating user record…")
		log("### Error:-14135 File:/AppleInternal/Library/BuildRoots/sysadminctl/main.m Line:420 Failed to create user record: eDSRecordAlreadyExists")
		return c.result(0)
	}
	uid := 0
	if v, ok := opts["-UID"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			log("Invalid UID %s", v)
			return c.result(0)
		}
		for _, u := range m.st.Users {
			if u.UID == n {
				log("Creating user record…")
				log("### Error:-14135 Failed to create user record: UID %d is already in use", n)
				return c.result(0)
			}
		}
		uid = n
	} else {
		uid = 501
		for taken := true; taken; {
			taken = false
			for _, u := range m.st.Users {
				if u.UID == uid {
					uid++
					taken = true
				}
			}
		}
	}
	home := opts["-home"]
	if home == "" {
		home = "/Users/" + name
	}
	shell := opts["-shell"]
	if shell == "" {
		shell = "/bin/zsh"
	}
	full := opts["-fullName"]
	if full == "" {
		full = name
	}
	log("Creating user record…")
	m.st.Users[name] = &User{UID: uid, GID: 20, Home: home, Shell: shell, RealName: full, GeneratedUID: fakeUUID("user", name), HasPassword: opts["-password"] != ""}
	log("Assigning UID: %d GID: 20", uid)
	if g := m.st.Groups["admin"]; admin && g != nil {
		g.Members = append(g.Members, name)
	}
	if _, ok := opts["-home"]; ok {
		log("Home directory is assigned (not created!) at %s", home)
	} else {
		log("Creating home directory at %s", home)
		m.createHome(name)
	}
	return c.result(0)
}

// createHome creates a user's home as current macOS does: 0750 with the
// everyone-deny-delete ACL, plus the standard folders.
func (m *Mac) createHome(name string) bool {
	u := m.st.Users[name]
	real, err := m.resolve(host.Root, u.Home, true)
	if err != nil || m.st.Files[real] != nil || m.st.Files[path.Dir(real)] == nil {
		return false
	}
	acl := []string{"group:everyone deny delete"}
	group := m.groupName(u.GID)
	m.put(real, &Node{Type: TypeDir, Mode: 0o750, Owner: name, Group: group, ACL: acl})
	for _, sub := range []string{"Desktop", "Documents", "Downloads", "Library", "Movies", "Music", "Pictures"} {
		m.put(real+"/"+sub, &Node{Type: TypeDir, Mode: 0o700, Owner: name, Group: group, ACL: acl})
	}
	m.put(real+"/Public", &Node{Type: TypeDir, Mode: 0o755, Owner: name, Group: group, ACL: acl})
	return true
}

// createhomedir emulates createhomedir -c -u NAME.
func (m *Mac) createhomedir(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 3 || args[0] != "-c" || args[1] != "-u" {
		return unsupported(c, "only createhomedir -c -u NAME is emulated")
	}
	if c.user != host.Root {
		c.errf("createhomedir: must be run as root\n")
		return c.result(1)
	}
	u := m.st.Users[args[2]]
	if u == nil {
		c.errf("createhomedir: user %s not found\n", args[2])
		return c.result(1)
	}
	if m.createHome(args[2]) {
		c.outf("created \"%s\"\n", u.Home)
	}
	return c.result(0)
}

// deleteUser emulates `sysadminctl -deleteUser NAME [-keepHome]` as root:
// it deletes the record, its group memberships and (without -keepHome)
// the home directory. Like every sysadminctl verb it exits 0 and reports
// only on stderr (§1.1); the wording of its log lines is unverified.
func (m *Mac) deleteUser(c *call, args []string, log func(string, ...any)) (host.Result, error) {
	keepHome := false
	switch {
	case len(args) == 2:
	case len(args) == 3 && args[2] == "-keepHome":
		keepHome = true
	default:
		return unsupported(c, "only sysadminctl -deleteUser NAME [-keepHome] is emulated")
	}
	// The record is found as Open Directory finds it (case-insensitive
	// names, aliases).
	name := m.canonicalUser(args[1])
	if c.user != host.Root {
		log("Deleting a user requires root privileges")
		return c.result(0)
	}
	u := m.st.Users[name]
	if u == nil {
		log("Unknown user %s", name)
		return c.result(0)
	}
	if u.SecureToken {
		return unsupported(c, "deleting a secure-token user asks for an administrator's credentials")
	}
	log("Killing all processes for UID %d", u.UID)
	procs := m.st.Processes[:0]
	for _, p := range m.st.Processes {
		if m.canonicalUser(p.User) != name {
			procs = append(procs, p)
		}
	}
	m.st.Processes = procs
	for _, g := range m.st.Groups {
		kept := g.Members[:0]
		for _, member := range g.Members {
			if member != name {
				kept = append(kept, member)
			}
		}
		g.Members = kept
	}
	delete(m.st.Users, name)
	log("Deleting record for %s", name)
	if !keepHome && u.Home != "" && m.st.Files[u.Home] != nil {
		m.removeTree(u.Home)
		log("Deleting home directory %s", u.Home)
	}
	return c.result(0)
}
