package host

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// Pseudo argv[0] of the in-process file queries (see FileQuerier), as
// transcripts, plans and fixtures show them.
const (
	OpStat = "<stat>" // <stat> PATH...: one batched lstat of every PATH
	OpList = "<list>" // <list> DIR: the names in DIR
)

// PathStat is the answer of a batched stat for one path: Info, or Err
// when the path could not be looked at (a missing path or one below a
// non-directory is an Err satisfying errors.Is(err, fs.ErrNotExist) or
// errors.Is(err, syscall.ENOTDIR); a path through a symlink root did not
// make, one wrapping ErrUntrustedLink).
type PathStat struct {
	Path string
	Info FileInfo
	Err  error
}

// FileQuerier is implemented by hosts that answer the file queries of a
// recipe (files.stat and its batch, files.list) in-process, with the
// Inspector's rules: the path is walked from "/" as root walks it and a
// symlink in its middle is crossed only when root made it in a directory
// only root can change, never following a final one. Both backends
// implement it, the Recorder records it (OpStat, OpList) and the record
// Tape keeps its answers, so that a recording replays.
type FileQuerier interface {
	// StatPaths lstat's every path, one answer per path in order. Its
	// error is for the query as a whole (a cancelled context, a fault).
	StatPaths(ctx context.Context, paths []string) ([]PathStat, error)
	// ListDir lists the names in dir like Inspector.ReadDir.
	ListDir(ctx context.Context, dir string) ([]string, error)
}

// FileQuerierOf returns the FileQuerier of h: a Recorder's own (which
// records each query and forwards it), else h's.
func FileQuerierOf(h Host) (FileQuerier, bool) { return capability[FileQuerier](h) }

// StatEach answers StatPaths with in.Lstat, path by path.
func StatEach(ctx context.Context, in Inspector, paths []string) ([]PathStat, error) {
	out := make([]PathStat, 0, len(paths))
	for _, p := range paths {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fi, err := in.Lstat(ctx, p)
		out = append(out, PathStat{Path: p, Info: fi, Err: err})
	}
	return out, nil
}

// statRecord is one answer of StatPaths as EncodeStats writes it.
type statRecord struct {
	Path  string    `json:"path"`
	Info  *FileInfo `json:"info,omitempty"`
	Error string    `json:"error,omitempty"`
	// Kind is what the error is: "missing", "notdir", "link" (an
	// untrusted symlink on the way) or "" (anything else).
	Kind string `json:"kind,omitempty"`
}

// EncodeStats renders the answers of StatPaths as JSON (what a recording
// keeps as the stdout of `<stat> PATH...`); DecodeStats reads them back
// with errors of the same kinds.
func EncodeStats(sts []PathStat) (string, error) {
	recs := make([]statRecord, 0, len(sts))
	for _, st := range sts {
		r := statRecord{Path: st.Path}
		switch {
		case st.Err == nil:
			fi := st.Info
			r.Info = &fi
		default:
			r.Error = st.Err.Error()
			switch {
			case errors.Is(st.Err, fs.ErrNotExist):
				r.Kind = "missing"
			case errors.Is(st.Err, syscall.ENOTDIR):
				r.Kind = "notdir"
			case errors.Is(st.Err, ErrUntrustedLink):
				r.Kind = "link"
			}
		}
		recs = append(recs, r)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return "", fmt.Errorf("encoding stat answers: %w", err)
	}
	return string(b), nil
}

// DecodeStats reads what EncodeStats wrote.
func DecodeStats(s string) ([]PathStat, error) {
	var recs []statRecord
	if err := json.Unmarshal([]byte(s), &recs); err != nil {
		return nil, fmt.Errorf("decoding stat answers: %w", err)
	}
	out := make([]PathStat, 0, len(recs))
	for _, r := range recs {
		st := PathStat{Path: r.Path}
		switch {
		case r.Info != nil:
			st.Info = *r.Info
		case r.Kind == "missing":
			st.Err = &kindError{r.Error, fs.ErrNotExist}
		case r.Kind == "notdir":
			st.Err = &kindError{r.Error, syscall.ENOTDIR}
		case r.Kind == "link":
			st.Err = &kindError{r.Error, ErrUntrustedLink}
		default:
			st.Err = errors.New(r.Error)
		}
		out = append(out, st)
	}
	return out, nil
}

// kindError is a decoded error: its recorded text and its kind.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
