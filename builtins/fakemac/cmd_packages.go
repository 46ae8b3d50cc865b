package fakemac

import (
	"path"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"howett.net/plist"
)

const (
	cltDir         = "/Library/Developer/CommandLineTools"
	cltMarker      = "/private/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress"
	cltReceipt     = "com.apple.pkg.CLTools_Executables"
	rosettaReceipt = "com.apple.pkg.RosettaUpdateAuto"
	rosettaLinux   = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta"
	brewPkgUser    = "/private/var/tmp/.homebrew_pkg_user.plist"
)

// addReceipt records an installed package.
func (m *Mac) addReceipt(id, version string, files []string) {
	m.st.Receipts[id] = &Receipt{Version: version, Volume: "/", Location: "/", InstallTime: m.st.Clock, Files: files}
}

// softwareupdate emulates --install-rosetta, -l and -i LABEL (§1.6,
// §1.7).
func (m *Mac) softwareupdate(c *call) (host.Result, error) {
	args := c.argv[1:]
	switch {
	case len(args) >= 1 && args[0] == "--install-rosetta":
		if len(args) > 2 || (len(args) == 2 && args[1] != "--agree-to-license") {
			return unsupported(c, "softwareupdate --install-rosetta takes only --agree-to-license")
		}
		if c.user != host.Root {
			c.errf("softwareupdate: --install-rosetta must be run as root\n")
			return c.result(1)
		}
		if len(args) == 1 {
			c.outf("I have read and agree to the terms of the software license agreement. A list of Apple SLAs may be found here: https://www.apple.com/legal/sla/\nType A and press return to agree: ")
			if !strings.HasPrefix(strings.TrimSpace(string(c.stdin)), "A") {
				return c.result(1)
			}
		} else {
			c.outf("By using the agreetolicense option, you are agreeing that you have run this tool with the license only option and have read and agreed to the terms.\nIf you do not agree, press CTRL-C and cancel this process immediately.\n")
		}
		c.errf("%sPackage Authoring Error: 062-01890: Package reference com.apple.pkg.RosettaUpdateAuto is missing installKBytes attribute\n", m.nslog("softwareupdate", m.pid()))
		c.outf("Installing: 0.0%%\nInstalling: 48.0%%\nInstalling: 100.0%%\n")
		m.mkdirAll("/Library/Apple/usr/share/rosetta", 0o755, "root", "wheel")
		m.mkdirAll("/Library/Apple/usr/libexec/oah/RosettaLinux", 0o755, "root", "wheel")
		m.put("/Library/Apple/usr/share/rosetta/rosetta", &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Size: 64, SHA256: synthSum("rosetta-marker")})
		m.put(rosettaLinux, &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 3_383_712, SHA256: synthSum("RosettaLinux/rosetta")})
		m.put("/Library/Apple/usr/libexec/oah/RosettaLinux/rosettad", &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 1_196_208, SHA256: synthSum("RosettaLinux/rosettad")})
		m.addReceipt(rosettaReceipt, "1.0.0.0.1.1754956512", []string{"Library/Apple/usr/share/rosetta/rosetta", "Library/Apple/usr/libexec/oah/RosettaLinux/rosetta", "Library/Apple/usr/libexec/oah/RosettaLinux/rosettad"})
		c.outf("Install of Rosetta 2 finished successfully\n")
		return c.result(0)
	case len(args) == 1 && (args[0] == "-l" || args[0] == "--list"):
		c.outf("Software Update Tool\n\nFinding available software\n")
		labels := m.cltOffers()
		if len(labels) == 0 {
			c.errf("No new software available.\n")
			return c.result(0)
		}
		c.outf("Software Update found the following new or updated software:\n")
		for _, l := range labels {
			title, ver := cltTitle(l)
			c.outf("* Label: %s\n\tTitle: %s, Version: %s, Size: 800000KiB, Recommended: YES, \n", l, title, ver)
		}
		return c.result(0)
	case len(args) == 2 && (args[0] == "-i" || args[0] == "--install"):
		if c.user != host.Root {
			c.errf("softwareupdate: installing updates requires root\n")
			return c.result(1)
		}
		label := args[1]
		c.outf("Software Update Tool\n\nFinding available software\n")
		found := false
		for _, l := range m.cltOffers() {
			if l == label {
				found = true
			}
		}
		if !found {
			c.errf("%s: No such update\nNo updates are available.\n", label)
			return c.result(1)
		}
		_, ver := cltTitle(label)
		c.outf("\nDownloading %s\nDownloaded %s\nInstalling %s\nDone with %s\nDone.\n", label, label, label, label)
		for _, p := range []string{cltDir + "/usr/bin", cltDir + "/usr/lib", cltDir + "/SDKs"} {
			m.mkdirAll(p, 0o755, "root", "wheel")
		}
		// What xcode-select --switch requires of a developer directory.
		m.put(cltDir+"/usr/lib/libxcrun.dylib", &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 105_904, SHA256: synthSum("clt", ver, "libxcrun.dylib")})
		for _, tool := range []string{"git", "clang", "make", "python3", "as", "ld"} {
			m.put(cltDir+"/usr/bin/"+tool, &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 167_120, SHA256: synthSum("clt", ver, tool)})
		}
		m.addReceipt(cltReceipt, ver+".0.0.1.1757022306", []string{"Library/Developer/CommandLineTools/usr/bin/git"})
		return c.result(0)
	}
	return unsupported(c, "only softwareupdate --install-rosetta [--agree-to-license], -l and -i LABEL are emulated")
}

// cltTitle is the Title and Version softwareupdate -l shows for a CLT
// label (macos-facts.md §1.7): up to Xcode 16 the label is `Command Line
// Tools for Xcode-16.4` with the title `Command Line Tools for Xcode`; from
// the 26 releases it is `Command Line Tools for Xcode 26.1-26.1.1` with the
// title `Command Line Tools for Xcode 26.1`. The version is the one after
// "Xcode"; betas say so in the title.
func cltTitle(label string) (title, version string) {
	rest := label[strings.Index(label, "Xcode")+len("Xcode"):]
	beta := strings.Contains(label, "beta")
	if v, ok := strings.CutPrefix(rest, "-"); ok {
		version = strings.TrimSuffix(v, " beta")
		title = "Command Line Tools for Xcode"
		if beta {
			title = "Command Line Tools beta for Xcode"
		}
		return title, version
	}
	version = strings.TrimSpace(rest)
	if i := strings.Index(version, "-"); i >= 0 {
		version = version[:i]
	}
	title = "Command Line Tools for Xcode " + version
	if beta {
		title = "Command Line Tools beta for Xcode " + version
	}
	return title, version
}

// cltOffers lists the CLT labels softwareupdate offers: only while the
// on-demand marker exists.
func (m *Mac) cltOffers() []string {
	if m.st.Files[cltMarker] == nil {
		return nil
	}
	return m.st.CLT.Available
}

// xcodeSelect emulates xcode-select -p and --switch PATH (§1.7).
func (m *Mac) xcodeSelect(c *call) (host.Result, error) {
	args := c.argv[1:]
	switch {
	case len(args) == 1 && (args[0] == "-p" || args[0] == "--print-path"):
		sel := m.st.CLT.Selected
		if sel == "" && m.st.Files[cltDir+"/usr/bin/git"] != nil {
			sel = cltDir
		}
		if sel == "" || m.st.Files[sel] == nil {
			c.errf("xcode-select: error: unable to get active developer directory, use `sudo xcode-select --switch path/to/Xcode.app` to set one (or see `man xcode-select`)\n")
			return c.result(2)
		}
		c.outf("%s\n", sel)
		return c.result(0)
	case len(args) == 2 && (args[0] == "--switch" || args[0] == "-s"):
		if c.user != host.Root {
			c.errf("xcode-select: error: --switch must be run as root (e.g. `sudo xcode-select --switch <xcode_folder_path>`).\n")
			return c.result(1)
		}
		// A developer directory holds usr/lib/libxcrun.dylib; an
		// Xcode.app is taken as its Contents/Developer (docs/host-commands.md).
		sel := ""
		for _, dir := range []string{args[1], args[1] + "/Contents/Developer"} {
			if _, n, err := m.lookup(c.user, dir+"/usr/lib/libxcrun.dylib", true); err == nil && n.Type == TypeFile {
				sel = dir
				break
			}
		}
		if n := m.st.Files[args[1]]; n == nil || n.Type != TypeDir || sel == "" {
			c.errf("xcode-select: error: invalid developer directory '%s'\n", args[1])
			return c.result(1)
		}
		m.st.CLT.Selected = sel
		return c.result(0)
	case len(args) == 1 && args[0] == "--install":
		return unsupported(c, "xcode-select --install opens a GUI dialog; headless installs use softwareupdate")
	}
	return unsupported(c, "only xcode-select -p and --switch PATH are emulated")
}

// pkgutil emulates --pkg-info, --pkgs and --files (§1.8).
func (m *Mac) pkgutil(c *call) (host.Result, error) {
	args := c.argv[1:]
	switch {
	case len(args) == 2 && args[0] == "--pkg-info":
		r := m.st.Receipts[args[1]]
		if r == nil {
			c.errf("No receipt for '%s' found at '/'.\n", args[1])
			return c.result(1)
		}
		c.outf("package-id: %s\nversion: %s\nvolume: %s\nlocation: %s\ninstall-time: %d\n", args[1], r.Version, r.Volume, r.Location, r.InstallTime)
		return c.result(0)
	case len(args) == 1 && args[0] == "--pkgs":
		for _, id := range sortedKeys(m.st.Receipts) {
			c.outf("%s\n", id)
		}
		return c.result(0)
	case len(args) == 2 && args[0] == "--files":
		r := m.st.Receipts[args[1]]
		if r == nil {
			c.errf("No receipt for '%s' found at '/'.\n", args[1])
			return c.result(1)
		}
		for _, f := range r.Files {
			c.outf("%s\n", f)
		}
		return c.result(0)
	case len(args) == 2 && args[0] == "--forget":
		if c.user != host.Root {
			c.errf("Must be run as root\n")
			return c.result(1)
		}
		if m.st.Receipts[args[1]] == nil {
			c.errf("No receipt for '%s' found at '/'.\n", args[1])
			return c.result(1)
		}
		delete(m.st.Receipts, args[1])
		c.outf("Forgot package '%s' on '/'.\n", args[1])
		return c.result(0)
	}
	return unsupported(c, "only pkgutil --pkg-info ID, --pkgs, --files ID and --forget ID are emulated")
}

// installer emulates installer -pkg FILE -target / (§1.8, §1.9).
func (m *Mac) installer(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) != 4 || args[0] != "-pkg" || args[2] != "-target" || args[3] != "/" {
		return unsupported(c, "only installer -pkg FILE -target / is emulated")
	}
	if c.user != host.Root {
		c.errf("installer: Must be run as root to install this package.\n")
		return c.result(1)
	}
	_, n, err := m.lookup(c.user, clean(c.dir, args[1]), true)
	if err != nil {
		c.errf("installer: Error - the package path specified was invalid: '%s'.\n", args[1])
		return c.result(1)
	}
	pkg := m.st.Packages[n.Package]
	if n.Type != TypeFile || pkg == nil {
		c.errf("installer: Error - the package path specified was invalid: '%s'.\n", args[1])
		return c.result(1)
	}
	c.outf("installer: Package name is %s\ninstaller: Installing at base path /\n", pkg.Title)
	if pkg.Script == "homebrew" {
		if !m.homebrewPostinstall(pkg.Version) {
			c.outf("installer: The install failed. (The Installer encountered an error that caused the installation to fail. Contact the software manufacturer for assistance. An error occurred while running scripts from the package “%s”.)\n", path.Base(args[1]))
			c.errf("No valid user for Homebrew installation: write HOMEBREW_PKG_USER to /var/tmp/.homebrew_pkg_user.plist or log in at the console.\n")
			return c.result(1)
		}
	}
	var files []string
	for _, it := range pkg.Payload {
		m.mkdirAll(path.Dir(it.Path), 0o755, "root", "wheel")
		node := &Node{Type: it.Type, Mode: it.Mode, Owner: it.Owner, Group: it.Group, Target: it.Target}
		if it.Type == TypeFile {
			node.Size, node.SHA256 = it.Size, synthSum(pkg.ID, it.Path)
		}
		if old := m.st.Files[it.Path]; old != nil && old.Type == TypeDir && it.Type == TypeDir {
			continue
		}
		m.put(it.Path, node)
		files = append(files, strings.TrimPrefix(it.Path, "/"))
	}
	upgrade := m.st.Receipts[pkg.ID] != nil
	m.addReceipt(pkg.ID, pkg.Version, files)
	if upgrade {
		c.outf("installer: The upgrade was successful.\n")
	} else {
		c.outf("installer: The install was successful.\n")
	}
	return c.result(0)
}

// homebrewPostinstall does what Homebrew's .pkg postinstall does: find
// the owner (HOMEBREW_PKG_USER from a root-owned 0600 plain file without
// ACL, else the console user), create the prefix owned by OWNER:admin
// and write /etc/paths.d/homebrew. Homebrew is then at version.
func (m *Mac) homebrewPostinstall(version string) bool {
	owner := ""
	if n := m.st.Files[brewPkgUser]; n != nil && n.Type == TypeFile && n.Owner == "root" && n.Mode == 0o600 && len(n.ACL) == 0 && n.Content != nil {
		var doc map[string]any
		if _, err := plist.Unmarshal([]byte(*n.Content), &doc); err == nil {
			if u, ok := doc["HOMEBREW_PKG_USER"].(string); ok && m.st.Users[u] != nil && u != "root" {
				owner = u
			}
		}
	}
	if owner == "" && m.st.ConsoleUser != "" && m.st.ConsoleUser != "root" {
		owner = m.st.ConsoleUser
	}
	if owner == "" {
		return false
	}
	const prefix = "/opt/homebrew"
	m.mkdirAll("/opt", 0o755, "root", "wheel")
	dirs := []string{"", "/bin", "/Cellar", "/Caskroom", "/Frameworks", "/etc", "/include", "/lib", "/opt", "/sbin", "/share", "/var", "/Library", "/Library/Taps", "/Library/Homebrew"}
	for _, d := range dirs {
		p := prefix + d
		if n := m.st.Files[p]; n != nil {
			n.Owner, n.Group = owner, "admin"
			continue
		}
		m.put(p, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: "admin"})
	}
	m.put(prefix+"/bin/brew", &Node{Type: TypeFile, Mode: 0o755, Owner: owner, Group: "admin", Size: 6_821, SHA256: synthSum("brew", "bin/brew")})
	m.st.Brew.Version = version
	m.put("/private/etc/paths.d/homebrew", &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Content: text(prefix + "/bin\n")})
	return true
}

// sortedStrings returns a sorted copy.
func sortedStrings(in []string) []string {
	out := append([]string(nil), in...)
	sort.Strings(out)
	return out
}
