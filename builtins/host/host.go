// Package host defines how hvfctl talks to a Mac: the Host interface that
// both the real macOS backend (builtins/darwin) and the fake macOS
// (builtins/fakemac) implement, and the request and result types that cross
// it.
//
// Every command is an argv run as a named principal. There is no shell and
// no command string anywhere in this interface. Secrets travel only in
// EnvVar values or Stdin marked Secret; a Host never logs them and the
// Recorder scrubs them from everything it keeps.
//
// Besides commands, a Host offers four in-process primitives that hvfctl
// performs itself rather than through a macOS tool. They appear in
// transcripts with a pseudo argv whose first element is in angle brackets,
// so that fixtures can script or fault them like any command:
//
//	<read> PATH                       ReadFile
//	<write> PATH MODE OWNER:GROUP     WriteFile (atomic)
//	<download> URL DEST               Download (size and SHA-256 verified)
//	<sha256> PATH                     Hash
//	<tar-list> PATH                   ListArchive (member headers, read in Go)
//	<tar-extract> ARCHIVE DEST        ExtractArchive (as root, in Go, fd-relative)
package host

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/sysprog21/hvfctl/builtins/tarcheck"
)

// Root is the principal name of the superuser.
const Root = "root"

// Pseudo argv[0] values of the in-process primitives (see the package doc).
const (
	OpRead     = "<read>"
	OpWrite    = "<write>"
	OpDownload = "<download>"
	OpHash     = "<sha256>"
	OpTarList  = "<tar-list>"
	// OpTarExtract is ExtractArchive: `<tar-extract> ARCHIVE DEST`.
	OpTarExtract = "<tar-extract>"
)

// EnvVar is one environment variable set for a command. A Secret value is
// never shown, logged or recorded.
type EnvVar struct {
	Name   string
	Value  string
	Secret bool
}

// Command is one argv to run on the host.
type Command struct {
	// Argv is the program (an absolute path) and its arguments. It is
	// passed to the program exactly, never through a shell.
	Argv []string
	// User is the principal that runs the command: Root or an account name.
	// An empty User means Root.
	User string
	// Dir is the working directory; empty means the principal's home.
	Dir string
	// Env is the environment set for the command on top of the minimal
	// one the backend builds for the principal (HOME, USER, LOGNAME, PATH,
	// LANG). A variable named here replaces the backend's.
	Env []EnvVar
	// Stdin is fed to the command's standard input.
	Stdin []byte
	// StdinSecret marks Stdin as secret.
	StdinSecret bool
	// TTY runs the command on a pseudo-terminal (for tools that only read
	// a password from a terminal, such as `sysadminctl -password -`).
	TTY bool
	// Timeout bounds the command; zero means the backend's default.
	Timeout time.Duration
	// Paths are the files and directories the program looks up itself,
	// as the builtin that builds the argv declares them: operands such
	// as installer's -pkg PKG or tar's -C DEST, and paths the program
	// uses without naming them in argv (a package's footprint). A string
	// that merely starts with "/" (a Directory Services record path such
	// as /Users/NAME) is not one. When the command runs as uid 0, the
	// backend refuses to start it unless each of these, the program and
	// Dir pass RootOnly (see CheckCommand).
	Paths []string
	// Verified are files whose content hvfctl checked before the command
	// (an archive whose members tar.extract decided on): they must pass
	// RootOnly whatever the principal, or the program could read other
	// bytes than the ones checked.
	Verified []string
}

// Principal returns the principal name, with the empty name meaning Root.
func (c Command) Principal() string {
	if c.User == "" {
		return Root
	}
	return c.User
}

// Secrets returns every secret value the command carries.
func (c Command) Secrets() []string {
	var out []string
	for _, e := range c.Env {
		if e.Secret && e.Value != "" {
			out = append(out, e.Value)
		}
	}
	if c.StdinSecret && len(c.Stdin) > 0 {
		out = append(out, string(c.Stdin))
	}
	return out
}

// Result is what a command did. A non-zero Exit is not an error of Run:
// the caller judges the result (several macOS tools exit 0 on failure).
type Result struct {
	Stdout string
	Stderr string
	Exit   int
}

// WriteRequest asks for a file to be replaced atomically: written to a
// temporary file in the same directory, given its mode and owner, synced,
// then renamed over Path. A reader never sees a partial file.
type WriteRequest struct {
	Path  string
	Data  []byte
	Mode  fs.FileMode // permission bits only, always explicit
	Owner string      // user name
	Group string      // group name
}

// DownloadRequest asks for URL to be fetched to Dest. The bytes land in a
// temporary file, their size and SHA-256 are checked against the pins, and
// only then is the file given its mode and owner and renamed to Dest. On
// any mismatch nothing is left at Dest.
type DownloadRequest struct {
	URL    string
	Dest   string
	SHA256 string // 64 lower-case hex digits, required
	Size   int64  // expected size in bytes; 0 means not pinned
	Mode   fs.FileMode
	Owner  string
	Group  string
}

// ExtractRequest asks for a tar archive (gzip-compressed or not) to be
// extracted into Dest as root, in-process. The archive is opened once;
// when SHA256 is set, the bytes read from that descriptor must have it.
// Every member is decided on first (tarcheck.Check); only then is
// anything created, each entry relative to a directory handle of Dest,
// never through a symlink, whether Dest already held it or the archive
// made it. Everything extracted is owned by root:wheel (uid 0, gid 0)
// with the archive's permission bits less the setuid, setgid, sticky and
// group/other write bits; Dest itself is not changed.
type ExtractRequest struct {
	Archive string
	Dest    string
	SHA256  string // 64 lower-case hex digits, or "" when not pinned
}

// ExtractArgv is the pseudo argv under which an extraction is shown and
// recorded.
func ExtractArgv(req ExtractRequest) []string {
	return []string{OpTarExtract, req.Archive, req.Dest}
}

// Host is a Mac that hvfctl can observe and change.
type Host interface {
	// Name identifies the backend ("darwin", "fake").
	Name() string
	// Run executes cmd and returns its result. The error is non-nil only
	// when the command could not be run at all (unknown program, refused
	// principal, cancelled context, timeout).
	Run(ctx context.Context, cmd Command) (Result, error)
	// ReadFile reads at most max bytes of path as root.
	// A missing file gives an error satisfying errors.Is(err, fs.ErrNotExist);
	// an unreadable one errors.Is(err, fs.ErrPermission).
	ReadFile(ctx context.Context, path string, max int64) ([]byte, error)
	// WriteFile atomically replaces a file (see WriteRequest).
	WriteFile(ctx context.Context, req WriteRequest) error
	// Download fetches and verifies a file (see DownloadRequest).
	Download(ctx context.Context, req DownloadRequest) error
	// Hash returns the lower-case hex SHA-256 and size of a file, computed
	// with shasum -a 256 semantics (the bytes of the file, binary mode).
	Hash(ctx context.Context, path string) (sum string, size int64, err error)
	// ListArchive reads the member headers of the tar archive at path
	// (gzip-compressed or not) as root, in-process, extracting nothing:
	// tar extraction is decided from them by tarcheck.Check, never from
	// a `tar -t` listing.
	ListArchive(ctx context.Context, path string) ([]tarcheck.Entry, error)
	// ExtractArchive extracts an archive as root (see ExtractRequest).
	// A SHA-256 mismatch wraps ErrChecksum; an archive tarcheck refuses
	// leaves Dest untouched.
	ExtractArchive(ctx context.Context, req ExtractRequest) error
}

// ErrChecksum is wrapped by Download errors when the fetched bytes do not
// match the pinned size or SHA-256.
var ErrChecksum = errors.New("checksum mismatch")

// ErrHTMLPage is wrapped, together with ErrChecksum, by Download errors
// when the server sent a web page where the pinned file was expected (a
// bot challenge, a login or an error page answered with 200 OK).
var ErrHTMLPage = errors.New("the server returned an HTML page, not the package")

// ErrUnsupported is wrapped by errors for commands or flags a backend does
// not know how to run (the fake macOS uses it for unemulated argv).
var ErrUnsupported = errors.New("unsupported command")
