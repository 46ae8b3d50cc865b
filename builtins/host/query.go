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
	OpACL  = "<acl>"  // <acl> PATH...: one batched read of every PATH's ACL
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

// PathACL is the answer of a batched ACL read for one path: its entries
// in the text form `ls -le` prints after " N: " ("group:everyone deny
// delete"; empty when it has none), or Err with the kinds of PathStat.
type PathACL struct {
	Path    string
	Entries []string
	Err     error
}

// FileQuerier is implemented by hosts that answer the file queries of a
// recipe (files.stat and its batch, files.acl, files.list) in-process, with the
// Inspector's rules: the path is walked from "/" as root walks it and a
// symlink in its middle is crossed only when root made it in a directory
// only root can change, never following a final one. Both backends
// implement it, the Recorder records it (OpStat, OpACL, OpList) and the record
// Tape keeps its answers, so that a recording replays.
type FileQuerier interface {
	// StatPaths lstat's every path, one answer per path in order. Its
	// error is for the query as a whole (a cancelled context, a fault).
	StatPaths(ctx context.Context, paths []string) ([]PathStat, error)
	// ListDir lists the names in dir like Inspector.ReadDir.
	ListDir(ctx context.Context, dir string) ([]string, error)
	// ACLPaths reads the ACL of every path, one answer per path in
	// order, from the object the walk reached (never looked up again by
	// path): a final symlink's own ACL, never its target's. Its error is
	// for the query as a whole.
	ACLPaths(ctx context.Context, paths []string) ([]PathACL, error)
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
			r.Error, r.Kind = st.Err.Error(), errKind(st.Err)
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
		if r.Info != nil {
			st.Info = *r.Info
		} else {
			st.Err = kindErr(r.Error, r.Kind)
		}
		out = append(out, st)
	}
	return out, nil
}

// errKind names what an answer's error is: "missing", "notdir", "link"
// (an untrusted symlink on the way) or "" (anything else).
func errKind(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "missing"
	case errors.Is(err, syscall.ENOTDIR):
		return "notdir"
	case errors.Is(err, ErrUntrustedLink):
		return "link"
	}
	return ""
}

// kindErr is the decoded error of errKind's kind with its recorded text.
func kindErr(msg, kind string) error {
	switch kind {
	case "missing":
		return &kindError{msg, fs.ErrNotExist}
	case "notdir":
		return &kindError{msg, syscall.ENOTDIR}
	case "link":
		return &kindError{msg, ErrUntrustedLink}
	}
	return errors.New(msg)
}

// aclRecord is one answer of ACLPaths as EncodeACLs writes it; ACL is
// present (possibly empty) exactly when Error is empty.
type aclRecord struct {
	Path  string   `json:"path"`
	ACL   []string `json:"acl,omitempty"`
	Error string   `json:"error,omitempty"`
	Kind  string   `json:"kind,omitempty"`
}

// EncodeACLs renders the answers of ACLPaths as JSON (what a recording
// keeps as the stdout of `<acl> PATH...`); DecodeACLs reads them back
// with errors of the same kinds.
func EncodeACLs(as []PathACL) (string, error) {
	recs := make([]aclRecord, 0, len(as))
	for _, a := range as {
		r := aclRecord{Path: a.Path, ACL: a.Entries}
		if a.Err != nil {
			r.ACL, r.Error, r.Kind = nil, a.Err.Error(), errKind(a.Err)
			if r.Error == "" {
				r.Error = "error"
			}
		}
		recs = append(recs, r)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		return "", fmt.Errorf("encoding ACL answers: %w", err)
	}
	return string(b), nil
}

// DecodeACLs reads what EncodeACLs wrote.
func DecodeACLs(s string) ([]PathACL, error) {
	var recs []aclRecord
	if err := json.Unmarshal([]byte(s), &recs); err != nil {
		return nil, fmt.Errorf("decoding ACL answers: %w", err)
	}
	out := make([]PathACL, 0, len(recs))
	for _, r := range recs {
		a := PathACL{Path: r.Path}
		if r.Error != "" {
			a.Err = kindErr(r.Error, r.Kind)
		} else {
			a.Entries = r.ACL
			if a.Entries == nil {
				a.Entries = []string{}
			}
		}
		out = append(out, a)
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
