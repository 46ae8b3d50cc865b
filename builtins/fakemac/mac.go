// Package fakemac is a simulated macOS host (an M4 Mac mini) behind the
// host.Host interface. The builtins run their real argv builders and
// parsers against it; commands change its state, so applying a plan and
// planning again really tests idempotence.
//
// Output formats and quirks follow ../shared/reference/macos-facts.md and
// the argv contract in docs/host-commands.md. A command or flag the fake
// does not know fails with an error wrapping host.ErrUnsupported that names
// the exact argv and the fixture stub to add: never a silent success.
//
// The fake is deterministic: its clock, process ids and generated
// identifiers come from its state, never from the wall clock or a random
// source, so the same inputs give the same transcript.
package fakemac

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Mac is a simulated Mac. It is safe for concurrent use; commands run one
// at a time.
type Mac struct {
	mu sync.Mutex
	st *State
	// beforeRun, when set, is called at the start of every Run, before
	// the lock is taken (see SetBeforeRun).
	beforeRun func(cmd host.Command)
	// toolsOnly turns off the backend's point-of-use rule, for the tests
	// that pin what the emulated tools themselves do when run as root
	// (brew and config.sh refuse it): hvfctl never gets that far.
	toolsOnly bool
	// tracing makes Run record every path its emulation looks up
	// (traced, while it runs) and keep them for LastLookups.
	tracing    bool
	traced     map[string]bool
	lastTraced []string
	// counts holds entryCounts of every directory, made in one pass over
	// st.Files; nil when it must be made again: every change of
	// st.Files (put, hardLink, removeTree, mv) calls filesChanged, and a
	// different number of files (countsLen) also remakes it.
	counts    map[string]dirCount
	countsLen int
}

// TraceLookups turns on (or off) the recording of the paths each command's
// emulation looks up, for LastLookups: what a program really used,
// whatever its argv declares.
func (m *Mac) TraceLookups(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tracing, m.lastTraced = on, nil
}

// LastLookups returns, sorted, every absolute path the last command's
// emulation looked up while TraceLookups was on.
func (m *Mac) LastLookups() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.lastTraced)
}

// SetBeforeRun makes f run at the start of every command, after every
// check hvfctl made and before the fake looks at anything: the instant a
// CI job racing hvfctl would change the Mac. f may change the Mac (Plant).
// Clones do not inherit it.
func (m *Mac) SetBeforeRun(f func(cmd host.Command)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.beforeRun = f
}

// dirCount is what a directory holds: its names, and how many of them
// are directories.
type dirCount struct{ entries, dirs int }

// call is one command being emulated.
type call struct {
	argv  []string
	user  string
	dir   string
	env   map[string]string
	stdin []byte
	tty   bool
	out   strings.Builder
	err   strings.Builder
}

func (c *call) outf(format string, a ...any) { fmt.Fprintf(&c.out, format, a...) }
func (c *call) errf(format string, a ...any) { fmt.Fprintf(&c.err, format, a...) }

// result finishes a call with an exit status.
func (c *call) result(exit int) (host.Result, error) {
	return host.Result{Stdout: c.out.String(), Stderr: c.err.String(), Exit: exit}, nil
}

// handler emulates one program.
type handler func(m *Mac, c *call) (host.Result, error)

// Name implements host.Host: "fake", or the backend a recorded fixture
// was recorded on.
func (m *Mac) Name() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.st.Backend != "" {
		return m.st.Backend
	}
	return "fake"
}

// Invoker is the administrator who runs hvfctl under sudo on the fake
// (SUDO_USER), and so the Homebrew owner by default.
func (m *Mac) Invoker() string { return "admin" }

// Wait is host.Waiter: time on the fake is simulated, so a poll's wait
// between two looks takes no real time. Nothing the fake models needs
// time to pass (a bootout completes at the next launchctl print, see
// launchctl), so the simulated clock, which moves with each command,
// does not move either.
func (m *Mac) Wait(ctx context.Context, d time.Duration) error { return ctx.Err() }

// The fake simulates time.
var _ host.Waiter = (*Mac)(nil)

// Snapshot returns the whole state as canonical JSON (the bytes Save
// writes), for comparing two states.
func (m *Mac) Snapshot() ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return encodeState(m.st)
}

func encodeState(st *State) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(st); err != nil {
		return nil, fmt.Errorf("encode fake mac state: %w", err)
	}
	return buf.Bytes(), nil
}

// now returns the simulated time.
func (m *Mac) now() time.Time { return time.Unix(m.st.Clock, 0).UTC() }

// pid hands out the next process id.
func (m *Mac) pid() int {
	p := m.st.NextPID
	m.st.NextPID++
	return p
}

// nslog returns an NSLog-style line prefix for prog.
func (m *Mac) nslog(prog string, pid int) string {
	ms := (pid * 137) % 1000
	return fmt.Sprintf("%s.%03d %s[%d:%d] ", m.now().Format("2006-01-02 15:04:05"), ms, prog, pid, pid*16+3)
}

// unsupported is the loud failure for argv the fake does not emulate.
func unsupported(c *call, why string) (host.Result, error) {
	stub, _ := json.Marshal(Response{Argv: c.argv, Stdout: "", Stderr: "", Exit: 0})
	return host.Result{Exit: -1}, fmt.Errorf("fakemac: %w: %q as %s: %s; script it in the fixture with \"responses\": [%s] or emulate it in builtins/fakemac",
		host.ErrUnsupported, c.argv, c.user, why, stub)
}

// baseEqual compares argv element-wise, argv[0] by base name.
func baseEqual(i int, a, b string) bool {
	if i == 0 {
		return path.Base(a) == path.Base(b)
	}
	return a == b
}

// scripted applies faults and responses to argv run as root (the
// in-process primitives). It reports whether the command was answered
// without emulation.
func (m *Mac) scripted(argv []string) (host.Result, bool) { return m.scriptedAs(host.Root, argv) }

// scriptedAs applies faults and responses to argv run as user: a response
// naming a user answers only that principal's commands.
func (m *Mac) scriptedAs(user string, argv []string) (host.Result, bool) {
	for i := range m.st.Faults {
		f := &m.st.Faults[i]
		if len(f.ArgvPrefix) == 0 || len(f.ArgvPrefix) > len(argv) {
			continue
		}
		match := true
		for j, a := range f.ArgvPrefix {
			if !baseEqual(j, a, argv[j]) {
				match = false
				break
			}
		}
		if !match {
			continue
		}
		f.Seen++
		nth := f.Nth
		if nth == 0 {
			nth = 1
		}
		if f.Seen == nth {
			exit := f.Exit
			if exit == 0 {
				exit = 1
			}
			return host.Result{Stderr: f.Stderr, Exit: exit}, true
		}
	}
	for _, r := range m.st.Responses {
		if len(r.Argv) != len(argv) || (r.User != "" && r.User != user) {
			continue
		}
		match := true
		for j, a := range r.Argv {
			if !baseEqual(j, a, argv[j]) {
				match = false
				break
			}
		}
		if match {
			return host.Result{Stdout: r.Stdout, Stderr: r.Stderr, Exit: r.Exit}, true
		}
	}
	return host.Result{}, false
}

// Exit statuses of a recorded primitive's error (`--record`): its stderr
// is the error's exact text, and the status its kind, as errno names it.
const (
	ExitNotExist   = 2  // ENOENT: errors.Is(err, fs.ErrNotExist)
	ExitPermission = 13 // EACCES: errors.Is(err, fs.ErrPermission)
	ExitIOError    = 5  // EIO: any other error
)

// recordedErr is a recorded primitive's error: its exact text and kind.
type recordedErr struct {
	msg  string
	kind error
}

func (e *recordedErr) Error() string { return e.msg }
func (e *recordedErr) Unwrap() error { return e.kind }

// scriptedErr turns a scripted reply to a primitive into its error.
func scriptedErr(op string, r host.Result) error {
	if r.Exit == 0 {
		return nil
	}
	if msg := strings.TrimSuffix(r.Stderr, "\n"); msg != "" {
		switch r.Exit {
		case ExitNotExist:
			return &recordedErr{msg: msg, kind: fs.ErrNotExist}
		case ExitPermission:
			return &recordedErr{msg: msg, kind: fs.ErrPermission}
		case ExitIOError:
			return &recordedErr{msg: msg}
		}
	}
	msg := strings.TrimSpace(r.Stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit %d", r.Exit)
	}
	switch {
	case strings.Contains(msg, "No such file"):
		return fmt.Errorf("%s: %s: %w", op, msg, fs.ErrNotExist)
	case strings.Contains(msg, "Permission denied"), strings.Contains(msg, "not permitted"):
		return fmt.Errorf("%s: %s: %w", op, msg, fs.ErrPermission)
	case strings.Contains(strings.ToLower(msg), "checksum"):
		return fmt.Errorf("%s: %s: %w", op, msg, host.ErrChecksum)
	}
	return fmt.Errorf("%s: %s", op, msg)
}

// Run implements host.Host.
func (m *Mac) Run(ctx context.Context, cmd host.Command) (host.Result, error) {
	if err := ctx.Err(); err != nil {
		return host.Result{Exit: -1}, fmt.Errorf("fakemac: %w", err)
	}
	if len(cmd.Argv) == 0 {
		return host.Result{Exit: -1}, errors.New("fakemac: empty argv")
	}
	m.mu.Lock()
	hook := m.beforeRun
	m.mu.Unlock()
	if hook != nil {
		hook(cmd)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tracing {
		m.traced = map[string]bool{}
		defer func() { m.lastTraced, m.traced = sortedKeys(m.traced), nil }()
	}
	user := m.canonicalUser(cmd.Principal())
	m.st.Clock++
	// A scripted reply answers before anything is emulated, the
	// principal's account included: a recorded Mac's accounts are in its
	// recorded output, not in the base preset.
	if r, ok := m.scriptedAs(user, cmd.Argv); ok {
		if r.Exit == NotRun {
			return host.Result{Exit: -1}, fmt.Errorf("%s", r.Stderr)
		}
		return r, nil
	}
	if _, ok := m.st.Users[user]; !ok {
		return host.Result{Exit: -1}, fmt.Errorf("fakemac: cannot run %q as %q: no such user", cmd.Argv, user)
	}
	c := &call{argv: cmd.Argv, user: user, env: map[string]string{}, stdin: cmd.Stdin, tty: cmd.TTY}
	home := m.st.Users[user].Home
	c.env["HOME"], c.env["USER"], c.env["LOGNAME"] = home, user, user
	c.env["PATH"] = "/usr/bin:/bin:/usr/sbin:/sbin"
	c.env["LANG"] = "en_US.UTF-8"
	for _, e := range cmd.Env {
		c.env[e.Name] = e.Value
	}
	c.dir = cmd.Dir
	if c.dir == "" {
		c.dir = home
	}
	prog := cmd.Argv[0]
	if !path.IsAbs(prog) {
		return host.Result{Exit: -1}, fmt.Errorf("fakemac: %q: programs must be absolute paths (the backend never searches PATH)", prog)
	}
	// The point-of-use rule of the real backend (builtins/darwin Run):
	// a program run as root looks its paths up again itself, so each must
	// be one that root alone can change.
	// The real backend performs the file operations itself only as
	// root; as any other account they run as programs and are checked.
	if !m.toolsOnly && !(host.InProcessFileOp(cmd.Argv) && m.superuser(user)) {
		if err := host.CheckCommand(ctx, lockedLstater{m}, cmd, prog, m.principalUID(user)); err != nil {
			return host.Result{Exit: -1}, fmt.Errorf("run %s: %w", prog, err)
		}
	}
	if h, ok := systemTools[prog]; ok {
		return h(m, c)
	}
	real, n, err := m.lookup(user, prog, true)
	if err != nil {
		return host.Result{Exit: -1}, fmt.Errorf("fakemac: fork/exec %s: %s", prog, strings.ToLower(errText(err)))
	}
	if n.Type != TypeFile || !m.may(user, n, 1) {
		return host.Result{Exit: -1}, fmt.Errorf("fakemac: fork/exec %s: permission denied", prog)
	}
	switch path.Base(real) {
	case "brew":
		return m.brew(c)
	case "config.sh":
		return m.configSh(c, path.Dir(real))
	case "svc.sh":
		return m.svcSh(c, path.Dir(real))
	case "run.sh":
		return m.runSh(c, path.Dir(real))
	case "Runner.Listener":
		return m.runnerListener(c, n)
	}
	if r, ok, err := m.runDevTool(c, real); ok {
		return r, err
	}
	return unsupported(c, "no emulation for the program "+real)
}

// systemTools are the programs on the sealed system volume, by exact
// path.
var systemTools = map[string]handler{
	"/usr/bin/sw_vers":         (*Mac).swVers,
	"/usr/sbin/sysctl":         (*Mac).sysctl,
	"/bin/df":                  (*Mac).df,
	"/usr/bin/crontab":         (*Mac).crontab,
	"/usr/bin/fdesetup":        (*Mac).fdesetup,
	"/sbin/shutdown":           (*Mac).shutdown,
	"/usr/bin/tail":            (*Mac).tail,
	"/usr/bin/dscl":            (*Mac).dscl,
	"/usr/sbin/dseditgroup":    (*Mac).dseditgroup,
	"/usr/bin/id":              (*Mac).id,
	"/usr/sbin/sysadminctl":    (*Mac).sysadminctl,
	"/usr/sbin/createhomedir":  (*Mac).createhomedir,
	"/usr/bin/defaults":        (*Mac).defaults,
	"/usr/bin/sqlite3":         (*Mac).sqlite3,
	"/usr/bin/stat":            (*Mac).stat,
	"/bin/ls":                  (*Mac).ls,
	"/bin/chmod":               (*Mac).chmod,
	"/usr/sbin/chown":          (*Mac).chown,
	"/bin/mkdir":               (*Mac).mkdir,
	"/bin/ln":                  (*Mac).ln,
	"/bin/rm":                  (*Mac).rm,
	"/bin/mv":                  (*Mac).mv,
	"/usr/bin/mdutil":          (*Mac).mdutil,
	"/usr/bin/pmset":           (*Mac).pmset,
	"/usr/sbin/softwareupdate": (*Mac).softwareupdate,
	"/usr/bin/xcode-select":    (*Mac).xcodeSelect,
	"/usr/sbin/pkgutil":        (*Mac).pkgutil,
	"/usr/sbin/installer":      (*Mac).installer,
	"/bin/launchctl":           (*Mac).launchctl,
	"/bin/ps":                  (*Mac).ps,
	"/usr/bin/shasum":          (*Mac).shasum,
	"/usr/bin/codesign":        (*Mac).codesign,
	"/usr/bin/tar":             (*Mac).tar,
	"/usr/bin/arch":            (*Mac).arch,
	"/bin/test":                (*Mac).test,
}

// ReadFile implements host.Host: it reads as root.
func (m *Mac) ReadFile(ctx context.Context, p string, max int64) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted([]string{host.OpRead, p}); ok {
		if err := scriptedErr("read "+p, r); err != nil {
			return nil, err
		}
		return []byte(r.Stdout), nil
	}
	if strings.Contains(p, "/com.apple.TCC/") {
		return nil, fmt.Errorf("read %s: Operation not permitted: %w", p, fs.ErrPermission)
	}
	_, n, err := m.rootOpen(p)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if n.Content == nil {
		return nil, fmt.Errorf("read %s: fakemac: %w: the file holds %d bytes that are not modelled (only size and SHA-256)", p, host.ErrUnsupported, n.Size)
	}
	b := []byte(*n.Content)
	if max > 0 && int64(len(b)) > max {
		b = b[:max]
	}
	return b, nil
}

// WriteFile implements host.Host.
func (m *Mac) WriteFile(ctx context.Context, req host.WriteRequest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted(host.WriteArgv(req)); ok {
		return scriptedErr("write "+req.Path, r)
	}
	if !path.IsAbs(req.Path) {
		return fmt.Errorf("write %s: path must be absolute", req.Path)
	}
	if !m.userExists(req.Owner) {
		return fmt.Errorf("write %s: unknown owner %q", req.Path, req.Owner)
	}
	if !m.groupExists(req.Group) {
		return fmt.Errorf("write %s: unknown group %q", req.Path, req.Group)
	}
	// The directory is reached crossing only trusted links; a link at
	// the destination itself is replaced by the rename, never followed.
	dir, err := m.rootDir(path.Dir(req.Path))
	if err != nil {
		return fmt.Errorf("write %s: %w", req.Path, err)
	}
	real := path.Join(dir, path.Base(req.Path))
	parent := m.st.Files[path.Dir(real)]
	if parent == nil || parent.Type != TypeDir {
		return fmt.Errorf("write %s: parent directory: %w", req.Path, fs.ErrNotExist)
	}
	if old := m.st.Files[real]; old != nil && old.Type == TypeDir {
		return fmt.Errorf("write %s: is a directory", req.Path)
	}
	if int64(len(req.Data)) > m.st.Disk.FreeBytes {
		return fmt.Errorf("write %s: No space left on device", req.Path)
	}
	m.put(real, &Node{Type: TypeFile, Mode: Mode(req.Mode.Perm()), Owner: req.Owner, Group: req.Group, Content: text(string(req.Data)), MTime: m.st.Clock})
	return nil
}

// Download implements host.Host: the URL must be in the download table;
// the served bytes are checked against the request's pins before
// anything lands at Dest.
func (m *Mac) Download(ctx context.Context, req host.DownloadRequest) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted([]string{host.OpDownload, req.URL, req.Dest}); ok {
		return scriptedErr("download "+req.URL, r)
	}
	u := m.st.URLs[req.URL]
	if u == nil {
		return fmt.Errorf("download %s: fakemac: %w: the URL is not in the fake's download table; add it under \"urls\" in the fixture (content, or size and sha256)", req.URL, host.ErrUnsupported)
	}
	if u.HTML {
		return fmt.Errorf("download %s: %w: %w (Content-Type \"text/html; charset=utf-8\"); nothing was written", req.URL, host.ErrHTMLPage, host.ErrChecksum)
	}
	size, sum := u.Size, u.SHA256
	if u.Content != nil {
		n := &Node{Type: TypeFile, Content: u.Content}
		size, sum = n.size(), n.sum()
	}
	if len(req.SHA256) != 64 {
		return fmt.Errorf("download %s: a 64-digit SHA-256 pin is required", req.URL)
	}
	if sum != req.SHA256 || (req.Size != 0 && size != req.Size) {
		return fmt.Errorf("download %s: %w: got %d bytes with SHA-256 %s, pinned %d bytes with %s", req.URL, host.ErrChecksum, size, sum, req.Size, req.SHA256)
	}
	if !m.userExists(req.Owner) || !m.groupExists(req.Group) {
		return fmt.Errorf("download %s: unknown owner %s:%s", req.URL, req.Owner, req.Group)
	}
	dir, err := m.rootDir(path.Dir(req.Dest))
	if err != nil {
		return fmt.Errorf("download %s to %s: %w", req.URL, req.Dest, err)
	}
	real := path.Join(dir, path.Base(req.Dest))
	if parent := m.st.Files[path.Dir(real)]; parent == nil || parent.Type != TypeDir {
		return fmt.Errorf("download %s to %s: parent directory: %w", req.URL, req.Dest, fs.ErrNotExist)
	}
	if size > m.st.Disk.FreeBytes {
		return fmt.Errorf("download %s to %s: No space left on device", req.URL, req.Dest)
	}
	n := &Node{Type: TypeFile, Mode: Mode(req.Mode.Perm()), Owner: req.Owner, Group: req.Group, Archive: u.Archive, Package: u.Package, MTime: m.st.Clock}
	if u.Content != nil {
		n.Content = text(*u.Content)
	} else {
		n.Size, n.SHA256 = u.Size, u.SHA256
	}
	m.put(real, n)
	return nil
}

// Hash implements host.Host.
func (m *Mac) Hash(ctx context.Context, p string) (string, int64, error) {
	if err := ctx.Err(); err != nil {
		return "", 0, fmt.Errorf("fakemac: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.st.Clock++
	if r, ok := m.scripted([]string{host.OpHash, p}); ok {
		if err := scriptedErr("sha256 "+p, r); err != nil {
			return "", 0, err
		}
		var sum string
		var size int64
		if _, err := fmt.Sscan(r.Stdout, &sum, &size); err != nil {
			return "", 0, fmt.Errorf("sha256 %s: scripted reply must be \"SUM SIZE\": %w", p, err)
		}
		return sum, size, nil
	}
	_, n, err := m.rootOpen(p)
	if err != nil {
		return "", 0, fmt.Errorf("sha256: %w", err)
	}
	return n.sum(), n.size(), nil
}

// sortedKeys returns the keys of a map in order.
func sortedKeys[V any](mp map[string]V) []string {
	out := make([]string, 0, len(mp))
	for k := range mp {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Mac is a host.Host.
var _ host.Host = (*Mac)(nil)

// Clone returns an independent fake Mac in the same state (a deep copy:
// commands on one never change the other). It is much cheaper than
// building a preset again, for tests and fuzz targets that start many
// runs from one state.
func (m *Mac) Clone() *Mac {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := deepCopy(reflect.ValueOf(m.st)).Interface().(*State)
	st.joinLinks()
	return &Mac{st: st}
}

// deepCopy copies v and everything it points to. State holds only
// exported fields of basic kinds, pointers, maps, slices and structs.
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.New(v.Type().Elem())
		n.Elem().Set(deepCopy(v.Elem()))
		return n
	case reflect.Map:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return n
	case reflect.Slice:
		if v.IsNil() {
			return reflect.Zero(v.Type())
		}
		n := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			n.Index(i).Set(deepCopy(v.Index(i)))
		}
		return n
	case reflect.Struct:
		n := reflect.New(v.Type()).Elem()
		for i := range v.NumField() {
			n.Field(i).Set(deepCopy(v.Field(i)))
		}
		return n
	default:
		return v
	}
}
