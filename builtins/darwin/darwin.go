// Package darwin is the real macOS backend of host.Host: it runs argv
// vectors with os/exec and performs the in-process primitives (atomic
// writes, verified downloads, hashing) itself.
//
// Commands run with an absolute program path (never a PATH lookup), an
// environment built from nothing for the principal, a timeout that kills
// the whole process group, and output captured up to a size cap. Root runs
// as the hvfctl process itself; any other principal runs with its uid, gid
// and supplementary groups set on the child process (an in-process drop,
// never `sudo -u`). Secrets reach a program only through its environment
// or its standard input, and are scrubbed from everything it prints.
//
// The backend builds and runs on Linux as well, so that its plumbing can be
// tested there against stand-in executables (see Options.ToolRoot).
package darwin

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Defaults used when an Options field is zero.
const (
	// DefaultTimeout bounds one command; installers and softwareupdate
	// can take long, so it is generous.
	DefaultTimeout = 30 * time.Minute
	// DefaultOutputCap is the number of bytes kept of each of a command's
	// stdout and stderr.
	DefaultOutputCap = 8 << 20
	// DefaultDownloadTimeout bounds one download.
	DefaultDownloadTimeout = 30 * time.Minute
	// DefaultMaxDownload caps a download whose size is not pinned.
	DefaultMaxDownload = 8 << 30
)

// Options configures a Host. The zero value is the production setup.
type Options struct {
	// ToolRoot, when set, is prepended to every program path: argv[0]
	// /usr/bin/x runs ToolRoot+/usr/bin/x, while the program still sees
	// /usr/bin/x as its argv[0]. Tests use it to run stand-in executables.
	ToolRoot string
	// Timeout is the default bound of one command (DefaultTimeout when 0).
	Timeout time.Duration
	// OutputCap is the number of bytes kept of each output stream; when a
	// stream is longer its tail is kept (DefaultOutputCap when 0).
	OutputCap int64
	// AllowHTTPLoopback lets Download fetch plain http URLs from
	// 127.0.0.1 (for tests); every other URL must be https.
	AllowHTTPLoopback bool
	// Lookup resolves an account name to its uid, primary gid,
	// supplementary groups and home directory. It defaults to os/user.
	Lookup func(name string) (uid, gid int, groups []int, home string, err error)
	// LookupGroup resolves a group name to its gid. It defaults to os/user.
	LookupGroup func(name string) (gid int, err error)
	// DownloadTimeout bounds one download (DefaultDownloadTimeout when 0).
	DownloadTimeout time.Duration
	// MaxDownload caps a download whose size is not pinned
	// (DefaultMaxDownload when 0).
	MaxDownload int64
	// Transport carries download requests; nil means a clone of
	// http.DefaultTransport. Tests pass the transport of a TLS test server.
	Transport http.RoundTripper
	// Progress is where a download progress bar is drawn, and only when
	// it is a terminal; nil means os.Stderr.
	Progress *os.File
}

// Host is the real macOS backend. It is safe for concurrent use.
type Host struct {
	opts   Options
	client *http.Client
	// names caches user and group names by id (see idName).
	names sync.Map
}

var _ host.Host = (*Host)(nil)

// New returns a Host configured by opts.
func New(opts Options) (*Host, error) {
	if opts.ToolRoot != "" {
		if !filepath.IsAbs(opts.ToolRoot) {
			return nil, fmt.Errorf("darwin: tool root %q is not an absolute path", opts.ToolRoot)
		}
		opts.ToolRoot = filepath.Clean(opts.ToolRoot)
	}
	if opts.Timeout < 0 || opts.OutputCap < 0 || opts.DownloadTimeout < 0 || opts.MaxDownload < 0 {
		return nil, errors.New("darwin: negative timeout or size in options")
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.OutputCap == 0 {
		opts.OutputCap = DefaultOutputCap
	}
	if opts.DownloadTimeout == 0 {
		opts.DownloadTimeout = DefaultDownloadTimeout
	}
	if opts.MaxDownload == 0 {
		opts.MaxDownload = DefaultMaxDownload
	}
	if opts.Lookup == nil {
		opts.Lookup = lookupUser
	}
	if opts.LookupGroup == nil {
		opts.LookupGroup = lookupGroup
	}
	if opts.Progress == nil {
		opts.Progress = os.Stderr
	}
	h := &Host{opts: opts}
	h.client = h.newClient()
	return h, nil
}

// Name implements host.Host.
func (h *Host) Name() string { return "darwin" }

// principal is an account resolved for running a command.
type principal struct {
	name   string
	uid    int
	gid    int
	groups []int
	home   string
	// drop says whether the child must switch to uid/gid/groups.
	drop bool
}

// resolve looks up the account that runs a command and decides whether
// the child needs a credential switch. Root runs as the current process.
func (h *Host) resolve(name string) (principal, error) {
	return h.resolveAs(name, os.Getuid())
}

// resolveAs is resolve for a process running as uid self.
func (h *Host) resolveAs(name string, self int) (principal, error) {
	uid, gid, groups, home, err := h.opts.Lookup(name)
	if err != nil {
		return principal{}, fmt.Errorf("principal %q: %w", name, err)
	}
	p := principal{name: name, uid: uid, gid: gid, groups: groups, home: home}
	switch {
	case name == host.Root && self == 0:
		// hvfctl runs as root: the child simply inherits that.
	case self == 0:
		p.drop = true
	case uid == self:
		// Not root, but asked to run as ourselves: nothing to switch.
	default:
		return principal{}, fmt.Errorf("cannot run a command as %q: hvfctl runs as uid %d, not root (run it with sudo)", name, self)
	}
	return p, nil
}

// lookupUser resolves an account with os/user.
func lookupUser(name string) (uid, gid int, groups []int, home string, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, nil, "", fmt.Errorf("look up user: %w", err)
	}
	if uid, err = strconv.Atoi(u.Uid); err != nil {
		return 0, 0, nil, "", fmt.Errorf("user %s: uid %q: %w", name, u.Uid, err)
	}
	if gid, err = strconv.Atoi(u.Gid); err != nil {
		return 0, 0, nil, "", fmt.Errorf("user %s: gid %q: %w", name, u.Gid, err)
	}
	ids, gerr := u.GroupIds()
	if gerr != nil {
		// Without a group database answer the primary group still applies.
		ids = []string{u.Gid}
	}
	for _, s := range ids {
		g, err := strconv.Atoi(s)
		if err != nil {
			return 0, 0, nil, "", fmt.Errorf("user %s: group id %q: %w", name, s, err)
		}
		groups = append(groups, g)
	}
	return uid, gid, groups, u.HomeDir, nil
}

// lookupGroup resolves a group name with os/user.
func lookupGroup(name string) (int, error) {
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, fmt.Errorf("look up group: %w", err)
	}
	gid, err := strconv.Atoi(g.Gid)
	if err != nil {
		return 0, fmt.Errorf("group %s: gid %q: %w", name, g.Gid, err)
	}
	return gid, nil
}
