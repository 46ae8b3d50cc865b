package builtins

import (
	"context"
	"fmt"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

const (
	// cltMarker makes softwareupdate offer the Command Line Tools.
	cltMarker = "/tmp/.com.apple.dt.CommandLineTools.installondemand.in-progress"
	// cltGit is the file whose presence means the Command Line Tools are
	// installed (Homebrew's installer tests it; xcode-select -p does not
	// notice deleted tools and is satisfied by Xcode alone).
	cltGit = cltPath + "/usr/bin/git"
	// rosettaReceipt is the package softwareupdate --install-rosetta installs.
	rosettaReceipt = "com.apple.pkg.RosettaUpdateAuto"
	// rosettaLinux is the Linux translator elfuse needs.
	rosettaLinux = "/Library/Apple/usr/libexec/oah/RosettaLinux/rosetta"
)

// cltLabelLine is one `* Label:` line of `softwareupdate -l` offering the
// Command Line Tools, in either form: up to Xcode 16 `Command Line Tools
// for Xcode-16.4`; from the 26 releases `Command Line Tools for Xcode
// 26.1-26.1.1` (a space, the version, then "-" and a build version).
// Group 1 is the whole label, group 2 the version after "Xcode", group 3
// the build version of the new form.
var cltLabelLine = regexp.MustCompile(`^\s*\*\s*Label:\s*(Command Line Tools for Xcode(?:-([0-9][0-9.]*)| ([0-9][0-9.]*)-([0-9][0-9.]*)))\s*$`)

// CLTLabel is one Command Line Tools label offered by softwareupdate.
type CLTLabel struct {
	// Label is the whole label, passed unchanged to softwareupdate -i.
	Label string
	// Version is the version after "Xcode" (16.4, 26.1).
	Version []int
	// Build is the version after the "-" of the 26 form (26.1.1), or nil.
	Build []int
}

// ParseCLTLabels returns the non-beta Command Line Tools labels of
// `softwareupdate -l` output, in both label forms, in the order listed.
// A label that mentions "beta" anywhere is dropped.
func ParseCLTLabels(out string) []CLTLabel {
	var labels []CLTLabel
	for _, ln := range lines(out) {
		if strings.Contains(strings.ToLower(ln), "beta") {
			continue
		}
		m := cltLabelLine.FindStringSubmatch(ln)
		if m == nil {
			continue
		}
		l := CLTLabel{Label: m[1]}
		if m[2] != "" {
			l.Version = versionParts(m[2])
		} else {
			l.Version, l.Build = versionParts(m[3]), versionParts(m[4])
		}
		labels = append(labels, l)
	}
	return labels
}

// PickCLTLabel returns the newest non-beta Command Line Tools label of
// `softwareupdate -l` output, or "" when none is offered. Labels compare
// by the version after "Xcode", numerically component by component (so
// 26.1 beats 16.4 whichever form each label has), then by the build
// version of the 26 form.
func PickCLTLabel(out string) string {
	var best *CLTLabel
	labels := ParseCLTLabels(out)
	for i := range labels {
		l := &labels[i]
		if best == nil {
			best = l
			continue
		}
		c := engine.CompareVersions(l.Version, best.Version)
		if c == 0 {
			c = engine.CompareVersions(l.Build, best.Build)
		}
		if c > 0 {
			best = l
		}
	}
	if best == nil {
		return ""
	}
	return best.Label
}

// versionParts splits a dotted version into numbers; a part that is not
// a number counts as 0.
func versionParts(s string) []int {
	var out []int
	for _, p := range strings.Split(strings.Trim(s, "."), ".") {
		n, err := strconv.Atoi(p)
		if err != nil {
			n = 0
		}
		out = append(out, n)
	}
	return out
}

// cltInstallAction is the composite headless CLT install.
func cltInstallAction() *engine.Action {
	// softwareupdate reads the on-demand marker and installs into the
	// Command Line Tools directory by itself.
	footprint := []string{cltMarker, cltPath}
	listCmd := host.Command{Argv: []string{"/usr/sbin/softwareupdate", "-l"}, User: host.Root, Timeout: 10 * time.Minute, Paths: footprint}
	argv := []string{"/usr/sbin/softwareupdate", "-i", "<newest Command Line Tools label>"}
	return &engine.Action{
		Argv:   argv,
		User:   host.Root,
		Reason: "the label is the newest non-beta one `softwareupdate -l` offers when the action runs; the apply shows the label it installed",
		// The footprint: the on-demand marker, the Command Line Tools and
		// the xcode-select link it is selected with.
		Writes:   []string{cltMarker, cltPath, xcodeSelectLink},
		Replaces: true,
		Run: func(ctx context.Context, s *engine.Session) (err error) {
			marker := host.WriteRequest{Path: cltMarker, Mode: 0o644, Owner: "root", Group: "wheel"}
			if werr := s.Host().WriteFile(ctx, marker); werr != nil {
				return &engine.ActionError{Argv: host.WriteArgv(marker), User: host.Root, Exit: -1, Err: werr}
			}
			defer func() {
				rm := host.Command{Argv: []string{"/bin/rm", "-f", cltMarker}, User: host.Root}
				if _, rerr := runStep(ctx, s, rm, engine.ExitZero); rerr != nil && err == nil {
					err = rerr
				}
			}()
			res, err := runStep(ctx, s, listCmd, nil)
			if err != nil {
				return err
			}
			label := PickCLTLabel(res.Stdout + "\n" + res.Stderr)
			if label == "" {
				return judgeError(listCmd, res, fmt.Errorf("softwareupdate offers no non-beta Command Line Tools label"))
			}
			if !cltLabelPat.MatchString(label) {
				return judgeError(listCmd, res, fmt.Errorf("unexpected label %q", label))
			}
			install := host.Command{Argv: []string{"/usr/sbin/softwareupdate", "-i", label}, User: host.Root, Timeout: 60 * time.Minute, Paths: footprint}
			s.Resolved(install.Argv)
			if _, err := runStep(ctx, s, install, engine.ExitZero); err != nil {
				return err
			}
			sw := xcodeSwitchCmd(cltPath)
			swRes, err := runStep(ctx, s, sw, engine.ExitZero)
			if err != nil {
				return err
			}
			if err := confirmed(sw, swRes, xcodePathIs(ctx, s.Host(), cltPath)); err != nil {
				return err
			}
			git, err := statNow(ctx, s.Host(), cltGit)
			if err != nil {
				return err
			}
			if !git.Exists || git.Type != "file" || git.Mode&0o111 == 0 {
				return &engine.ActionError{Argv: install.Argv, User: host.Root, Exit: 0, Err: fmt.Errorf("%s is not an executable after installing %q: %w", cltGit, label, engine.ErrNotConfirmed)}
			}
			return nil
		},
	}
}

// rosettaAction installs Rosetta and confirms it by its receipt and an
// executable Linux translator.
func rosettaAction() *engine.Action {
	// The footprint: Rosetta's directory (its receipt is the system's).
	footprint := []string{path.Dir(path.Dir(rosettaLinux))}
	cmd := host.Command{Argv: []string{"/usr/sbin/softwareupdate", "--install-rosetta", "--agree-to-license"}, User: host.Root, Timeout: 30 * time.Minute, Paths: footprint}
	a := rosettaConfirmed(cmd)
	a.Writes = footprint
	return a
}

// rosettaConfirmed is the Rosetta install judged by its receipt and its
// Linux translator.
func rosettaConfirmed(cmd host.Command) *engine.Action {
	return confirmedAction(cmd, nil, func(ctx context.Context, h host.Host, _ host.Result) error {
		if err := receiptPresent(ctx, h, rosettaReceipt, "installing Rosetta"); err != nil {
			return err
		}
		st, err := statNow(ctx, h, rosettaLinux)
		if err != nil {
			return err
		}
		if !st.Exists || st.Mode&0o111 == 0 {
			return fmt.Errorf("%s is not an executable after install: %w", rosettaLinux, engine.ErrNotConfirmed)
		}
		return nil
	})
}

// statNow stats one path bypassing the cache (for action judges).
func statNow(ctx context.Context, h host.Host, p string) (FileStat, error) {
	q, ok := host.FileQuerierOf(h)
	if !ok {
		return FileStat{}, fmt.Errorf("stat %s: the %s host cannot answer file queries", p, h.Name())
	}
	sts, err := q.StatPaths(ctx, []string{p})
	if err != nil {
		return FileStat{}, statError([]string{p}, err)
	}
	if len(sts) != 1 {
		return FileStat{}, fmt.Errorf("stat %s: the host gave %d answers for one path", p, len(sts))
	}
	return answerOf(sts[0])
}

func softwareupdateModule() engine.Module {
	return engine.Module{
		Name: "softwareupdate",
		Doc:  "Rosetta and the Command Line Tools, installed headlessly (`softwareupdate`).",
		Builtins: []engine.Builtin{
			newBuiltin("softwareupdate", "install_rosetta", "", engine.KindAction, `
Returns the action `+"`/usr/sbin/softwareupdate --install-rosetta --agree-to-license`"+`,
run as root. Judged by the receipt `+"`com.apple.pkg.RosettaUpdateAuto`"+` and an
executable `+"`"+rosettaLinux+"`"+` afterwards, not by its output.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					return rosettaAction(), nil
				}),
			newBuiltin("softwareupdate", "install_clt", "", engine.KindAction, `
Returns one action that installs the Command Line Tools without a GUI, as
root: writes the empty marker `+"`"+cltMarker+"`"+` (0644 root:wheel),
runs `+"`/usr/sbin/softwareupdate -l`"+`, picks the newest non-beta
Command Line Tools label (`+"`Command Line Tools for Xcode-16.4`"+` or, from the 26
releases, `+"`Command Line Tools for Xcode 26.1-26.1.1`"+`; compared by the version
after "Xcode"), runs
`+"`/usr/sbin/softwareupdate -i LABEL`"+` (the label one argv element), removes
the marker (always), runs `+"`/usr/bin/xcode-select --switch "+cltPath+"`"+`,
and requires `+"`xcode-select -p`"+` to print that path. The plan shows the
install argv with `+"`<newest Command Line Tools label>`"+` for the label picked at apply time.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					return cltInstallAction(), nil
				}),
		},
	}
}
