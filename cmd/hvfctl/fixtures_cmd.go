package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/fixturelock"
)

// fixturesCmd groups the fixture-tree commands. Exit codes: 0 the tree
// matches (verify), the manifests are equal (diff) or the manifest was
// written (lock); 1 differences found; 2 bad input (no or malformed
// manifest, unreadable file or directory).
type fixturesCmd struct {
	Lock   fixturesLockCmd   `cmd:"" help:"Write a manifest (path, size, SHA-256 of every file; links with their target) of DIR."`
	Verify fixturesVerifyCmd `cmd:"" help:"Check DIR against its manifest: exit 0 when it matches, 1 with the differences, 2 on bad input."`
	Diff   fixturesDiffCmd   `cmd:"" help:"Show what changed between two manifests: exit 0 when equal, 1 when they differ, 2 on bad input."`
}

// progressThreshold is the amount of data above which hashing shows a
// progress bar on a terminal.
const progressThreshold = 256 << 20

type fixturesLockCmd struct {
	Dir        string `arg:"" help:"The fixture tree."`
	Out        string `help:"Where to write the manifest (default: DIR/.hvfctl-fixtures.lock)." placeholder:"FILE"`
	NoProgress bool   `help:"Never show a progress bar."`
}

type fixturesVerifyCmd struct {
	Dir        string `arg:"" help:"The fixture tree."`
	Manifest   string `help:"The manifest to check against (default: DIR/.hvfctl-fixtures.lock)." placeholder:"FILE"`
	JSON       bool   `name:"json" help:"Print the report as JSON (paths in the manifest's escaped form)."`
	NoProgress bool   `help:"Never show a progress bar."`
}

type fixturesDiffCmd struct {
	A    string `arg:"" help:"The old manifest."`
	B    string `arg:"" help:"The new manifest."`
	JSON bool   `name:"json" help:"Print the differences as JSON (paths in the manifest's escaped form)."`
}

// Run locks a tree.
func (c *fixturesLockCmd) Run(e *env) error {
	dir, out, err := absPaths(c.Dir, c.Out)
	if err != nil {
		return exit(2, err)
	}
	if err := e.trust.CheckOutput(out); err != nil {
		return exit(2, fmt.Errorf("fixtures lock: %w", err))
	}
	start := time.Now()
	m, err := fixturelock.LockDir(e.ctx, dir, out, fixturelock.Options{Progress: newProgress(e, c.NoProgress, "locking"), OpenDir: treeOpener()})
	if err != nil {
		return exit(2, fmt.Errorf("fixtures lock: %w", err))
	}
	files, links, size := summarize(m)
	fmt.Fprintf(e.stdout, "locked %s: %d files (%s), %d links in %s → %s\n",
		dir, files, humanBytes(size), links, time.Since(start).Round(time.Millisecond), out)
	return nil
}

// treeOpener is how `hvfctl fixtures` opens a tree's root: as root, with
// the backend's root walk (a symlink in the path that root did not make
// in a root-only directory is refused, docs/security.md); as anyone else,
// plainly (that account may follow its own links).
func treeOpener() func(string) (*os.File, error) {
	if os.Geteuid() == 0 {
		return darwin.OpenDir
	}
	return nil
}

// verifyJSON is the shape of `fixtures verify --json`.
type verifyJSON struct {
	OK       bool         `json:"ok"`
	Dir      string       `json:"dir"`
	Manifest string       `json:"manifest"`
	Files    int          `json:"files"`
	Links    int          `json:"links"`
	Bytes    int64        `json:"bytes"`
	Missing  []string     `json:"missing"`
	Extra    []string     `json:"extra"`
	Changed  []changeJSON `json:"changed"`
}

type changeJSON struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Run verifies a tree.
func (c *fixturesVerifyCmd) Run(e *env) error {
	dir, manifest, err := absPaths(c.Dir, c.Manifest)
	if err != nil {
		return exit(2, err)
	}
	// The manifest is what the tree is judged by: one another account
	// could have written would make any tree pass.
	if err := e.trust.CheckFile(manifest); err != nil {
		return exit(2, fmt.Errorf("fixtures verify: %w", err))
	}
	rep, err := fixturelock.VerifyDir(e.ctx, dir, manifest, fixturelock.Options{Progress: newProgress(e, c.NoProgress || c.JSON, "verifying"), OpenDir: treeOpener()})
	if err != nil {
		return exit(2, fmt.Errorf("fixtures verify: %w", err))
	}
	if c.JSON {
		out := verifyJSON{
			OK: rep.OK(), Dir: dir, Manifest: manifest, Files: rep.Files, Links: rep.Links, Bytes: rep.Bytes,
			Missing: escapeAll(rep.Missing), Extra: escapeAll(rep.Extra), Changed: []changeJSON{},
		}
		for _, ch := range rep.Changed {
			out.Changed = append(out.Changed, changeJSON{Path: fixturelock.Escape(ch.Path), Reason: ch.Reason})
		}
		if err := writeJSON(e.stdout, out); err != nil {
			return exit(2, err)
		}
	} else {
		printReport(e.stdout, dir, manifest, rep)
	}
	if !rep.OK() {
		return exit(1, nil)
	}
	return nil
}

func printReport(w io.Writer, dir, manifest string, rep fixturelock.Report) {
	for _, p := range rep.Missing {
		fmt.Fprintf(w, "missing  %s\n", fixturelock.Escape(p))
	}
	for _, p := range rep.Extra {
		fmt.Fprintf(w, "extra    %s\n", fixturelock.Escape(p))
	}
	for _, ch := range rep.Changed {
		fmt.Fprintf(w, "changed  %s: %s\n", fixturelock.Escape(ch.Path), ch.Reason)
	}
	if rep.OK() {
		fmt.Fprintf(w, "ok: %s matches %s (%d files, %s; %d links)\n", dir, manifest, rep.Files, humanBytes(rep.Bytes), rep.Links)
		return
	}
	fmt.Fprintf(w, "FAIL: %s does not match %s: %d missing, %d extra, %d changed\n",
		dir, manifest, len(rep.Missing), len(rep.Extra), len(rep.Changed))
}

// diffJSON is the shape of `fixtures diff --json`.
type diffJSON struct {
	Same    bool         `json:"same"`
	Added   []string     `json:"added"`
	Removed []string     `json:"removed"`
	Changed []changeJSON `json:"changed"`
}

// Run compares two manifests.
func (c *fixturesDiffCmd) Run(e *env) error {
	for _, m := range []string{c.A, c.B} {
		if err := e.trust.CheckFile(m); err != nil {
			return exit(2, fmt.Errorf("fixtures diff: %w", err))
		}
	}
	a, err := fixturelock.ReadManifest(c.A)
	if err != nil {
		return exit(2, fmt.Errorf("fixtures diff: %w", err))
	}
	b, err := fixturelock.ReadManifest(c.B)
	if err != nil {
		return exit(2, fmt.Errorf("fixtures diff: %w", err))
	}
	d := fixturelock.Diff(a, b)
	if c.JSON {
		out := diffJSON{Same: d.Empty(), Added: []string{}, Removed: []string{}, Changed: []changeJSON{}}
		for _, en := range d.Added {
			out.Added = append(out.Added, fixturelock.Escape(en.Path))
		}
		for _, en := range d.Removed {
			out.Removed = append(out.Removed, fixturelock.Escape(en.Path))
		}
		for _, ch := range d.Changed {
			out.Changed = append(out.Changed, changeJSON{Path: fixturelock.Escape(ch.Path), Reason: ch.Reason})
		}
		if err := writeJSON(e.stdout, out); err != nil {
			return exit(2, err)
		}
	} else {
		for _, en := range d.Removed {
			fmt.Fprintf(e.stdout, "- %s (%s)\n", fixturelock.Escape(en.Path), describeEntry(en))
		}
		for _, en := range d.Added {
			fmt.Fprintf(e.stdout, "+ %s (%s)\n", fixturelock.Escape(en.Path), describeEntry(en))
		}
		for _, ch := range d.Changed {
			fmt.Fprintf(e.stdout, "~ %s: %s\n", fixturelock.Escape(ch.Path), ch.Reason)
		}
		if d.Empty() {
			fmt.Fprintf(e.stdout, "same: %s and %s describe the same tree\n", c.A, c.B)
		} else {
			fmt.Fprintf(e.stdout, "%d added, %d removed, %d changed\n", len(d.Added), len(d.Removed), len(d.Changed))
		}
	}
	if !d.Empty() {
		return exit(1, nil)
	}
	return nil
}

func describeEntry(en fixturelock.Entry) string {
	if en.Type == fixturelock.TypeLink {
		return "link to " + fixturelock.Escape(en.Target)
	}
	return fmt.Sprintf("%d bytes, sha256 %s", en.Size, en.SHA256)
}

// absPaths makes the tree and the manifest (when given) absolute, so that
// messages name them fully and a manifest inside the tree is recognised.
func absPaths(dir, manifest string) (string, string, error) {
	if dir == "" {
		return "", "", errors.New("no directory given")
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", "", fmt.Errorf("directory %s: %w", dir, err)
	}
	if manifest == "" {
		return d, fixturelock.DefaultManifest(d), nil
	}
	m, err := filepath.Abs(manifest)
	if err != nil {
		return "", "", fmt.Errorf("manifest %s: %w", manifest, err)
	}
	return d, m, nil
}

func summarize(m *fixturelock.Manifest) (files, links int, size int64) {
	for _, en := range m.Entries {
		if en.Type == fixturelock.TypeLink {
			links++
		} else {
			files++
			size += en.Size
		}
	}
	return files, links, size
}

func escapeAll(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = fixturelock.Escape(p)
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}

func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// barProgress shows a progress bar on the terminal for large trees.
type barProgress struct {
	w    io.Writer
	desc string
	bar  *progressbar.ProgressBar
}

// newProgress returns a progress reporter when stderr is a terminal, or
// nil (no progress) otherwise.
func newProgress(e *env, off bool, desc string) fixturelock.Progress {
	if off {
		return nil
	}
	f, ok := fileOf(e.stderr)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return &barProgress{w: f, desc: desc}
}

func (p *barProgress) Start(total int64) {
	if total < progressThreshold {
		return
	}
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(p.w),
		progressbar.OptionSetDescription(p.desc),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

func (p *barProgress) Add(n int64) {
	if p.bar != nil {
		_ = p.bar.Add64(n)
	}
}

func (p *barProgress) Finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
