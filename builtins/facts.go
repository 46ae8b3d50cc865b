package builtins

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// spotlightPaths are the volumes whose indexing the facts report.
var spotlightPaths = []string{"/", dataVolume}

// launchDaemons is where hvfctl's runner daemons live.
const launchDaemons = "/Library/LaunchDaemons"

// Facts gathers the facts contract of DESIGN.md (`hvfctl facts --json`):
// macos_version, arch, hv_support, cpu_brand, model, filevault, users,
// spotlight, power, brew, rosetta, clt, launchd and free_bytes, plus
// runners (per runner LaunchDaemon: root, user, registered name and URL,
// installed version) and toolchains (the /opt/toolchain links, their
// targets, the versions they name and the versions installed side by
// side). Each
// family costs one command, cached in the session, so queries made later
// in the same run reuse them. Every key is always present; a family that
// cannot be read is null (or its fields are) and its error is returned,
// joined with the others, alongside the facts that could be read.
func Facts(ctx context.Context, s *engine.Session) (map[string]any, error) {
	var errs []error
	fail := func(family string, err error) {
		errs = append(errs, fmt.Errorf("%s: %w", family, err))
	}
	f := map[string]any{
		"macos_version": nil, "arch": nil, "hv_support": nil, "cpu_brand": nil, "model": nil,
		"filevault": nil, "users": nil, "spotlight": nil, "power": nil, "brew": nil,
		"rosetta": nil, "clt": nil, "launchd": nil, "free_bytes": nil,
	}
	if err := ctx.Err(); err != nil {
		return f, err
	}
	// Every path the facts stat costs one batched stat call.
	prefetchOf(s).add(brewBin, brewPrefix, rosettaLinux)

	if v, err := swVersFact(s); err != nil {
		fail("os", err)
	} else {
		f["macos_version"] = v.ProductVersion
		f["build_version"] = v.BuildVersion
	}

	if m, err := sysctlFact(s); err != nil {
		fail("sysctl", err)
	} else {
		str := func(k string) any {
			if v, ok := m[k]; ok {
				return v
			}
			return nil
		}
		f["arch"], f["cpu_brand"], f["model"] = str("hw.machine"), str("machdep.cpu.brand_string"), str("hw.model")
		if v, ok := m["kern.hv_support"]; ok {
			f["hv_support"] = v == "1"
		} else {
			f["hv_support"] = false
		}
		if v, ok := m["kern.hv_vmm_present"]; ok {
			f["hv_vmm_present"] = v == "1"
		}
	}

	if fv, err := fileVaultFact(s); err != nil {
		fail("filevault", err)
		f["filevault"] = map[string]any{"state": "unknown", "percent": nil}
	} else {
		var pct any
		if fv.Percent != nil {
			pct = *fv.Percent
		}
		f["filevault"] = map[string]any{"state": fv.State, "percent": pct}
	}

	users, uerr := usersFact(s)
	admins, aerr := adminsFact(s)
	if uerr != nil {
		fail("users", uerr)
	} else {
		if aerr != nil {
			fail("admins", aerr)
		}
		isAdmin := map[string]bool{}
		for _, a := range admins {
			isAdmin[a] = true
		}
		out := map[string]any{}
		for name, u := range users {
			if strings.HasPrefix(name, "_") {
				continue
			}
			var admin any = isAdmin[name]
			if aerr != nil {
				admin = nil
			}
			out[name] = map[string]any{"uid": u.UID, "admin": admin, "home": u.Home, "real_name": u.RealName, "shell": u.Shell}
		}
		f["users"] = out
	}

	spot := map[string]any{}
	for _, p := range spotlightPaths {
		st, err := mdutilFact(s, p)
		switch {
		case err != nil:
			fail("spotlight "+p, err)
			spot[p] = "unknown"
		case st.State == "":
			spot[p] = "unknown"
		default:
			spot[p] = st.State
		}
	}
	f["spotlight"] = spot

	if pw, err := pmsetFact(s); err != nil {
		fail("power", err)
	} else {
		power := map[string]any{}
		for src, kv := range pw {
			m := map[string]any{}
			for k, v := range kv {
				m[k] = v.JSON()
			}
			power[src] = m
		}
		if _, ok := power["ac"]; !ok {
			power["ac"] = map[string]any{}
		}
		f["power"] = power
	}

	if b, err := brewFact(s); err != nil {
		fail("brew", err)
	} else {
		var prefix, owner any
		if b.Present {
			prefix, owner = brewPrefix, b.Owner
		}
		f["brew"] = map[string]any{"prefix": prefix, "owner": owner, "formulae": b.Formulae, "casks": b.Casks}
	}

	rosetta := map[string]any{"installed": nil, "linux_translator": nil}
	if r, err := receiptFact(s, rosettaReceipt); err != nil {
		fail("rosetta receipt", err)
	} else {
		rosetta["installed"] = r.Found
	}
	if st, err := statPaths(ctx, s, rosettaLinux); err != nil {
		fail("rosetta translator", err)
	} else {
		rl := st[rosettaLinux]
		rosetta["linux_translator"] = rl.Exists && rl.Type == "file" && rl.Mode&0o111 != 0
	}
	f["rosetta"] = rosetta

	if p, err := xcodeSelectFact(s); err != nil {
		fail("clt", err)
		f["clt"] = map[string]any{"path": nil}
	} else {
		var path any
		if p != "" {
			path = p
		}
		f["clt"] = map[string]any{"path": path}
	}

	launchd := map[string]any{}
	runners := map[string]any{}
	if names, ok, err := listDir(s, launchDaemons); err != nil {
		fail("launchd", err)
	} else if ok {
		for _, n := range names {
			label, ok := runnerDaemonLabel(n)
			if !ok {
				continue
			}
			st, err := launchdFact(s, label)
			if err != nil {
				fail("launchd "+label, err)
				continue
			}
			entry := map[string]any{"state": "not loaded", "pid": nil, "last_exit": nil}
			if st.Loaded {
				entry["state"] = st.Job.State
				if st.Job.PID > 0 {
					entry["pid"] = st.Job.PID
				}
				if st.Job.LastExit != nil {
					entry["last_exit"] = *st.Job.LastExit
				}
			}
			launchd[label] = entry
			r, err := runnerFacts(s, label)
			if err != nil {
				fail("runner "+label, err)
			}
			runners[label] = r
		}
	}
	f["launchd"] = launchd
	f["runners"] = runners
	tc, err := toolchainFacts(s)
	if err != nil {
		fail("toolchains", err)
	}
	f["toolchains"] = tc

	if n, err := dfFact(s, dataVolume); err != nil {
		fail("disk", err)
	} else {
		f["free_bytes"] = n
	}
	return f, errors.Join(errs...)
}

// toolchainRoot is where recipes link their toolchains.
const toolchainRoot = "/opt/toolchain"

// runnerFacts describes the runner a LaunchDaemon starts: its root (the
// plist's WorkingDirectory), its account (UserName), the name .runner
// registers and the installed version (`bin/Runner.Listener --version`,
// run as that account). Fields that cannot be read are null.
func runnerFacts(s *engine.Session, label string) (map[string]any, error) {
	out := map[string]any{"root": nil, "user": nil, "name": nil, "url": nil, "version": nil}
	d, ok, err := ReadRunnerDaemon(s, label)
	if err != nil || !ok {
		return out, err
	}
	out["root"] = d.Root
	if d.User != "" {
		out["user"] = d.User
	}
	if d.Name != "" {
		out["name"], out["url"] = d.Name, d.URL
	}
	listener := d.Root + "/bin/Runner.Listener"
	st, err := statPaths(s.Context(), s, listener)
	if err != nil {
		return out, err
	}
	if !st[listener].Exists || d.User == "" || d.User == host.Root || checkUser(d.User) != nil {
		return out, nil
	}
	text, err := listenerOutput(s, d.Root, d.User)
	if err != nil {
		return out, err
	}
	ver, err := ParseListenerVersion(text)
	if err != nil {
		return out, err
	}
	out["version"] = ver
	return out, nil
}

// toolchainFacts lists the links under /opt/toolchain with their target,
// the version the target names and the versions installed side by side:
// a tarball toolchain's target is ROOT/dist/NAME-VERSION/..., its
// versions the ROOT/dist/NAME-VERSION directories; a package's target is
// BASE/VERSION/NAME (Arm's /Applications/ArmGNUToolchain/14.3.rel1/
// aarch64-none-elf), its versions the BASE/VERSION/NAME directories.
// Names that are no version (toolchainVersion) are left out; version is
// null when the target names none.
func toolchainFacts(s *engine.Session) (map[string]any, error) {
	out := map[string]any{}
	names, ok, err := listDir(s, toolchainRoot)
	if err != nil || !ok {
		return out, err
	}
	var paths []string
	for _, n := range names {
		if n != "dist" {
			paths = append(paths, toolchainRoot+"/"+n)
		}
	}
	if len(paths) == 0 {
		return out, nil
	}
	st, err := statPaths(s.Context(), s, paths...)
	if err != nil {
		return out, err
	}
	var dist []string
	if slices.Contains(names, "dist") {
		if dist, _, err = listDir(s, toolchainRoot+"/dist"); err != nil {
			return out, err
		}
	}
	for _, p := range paths {
		fs := st[p]
		if !fs.Exists || fs.Type != "symlink" {
			continue
		}
		name := strings.TrimPrefix(p, toolchainRoot+"/")
		var version any
		installed := []string{}
		if rest, ok := strings.CutPrefix(fs.Target, toolchainRoot+"/dist/"+name+"-"); ok {
			if v, _, _ := strings.Cut(rest, "/"); toolchainVersion(v) {
				version = v
			}
			for _, d := range dist {
				if v, ok := strings.CutPrefix(d, name+"-"); ok && toolchainVersion(v) {
					installed = append(installed, v)
				}
			}
		} else if path.Base(fs.Target) == name && toolchainVersion(path.Base(path.Dir(fs.Target))) && path.IsAbs(fs.Target) {
			version = path.Base(path.Dir(fs.Target))
			if installed, err = packageVersions(s, path.Dir(path.Dir(fs.Target)), name); err != nil {
				return out, err
			}
		}
		out[name] = map[string]any{"target": fs.Target, "version": version, "installed": installed}
	}
	return out, nil
}

// packageVersions lists the versions of a package toolchain installed side
// by side: the entries VERSION of base whose BASE/VERSION/NAME is a
// directory.
func packageVersions(s *engine.Session, base, name string) ([]string, error) {
	entries, ok, err := listDir(s, base)
	if err != nil || !ok {
		return []string{}, err
	}
	var dirs []string
	for _, e := range entries {
		if toolchainVersion(e) {
			dirs = append(dirs, base+"/"+e+"/"+name)
		}
	}
	out := []string{}
	if len(dirs) == 0 {
		return out, nil
	}
	st, err := statPaths(s.Context(), s, dirs...)
	if err != nil {
		return out, err
	}
	for _, d := range dirs {
		if st[d].Exists && st[d].Type == "dir" {
			out = append(out, path.Base(path.Dir(d)))
		}
	}
	return out, nil
}

// toolchainVersion reports whether v is a toolchain version as
// stdlib/toolchain.star's version_parts reads one: dotted decimal
// numbers, a part relN in any case counting as N ("13.3.0", "14.3.rel1").
func toolchainVersion(v string) bool {
	if v == "" || len(v) > 64 || v[0] < '0' || v[0] > '9' {
		return false
	}
	for _, p := range strings.Split(v, ".") {
		if len(p) > 3 && strings.EqualFold(p[:3], "rel") {
			p = p[3:]
		}
		if p == "" || len(p) > 9 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
