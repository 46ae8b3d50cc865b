package fakemac

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

const brewPrefix = "/opt/homebrew"

// formula is one entry of the fake's Homebrew catalogue.
type formula struct {
	version string
	kegOnly bool
	// files are paths inside the keg; those under bin/ (and
	// toolchain/bin/) are linked into the prefix unless keg-only.
	files []string
	deps  []string
	// tap is set for formulae outside homebrew/core.
	tap string
}

// formulae is the catalogue `brew install` knows (bottles for
// arm64_sequoia). binutils 2.45 and aarch64-unknown-linux-gnu 13.3.0 are
// from macos-facts.md; other versions are plausible for mid-2026.
var formulae = map[string]formula{
	"binutils":     {version: "2.45", kegOnly: true, files: []string{"bin/objcopy", "bin/objdump", "bin/readelf", "bin/as", "bin/nm", "bin/strings"}, deps: []string{"zstd"}},
	"llvm":         {version: "21.1.8", kegOnly: true, files: []string{"bin/clang", "bin/clang-tidy", "bin/scan-build", "bin/llvm-objcopy"}, deps: []string{"z3", "zstd"}},
	"make":         {version: "4.4.1", files: []string{"bin/gmake", "libexec/gnubin/make"}},
	"coreutils":    {version: "9.7", files: []string{"bin/gtimeout", "bin/gls", "bin/gsha256sum", "libexec/gnubin/timeout", "libexec/gnubin/ls"}, deps: []string{"gmp"}},
	"qemu":         {version: "10.1.0", files: []string{"bin/qemu-system-aarch64", "bin/qemu-img"}, deps: []string{"capstone", "dtc", "glib", "libslirp", "pixman", "zstd"}},
	"python@3.13":  {version: "3.13.7", files: []string{"bin/python3", "bin/python3.13", "bin/pip3"}, deps: []string{"mpdecimal", "openssl@3", "sqlite", "xz"}},
	"python@3.14":  {version: "3.14.0", files: []string{"bin/python3.14", "bin/pip3.14"}, deps: []string{"mpdecimal", "openssl@3", "sqlite", "xz"}},
	"wget":         {version: "1.25.0", files: []string{"bin/wget"}, deps: []string{"libidn2", "openssl@3"}},
	"curl":         {version: "8.16.0", kegOnly: true, files: []string{"bin/curl", "bin/curl-config"}, deps: []string{"libnghttp2", "openssl@3"}},
	"jq":           {version: "1.8.1", files: []string{"bin/jq"}, deps: []string{"oniguruma"}},
	"zstd":         {version: "1.5.7", files: []string{"bin/zstd"}},
	"z3":           {version: "4.15.3", files: []string{"bin/z3"}},
	"gmp":          {version: "6.3.0", files: []string{"lib/libgmp.dylib"}},
	"capstone":     {version: "5.0.6", files: []string{"bin/cstool"}},
	"dtc":          {version: "1.7.2", files: []string{"bin/dtc"}},
	"glib":         {version: "2.86.0", files: []string{"bin/gio"}},
	"libslirp":     {version: "4.9.1", files: []string{"lib/libslirp.dylib"}},
	"pixman":       {version: "0.46.4", files: []string{"lib/libpixman-1.dylib"}},
	"openssl@3":    {version: "3.5.2", files: []string{"bin/openssl"}},
	"mpdecimal":    {version: "4.0.1", files: []string{"lib/libmpdec.dylib"}},
	"sqlite":       {version: "3.50.4", kegOnly: true, files: []string{"bin/sqlite3"}},
	"xz":           {version: "5.8.1", files: []string{"bin/xz"}},
	"libidn2":      {version: "2.3.8", files: []string{"bin/idn2"}},
	"libnghttp2":   {version: "1.67.0", kegOnly: true, files: []string{"lib/libnghttp2.dylib"}},
	"oniguruma":    {version: "6.9.10", files: []string{"lib/libonig.dylib"}},
	"bdw-gc":       {version: "8.2.8", files: []string{"lib/libgc.dylib"}},
	"guile":        {version: "3.0.10", files: []string{"bin/guile"}, deps: []string{"bdw-gc", "gmp", "libtool", "libunistring", "pkgconf", "readline"}},
	"libtool":      {version: "2.5.4", files: []string{"bin/glibtool"}},
	"libunistring": {version: "1.3", files: []string{"lib/libunistring.dylib"}},
	"pkgconf":      {version: "2.5.1", files: []string{"bin/pkgconf", "bin/pkg-config"}},
	"readline":     {version: "8.3.1", kegOnly: true, files: []string{"lib/libreadline.dylib"}},
	"aarch64-unknown-linux-gnu": {version: "13.3.0", tap: "messense/macos-cross-toolchains", deps: []string{"bdw-gc", "guile", "zstd", "python@3.14"},
		files: []string{"toolchain/bin/aarch64-linux-gnu-gcc", "toolchain/bin/aarch64-linux-gnu-objcopy", "toolchain/bin/aarch64-unknown-linux-gnu-gcc", "toolchain/bin/aarch64-unknown-linux-gnu-objcopy", "toolchain/aarch64-unknown-linux-gnu/sysroot/usr/lib/libc.so"}},
}

// formulaAliases maps names brew resolves to another formula.
var formulaAliases = map[string]string{"python": "python@3.13", "python3": "python@3.13", "pkg-config": "pkgconf"}

// knownTaps are the taps `brew tap` can clone.
var knownTaps = map[string]bool{"messense/macos-cross-toolchains": true}

// cask is one entry of the cask catalogue.
type cask struct {
	version string
	// pkg names a State.Packages entry installed through sudo installer.
	pkg string
}

var casks = map[string]cask{
	"gcc-aarch64-embedded": {version: "14.3.rel1", pkg: "arm-gnu-toolchain-14.3.rel1"},
}

// brew emulates the Homebrew commands hvfctl runs (§1.9).
func (m *Mac) brew(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 0 {
		return unsupported(c, "brew without a command prints usage")
	}
	if args[0] == "--prefix" {
		return m.brewPrefix(c, args[1:])
	}
	if m.superuser(c.user) {
		c.errf("Error: Running Homebrew as root is extremely dangerous and no longer supported.\nAs Homebrew does not drop privileges on installation you would be giving all\nbuild scripts full access to your system.\n")
		return c.result(1)
	}
	switch args[0] {
	case "--version":
		v := m.st.Brew.Version
		if v == "" {
			v = HomebrewVersion
		}
		c.outf("Homebrew %s\n", v)
		return c.result(0)
	case "list", "ls":
		return m.brewList(c, args[1:])
	case "tap":
		return m.brewTap(c, args[1:])
	case "trust":
		return m.brewTrust(c, args[1:])
	case "install":
		return m.brewInstall(c, args[1:])
	}
	return unsupported(c, "brew command "+args[0]+" is not emulated")
}

func (m *Mac) brewPrefix(c *call, args []string) (host.Result, error) {
	installed := false
	var names []string
	for _, a := range args {
		if a == "--installed" {
			installed = true
		} else if strings.HasPrefix(a, "-") {
			return unsupported(c, "brew --prefix flag "+a)
		} else {
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		c.outf("%s\n", brewPrefix)
		return c.result(0)
	}
	if len(names) > 1 {
		return unsupported(c, "brew --prefix with several formulae")
	}
	name := m.canonical(names[0])
	if installed && m.st.Brew.Formulae[name] == nil {
		c.errf("Error: No such keg: %s/Cellar/%s\n", brewPrefix, name)
		return c.result(1)
	}
	c.outf("%s/opt/%s\n", brewPrefix, name)
	return c.result(0)
}

// canonical resolves aliases and fully qualified tap names.
func (m *Mac) canonical(name string) string {
	if a, ok := formulaAliases[name]; ok {
		return a
	}
	if i := strings.LastIndex(name, "/"); i >= 0 {
		if f, ok := formulae[name[i+1:]]; ok && f.tap == name[:i] {
			return name[i+1:]
		}
	}
	return name
}

func (m *Mac) brewList(c *call, args []string) (host.Result, error) {
	versions, caskMode, formulaMode := false, false, false
	var names []string
	for _, a := range args {
		switch a {
		case "--versions":
			versions = true
		case "--cask", "--casks":
			caskMode = true
		case "--formula", "--formulae":
			formulaMode = true
		default:
			if strings.HasPrefix(a, "-") {
				return unsupported(c, "brew list flag "+a)
			}
			names = append(names, a)
		}
	}
	if caskMode && formulaMode {
		c.errf("Error: Options --formula and --cask are mutually exclusive.\n")
		return c.result(1)
	}
	table := m.st.Brew.Formulae
	if caskMode {
		table = m.st.Brew.Casks
	}
	if versions {
		// Without --formula or --cask, brew lists formulae and casks
		// together (macos-facts.md §1.9): a cask named like a formula
		// would pass for it.
		both := !caskMode && !formulaMode
		exit := 0
		if len(names) == 0 {
			names = sortedKeys(table)
			if both {
				names = append(names, sortedKeys(m.st.Brew.Casks)...)
			}
		}
		for _, n := range names {
			name := n
			if !caskMode {
				name = m.canonical(n)
			}
			v, ok := table[name]
			if !ok && both {
				name = n
				v, ok = m.st.Brew.Casks[n]
			}
			if !ok {
				exit = 1
				continue
			}
			c.outf("%s %s\n", name, strings.Join(v, " "))
		}
		return c.result(exit)
	}
	if len(names) == 0 {
		for _, n := range sortedKeys(table) {
			c.outf("%s\n", n)
		}
		return c.result(0)
	}
	exit := 0
	for _, n := range names {
		name := n
		if !caskMode {
			name = m.canonical(n)
		}
		v, ok := table[name]
		if !ok {
			if caskMode {
				c.errf("Error: Cask '%s' is not installed.\n", name)
			} else {
				c.errf("Error: No such keg: %s/Cellar/%s\n", brewPrefix, name)
			}
			exit = 1
			continue
		}
		if caskMode {
			c.outf("==> Pkg\n%s\n", casks[name].pkg)
			continue
		}
		keg := fmt.Sprintf("%s/Cellar/%s/%s", brewPrefix, name, v[len(v)-1])
		for _, f := range formulae[name].files {
			c.outf("%s/%s\n", keg, f)
		}
	}
	return c.result(exit)
}

func (m *Mac) brewTap(c *call, args []string) (host.Result, error) {
	if len(args) == 0 {
		for _, t := range sortedStrings(m.st.Brew.Taps) {
			c.outf("%s\n", t)
		}
		return c.result(0)
	}
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		return unsupported(c, "only brew tap and brew tap USER/REPO are emulated")
	}
	t := strings.ToLower(args[0])
	for _, have := range m.st.Brew.Taps {
		if have == t {
			return c.result(0)
		}
	}
	user, repo, ok := strings.Cut(t, "/")
	if !ok || strings.Contains(repo, "/") {
		c.errf("Error: Invalid tap name: '%s'\n", args[0])
		return c.result(1)
	}
	if bad := m.unwritable(c.user, brewPrefix+"/Library/Taps"); len(bad) > 0 {
		return m.notWritable(c, bad)
	}
	c.errf("==> Tapping %s\n", t)
	if !knownTaps[t] {
		c.errf("Cloning into '%s/Library/Taps/%s/homebrew-%s'...\nremote: Repository not found.\nfatal: repository 'https://github.com/%s/homebrew-%s/' not found\nError: Failure while executing; `git clone https://github.com/%s/homebrew-%s %s/Library/Taps/%s/homebrew-%s --origin=origin --template= --config core.fsmonitor=false` exited with 128.\n", brewPrefix, user, repo, user, repo, user, repo, brewPrefix, user, repo)
		return c.result(1)
	}
	c.errf("Cloning into '%s/Library/Taps/%s/homebrew-%s'...\n", brewPrefix, user, repo)
	taps := brewPrefix + "/Library/Taps"
	for _, d := range []string{taps + "/" + user, taps + "/" + user + "/homebrew-" + repo} {
		if m.st.Files[d] == nil {
			owner, group := m.newOwner(c.user, path.Dir(d))
			m.put(d, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: group})
		}
	}
	m.st.Brew.Taps = append(m.st.Brew.Taps, t)
	c.outf("Tapped 1 formula (32 files, 86.4KB).\n")
	return c.result(0)
}

func (m *Mac) brewTrust(c *call, args []string) (host.Result, error) {
	if len(args) != 2 || args[0] != "--formula" {
		return unsupported(c, "only brew trust --formula TAP/FORMULA is emulated")
	}
	item := strings.ToLower(args[1])
	i := strings.LastIndex(item, "/")
	if i < 0 {
		return unsupported(c, "brew trust needs a fully qualified TAP/FORMULA name")
	}
	tap, name := item[:i], item[i+1:]
	if f, ok := formulae[name]; !ok || f.tap != tap || !m.tapped(tap) {
		c.errf("Error: No available formula with the name \"%s\".\n", item)
		return c.result(1)
	}
	for _, t := range m.st.Brew.Trust[c.user] {
		if t == item {
			c.outf("Already trusted formula: %s\n", item)
			return c.result(0)
		}
	}
	if m.st.Brew.Trust == nil {
		m.st.Brew.Trust = map[string][]string{}
	}
	m.st.Brew.Trust[c.user] = append(m.st.Brew.Trust[c.user], item)
	c.outf("Trusted formula: %s\n", item)
	return c.result(0)
}

func (m *Mac) tapped(tap string) bool {
	for _, t := range m.st.Brew.Taps {
		if t == tap {
			return true
		}
	}
	return false
}

// unwritable lists the given Homebrew directories user cannot write.
func (m *Mac) unwritable(user string, dirs ...string) []string {
	var bad []string
	for _, d := range dirs {
		if !m.canCreateIn(user, d) {
			bad = append(bad, d)
		}
	}
	return bad
}

func (m *Mac) notWritable(c *call, bad []string) (host.Result, error) {
	c.errf("Error: The following directories are not writable by your user:\n%s\n\nYou should change the ownership of these directories to your user.\n  sudo chown -R %s %s\n\nAnd make sure that your user has write permission.\n  chmod u+w %s\n",
		strings.Join(bad, "\n"), c.user, strings.Join(bad, " "), strings.Join(bad, " "))
	return c.result(1)
}

func (m *Mac) brewInstall(c *call, args []string) (host.Result, error) {
	caskMode := false
	var names []string
	for _, a := range args {
		switch a {
		case "--formula", "--formulae":
		case "--cask", "--casks":
			caskMode = true
		default:
			if strings.HasPrefix(a, "-") {
				return unsupported(c, "brew install flag "+a)
			}
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		c.errf("Error: Invalid usage: This command requires at least 1 formula or cask argument.\n")
		return c.result(1)
	}
	if caskMode {
		return m.brewInstallCask(c, names)
	}
	// Resolve every name before installing anything, as brew does.
	var pending []string
	for _, n := range names {
		name := m.canonical(n)
		f, ok := formulae[name]
		if !ok || (f.tap != "" && !m.tapped(f.tap)) {
			c.errf("Warning: No available formula with the name \"%s\".\n==> Searching for similarly named formulae and casks...\nError: No formulae or casks found for %s.\n", n, n)
			return c.result(1)
		}
		if f.tap != "" && c.env["HOMEBREW_NO_REQUIRE_TAP_TRUST"] == "" && !m.trusts(c.user, f.tap+"/"+name) {
			c.errf("Error: Refusing to load formula %s from untrusted tap %s.\n", name, f.tap)
			return c.result(1)
		}
		pending = append(pending, name)
	}
	if bad := m.unwritable(c.user, brewPrefix, brewPrefix+"/Cellar", brewPrefix+"/bin", brewPrefix+"/opt"); len(bad) > 0 {
		return m.notWritable(c, bad)
	}
	for _, name := range pending {
		if v := m.st.Brew.Formulae[name]; v != nil {
			c.errf("Warning: %s %s is already installed and up-to-date.\nTo reinstall %s, run:\n  brew reinstall %s\n", name, v[len(v)-1], v[len(v)-1], name)
			continue
		}
		var missing []string
		m.missingDeps(name, map[string]bool{}, &missing)
		if len(missing) > 0 {
			c.outf("==> Installing dependencies for %s: %s\n", name, strings.Join(missing, ", "))
			for _, d := range missing {
				c.outf("==> Installing %s dependency: %s\n", name, d)
				m.pour(c, d)
			}
		}
		c.outf("==> Installing %s\n", name)
		m.pour(c, name)
	}
	return c.result(0)
}

func (m *Mac) trusts(user, item string) bool {
	for _, t := range m.st.Brew.Trust[user] {
		if t == item || t == item[:strings.LastIndex(item, "/")] {
			return true
		}
	}
	return false
}

// missingDeps lists uninstalled dependencies of name, deepest first.
func (m *Mac) missingDeps(name string, seen map[string]bool, out *[]string) {
	for _, d := range formulae[name].deps {
		if seen[d] {
			continue
		}
		seen[d] = true
		m.missingDeps(d, seen, out)
		if m.st.Brew.Formulae[d] == nil {
			*out = append(*out, d)
		}
	}
}

// pour installs a bottle: the keg, its opt link and (unless keg-only)
// links of its executables into the prefix's bin.
func (m *Mac) pour(c *call, name string) {
	f := formulae[name]
	keg := fmt.Sprintf("%s/Cellar/%s/%s", brewPrefix, name, f.version)
	mkdir := func(p string) {
		for _, d := range ancestorsWithin(brewPrefix, p) {
			if m.st.Files[d] == nil {
				owner, group := m.newOwner(c.user, path.Dir(d))
				m.put(d, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: group})
			}
		}
	}
	var size int64
	for _, file := range f.files {
		p := keg + "/" + file
		mkdir(path.Dir(p))
		owner, group := m.newOwner(c.user, path.Dir(p))
		n := &Node{Type: TypeFile, Mode: 0o755, Owner: owner, Group: group, Size: 48_000 + int64(len(file))*1_000, SHA256: synthSum("bottle", name, f.version, file)}
		size += n.Size
		m.put(p, n)
	}
	mkdir(brewPrefix + "/opt")
	link := func(p, target string) {
		if old := m.st.Files[p]; old != nil {
			m.removeTree(p)
		}
		owner, group := m.newOwner(c.user, path.Dir(p))
		m.put(p, &Node{Type: TypeSymlink, Mode: 0o755, Owner: owner, Group: group, Target: target})
	}
	link(brewPrefix+"/opt/"+name, "../Cellar/"+name+"/"+f.version)
	if !f.kegOnly {
		for _, file := range f.files {
			dir := path.Dir(file)
			if dir != "bin" && dir != "toolchain/bin" {
				continue
			}
			link(brewPrefix+"/bin/"+path.Base(file), "../Cellar/"+name+"/"+f.version+"/"+file)
		}
	}
	m.st.Brew.Formulae[name] = []string{f.version}
	c.outf("==> Pouring %s--%s.arm64_sequoia.bottle.tar.gz\n🍺  %s: %d files, %.1fMB\n", name, f.version, keg, len(f.files), float64(size)/1e6)
	if f.kegOnly {
		c.outf("==> Caveats\n%s is keg-only, which means it was not symlinked into %s,\nbecause macOS already provides this software and installing another version in\nparallel can cause all kinds of trouble.\n", name, brewPrefix)
	}
}

// unpour removes an installed formula the way `brew uninstall` leaves
// the prefix: no keg, no opt link, no links into bin.
func (m *Mac) unpour(name string) error {
	f, ok := formulae[name]
	if !ok || m.st.Brew.Formulae[name] == nil {
		return fmt.Errorf("fakemac: formula %s is not installed", name)
	}
	m.removeTree(brewPrefix + "/Cellar/" + name)
	m.removeTree(brewPrefix + "/opt/" + name)
	if !f.kegOnly {
		for _, file := range f.files {
			if d := path.Dir(file); d == "bin" || d == "toolchain/bin" {
				m.removeTree(brewPrefix + "/bin/" + path.Base(file))
			}
		}
	}
	delete(m.st.Brew.Formulae, name)
	return nil
}

// ancestorsWithin lists p and its ancestors strictly below root, top
// down.
func ancestorsWithin(root, p string) []string {
	var out []string
	for q := p; q != root && strings.HasPrefix(q, root+"/"); q = path.Dir(q) {
		out = append(out, q)
	}
	sort.Slice(out, func(i, j int) bool { return len(out[i]) < len(out[j]) })
	return out
}

func (m *Mac) brewInstallCask(c *call, names []string) (host.Result, error) {
	for _, name := range names {
		k, ok := casks[name]
		if !ok {
			c.errf("Warning: Cask '%s' is unavailable: No Cask with this name exists.\n==> Searching for similarly named formulae and casks...\nError: No formulae or casks found for %s.\n", name, name)
			return c.result(1)
		}
		if v := m.st.Brew.Casks[name]; v != nil {
			c.errf("Warning: Not upgrading %s, the latest version is already installed\n", name)
			continue
		}
		if bad := m.unwritable(c.user, brewPrefix, brewPrefix+"/Caskroom"); len(bad) > 0 {
			return m.notWritable(c, bad)
		}
		pkg := m.st.Packages[k.pkg]
		if pkg == nil {
			return unsupported(c, "cask "+name+" needs package "+k.pkg+" in the fixture's \"packages\"")
		}
		file := pkg.Title + ".pkg"
		c.outf("==> Downloading %s\n==> Installing Cask %s\n==> Running installer for %s with `sudo` (which may request your password)...\n", file, name, name)
		if !m.st.Brew.SudoCached || !m.inGroup(c.user, "admin") {
			c.errf("sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\nError: Failure while executing; `/usr/bin/sudo -u root -E LOGNAME=%s USER=%s USERNAME=%s -- /usr/sbin/installer -pkg %s/Caskroom/%s/%s/%s -target /` exited with 1. Here's the output:\n", c.user, c.user, c.user, brewPrefix, name, k.version, file)
			return c.result(1)
		}
		for _, it := range pkg.Payload {
			m.mkdirAll(path.Dir(it.Path), 0o755, "root", "wheel")
			node := &Node{Type: it.Type, Mode: it.Mode, Owner: it.Owner, Group: it.Group, Target: it.Target}
			if it.Type == TypeFile {
				node.Size, node.SHA256 = it.Size, synthSum(pkg.ID, it.Path)
			}
			if m.st.Files[it.Path] == nil || it.Type != TypeDir {
				m.put(it.Path, node)
			}
		}
		m.addReceipt(pkg.ID, pkg.Version, nil)
		croom := fmt.Sprintf("%s/Caskroom/%s/%s", brewPrefix, name, k.version)
		for _, d := range ancestorsWithin(brewPrefix, croom) {
			if m.st.Files[d] == nil {
				owner, group := m.newOwner(c.user, path.Dir(d))
				m.put(d, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: group})
			}
		}
		c.outf("installer: Package name is %s\ninstaller: Installing at base path /\ninstaller: The install was successful.\n🍺  %s was successfully installed!\n", pkg.Title, name)
		m.st.Brew.Casks[name] = []string{k.version}
	}
	return c.result(0)
}
