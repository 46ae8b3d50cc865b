package fakemac

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// State is everything the fake Mac knows. It is what Save writes and Load
// reads; a fixture is a partial State merged over a preset (see Load).
// Every field is plain data so that two states compare byte for byte
// through Snapshot.
type State struct {
	// System holds sw_vers facts.
	System System `json:"system"`
	// Sysctl maps sysctl names to values (kern.osproductversion and
	// kern.osversion are derived from System).
	Sysctl map[string]string `json:"sysctl"`
	// Clock is the simulated time in Unix seconds; every command advances
	// it by one second.
	Clock int64 `json:"clock"`
	// NextPID is the next process id handed out (NSLog prefixes, launchd
	// jobs).
	NextPID int `json:"next_pid"`
	// ConsoleUser is who is logged in at the GUI ("" headless).
	ConsoleUser string `json:"console_user"`

	Users  map[string]*User  `json:"users"`
	Groups map[string]*Group `json:"groups"`
	// Files maps absolute real paths (symlinks not resolved) to nodes.
	Files map[string]*Node `json:"files"`

	FileVault FileVault `json:"filevault"`
	// Spotlight maps a path to the status line mdutil prints for it
	// ("Indexing enabled.", "Indexing disabled.", ...). A path without
	// an entry takes the status of its nearest listed ancestor.
	Spotlight map[string]string `json:"spotlight"`
	Power     Power             `json:"power"`
	CLT       CLT               `json:"clt"`
	// Receipts are installed package receipts by package id.
	Receipts map[string]*Receipt `json:"receipts"`
	Brew     Brew                `json:"brew"`
	Launchd  Launchd             `json:"launchd"`
	// Processes are the running processes other than launchd (pid 1)
	// and the jobs launchd runs (a running job of the system domain or
	// of a GUI session is a process of its UserName, or of the session's
	// user): what a job left behind, a login at the console. `ps` lists
	// them all.
	Processes []Process `json:"processes,omitempty"`
	// Defaults maps a domain (an absolute plist path without .plist, or
	// "~USER/DOMAIN" for a user's domain) to string keys.
	Defaults map[string]map[string]string `json:"defaults"`
	// ICloud maps a user to the Apple ID signed in ("" means the
	// MobileMeAccounts domain exists with an empty Accounts array).
	ICloud map[string]string `json:"icloud"`
	TCC    TCC               `json:"tcc"`
	Runner RunnerService     `json:"runner_service"`
	// Boots records each restart: how it was asked for ("shutdown -r" or
	// "fdesetup authrestart") and whether the data volume came up
	// unlocked (LaunchDaemons run) or waits at the FileVault screen.
	Boots []Boot `json:"boots,omitempty"`
	Disk  Disk   `json:"disk"`
	// URLs is the download table.
	URLs map[string]*URL `json:"urls"`
	// Archives are tarball entry lists by key (URL.Archive, Node.Archive).
	Archives map[string][]TarEntry `json:"archives"`
	// Packages are installer packages by key (URL.Package, Node.Package).
	Packages map[string]*Package `json:"packages"`

	// Comment says where a fixture came from (a recorded Mac's fixture
	// names the hvfctl command, the macOS version and what was scrubbed).
	Comment string `json:"comment,omitempty"`
	// Backend, when set, is the name the fake reports for itself: a
	// recorded fixture names the backend it was recorded on ("darwin"),
	// so that its replay prints the same report.
	Backend string `json:"backend,omitempty"`
	// Responses are scripted replies for an exact argv (DESIGN.md).
	Responses []Response `json:"responses,omitempty"`
	// Faults make the nth command matching a prefix fail (DESIGN.md).
	Faults []Fault `json:"faults,omitempty"`
}

// System is what sw_vers reports.
type System struct {
	ProductName    string `json:"product_name"`
	ProductVersion string `json:"product_version"`
	BuildVersion   string `json:"build_version"`
}

// User is a local account.
type User struct {
	UID      int    `json:"uid"`
	GID      int    `json:"gid"`
	Home     string `json:"home"`
	Shell    string `json:"shell"`
	RealName string `json:"real_name"`
	// Aliases are further RecordName values (e.g. `BUILTIN\Local System`).
	Aliases      []string `json:"aliases,omitempty"`
	GeneratedUID string   `json:"generated_uid"`
	SecureToken  bool     `json:"secure_token"`
	// HasPassword says a password is set; the password itself is never
	// kept.
	HasPassword bool `json:"has_password"`
}

// Group is a local group.
type Group struct {
	GID     int      `json:"gid"`
	Members []string `json:"members,omitempty"`
}

// Mode is a file mode (permission and special bits), written in JSON as
// an octal string such as "0755".
type Mode uint32

// MarshalJSON implements json.Marshaler.
func (m Mode) MarshalJSON() ([]byte, error) {
	return json.Marshal(fmt.Sprintf("%04o", uint32(m)))
}

// UnmarshalJSON implements json.Unmarshaler.
func (m *Mode) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("mode must be an octal string such as \"0755\", got %s", b)
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 07777 {
		return fmt.Errorf("mode %q is not an octal mode", s)
	}
	*m = Mode(v)
	return nil
}

// Node types.
const (
	TypeFile    = "file"    // a regular file
	TypeDir     = "dir"     // a directory
	TypeSymlink = "symlink" // a symbolic link
	TypeFIFO    = "fifo"    // a named pipe (mkfifo): opening it to read blocks until a writer comes
	TypeChar    = "char"    // a character device (/dev/null, /dev/tty)
	TypeBlock   = "block"   // a block device (/dev/disk0)
	TypeSocket  = "socket"  // a UNIX-domain socket
)

// Node is one file system object.
type Node struct {
	Type  string   `json:"type"`
	Mode  Mode     `json:"mode"`
	Owner string   `json:"owner"`
	Group string   `json:"group"`
	ACL   []string `json:"acl,omitempty"`
	// Content is the bytes of a small file. When nil, Size and SHA256
	// describe a large file whose bytes are not modelled.
	Content *string `json:"content,omitempty"`
	Size    int64   `json:"size,omitempty"`
	SHA256  string  `json:"sha256,omitempty"`
	Target  string  `json:"target,omitempty"`
	MTime   int64   `json:"mtime"`
	// Archive names State.Archives entry for a tarball file.
	Archive string `json:"archive,omitempty"`
	// Package names a State.Packages entry for a .pkg file.
	Package string `json:"package,omitempty"`
	// Signature is set for code-signed executables.
	Signature *Signature `json:"signature,omitempty"`
	// Ino, when not zero, is the inode number of a file that has several
	// names (hard links): every path whose node has the same Ino is the
	// same file, sharing its mode, owner, content or target and link
	// count (a fixture repeats the node under each name; Load joins them).
	// Any non-directory may be hard-linked: macOS's linkat without
	// AT_SYMLINK_FOLLOW links a symlink itself.
	Ino int64 `json:"ino,omitempty"`
}

// Signature is a code signature as codesign shows it.
type Signature struct {
	// Entitlements maps entitlement keys to their boolean values.
	Entitlements map[string]bool `json:"entitlements,omitempty"`
}

// FileVault is the disk encryption state fdesetup reports.
type FileVault struct {
	Enabled bool `json:"enabled"`
	// Progress is "", "encrypting", "decrypting" or "pending".
	Progress string  `json:"progress,omitempty"`
	Percent  float64 `json:"percent,omitempty"`
	// HideStatus drops the "FileVault is On/Off." line (seen while a
	// conversion is in progress).
	HideStatus   bool   `json:"hide_status,omitempty"`
	DeferredUser string `json:"deferred_user,omitempty"`
	// NoAuthRestart makes `fdesetup supportsauthrestart` say false.
	NoAuthRestart bool `json:"no_authrestart,omitempty"`
	// UnlockSecret, when set, is the only credential `fdesetup
	// authrestart` accepts (a fixture's stand-in for a FileVault user's
	// password); otherwise any non-empty one is. Never a real secret.
	UnlockSecret string `json:"unlock_secret,omitempty"`
}

// Power is the pmset state.
type Power struct {
	// Sources maps "AC Power" (and "Battery Power" or "UPS Power" on
	// hardware that has them) to settings.
	Sources map[string]map[string]string `json:"sources"`
	// SleepPreventedBy names processes shown after the sleep value.
	SleepPreventedBy []string `json:"sleep_prevented_by,omitempty"`
}

// CLT is the Command Line Tools state.
type CLT struct {
	// Selected is the xcode-select path ("" = default: the CLT directory
	// when installed).
	Selected string `json:"selected,omitempty"`
	// Available lists the softwareupdate labels offered while the
	// on-demand marker exists.
	Available []string `json:"available"`
}

// Receipt is a package receipt.
type Receipt struct {
	Version     string   `json:"version"`
	Volume      string   `json:"volume"`
	Location    string   `json:"location"`
	InstallTime int64    `json:"install_time"`
	Files       []string `json:"files,omitempty"`
}

// Brew is the Homebrew state beyond its files.
type Brew struct {
	// Version is what `brew --version` reports ("" = HomebrewVersion);
	// the .pkg postinstall sets it to the package's version.
	Version string `json:"version,omitempty"`
	// Formulae maps an installed formula to its installed versions.
	Formulae map[string][]string `json:"formulae"`
	// Casks maps an installed cask to its installed versions.
	Casks map[string][]string `json:"casks"`
	Taps  []string            `json:"taps,omitempty"`
	// Trust maps a user to the tap items that user trusts.
	Trust map[string][]string `json:"trust,omitempty"`
	// SudoCached says the owner has a cached sudo ticket (needed by .pkg
	// casks under NONINTERACTIVE=1).
	SudoCached bool `json:"sudo_cached,omitempty"`
}

// Launchd is the system domain.
type Launchd struct {
	Jobs map[string]*Job `json:"jobs"`
	// Disabled lists labels disabled with `launchctl disable`.
	Disabled map[string]bool `json:"disabled,omitempty"`
	// MaxFiles is launchd's RLIMIT_NOFILE for its jobs, soft and hard,
	// as `launchctl limit maxfiles` prints them ("" = macOS's default,
	// 256 and unlimited).
	MaxFiles []string `json:"maxfiles,omitempty"`
	// GUI holds the GUI login domains (gui/UID): a user listed here is
	// logged in at the console, and Jobs are the LaunchAgents loaded in
	// that session. A user not listed has no gui domain (launchctl exits
	// 112 "Could not find domain").
	GUI map[string]*GUISession `json:"gui,omitempty"`
}

// GUISession is one user's GUI login session.
type GUISession struct {
	Jobs map[string]*Job `json:"jobs"`
}

// Job is a loaded launchd job.
type Job struct {
	Path             string   `json:"path"`
	Program          string   `json:"program"`
	Arguments        []string `json:"arguments,omitempty"`
	UserName         string   `json:"user_name,omitempty"`
	GroupName        string   `json:"group_name,omitempty"`
	WorkingDirectory string   `json:"working_directory,omitempty"`
	// StdoutPath and StderrPath are the plist's StandardOutPath and
	// StandardErrorPath, opened at every start (openLogs).
	StdoutPath string `json:"stdout_path,omitempty"`
	StderrPath string `json:"stderr_path,omitempty"`
	State      string `json:"state"`
	PID        int    `json:"pid,omitempty"`
	LastExit   string `json:"last_exit"`
	Runs       int    `json:"runs,omitempty"`
	// BootingOut marks a job being removed: `print` shows it once more,
	// then it is gone (launchctl bootout is asynchronous).
	BootingOut bool `json:"booting_out,omitempty"`
}

// Process is a running process that no launchd job accounts for: what a
// CI job left running (a daemonized child of a step outlives its job
// with launchd, pid 1, as its parent), a login at the console, or a
// descendant of a running job (PPID the job's pid).
type Process struct {
	PID int `json:"pid"`
	// PPID is its parent's pid; 0 (unset) means launchd (1), which
	// adopts every orphan.
	PPID int `json:"ppid,omitempty"`
	// User is the account it runs as (its effective uid).
	User string `json:"user"`
	// Name is its accounting name (ps's ucomm): the executable's file
	// name, at most 16 bytes; unset, the file name of Command's first
	// word.
	Name string `json:"name,omitempty"`
	// Command is what it runs (for people reading the fixture; ps as
	// hvfctl runs it never prints arguments).
	Command string `json:"command,omitempty"`
}

// TCC is the privacy database.
type TCC struct {
	// Readable says the calling process has Full Disk Access.
	Readable bool       `json:"readable"`
	Grants   []TCCGrant `json:"grants,omitempty"`
}

// TCCGrant is one row of the access table.
type TCCGrant struct {
	Service   string `json:"service"`
	Client    string `json:"client"`
	AuthValue int    `json:"auth_value"`
}

// Boot is one simulated restart.
type Boot struct {
	How   string `json:"how"`
	Clock int64  `json:"clock"`
	// Locked is true when FileVault stopped the boot at the unlock
	// screen: no LaunchDaemon runs until someone unlocks the Mac.
	Locked bool `json:"locked,omitempty"`
}

// RunnerService models GitHub's side of runner registration.
type RunnerService struct {
	// ValidToken, when set, is the only registration token GitHub
	// accepts; otherwise any token of the real shape is accepted.
	ValidToken string `json:"valid_token,omitempty"`
	// Registered maps "URL NAME" to the agent id.
	Registered map[string]int `json:"registered,omitempty"`
	NextID     int            `json:"next_id"`
}

// Disk is the APFS data volume.
type Disk struct {
	Device    string `json:"device"`
	TotalKiB  int64  `json:"total_kib"`
	FreeBytes int64  `json:"free_bytes"`
	IUsed     int64  `json:"iused"`
}

// URL is one entry of the download table: either Content, or Size and
// SHA256 of bytes that are not modelled. Archive and Package say what the
// downloaded file is.
type URL struct {
	Content *string `json:"content,omitempty"`
	Size    int64   `json:"size,omitempty"`
	SHA256  string  `json:"sha256,omitempty"`
	Archive string  `json:"archive,omitempty"`
	Package string  `json:"package,omitempty"`
	// HTML makes the server answer with a web page instead of the file
	// (developer.arm.com's challenge to clients that are neither a
	// browser nor curl).
	HTML bool `json:"html,omitempty"`
	// Note documents where the entry comes from.
	Note string `json:"note,omitempty"`
}

// TarEntry is one member of a tarball.
type TarEntry struct {
	Name   string `json:"name"`
	Type   string `json:"type"`
	Mode   Mode   `json:"mode"`
	Size   int64  `json:"size,omitempty"`
	Target string `json:"target,omitempty"`
	UName  string `json:"uname"`
	GName  string `json:"gname"`
	UID    int    `json:"uid"`
	GID    int    `json:"gid"`
	MTime  int64  `json:"mtime"`
}

// Package is an installer package.
type Package struct {
	ID      string `json:"id"`
	Version string `json:"version"`
	Title   string `json:"title"`
	// Payload is created on install, owned as listed.
	Payload []PayloadItem `json:"payload,omitempty"`
	// Script names built-in postinstall behaviour ("homebrew").
	Script string `json:"script,omitempty"`
}

// PayloadItem is one file a package installs.
type PayloadItem struct {
	Path   string `json:"path"`
	Type   string `json:"type"`
	Mode   Mode   `json:"mode"`
	Owner  string `json:"owner"`
	Group  string `json:"group"`
	Size   int64  `json:"size,omitempty"`
	Target string `json:"target,omitempty"`
}

// Response is a scripted reply (DESIGN.md, fixed shape, plus the
// optional user). Exit NotRun means the command could not be started at
// all (no such program, no such account): the backend's error, whose
// text is Stderr, is returned instead of a result.
type Response struct {
	Argv []string `json:"argv"`
	// User, when set, limits the reply to commands run as that
	// principal (recorded fixtures name it: `defaults read` as the runner
	// account and as root answer differently).
	User   string `json:"user,omitempty"`
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Exit   int    `json:"exit"`
}

// NotRun is the Response.Exit of a command that could not be started.
const NotRun = -1

// Fault fails the nth command whose argv starts with ArgvPrefix
// (DESIGN.md, fixed shape). Seen counts matches so far, so a saved state
// continues where it stopped.
type Fault struct {
	ArgvPrefix []string `json:"argv_prefix"`
	Nth        int      `json:"nth"`
	Exit       int      `json:"exit"`
	Stderr     string   `json:"stderr"`
	Seen       int      `json:"seen,omitempty"`
}
