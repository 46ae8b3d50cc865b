package fakemac

import (
	"context"
	_ "embed"
	"fmt"
	"io/fs"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Download table of the presets. Recipes that run against the fake pin
// these URLs; the runner and toolchain pins are the real ones from
// macos-facts.md §1.11 and §2.
const (
	// RunnerURL is the actions/runner 2.335.1 osx-arm64 release asset.
	RunnerURL    = "https://github.com/actions/runner/releases/download/v2.335.1/actions-runner-osx-arm64-2.335.1.tar.gz"
	RunnerSHA256 = "e1a9bc7a3661e06fa0b129d15c2064fe65dc81a431001d8958a9db1409b73769" // its SHA-256
	RunnerSize   = 127138003                                                          // its size in bytes
	// HomebrewPkgURL is Homebrew's installer package 4.6.17, the pin of
	// recipes/m4.star (size and SHA-256 from one third-party pin of the
	// Homebrew/brew release asset). The fake serves no bytes: it knows
	// the package by this entry and its receipt identity.
	HomebrewPkgURL    = "https://github.com/Homebrew/brew/releases/download/4.6.17/Homebrew-4.6.17.pkg"
	HomebrewPkgSHA256 = "afdfde7f1913164aae4c5644f088ed47b89d48d2d734ff8106e140948a9ef408" // its SHA-256
	HomebrewPkgSize   = 122586592                                                          // its size in bytes
	HomebrewVersion   = "4.6.17"                                                           // the version its postinstall leaves
	HomebrewPkgID     = "sh.brew.homebrew"                                                 // its receipt (package id)
	// ArmToolchainURL is Arm's bare-metal GNU toolchain 14.3.rel1 package
	// (SHA-256 from macos-facts.md §2; the size is not from a source).
	ArmToolchainURL    = "https://developer.arm.com/-/media/Files/downloads/gnu/14.3.rel1/binrel/arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf.pkg"
	ArmToolchainSHA256 = "82a4987c670f589d3c5b97bc579561365116670ff3c1c67a07fc29fa23aef3b2" // its SHA-256
	ArmToolchainSize   = 141557760                                                          // its size as served by the fake
	// OldArmToolchainURL is Arm's bare-metal GNU toolchain 13.3.rel1
	// package, what the outdated preset has installed (SHA-256 from
	// macos-facts.md §2 and Homebrew's gcc-aarch64-embedded cask at
	// 13.3.rel1; the size is not from a source).
	OldArmToolchainURL    = "https://developer.arm.com/-/media/Files/downloads/gnu/13.3.rel1/binrel/arm-gnu-toolchain-13.3.rel1-darwin-arm64-aarch64-none-elf.pkg"
	OldArmToolchainSHA256 = "e8d1b044546df16d4f654d72eafe2f68950d39838078d6f32f132de0d6649eee" // its SHA-256
	OldArmToolchainSize   = 139460608                                                          // its size as served by the fake
	// CrossToolchainURL is messense's aarch64-unknown-linux-gnu 13.3.0
	// arm64 asset (SHA-256 from macos-facts.md §2; size and entry names
	// are not from a source).
	CrossToolchainURL    = "https://github.com/messense/homebrew-macos-cross-toolchains/releases/download/v13.3.0/aarch64-unknown-linux-gnu-aarch64-darwin.tar.gz"
	CrossToolchainSHA256 = "5092abd7f9f318672e833a8ad99a88d3d9044afc6e7152b26740d18b29949141" // its SHA-256
	CrossToolchainSize   = 118489344                                                          // its size as served by the fake
	// OldRunnerURL is the actions/runner 2.332.0 osx-arm64 release asset,
	// what the outdated preset has installed (SHA-256 from macos-facts.md
	// §1.11, a shasum of a live download; the size is not from a source).
	OldRunnerURL    = "https://github.com/actions/runner/releases/download/v2.332.0/actions-runner-osx-arm64-2.332.0.tar.gz"
	OldRunnerSHA256 = "d53bedb30619a64e751bb9f729cc9e9b35eb1df5361651d54daae00db33f2e73" // its SHA-256
	OldRunnerSize   = 126353408                                                          // its size as served by the fake
	// OldCrossToolchainVersion is the Linux cross toolchain the outdated
	// preset has installed (its entries are 13.3.0's; no URL serves it).
	OldCrossToolchainVersion = "13.2.0"
)

// Names of the runner recipes/m4.star provisions (the converged,
// drifted and part-way presets) and of the one the seed document's
// maintainer made by hand (seed-manual).
const (
	RunnerUser      = "ghrunner"                                       // the runner account
	RunnerRoot      = "/Users/ghrunner/actions-runner"                 // the runner directory (count 1)
	RunnerRepoURL   = "https://github.com/sysprog21/elfuse"            // the repository it serves
	RunnerName      = "macmini-m4-hvf"                                 // the recipe's runner name
	RunnerLabel     = "actions.runner.sysprog21-elfuse.macmini-m4-hvf" // the recipe's LaunchDaemon label
	SeedRunnerName  = "mini-1"                                         // the hand-made runner's name (seed-manual)
	SeedRunnerLabel = "actions.runner.sysprog21-elfuse.mini-1"         // its svc.sh LaunchAgent label
)

// presets returns the builder of each embedded preset.
func presets() map[string]func() (*State, error) {
	return map[string]func() (*State, error){
		"fresh-m4":         func() (*State, error) { return freshM4(), nil },
		"fresh-m4-sequoia": func() (*State, error) { return freshM4Sequoia(), nil },
		"filevault-off":    filevaultOff,
		"part-way":         func() (*State, error) { return derived(freshM4(), partWaySteps) },
		"converged":        convergedState,
		"drifted":          driftedState,
		"outdated":         outdatedState,
		"seed-manual":      func() (*State, error) { return derived(freshM4(), seedSteps) },
	}
}

// presetAliases are further names accepted for a preset.
var presetAliases = map[string]string{"partial": "part-way"}

// Presets lists the embedded presets: fresh-m4 (what --target fake
// uses: a Mac mini bought or updated today, macOS 26 Tahoe, whose
// softwareupdate offers only the 26 form of the Command Line Tools
// label), fresh-m4-sequoia (the same Mac on macOS 15, which lists both
// label forms side by side), filevault-off, part-way (runner account, Command Line Tools,
// Homebrew and the runner files present as recipes/m4.star leaves them,
// not registered; "partial" is an alias), converged (fresh-m4 after
// `hvfctl run recipes/m4.star`, embedded from presets/converged.json),
// drifted (converged after a macOS minor update, 26.1 to 26.2: version bumped, pmset
// reset, the runner LaunchDaemon booted out, qemu missing), outdated (converged as an older pin left it: runner
// 2.332.0 registered and running, the cross toolchain 13.2.0 and Arm's
// 13.3.rel1 linked) and seed-manual (provisioned by hand after the seed
// document: runner mini-1 with an svc.sh LaunchAgent, the Linux toolchain
// from Homebrew, displaysleep 0).
func Presets() []string {
	table := presets()
	out := make([]string, 0, len(table))
	for name := range table {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// presetState returns a new State of the named preset (or alias),
// which the caller may change: a deep copy of the preset built once per
// process (presetMemo).
func presetState(name string) (*State, error) {
	built, err := builtPreset(name)
	if err != nil {
		return nil, err
	}
	st := deepCopy(reflect.ValueOf(built.st)).Interface().(*State)
	st.joinLinks()
	return st, nil
}

// builtPreset returns the named preset's memo, built on first use.
func builtPreset(name string) (*presetMemo, error) {
	if canon, ok := presetAliases[name]; ok {
		name = canon
	}
	memo, ok := presetMemos[name]
	if !ok {
		return nil, fmt.Errorf("unknown fake host preset %q (presets: %s)", name, strings.Join(Presets(), ", "))
	}
	memo.once.Do(func() {
		build := presets()[name]
		memo.st, memo.err = build()
		if memo.err != nil {
			memo.err = fmt.Errorf("build preset %s: %w", name, memo.err)
			return
		}
		memo.tree, memo.err = stateTree(memo.st)
	})
	if memo.err != nil {
		return nil, memo.err
	}
	return memo, nil
}

// presetMemo is one preset as built once per process: building converged
// (its embedded fixture parsed over fresh-m4) and the presets derived
// from it costs milliseconds, and every --target fake run, every fixture
// with "base" and many tests start from one. A memo never changes after
// its once has run: presetState hands out deep copies of st, and a
// fixture's merge works on a copy of tree (copyTree).
type presetMemo struct {
	once sync.Once
	st   *State // the preset; never changed
	tree any    // st as decoded JSON (stateTree); never changed
	err  error
}

// presetMemos holds a memo of each preset of presets() (the names are
// repeated here: built from presets(), the table would depend on
// itself through converged's fixture; TestPresetMemos checks they are
// the same). It is the only package-level data filled in at run time,
// and only with immutable values computed from the embedded presets (the
// same in every process).
var presetMemos = map[string]*presetMemo{
	"fresh-m4": {}, "fresh-m4-sequoia": {}, "filevault-off": {}, "part-way": {},
	"converged": {}, "drifted": {}, "outdated": {}, "seed-manual": {},
}

// presetTree returns a copy of the named preset's decoded JSON, which
// the caller may change.
func presetTree(name string) (any, error) {
	memo, err := builtPreset(name)
	if err != nil {
		return nil, err
	}
	return copyTree(memo.tree), nil
}

// copyTree deep-copies decoded JSON (objects and arrays; every other
// value is immutable).
func copyTree(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, e := range v {
			c[k] = copyTree(e)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, e := range v {
			c[i] = copyTree(e)
		}
		return c
	default:
		return v
	}
}

func filevaultOff() (*State, error) {
	st := freshM4()
	st.FileVault = FileVault{Enabled: false}
	return st, nil
}

// convergedJSON is fresh-m4 after a run of recipes/m4.star, as a fixture
// over fresh-m4. recipes.TestConvergedPreset fails when it differs from
// what a fresh apply produces and rewrites it with -update.
//
//go:embed presets/converged.json
var convergedJSON []byte

// ConvergedPresetFile is where the converged preset's data lives, relative
// to this package (for the test that regenerates it).
const ConvergedPresetFile = "presets/converged.json"

func convergedState() (*State, error) {
	return parseFixture("builtins/fakemac/"+ConvergedPresetFile, convergedJSON)
}

// outdatedState is converged as an older pin of recipes/m4.star left
// it: the runner 2.332.0 unpacked in its root (registered, running) with
// that archive in the cache instead of 2.335.1's, and the Linux cross
// toolchain 13.2.0 in /opt/toolchain/dist, linked, with its archive in
// the cache under the name every release of it shares.
func outdatedState() (*State, error) {
	st, err := convergedState()
	if err != nil {
		return nil, err
	}
	return derived(st, outdatedSteps)
}

// driftedState is converged after a macOS minor update.
func driftedState() (*State, error) {
	st, err := convergedState()
	if err != nil {
		return nil, err
	}
	return derived(st, driftSteps)
}

// acDefaults are pmset's AC settings on a fresh Mac mini.
func acDefaults() map[string]string {
	return map[string]string{
		"Sleep On Power Button": "1", "autorestart": "0", "powernap": "1", "networkoversleep": "0",
		"disksleep": "10", "sleep": "1", "ttyskeepawake": "1", "displaysleep": "10", "tcpkeepalive": "1", "womp": "1",
	}
}

// CLT labels the presets' softwareupdate offers (macos-facts.md §1.7).
// From the 26 releases a label reads `Command Line Tools for Xcode
// <ver>-<build ver>`; up to Xcode 16 it read `Command Line Tools for
// Xcode-<ver>`. macOS 26 lists only the new form; macOS 15 lists both side
// by side. Each list holds a beta, which must never be picked.
var (
	tahoeCLTLabels   = []string{"Command Line Tools for Xcode 26.1-26.1.1", "Command Line Tools beta 2 for Xcode 26.2-26.2"}
	sequoiaCLTLabels = []string{"Command Line Tools for Xcode-16.4", "Command Line Tools for Xcode 26.1-26.1.1", "Command Line Tools beta 3 for Xcode-26.1"}
)

// freshM4Sequoia is freshM4 on macOS 15.6, before the update to 26.
func freshM4Sequoia() *State {
	st := freshM4()
	st.System = System{ProductName: "macOS", ProductVersion: "15.6", BuildVersion: "24G84"}
	st.CLT.Available = slices.Clone(sequoiaCLTLabels)
	return st
}

// freshM4 is a Mac mini M4 on macOS 26.1 (Tahoe) right after Setup
// Assistant: one administrator with FileVault on, nothing else installed.
func freshM4() *State {
	const t0 = 1788253200 // 2026-09-01 09:00:00 UTC
	st := &State{
		System: System{ProductName: "macOS", ProductVersion: "26.1", BuildVersion: "25B78"},
		Sysctl: map[string]string{
			"hw.machine": "arm64", "hw.model": "Mac16,10", "machdep.cpu.brand_string": "Apple M4",
			"kern.hv_support": "1", "kern.hv_vmm_present": "0", "hw.ncpu": "10", "hw.memsize": "17179869184",
			"hw.optional.arm64": "1", "kern.maxfiles": "49152", "kern.maxfilesperproc": "24576",
		},
		Clock:   t0,
		NextPID: 4291,
		Users: map[string]*User{
			"root":   {UID: 0, GID: 0, Home: "/var/root", Shell: "/bin/sh", RealName: "System Administrator", Aliases: []string{`BUILTIN\Local System`}, GeneratedUID: "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000"},
			"daemon": {UID: 1, GID: 1, Home: "/var/root", Shell: "/usr/bin/false", RealName: "System Services", GeneratedUID: "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000001"},
			"nobody": {UID: -2, GID: -2, Home: "/var/empty", Shell: "/usr/bin/false", RealName: "Unprivileged User", GeneratedUID: "FFFFEEEE-DDDD-CCCC-BBBB-AAAAFFFFFFFE"},
			"_www":   {UID: 70, GID: 70, Home: "/Library/WebServer", Shell: "/usr/bin/false", RealName: "World Wide Web Server", GeneratedUID: "FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000046"},
			"admin":  {UID: 501, GID: 20, Home: "/Users/admin", Shell: "/bin/zsh", RealName: "Administrator", GeneratedUID: fakeUUID("user", "admin"), SecureToken: true, HasPassword: true},
		},
		Groups: map[string]*Group{
			"wheel": {GID: 0, Members: []string{"root"}}, "daemon": {GID: 1, Members: []string{"root"}},
			"everyone": {GID: 12}, "staff": {GID: 20, Members: []string{"root"}}, "localaccounts": {GID: 61},
			"_www": {GID: 70}, "_appserverusr": {GID: 79, Members: []string{"admin"}},
			"admin": {GID: 80, Members: []string{"root", "admin"}}, "_appserveradm": {GID: 81, Members: []string{"admin"}},
			"_lpadmin": {GID: 98, Members: []string{"admin"}}, "nobody": {GID: -2}, "nogroup": {GID: -1},
		},
		Files:     map[string]*Node{},
		FileVault: FileVault{Enabled: true},
		Spotlight: map[string]string{"/": "Indexing enabled.", "/System/Volumes/Data": "Indexing enabled."},
		Power: Power{
			Sources:          map[string]map[string]string{"AC Power": acDefaults()},
			SleepPreventedBy: []string{"sharingd", "powerd"},
		},
		CLT:      CLT{Available: slices.Clone(tahoeCLTLabels)},
		Receipts: map[string]*Receipt{},
		Brew:     Brew{Formulae: map[string][]string{}, Casks: map[string][]string{}},
		Launchd:  Launchd{Jobs: map[string]*Job{}},
		Defaults: map[string]map[string]string{"/Library/Preferences/com.apple.loginwindow": {"lastUserName": "admin"}},
		ICloud:   map[string]string{"admin": "mini.admin@icloud.com"},
		Disk:     Disk{Device: "/dev/disk3s5", TotalKiB: 482797652, FreeBytes: 412316860416, IUsed: 1402311},
		URLs:     map[string]*URL{},
		Archives: map[string][]TarEntry{},
		Packages: map[string]*Package{},
	}
	dir := func(p string, mode Mode, owner, group string, acl ...string) {
		st.Files[p] = &Node{Type: TypeDir, Mode: mode, Owner: owner, Group: group, ACL: acl, MTime: t0 - 86400}
	}
	link := func(p, target string) {
		st.Files[p] = &Node{Type: TypeSymlink, Mode: 0o755, Owner: "root", Group: "wheel", Target: target, MTime: t0 - 86400}
	}
	dir("/", 0o755, "root", "wheel")
	for _, p := range []string{"/Applications", "/Library"} {
		dir(p, 0o775, "root", "admin")
	}
	for _, p := range []string{"/Library/LaunchDaemons", "/Library/LaunchAgents", "/Library/Logs", "/Library/Preferences", "/Library/Apple", "/Library/Apple/usr",
		"/Library/Application Support", "/System", "/System/Volumes", "/System/Volumes/Data", "/bin", "/sbin", "/usr", "/usr/bin", "/usr/sbin", "/usr/local",
		"/private", "/private/etc", "/private/etc/paths.d", "/private/var", "/private/var/db", "/private/var/log", "/Library/WebServer"} {
		dir(p, 0o755, "root", "wheel")
	}
	dir("/Library/Application Support/com.apple.TCC", 0o755, "root", "admin")
	st.Files["/Library/Application Support/com.apple.TCC/TCC.db"] = &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Size: 118784, SHA256: synthSum("TCC.db"), MTime: t0 - 3600}
	dir("/private/var/root", 0o750, "root", "wheel")
	dir("/private/var/empty", 0o555, "root", "wheel")
	dir("/private/tmp", 0o1777, "root", "wheel")
	dir("/private/var/tmp", 0o1777, "root", "wheel")
	link("/etc", "private/etc")
	link("/tmp", "private/tmp")
	link("/var", "private/var")
	st.Files["/private/etc/paths"] = &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Content: text("/usr/local/bin\n/System/Cryptexes/App/usr/bin\n/usr/bin\n/bin\n/usr/sbin\n/sbin\n"), MTime: t0 - 86400}
	for p := range systemTools {
		st.Files[p] = &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 120_000, SHA256: synthSum("system", p), MTime: t0 - 86400}
	}
	st.Files["/usr/bin/true"] = &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 100_560, SHA256: synthSum("system", "/usr/bin/true"), MTime: t0 - 86400}
	// A maintainer installed hvfctl with `sudo install -o root -g wheel
	// -m 755 hvfctl /usr/local/bin/hvfctl` (the prune daemons run it).
	dir("/usr/local/bin", 0o755, "root", "wheel")
	st.Files["/usr/local/bin/hvfctl"] = &Node{Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 14_680_064, SHA256: synthSum("hvfctl", "/usr/local/bin/hvfctl"), MTime: t0 - 3600}
	dir("/Users", 0o755, "root", "admin")
	dir("/Users/Shared", 0o1777, "root", "wheel")
	deny := "group:everyone deny delete"
	dir("/Users/admin", 0o750, "admin", "staff", deny)
	for _, sub := range []string{"Desktop", "Documents", "Downloads", "Library", "Movies", "Music", "Pictures"} {
		dir("/Users/admin/"+sub, 0o700, "admin", "staff", deny)
	}
	dir("/Users/admin/Public", 0o755, "admin", "staff", deny)
	addDownloads(st, t0)
	return st
}

// addDownloads fills the download table, tarball entries and packages.
func addDownloads(st *State, t0 int64) {
	st.URLs[RunnerURL] = &URL{Size: RunnerSize, SHA256: RunnerSHA256, Archive: "actions-runner-osx-arm64-2.335.1", Note: "macos-facts.md §1.11 (several independent pins agree)"}
	st.URLs[HomebrewPkgURL] = &URL{Size: HomebrewPkgSize, SHA256: HomebrewPkgSHA256, Package: "homebrew-" + HomebrewVersion, Note: "the pin of recipes/m4.star (one third-party pin of the release asset)"}
	st.URLs[ArmToolchainURL] = &URL{Size: ArmToolchainSize, SHA256: ArmToolchainSHA256, Package: "arm-gnu-toolchain-14.3.rel1", Note: "SHA-256 from macos-facts.md §2; size not from a source"}
	st.URLs[OldArmToolchainURL] = &URL{Size: OldArmToolchainSize, SHA256: OldArmToolchainSHA256, Package: "arm-gnu-toolchain-13.3.rel1", Note: "SHA-256 from macos-facts.md §2 and Homebrew's gcc-aarch64-embedded cask; size not from a source"}
	st.URLs[OldRunnerURL] = &URL{Size: OldRunnerSize, SHA256: OldRunnerSHA256, Archive: "actions-runner-osx-arm64-2.332.0", Note: "macos-facts.md §1.11 (shasum of a live download); size not from a source"}
	st.URLs[CrossToolchainURL] = &URL{Size: CrossToolchainSize, SHA256: CrossToolchainSHA256, Archive: "aarch64-unknown-linux-gnu-13.3.0", Note: "SHA-256 from macos-facts.md §2; size and entries not from a source"}

	rel := t0 - 40*86400
	runner := func(name, typ string, mode Mode, size int64) TarEntry {
		return TarEntry{Name: name, Type: typ, Mode: mode, Size: size, UName: "runner", GName: "docker", UID: 1001, GID: 118, MTime: rel}
	}
	st.Archives["actions-runner-osx-arm64-2.335.1"] = []TarEntry{
		runner("./", TypeDir, 0o755, 0),
		runner("./bin/", TypeDir, 0o755, 0),
		runner("./bin/Runner.Listener", TypeFile, 0o755, 74_864),
		runner("./bin/Runner.Listener.dll", TypeFile, 0o644, 412_672),
		runner("./bin/Runner.Worker", TypeFile, 0o755, 74_864),
		runner("./bin/Runner.Worker.dll", TypeFile, 0o644, 1_103_872),
		runner("./bin/Runner.PluginHost", TypeFile, 0o755, 74_864),
		runner("./bin/runsvc.sh", TypeFile, 0o755, 578),
		runner("./bin/RunnerService.js", TypeFile, 0o644, 2_775),
		runner("./bin/actions.runner.plist.template", TypeFile, 0o644, 1_257),
		runner("./bin/darwin.svc.sh.template", TypeFile, 0o644, 4_370),
		runner("./externals/", TypeDir, 0o755, 0),
		runner("./externals/node20/", TypeDir, 0o755, 0),
		runner("./externals/node20/bin/", TypeDir, 0o755, 0),
		runner("./externals/node20/bin/node", TypeFile, 0o755, 96_411_648),
		runner("./config.sh", TypeFile, 0o755, 2_994),
		runner("./env.sh", TypeFile, 0o755, 1_036),
		runner("./run.sh", TypeFile, 0o755, 2_316),
		runner("./run-helper.sh.template", TypeFile, 0o644, 2_388),
		runner("./safe_sleep.sh", TypeFile, 0o755, 1_178),
	}
	// 2.332.0 has the same layout; its files differ (their synthetic
	// SHA-256 is keyed by the archive), which is how the fake's
	// Runner.Listener --version knows which version it is.
	st.Archives["actions-runner-osx-arm64-2.332.0"] = slices.Clone(st.Archives["actions-runner-osx-arm64-2.335.1"])
	cross := func(name, typ string, mode Mode, size int64, target string) TarEntry {
		return TarEntry{Name: name, Type: typ, Mode: mode, Size: size, Target: target, UName: "runner", GName: "staff", UID: 501, GID: 20, MTime: t0 - 300*86400}
	}
	st.Archives["aarch64-unknown-linux-gnu-13.3.0"] = []TarEntry{
		cross("aarch64-unknown-linux-gnu/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/bin/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/bin/aarch64-unknown-linux-gnu-gcc", TypeFile, 0o755, 1_702_144, ""),
		cross("aarch64-unknown-linux-gnu/bin/aarch64-unknown-linux-gnu-objcopy", TypeFile, 0o755, 4_980_736, ""),
		cross("aarch64-unknown-linux-gnu/bin/aarch64-linux-gnu-gcc", TypeSymlink, 0o755, 0, "aarch64-unknown-linux-gnu-gcc"),
		cross("aarch64-unknown-linux-gnu/bin/aarch64-linux-gnu-objcopy", TypeSymlink, 0o755, 0, "aarch64-unknown-linux-gnu-objcopy"),
		cross("aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/sysroot/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/sysroot/usr/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/sysroot/usr/lib/", TypeDir, 0o755, 0, ""),
		cross("aarch64-unknown-linux-gnu/aarch64-unknown-linux-gnu/sysroot/usr/lib/libc.so", TypeFile, 0o644, 255, ""),
	}
	st.Archives["aarch64-unknown-linux-gnu-"+OldCrossToolchainVersion] = slices.Clone(st.Archives["aarch64-unknown-linux-gnu-13.3.0"])
	st.Packages["homebrew-"+HomebrewVersion] = &Package{ID: HomebrewPkgID, Version: HomebrewVersion, Title: "Homebrew", Script: "homebrew"}
	for _, v := range []string{"14.3.rel1", "13.3.rel1"} {
		st.Packages["arm-gnu-toolchain-"+v] = armPackage(v)
	}
}

// armPackage is Arm's aarch64-none-elf package of version v: it installs
// into /Applications/ArmGNUToolchain/V/aarch64-none-elf, beside any other
// version, with the receipt arm-gnu-toolchain-V-darwin-arm64-aarch64-none-elf
// (Homebrew's gcc-aarch64-embedded cask: its binary paths and `uninstall
// pkgutil:`, macos-facts.md §2). The receipt's version field is the
// fake's choice (no source shows it).
func armPackage(v string) *Package {
	arm := "/Applications/ArmGNUToolchain/" + v + "/aarch64-none-elf"
	id := "arm-gnu-toolchain-" + v + "-darwin-arm64-aarch64-none-elf"
	pkg := &Package{ID: id, Version: v, Title: id}
	for _, p := range []string{"/Applications/ArmGNUToolchain", "/Applications/ArmGNUToolchain/" + v, arm, arm + "/bin"} {
		pkg.Payload = append(pkg.Payload, PayloadItem{Path: p, Type: TypeDir, Mode: 0o755, Owner: "root", Group: "wheel"})
	}
	for _, tool := range []string{"gcc", "as", "ld", "objcopy", "objdump"} {
		pkg.Payload = append(pkg.Payload, PayloadItem{Path: arm + "/bin/aarch64-none-elf-" + tool, Type: TypeFile, Mode: 0o755, Owner: "root", Group: "wheel", Size: 1_500_000})
	}
	return pkg
}

// step is one thing a derived preset does to the fake.
type step func(ctx context.Context, m *Mac) error

// run returns a step running argv as user, failing on a non-zero exit.
func run(user string, argv ...string) step {
	return runIn(user, "", nil, argv...)
}

func runIn(user, dir string, env []host.EnvVar, argv ...string) step {
	return func(ctx context.Context, m *Mac) error {
		cmd := host.Command{Argv: argv, User: user, Dir: dir, Env: env}
		if argv[0] == "/usr/sbin/sysadminctl" {
			cmd.TTY, cmd.Stdin, cmd.StdinSecret = true, []byte("preset-password\n"), true
		}
		r, err := m.Run(ctx, cmd)
		if err != nil {
			return err
		}
		if r.Exit != 0 {
			return fmt.Errorf("%q as %s exited %d: %s%s", argv, user, r.Exit, r.Stdout, r.Stderr)
		}
		return nil
	}
}

func write(p, content string, mode Mode, owner, group string) step {
	return func(ctx context.Context, m *Mac) error {
		return m.WriteFile(ctx, host.WriteRequest{Path: p, Data: []byte(content), Mode: fs.FileMode(mode), Owner: owner, Group: group})
	}
}

func download(url, dest, sum string, owner, group string) step {
	return func(ctx context.Context, m *Mac) error {
		return m.Download(ctx, host.DownloadRequest{URL: url, Dest: dest, SHA256: sum, Mode: 0o644, Owner: owner, Group: group})
	}
}

// derived runs steps on st through the fake's own commands.
func derived(st *State, steps []step) (*State, error) {
	m := &Mac{st: st}
	ctx := context.Background()
	for i, s := range steps {
		if err := s(ctx, m); err != nil {
			return nil, fmt.Errorf("step %d: %w", i+1, err)
		}
	}
	return m.st, nil
}

const brewPkgUserPlist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>HOMEBREW_PKG_USER</key>
	<string>admin</string>
</dict>
</plist>
`

// Paths recipes/m4.star uses.
const (
	downloadsDir = "/Library/Caches/hvfctl"
	homebrewPkg  = downloadsDir + "/Homebrew-" + HomebrewVersion + ".pkg"
	runnerCached = downloadsDir + "/actions-runner-osx-arm64-2.335.1.tar.gz"
	cltLabel     = "Command Line Tools for Xcode 26.1-26.1.1" // offered by both fresh presets
	cltMarkerTmp = "/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress"
)

// partWaySteps are the commands recipes/m4.star runs for the runner
// account, the Command Line Tools (Homebrew requires them), its download
// cache, Homebrew and the runner files, in its order and with its argv:
// a run that stopped before registration.
var partWaySteps = []step{
	run("root", "/usr/sbin/sysadminctl", "-addUser", RunnerUser, "-fullName", "GH Actions Runner", "-shell", "/bin/zsh", "-home", "/Users/"+RunnerUser, "-password", "-"),
	run("root", "/usr/sbin/createhomedir", "-c", "-u", RunnerUser),
	run("root", "/bin/chmod", "700", "/Users/"+RunnerUser),
	run("root", "/usr/sbin/chown", RunnerUser+":staff", "/Users/"+RunnerUser),
	run("root", "/bin/chmod", "-N", "/Users/"+RunnerUser),
	write(cltMarkerTmp, "", 0o644, "root", "wheel"),
	run("root", "/usr/sbin/softwareupdate", "-i", cltLabel),
	run("root", "/usr/bin/xcode-select", "--switch", "/Library/Developer/CommandLineTools"),
	run("root", "/bin/rm", "-f", cltMarkerTmp),
	run("root", "/bin/mkdir", "-p", "-m", "755", downloadsDir),
	run("root", "/usr/sbin/chown", "root:wheel", downloadsDir),
	download(HomebrewPkgURL, homebrewPkg, HomebrewPkgSHA256, "root", "wheel"),
	write("/var/tmp/.homebrew_pkg_user.plist", brewPkgUserPlist, 0o600, "root", "wheel"),
	run("root", "/usr/sbin/installer", "-pkg", homebrewPkg, "-target", "/"),
	download(RunnerURL, runnerCached, RunnerSHA256, "root", "wheel"),
	run(RunnerUser, "/bin/mkdir", "-p", "-m", "755", RunnerRoot),
	run("root", "/usr/sbin/chown", RunnerUser+":staff", RunnerRoot),
	runIn(RunnerUser, "", nil, "/usr/bin/tar", "-xzf", runnerCached, "-C", RunnerRoot),
}

var (
	seedTarball = RunnerRoot + "/actions-runner-osx-arm64-2.335.1.tar.gz"
	seedPath    = "/opt/homebrew/bin:/usr/bin:/bin:/usr/sbin:/sbin"
)

// seedSteps provision a Mac by hand after the seed document: the account
// with sysadminctl, Homebrew for the administrator, Rosetta, the CLT,
// pmset with displaysleep 0, every formula (the Linux toolchain from
// messense's tap), the Arm toolchain package, /opt/toolchain links, the
// runner downloaded and registered as mini-1 in the runner's home, then
// `./svc.sh install` and `start` as the runner (the seed's `sudo ./svc.sh`
// is refused; svc.sh makes a LaunchAgent that does not load without a
// GUI session) and Spotlight off on _work.
var seedSteps = []step{
	run("root", "/usr/sbin/sysadminctl", "-addUser", RunnerUser, "-fullName", "GH Actions Runner", "-shell", "/bin/zsh", "-home", "/Users/"+RunnerUser, "-password", "-"),
	run("root", "/usr/sbin/createhomedir", "-c", "-u", RunnerUser),
	run("root", "/bin/chmod", "700", "/Users/"+RunnerUser),
	run("root", "/bin/chmod", "-N", "/Users/"+RunnerUser),
	write("/var/tmp/.homebrew_pkg_user.plist", brewPkgUserPlist, 0o600, "root", "wheel"),
	download(HomebrewPkgURL, "/var/tmp/Homebrew-"+HomebrewVersion+".pkg", HomebrewPkgSHA256, "root", "wheel"),
	run("root", "/usr/sbin/installer", "-pkg", "/var/tmp/Homebrew-"+HomebrewVersion+".pkg", "-target", "/"),
	run("root", "/usr/sbin/softwareupdate", "--install-rosetta", "--agree-to-license"),
	write(cltMarkerTmp, "", 0o644, "root", "wheel"),
	run("root", "/usr/sbin/softwareupdate", "-i", cltLabel),
	run("root", "/bin/rm", "-f", cltMarkerTmp),
	run("root", "/usr/bin/xcode-select", "--switch", "/Library/Developer/CommandLineTools"),
	run("root", "/usr/bin/pmset", "-c", "sleep", "0", "disksleep", "0", "displaysleep", "0", "womp", "1", "autorestart", "1"),
	run("admin", "/opt/homebrew/bin/brew", "tap", "messense/macos-cross-toolchains"),
	run("admin", "/opt/homebrew/bin/brew", "trust", "--formula", "messense/macos-cross-toolchains/aarch64-unknown-linux-gnu"),
	run("admin", "/opt/homebrew/bin/brew", "install", "--formula", "binutils", "llvm", "make", "coreutils", "qemu", "python", "wget", "curl", "jq", "aarch64-unknown-linux-gnu"),
	download(ArmToolchainURL, "/var/tmp/arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf.pkg", ArmToolchainSHA256, "root", "wheel"),
	run("root", "/usr/sbin/installer", "-pkg", "/var/tmp/arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf.pkg", "-target", "/"),
	run("root", "/bin/mkdir", "-p", "-m", "755", "/opt/toolchain"),
	run("root", "/bin/ln", "-sfh", "/opt/homebrew/opt/aarch64-unknown-linux-gnu/toolchain", "/opt/toolchain/aarch64-linux-gnu"),
	run("root", "/bin/ln", "-sfh", "/Applications/ArmGNUToolchain/14.3.rel1/aarch64-none-elf", "/opt/toolchain/aarch64-none-elf"),
	run(RunnerUser, "/bin/mkdir", "-p", "-m", "755", RunnerRoot),
	download(RunnerURL, seedTarball, RunnerSHA256, RunnerUser, "staff"),
	runIn(RunnerUser, RunnerRoot, nil, "/usr/bin/tar", "-xzf", seedTarball, "-C", RunnerRoot),
	runIn(RunnerUser, RunnerRoot, []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: strings.Repeat("A", 29), Secret: true}, {Name: "PATH", Value: seedPath}},
		RunnerRoot+"/config.sh", "--unattended", "--url", RunnerRepoURL, "--name", SeedRunnerName, "--labels", "self-hosted,macOS,arm64,m4,hvf", "--work", "_work"),
	runIn(RunnerUser, RunnerRoot, nil, RunnerRoot+"/svc.sh", "install"),
	runIn(RunnerUser, RunnerRoot, nil, RunnerRoot+"/svc.sh", "start"),
	run(RunnerUser, "/bin/mkdir", "-p", "-m", "755", RunnerRoot+"/_work"),
	run("root", "/usr/bin/mdutil", "-i", "off", RunnerRoot+"/_work"),
}

var (
	oldRunnerCached = downloadsDir + "/actions-runner-osx-arm64-2.332.0.tar.gz"
	crossCached     = downloadsDir + "/aarch64-unknown-linux-gnu-aarch64-darwin.tar.gz"
	crossLink       = "/opt/toolchain/aarch64-linux-gnu"
	crossOld        = "/opt/toolchain/dist/aarch64-linux-gnu-" + OldCrossToolchainVersion
	armCached       = downloadsDir + "/arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf.pkg"
	oldArmCached    = downloadsDir + "/arm-gnu-toolchain-13.3.rel1-darwin-arm64-aarch64-none-elf.pkg"
)

// outdatedSteps turn a converged Mac into one an older pin left: the
// runner's files are 2.332.0's (unpacked over the root by the runner
// account, as a first install of that version left them; .runner and
// the credentials untouched), the cross toolchain 13.2.0 is the one
// linked, and so is Arm's toolchain 13.3.rel1 (its package installed).
var outdatedSteps = []step{
	run("root", "/bin/rm", "-f", runnerCached),
	download(OldRunnerURL, oldRunnerCached, OldRunnerSHA256, "root", "wheel"),
	runIn(RunnerUser, RunnerRoot, nil, "/usr/bin/tar", "-xzf", oldRunnerCached, "-C", RunnerRoot),
	run("root", "/bin/rm", "-rf", "/opt/toolchain/dist/aarch64-linux-gnu-13.3.0"),
	func(_ context.Context, m *Mac) error {
		key := "aarch64-unknown-linux-gnu-" + OldCrossToolchainVersion
		m.put(crossCached, &Node{Type: TypeFile, Mode: 0o644, Owner: "root", Group: "wheel", Size: CrossToolchainSize - 4096, SHA256: synthSum(key), Archive: key})
		return nil
	},
	run("root", "/bin/mkdir", "-p", "-m", "755", crossOld),
	run("root", "/usr/bin/tar", "-xzf", crossCached, "-C", crossOld),
	run("root", "/usr/sbin/chown", "-R", "root:wheel", crossOld),
	run("root", "/bin/ln", "-sfh", crossOld+"/aarch64-unknown-linux-gnu", crossLink),
	// Arm's toolchain 13.3.rel1 instead of 14.3.rel1: its package
	// installed from the download cache and linked.
	run("root", "/bin/rm", "-rf", "/Applications/ArmGNUToolchain/14.3.rel1"),
	run("root", "/usr/sbin/pkgutil", "--forget", "arm-gnu-toolchain-14.3.rel1-darwin-arm64-aarch64-none-elf"),
	run("root", "/bin/rm", "-f", armCached),
	download(OldArmToolchainURL, oldArmCached, OldArmToolchainSHA256, "root", "wheel"),
	run("root", "/usr/sbin/installer", "-pkg", oldArmCached, "-target", "/"),
	run("root", "/bin/ln", "-sfh", "/Applications/ArmGNUToolchain/13.3.rel1/aarch64-none-elf", "/opt/toolchain/aarch64-none-elf"),
}

// driftSteps are what a macOS minor update (26.1 to 26.2) does to a
// converged Mac: the version, pmset back to its defaults, the runner's
// LaunchDaemon booted out, and qemu gone (as when a maintainer removed it
// to make room).
var driftSteps = []step{
	func(_ context.Context, m *Mac) error {
		m.st.System.ProductVersion, m.st.System.BuildVersion = "26.2", "25C56"
		m.st.Power.Sources["AC Power"] = acDefaults()
		return nil
	},
	run("root", "/bin/launchctl", "bootout", "system/"+RunnerLabel),
	run("root", "/bin/launchctl", "print", "system/"+RunnerLabel),
	func(_ context.Context, m *Mac) error { return m.unpour("qemu") },
}
