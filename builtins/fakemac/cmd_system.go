package fakemac

import (
	"io/fs"
	"math"
	"path"
	"strconv"
	"strings"

	"howett.net/plist"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// swVers emulates sw_vers (§1.16).
func (m *Mac) swVers(c *call) (host.Result, error) {
	s := m.st.System
	switch {
	case len(c.argv) == 1:
		c.outf("ProductName:\t\t%s\nProductVersion:\t\t%s\nBuildVersion:\t\t%s\n", s.ProductName, s.ProductVersion, s.BuildVersion)
	case len(c.argv) == 2 && c.argv[1] == "-productName":
		c.outf("%s\n", s.ProductName)
	case len(c.argv) == 2 && c.argv[1] == "-productVersion":
		c.outf("%s\n", s.ProductVersion)
	case len(c.argv) == 2 && c.argv[1] == "-buildVersion":
		c.outf("%s\n", s.BuildVersion)
	default:
		return unsupported(c, "sw_vers takes no argument or one of -productName, -productVersion, -buildVersion")
	}
	return c.result(0)
}

// sysctlValue returns the value of a sysctl name.
func (m *Mac) sysctlValue(name string) (string, bool) {
	switch name {
	case "kern.osproductversion":
		return m.st.System.ProductVersion, true
	case "kern.osversion":
		return m.st.System.BuildVersion, true
	}
	v, ok := m.st.Sysctl[name]
	return v, ok
}

// sysctl emulates sysctl NAME... and sysctl -n NAME... (§1.15).
func (m *Mac) sysctl(c *call) (host.Result, error) {
	args := c.argv[1:]
	valueOnly := false
	if len(args) > 0 && args[0] == "-n" {
		valueOnly, args = true, args[1:]
	}
	if len(args) == 0 {
		return unsupported(c, "listing every sysctl (sysctl -a or no name) is not emulated")
	}
	exit := 0
	for _, name := range args {
		if strings.HasPrefix(name, "-") || strings.Contains(name, "=") {
			return unsupported(c, "only reading names is emulated (flag or assignment "+name+")")
		}
		v, ok := m.sysctlValue(name)
		if !ok {
			c.errf("sysctl: unknown oid '%s'\n", name)
			exit = 1
			continue
		}
		if valueOnly {
			c.outf("%s\n", v)
		} else {
			c.outf("%s: %s\n", name, v)
		}
	}
	return c.result(exit)
}

// crontab emulates `crontab -r` run by a user other than root
// (apple-oss-distributions/cron crontab/crontab.c): the invoking user
// must be allowed (listed in /usr/lib/cron/cron.allow when it exists,
// else not listed in cron.deny; neither file means allowed, as
// ALLOW_ONLY_ROOT is not defined in cron/config.h); standard input is
// not a terminal, so it does not ask; /usr/lib/cron/tabs/USER is
// unlinked, or "crontab: no crontab for USER" with exit 1.
func (m *Mac) crontab(c *call) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "-r" || c.user == host.Root {
		return unsupported(c, "only crontab -r by a user other than root is emulated")
	}
	listed := func(file string) (bool, bool) {
		n := m.st.Files[file]
		if n == nil || n.Type != TypeFile || n.Content == nil {
			return n != nil, false
		}
		for _, ln := range strings.Split(*n.Content, "\n") {
			if ln == c.user {
				return true, true
			}
		}
		return true, false
	}
	allowExists, allowed := listed("/usr/lib/cron/cron.allow")
	denyExists, denied := listed("/usr/lib/cron/cron.deny")
	if (allowExists && !allowed) || (!allowExists && denyExists && denied) {
		c.errf("crontab: you (%s) are not allowed to use this program\n", c.user)
		return c.result(1)
	}
	tab := "/usr/lib/cron/tabs/" + c.user
	if n := m.st.Files[tab]; n == nil {
		c.errf("crontab: no crontab for %s\n", c.user)
		return c.result(1)
	}
	m.removeTree(tab)
	return c.result(0)
}

// df emulates df -k PATH... (§1.17).
func (m *Mac) df(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 0 || args[0] != "-k" {
		return unsupported(c, "only df -k PATH... is emulated")
	}
	type row struct {
		fs, mount          string
		total, used, avail int64
		iused, ifree       int64
	}
	d := m.st.Disk
	avail := d.FreeBytes / 1024
	var rows []row
	exit := 0
	for _, p := range args[1:] {
		if strings.HasPrefix(p, "-") {
			return unsupported(c, "df flag "+p)
		}
		if _, _, err := m.lookup(c.user, clean(c.dir, p), true); err != nil {
			c.errf("df: %s: %s\n", p, errText(err))
			exit = 1
			continue
		}
		if clean(c.dir, p) == "/" {
			rows = append(rows, row{fs: strings.TrimSuffix(d.Device, "s5") + "s1s1", mount: "/", total: d.TotalKiB, used: 11_245_640, avail: avail, iused: 447_448, ifree: avail * 4})
			continue
		}
		used := d.TotalKiB - avail - 11_245_640 - 6_291_456
		rows = append(rows, row{fs: d.Device, mount: "/System/Volumes/Data", total: d.TotalKiB, used: used, avail: avail, iused: d.IUsed, ifree: avail * 4})
	}
	if len(args) == 1 {
		return unsupported(c, "df -k without a path lists every mount, which is not emulated")
	}
	if len(rows) > 0 {
		w := len("Filesystem")
		for _, r := range rows {
			w = max(w, len(r.fs))
		}
		c.outf("%-*s %11s %9s %10s Capacity %7s %10s %6s  Mounted on\n", w, "Filesystem", "1024-blocks", "Used", "Available", "iused", "ifree", "%iused")
		for _, r := range rows {
			capacity := int(math.Ceil(float64(r.used) * 100 / float64(r.used+r.avail)))
			icap := int(math.Ceil(float64(r.iused) * 100 / float64(r.iused+r.ifree)))
			c.outf("%-*s %11d %9d %10d %7d%% %7d %10d %5d%%   %s\n", w, r.fs, r.total, r.used, r.avail, capacity, r.iused, r.ifree, icap, r.mount)
		}
	}
	return c.result(exit)
}

// fdesetup emulates fdesetup status (§1.3).
func (m *Mac) fdesetup(c *call) (host.Result, error) {
	switch {
	case len(c.argv) == 2 && c.argv[1] == "supportsauthrestart":
		// Apple Silicon Macs support authenticated restart.
		c.outf("%t\n", !m.st.FileVault.NoAuthRestart)
		return c.result(0)
	case len(c.argv) >= 2 && c.argv[1] == "authrestart":
		return m.authRestart(c)
	}
	if len(c.argv) != 2 || c.argv[1] != "status" {
		if len(c.argv) >= 2 && (c.argv[1] == "enable" || c.argv[1] == "disable") {
			return unsupported(c, "fdesetup "+c.argv[1]+" is interactive and hvfctl only reports FileVault")
		}
		return unsupported(c, "only fdesetup status is emulated")
	}
	fv := m.st.FileVault
	if !fv.HideStatus {
		if fv.Enabled {
			c.outf("FileVault is On.\n")
		} else {
			c.outf("FileVault is Off.\n")
		}
	}
	pct := strconv.FormatFloat(fv.Percent, 'f', -1, 64)
	switch fv.Progress {
	case "encrypting":
		c.outf("Encryption in progress: Percent completed = %s\n", pct)
	case "decrypting":
		c.outf("Decryption in progress: Percent completed = %s\n", pct)
	case "pending":
		c.outf("Encryption in progress: Pending\n")
	}
	if fv.DeferredUser != "" {
		c.outf("Deferred enablement appears to be active for user '%s'.\n", fv.DeferredUser)
	}
	return c.result(0)
}

// spotlightStatus returns the mdutil status line for a real path.
func (m *Mac) spotlightStatus(p string) string {
	for q := p; ; q = path.Dir(q) {
		if s, ok := m.st.Spotlight[q]; ok {
			return s
		}
		if q == "/" {
			return "Indexing enabled."
		}
	}
}

// mdutil emulates mdutil -s PATH and mdutil -i on|off PATH (§1.4).
func (m *Mac) mdutil(c *call) (host.Result, error) {
	args := c.argv[1:]
	switch {
	case len(args) == 2 && args[0] == "-s":
		p := clean(c.dir, args[1])
		real, _, err := m.lookup(c.user, p, true)
		if err != nil {
			c.errf("%s: %s\n", args[1], errText(err))
			return c.result(1)
		}
		c.outf("%s:\n\t%s \n", args[1], m.spotlightStatus(real))
		return c.result(0)
	case len(args) == 3 && args[0] == "-i" && (args[1] == "on" || args[1] == "off"):
		p := clean(c.dir, args[2])
		real, _, err := m.lookup(c.user, p, true)
		if err != nil {
			c.errf("%s: %s\n", args[2], errText(err))
			return c.result(1)
		}
		if c.user != host.Root {
			c.outf("%s:\n\tError: unable to change indexing state: must be run as root. \n", args[2])
			return c.result(1)
		}
		if args[1] == "off" {
			m.st.Spotlight[real] = "Indexing disabled."
		} else {
			m.st.Spotlight[real] = "Indexing enabled."
		}
		c.outf("%s:\n\t%s \n", args[2], m.st.Spotlight[real])
		return c.result(0)
	}
	return unsupported(c, "only mdutil -s PATH and mdutil -i on|off PATH are emulated")
}

// pmsetOrder is the order pmset prints keys in; unknown keys follow
// alphabetically.
var pmsetOrder = []string{"Sleep On Power Button", "autorestart", "halfdim", "powernap", "networkoversleep", "disksleep", "sleep", "autopoweroff", "ttyskeepawake", "displaysleep", "tcpkeepalive", "lowpowermode", "womp", "standby"}

// pmsetKeys are the keys this hardware (Apple Silicon desktop) accepts.
var pmsetKeys = map[string]bool{"autorestart": true, "halfdim": true, "powernap": true, "networkoversleep": true, "disksleep": true, "sleep": true, "autopoweroff": true, "ttyskeepawake": true, "displaysleep": true, "tcpkeepalive": true, "lowpowermode": true, "womp": true, "standby": true}

var pmsetSources = []string{"Battery Power", "AC Power", "UPS Power"}

// pmset emulates pmset -g, pmset -g custom and pmset -c|-a KEY VALUE...
// (§1.5).
func (m *Mac) pmset(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 2 && args[0] == "-g" && args[1] == "custom" {
		for _, src := range pmsetSources {
			if s, ok := m.st.Power.Sources[src]; ok {
				c.outf("%s:\n", src)
				m.printPmset(c, s)
			}
		}
		return c.result(0)
	}
	if len(args) == 1 && args[0] == "-g" {
		c.outf("System-wide power settings:\nCurrently in use:\n")
		if s, ok := m.st.Power.Sources["AC Power"]; ok {
			m.printPmset(c, s)
		}
		return c.result(0)
	}
	if len(args) >= 1 && (args[0] == "-c" || args[0] == "-a" || args[0] == "-b" || args[0] == "-u") {
		if c.user != host.Root {
			c.outf("'%s' must be run as root...\n", c.argv[0])
			return c.result(1)
		}
		var targets []string
		switch args[0] {
		case "-c":
			if _, ok := m.st.Power.Sources["AC Power"]; !ok {
				return unsupported(c, "this Mac has no AC Power source in its state")
			}
			targets = []string{"AC Power"}
		case "-a":
			for _, src := range pmsetSources {
				if _, ok := m.st.Power.Sources[src]; ok {
					targets = append(targets, src)
				}
			}
		case "-b", "-u":
			src := map[string]string{"-b": "Battery Power", "-u": "UPS Power"}[args[0]]
			if _, ok := m.st.Power.Sources[src]; !ok {
				return unsupported(c, "this Mac has no "+src+" source (a Mac mini has AC only)")
			}
			targets = []string{src}
		}
		kv := args[1:]
		if len(kv) == 0 || len(kv)%2 != 0 {
			return unsupported(c, "pmset settings must be KEY VALUE pairs")
		}
		for i := 0; i < len(kv); i += 2 {
			if !pmsetKeys[kv[i]] {
				return unsupported(c, "pmset key "+kv[i]+" is not emulated for Apple Silicon desktops")
			}
			if _, err := strconv.Atoi(kv[i+1]); err != nil {
				return unsupported(c, "pmset value "+kv[i+1]+" is not a number")
			}
		}
		for _, src := range targets {
			s := m.st.Power.Sources[src]
			for i := 0; i < len(kv); i += 2 {
				s[kv[i]] = kv[i+1]
			}
			sl, _ := strconv.Atoi(s["sleep"])
			ds, _ := strconv.Atoi(s["displaysleep"])
			if sl != 0 && (ds == 0 || ds > sl) {
				c.errf("Warning: Idle sleep timings for \"%s\" may not behave as expected.\n- Display sleep should have a lower timeout than system sleep.\n", src)
			}
		}
		return c.result(0)
	}
	return unsupported(c, "only pmset -g, pmset -g custom and pmset -c|-a KEY VALUE... are emulated")
}

func (m *Mac) printPmset(c *call, s map[string]string) {
	printed := map[string]bool{}
	line := func(k string) {
		v, ok := s[k]
		if !ok {
			return
		}
		printed[k] = true
		if k == "sleep" && len(m.st.Power.SleepPreventedBy) > 0 {
			v += " (sleep prevented by " + strings.Join(m.st.Power.SleepPreventedBy, ", ") + ")"
		}
		if len(k) >= 20 {
			c.outf(" %s %s\n", k, v)
			return
		}
		c.outf(" %-20s %s\n", k, v)
	}
	for _, k := range pmsetOrder {
		line(k)
	}
	for _, k := range sortedKeys(s) {
		if !printed[k] {
			line(k)
		}
	}
}

// defaults emulates defaults read DOMAIN KEY (§1.18). A user domain is
// the principal's own; iCloud comes from the per-user account table.
func (m *Mac) defaults(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 3 || args[0] != "read" {
		return unsupported(c, "only defaults read DOMAIN KEY is emulated (hvfctl never writes defaults)")
	}
	domain, key := args[1], args[2]
	missing := func() (host.Result, error) {
		c.errf("%s\nThe domain/default pair of (%s, %s) does not exist\n", m.nslog("defaults", m.pid()), domain, key)
		return c.result(1)
	}
	if domain == "MobileMeAccounts" && key == "Accounts" {
		id, ok := m.st.ICloud[c.user]
		if !ok {
			return missing()
		}
		if id == "" {
			c.outf("(\n)\n")
			return c.result(0)
		}
		u := m.st.Users[c.user]
		c.outf("(\n        {\n        AccountAlternateDSID = \"%s\";\n        AccountDSID = 1%09d;\n        AccountDescription = iCloud;\n        AccountID = \"%s\";\n        AccountUUID = \"%s\";\n        DisplayName = \"%s\";\n        LoggedIn = 1;\n    }\n)\n",
			u.GeneratedUID, u.UID, id, u.GeneratedUID, u.RealName)
		return c.result(0)
	}
	key2 := strings.TrimSuffix(domain, ".plist")
	if !strings.HasPrefix(key2, "/") {
		key2 = "~" + c.user + "/" + key2
	}
	v, ok := m.st.Defaults[key2][key]
	if !ok {
		return missing()
	}
	c.outf("%s\n", v)
	return c.result(0)
}

// sqlite3 emulates reading TCC.db: without Full Disk Access even root
// is refused (§1.19).
func (m *Mac) sqlite3(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 3 || args[0] != "-readonly" || !strings.HasSuffix(args[1], "/com.apple.TCC/TCC.db") {
		return unsupported(c, "only sqlite3 -readonly .../com.apple.TCC/TCC.db QUERY is emulated")
	}
	if args[2] != "SELECT service, client, auth_value FROM access" {
		return unsupported(c, "only the query \"SELECT service, client, auth_value FROM access\" is emulated")
	}
	if !m.st.TCC.Readable || (c.user != host.Root && args[1] == "/Library/Application Support/com.apple.TCC/TCC.db") {
		c.errf("Error: unable to open database \"%s\": authorization denied\n", args[1])
		return c.result(1)
	}
	for _, g := range m.st.TCC.Grants {
		c.outf("%s|%s|%d\n", g.Service, g.Client, g.AuthValue)
	}
	return c.result(0)
}

// arch emulates `arch -x86_64 PROGRAM`: it needs Rosetta 2.
func (m *Mac) arch(c *call) (host.Result, error) {
	if len(c.argv) < 3 || c.argv[1] != "-x86_64" {
		return unsupported(c, "only arch -x86_64 PROGRAM is emulated")
	}
	if _, ok := m.st.Receipts["com.apple.pkg.RosettaUpdateAuto"]; !ok {
		c.errf("arch: posix_spawnp: %s: Bad CPU type in executable\n", c.argv[2])
		return c.result(1)
	}
	if c.argv[2] == "/usr/bin/true" && len(c.argv) == 3 {
		return c.result(0)
	}
	return unsupported(c, "only arch -x86_64 /usr/bin/true is emulated")
}

// authRestart emulates `fdesetup authrestart -inputplist` (fdesetup(8);
// munki's authrestart): root only; the credential comes as a plist on
// stdin ({"Password": ...}); on success the unlock key is kept for one
// boot, stderr says "System is being restarted" (munki matches it from
// 10.12) and the Mac restarts past the FileVault screen. The wording of
// the failures is unverified.
func (m *Mac) authRestart(c *call) (host.Result, error) {
	if len(c.argv) != 3 || c.argv[2] != "-inputplist" {
		return unsupported(c, "fdesetup authrestart without -inputplist prompts on a terminal")
	}
	if c.user != host.Root {
		c.errf("Error: authrestart requires root privileges.\n")
		return c.result(1)
	}
	fv := m.st.FileVault
	if !fv.Enabled {
		c.errf("Error: FileVault is Off.\n")
		return c.result(1)
	}
	if fv.NoAuthRestart {
		c.errf("Error: Authenticated restart is not supported on this system.\n")
		return c.result(1)
	}
	var in struct {
		Password string `plist:"Password"`
	}
	if _, err := plist.Unmarshal(c.stdin, &in); err != nil {
		c.errf("Error: Unable to read the input property list.\n")
		return c.result(1)
	}
	if in.Password == "" || (fv.UnlockSecret != "" && in.Password != fv.UnlockSecret) {
		c.errf("Error: User could not be authenticated.\n")
		return c.result(1)
	}
	c.errf("System is being restarted.\n")
	m.boot("fdesetup authrestart", false)
	return c.result(0)
}

// shutdown emulates `shutdown -r now`: root only (BSD shutdown refuses
// others with "NOT super-user"); it restarts the Mac. With FileVault on
// the data volume stays locked after the restart until someone unlocks
// it at the screen, so no LaunchDaemon runs (macos-facts.md §0.10).
func (m *Mac) shutdown(c *call) (host.Result, error) {
	if len(c.argv) != 3 || c.argv[1] != "-r" || c.argv[2] != "now" {
		return unsupported(c, "only shutdown -r now is emulated")
	}
	if c.user != host.Root {
		c.errf("shutdown: NOT super-user\n")
		return c.result(1)
	}
	c.outf("Shutdown NOW!\n")
	m.boot("shutdown -r", m.st.FileVault.Enabled)
	return c.result(0)
}

// boot restarts the fake: every job is gone; unless the data volume is
// locked, launchd loads each root:wheel LaunchDaemon plist that is not
// disabled, starting those with RunAtLoad, as bootstrap does.
func (m *Mac) boot(how string, locked bool) {
	m.st.Boots = append(m.st.Boots, Boot{How: how, Clock: m.st.Clock, Locked: locked})
	m.st.Launchd.Jobs = map[string]*Job{}
	if locked {
		return
	}
	for _, name := range m.children("/Library/LaunchDaemons") {
		if !strings.HasSuffix(name, ".plist") {
			continue
		}
		bc := &call{argv: []string{"/bin/launchctl", "bootstrap", "system"}, user: host.Root, env: map[string]string{}, dir: "/"}
		_, _ = m.bootstrap(bc, "/Library/LaunchDaemons/"+name)
	}
}

// tail emulates `tail -n N FILE`: the last N lines, read as the caller.
func (m *Mac) tail(c *call) (host.Result, error) {
	if len(c.argv) != 4 || c.argv[1] != "-n" {
		return unsupported(c, "only tail -n N FILE is emulated")
	}
	n, err := strconv.Atoi(c.argv[2])
	if err != nil || n < 0 {
		c.errf("tail: illegal offset -- %s\n", c.argv[2])
		return c.result(1)
	}
	_, node, err := m.lookup(c.user, clean(c.dir, c.argv[3]), true)
	if err == nil && !m.may(c.user, node, 4) {
		err = fs.ErrPermission
	}
	if err != nil {
		c.errf("tail: %s: %s\n", c.argv[3], errText(err))
		return c.result(1)
	}
	if node.Type == TypeDir {
		c.errf("tail: %s: Is a directory\n", c.argv[3])
		return c.result(1)
	}
	if node.Content == nil {
		return unsupported(c, "tail of a file whose bytes are not modelled")
	}
	lines := strings.SplitAfter(*node.Content, "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	c.outf("%s", strings.Join(lines, ""))
	return c.result(0)
}
