package fakemac

import (
	"path"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// This file emulates the tools the elfuse CI runs, for the smoke tests
// of recipes/m4.star (smoke.run): GNU make, the Linux cross gcc, Arm's
// bare-metal as, GNU objcopy, qemu-system-aarch64, gtimeout and python3,
// and /bin/test. Version lines follow each tool's --version banner; a
// Homebrew binary whose dependency's keg is gone fails the way dyld
// makes it fail.

// devTools are the programs emulated here, by base name of their real
// path.
var devTools = map[string]handler{
	"gmake":                         (*Mac).gmake,
	"aarch64-unknown-linux-gnu-gcc": (*Mac).crossGCC,
	"aarch64-none-elf-as":           (*Mac).elfAs,
	"objcopy":                       (*Mac).objcopy,
	"qemu-system-aarch64":           (*Mac).qemuSystem,
	"gtimeout":                      (*Mac).gtimeout,
	"python3":                       (*Mac).python3,
	"python3.13":                    (*Mac).python3,
}

// runDevTool runs an emulated CI tool whose real path is real; it
// reports false when real is not one.
func (m *Mac) runDevTool(c *call, real string) (host.Result, bool, error) {
	h, ok := devTools[path.Base(real)]
	if !ok {
		return host.Result{}, false, nil
	}
	if r, failed := m.dyld(c, real); failed {
		return r, true, nil
	}
	res, err := h(m, c)
	return res, true, err
}

// kegOf returns the formula and version of a path inside the Cellar.
func kegOf(real string) (string, string, bool) {
	rest, ok := strings.CutPrefix(real, brewPrefix+"/Cellar/")
	if !ok {
		return "", "", false
	}
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 3 {
		return "", "", false
	}
	return parts[0], parts[1], true
}

// dyld fails a Homebrew binary whose dependency is no longer installed:
// its load command names /opt/homebrew/opt/DEP/lib/…, and dyld aborts
// before main (SIGABRT, so exit 134 as a shell reports it).
func (m *Mac) dyld(c *call, real string) (host.Result, bool) {
	name, _, ok := kegOf(real)
	if !ok {
		return host.Result{}, false
	}
	for _, dep := range formulae[name].deps {
		opt := brewPrefix + "/opt/" + dep
		if _, _, err := m.lookup(host.Root, opt, true); err == nil {
			continue
		}
		lib := opt + "/lib/lib" + strings.TrimSuffix(strings.SplitN(dep, "@", 2)[0], "-gc") + ".dylib"
		c.errf("dyld[%d]: Library not loaded: %s\n  Referenced from: <%s> %s\n  Reason: tried: '%s' (no such file), '/System/Volumes/Preboot/Cryptexes/OS%s' (no such file)\n",
			m.pid(), lib, strings.ToUpper(synthSum("uuid", real)[:8])+"-0000-3000-8000-000000000000", real, lib, lib)
		r, _ := c.result(134)
		return r, true
	}
	return host.Result{}, false
}

// version returns the installed version of the formula real belongs to.
func version(real, fallback string) string {
	if _, v, ok := kegOf(real); ok {
		return v
	}
	return fallback
}

func (m *Mac) realOf(c *call) string {
	real, _, _ := m.lookup(c.user, c.argv[0], true)
	return real
}

// gmake emulates `gmake --version` (Homebrew's make).
func (m *Mac) gmake(c *call) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "--version" {
		return unsupported(c, "only gmake --version is emulated")
	}
	c.outf("GNU Make %s\nBuilt for aarch64-apple-darwin25.0.0\nCopyright (C) 1988-2023 Free Software Foundation, Inc.\nLicense GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>\nThis is free software: you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by law.\n", version(m.realOf(c), "4.4.1"))
	return c.result(0)
}

// objcopy emulates `objcopy --version` of GNU binutils.
func (m *Mac) objcopy(c *call) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "--version" {
		return unsupported(c, "only objcopy --version is emulated")
	}
	c.outf("GNU objcopy (GNU Binutils) %s\nCopyright (C) 2025 Free Software Foundation, Inc.\nThis program is free software; you may redistribute it under the terms of\nthe GNU General Public License version 3 or (at your option) any later version.\nThis program has absolutely no warranty.\n", version(m.realOf(c), "2.45"))
	return c.result(0)
}

// qemuSystem emulates `qemu-system-aarch64 -accel help`: the macOS build
// has hvf besides tcg.
func (m *Mac) qemuSystem(c *call) (host.Result, error) {
	if len(c.argv) != 3 || c.argv[1] != "-accel" || c.argv[2] != "help" {
		return unsupported(c, "only qemu-system-aarch64 -accel help is emulated")
	}
	c.outf("Accelerators supported in QEMU binary:\ntcg\nhvf\n")
	return c.result(0)
}

// gtimeout emulates `gtimeout --version` (coreutils).
func (m *Mac) gtimeout(c *call) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "--version" {
		return unsupported(c, "only gtimeout --version is emulated")
	}
	c.outf("timeout (GNU coreutils) %s\nCopyright (C) 2025 Free Software Foundation, Inc.\nLicense GPLv3+: GNU GPL version 3 or later <https://gnu.org/licenses/gpl.html>.\nThis is free software: you are free to change and redistribute it.\nThere is NO WARRANTY, to the extent permitted by law.\n\nWritten by Padraig Brady.\n", version(m.realOf(c), "9.7"))
	return c.result(0)
}

// python3 emulates `python3 --version`.
func (m *Mac) python3(c *call) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "--version" {
		return unsupported(c, "only python3 --version is emulated")
	}
	c.outf("Python %s\n", version(m.realOf(c), "3.9.6"))
	return c.result(0)
}

// outputArg returns the value of -o in args.
func outputArg(args []string) (string, bool) {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == "-o" {
			return args[i+1], true
		}
	}
	return "", false
}

// writeOutput creates the file a compiler or assembler writes, as the
// caller: a permission error is reported the way the tool reports it.
func (m *Mac) writeOutput(c *call, tool, out, what string) bool {
	if !path.IsAbs(out) {
		out = path.Join(c.dir, out)
	}
	dirReal, dir, err := m.lookup(c.user, path.Dir(out), true)
	if err != nil || dir.Type != TypeDir || !m.may(c.user, dir, 2) {
		c.errf("%s: can't open %s for writing: Permission denied\n", tool, out)
		return false
	}
	m.put(dirReal+"/"+path.Base(out), &Node{Type: TypeFile, Mode: 0o755, Owner: c.user, Group: "staff", Size: 9_000, SHA256: synthSum(what, out), MTime: m.st.Clock})
	return true
}

// crossGCC emulates the Linux cross gcc compiling and linking C from
// standard input: `gcc --sysroot=DIR -x c -o OUT -`. The link needs the
// sysroot's C library.
func (m *Mac) crossGCC(c *call) (host.Result, error) {
	args := c.argv[1:]
	sysroot := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--sysroot="); ok {
			sysroot = v
		}
	}
	out, ok := outputArg(args)
	if !ok || len(args) == 0 || args[len(args)-1] != "-" || !containsSeq(args, "-x", "c") {
		return unsupported(c, "only gcc [--sysroot=DIR] -x c -o OUT - (C on standard input) is emulated")
	}
	if len(c.stdin) == 0 {
		c.errf("<stdin>: warning: ISO C forbids an empty translation unit\n")
	}
	if sysroot == "" {
		// The toolchain's configured sysroot, beside its bin directory.
		sysroot = path.Join(path.Dir(path.Dir(m.realOf(c))), "aarch64-unknown-linux-gnu", "sysroot")
	}
	if _, n, err := m.lookup(c.user, sysroot+"/usr/lib/libc.so", true); err != nil || n.Type != TypeFile {
		c.errf("/opt/toolchain/aarch64-linux-gnu/bin/../lib/gcc/aarch64-unknown-linux-gnu/13.3.0/../../../../aarch64-unknown-linux-gnu/bin/ld: cannot find crt1.o: No such file or directory\n")
		c.errf("/opt/toolchain/aarch64-linux-gnu/bin/../lib/gcc/aarch64-unknown-linux-gnu/13.3.0/../../../../aarch64-unknown-linux-gnu/bin/ld: cannot find -lc: No such file or directory\ncollect2: error: ld returned 1 exit status\n")
		return c.result(1)
	}
	if !m.writeOutput(c, "/opt/toolchain/aarch64-linux-gnu/bin/../lib/gcc/aarch64-unknown-linux-gnu/13.3.0/../../../../aarch64-unknown-linux-gnu/bin/ld", out, "elf-exec") {
		c.errf("collect2: error: ld returned 1 exit status\n")
		return c.result(1)
	}
	return c.result(0)
}

// elfAs emulates Arm's aarch64-none-elf-as assembling standard input:
// `as -o OUT` with no input file.
func (m *Mac) elfAs(c *call) (host.Result, error) {
	out, ok := outputArg(c.argv[1:])
	if !ok || len(c.argv) != 3 {
		return unsupported(c, "only aarch64-none-elf-as -o OUT (assembly on standard input) is emulated")
	}
	if !m.writeOutput(c, "Assembler messages:\nFatal error", out, "elf-obj") {
		return c.result(1)
	}
	return c.result(0)
}

// containsSeq reports whether a and then b appear next to each other.
func containsSeq(args []string, a, b string) bool {
	for i := 0; i+1 < len(args); i++ {
		if args[i] == a && args[i+1] == b {
			return true
		}
	}
	return false
}

// test emulates /bin/test with one file operator: -e, -f, -d or -x
// (executable by the caller), exit 0 true, 1 false, 2 on bad usage.
func (m *Mac) test(c *call) (host.Result, error) {
	if len(c.argv) != 3 || !strings.Contains("-e -f -d -x", c.argv[1]) || !strings.HasPrefix(c.argv[1], "-") {
		return unsupported(c, "only test -e|-f|-d|-x PATH is emulated")
	}
	_, n, err := m.lookup(c.user, c.argv[2], true)
	if err != nil {
		return c.result(1)
	}
	ok := false
	switch c.argv[1] {
	case "-e":
		ok = true
	case "-f":
		ok = n.Type == TypeFile
	case "-d":
		ok = n.Type == TypeDir
	case "-x":
		ok = m.may(c.user, n, 1)
	}
	if !ok {
		return c.result(1)
	}
	return c.result(0)
}
