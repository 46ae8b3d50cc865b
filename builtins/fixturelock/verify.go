package fixturelock

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"sort"
	"sync"
)

// DefaultBufferSize is the size of each hashing worker's read buffer.
const DefaultBufferSize = 1 << 20

// Progress is told how hashing advances (a terminal progress bar). Add is
// called concurrently from the hashing workers.
type Progress interface {
	// Start announces the number of bytes that will be hashed.
	Start(totalBytes int64)
	// Add reports n more bytes hashed.
	Add(n int64)
	// Finish is called once hashing has ended, successfully or not.
	Finish()
}

// Options tunes Lock and Verify. The zero value is ready to use.
type Options struct {
	// Workers is the number of files hashed at once; 0 means one per CPU.
	Workers int
	// BufferSize is the read buffer of each worker; 0 means
	// DefaultBufferSize. The buffers are allocated once per run: memory
	// use is Workers × BufferSize whatever the size of the files.
	BufferSize int
	// Progress, when set, is told how hashing advances.
	Progress Progress
	// OpenDir opens the root of a local tree (VerifyDir, LockDir); nil
	// means os.Open, which follows symlinks anywhere in the path. hvfctl
	// running as root passes the backend's root walk (builtins/darwin
	// OpenDir), which crosses only symlinks root made in root-only
	// directories and refuses a root that is itself a link.
	OpenDir func(dir string) (*os.File, error)
	// ReadFile reads the manifest of VerifyDir (at most max bytes); nil
	// means host.ReadLocalFile, which follows symlinks in the path. The
	// darwin backend passes its own read (only root's links crossed).
	ReadFile func(path string, max int64) ([]byte, error)
	// Guard, when set, is asked about the absolute path of every entry of
	// the tree before anything is compared: an error stops the
	// verification and nothing of the tree is reported (a recipe's
	// fixtures.verify passes the session's read rule, so that a tree
	// holding a secret yields neither its digest, its size nor a match).
	Guard func(path string) error
}

func (o Options) workers(jobs int) int {
	w := o.Workers
	if w <= 0 {
		w = runtime.NumCPU()
	}
	if w > jobs {
		w = jobs
	}
	if w < 1 {
		w = 1
	}
	return w
}

func (o Options) bufferSize() int {
	if o.BufferSize <= 0 {
		return DefaultBufferSize
	}
	return o.BufferSize
}

// Change is a path present in both the manifest and the tree whose
// content, type or link target differs.
type Change struct {
	// Path is the raw relative path.
	Path string
	// Reason says what differs, e.g. "size 10, want 12".
	Reason string
}

// Report is the outcome of a verification. Paths are raw relative paths,
// sorted.
type Report struct {
	// Files and Links count the manifest's entries; Bytes is the total
	// size of its files.
	Files int
	Links int
	Bytes int64
	// Missing lists entries of the manifest absent from the tree.
	Missing []string
	// Extra lists entries of the tree absent from the manifest.
	Extra []string
	// Changed lists entries present in both that differ.
	Changed []Change
}

// OK reports whether the tree matches its manifest exactly.
func (r Report) OK() bool { return len(r.Missing) == 0 && len(r.Extra) == 0 && len(r.Changed) == 0 }

// ChangedPaths returns the paths of Changed.
func (r Report) ChangedPaths() []string {
	out := make([]string, len(r.Changed))
	for i, c := range r.Changed {
		out[i] = c.Path
	}
	return out
}

// Lock lists and hashes src and returns its manifest. A node that is
// neither a regular file nor a symbolic link is an error naming it.
func Lock(ctx context.Context, src Source, opts Options) (*Manifest, error) {
	nodes, err := src.List(ctx)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", src.Root(), err)
	}
	if err := sortNodes(src, nodes); err != nil {
		return nil, err
	}
	var jobs []hashJob
	m := &Manifest{Entries: make([]Entry, len(nodes))}
	for i, n := range nodes {
		switch n.Type {
		case TypeFile:
			m.Entries[i] = Entry{Path: n.Path, Type: TypeFile, Size: n.Size, SHA256: n.SHA256}
			if n.SHA256 == "" {
				jobs = append(jobs, hashJob{index: i, path: n.Path, size: n.Size})
			}
		case TypeLink:
			if n.Target == "" {
				return nil, fmt.Errorf("%s: link %s has an empty target", src.Root(), Escape(n.Path))
			}
			m.Entries[i] = Entry{Path: n.Path, Type: TypeLink, Target: n.Target}
		default:
			return nil, fmt.Errorf("%s: %s is a %s: a fixture tree holds only regular files, directories and symbolic links", src.Root(), Escape(n.Path), n.Kind)
		}
	}
	results, err := hashAll(ctx, src, jobs, opts)
	if err != nil {
		return nil, err
	}
	for _, r := range results {
		e := &m.Entries[r.index]
		e.SHA256 = r.sum
		// The size that was hashed is the size recorded: a file that grew
		// between listing and hashing is locked as it was read.
		e.Size = r.size
	}
	return m, nil
}

// Verify compares src with m. The error is non-nil only when the
// verification could not be carried out (an unreadable directory or
// file, cancellation); differences are in the Report.
func Verify(ctx context.Context, src Source, m *Manifest, opts Options) (Report, error) {
	var rep Report
	nodes, err := src.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("list %s: %w", src.Root(), err)
	}
	if err := sortNodes(src, nodes); err != nil {
		return rep, err
	}
	if opts.Guard != nil {
		for _, n := range nodes {
			if err := opts.Guard(path.Join(src.Root(), n.Path)); err != nil {
				return rep, fmt.Errorf("verify %s: %w", src.Root(), err)
			}
		}
	}
	type pending struct {
		path string
		want Entry
	}
	var jobs []hashJob
	var checks []pending
	i, j := 0, 0
	for i < len(m.Entries) || j < len(nodes) {
		switch {
		case j >= len(nodes) || (i < len(m.Entries) && m.Entries[i].Path < nodes[j].Path):
			rep.Missing = append(rep.Missing, m.Entries[i].Path)
			i++
			continue
		case i >= len(m.Entries) || nodes[j].Path < m.Entries[i].Path:
			rep.Extra = append(rep.Extra, nodes[j].Path)
			j++
			continue
		}
		want, have := m.Entries[i], nodes[j]
		i++
		j++
		if reason := compareMeta(want, have); reason != "" {
			rep.Changed = append(rep.Changed, Change{Path: want.Path, Reason: reason})
			continue
		}
		if want.Type != TypeFile {
			continue
		}
		if have.SHA256 != "" {
			if have.SHA256 != want.SHA256 {
				rep.Changed = append(rep.Changed, Change{Path: want.Path, Reason: contentReason(have.SHA256, want.SHA256)})
			}
			continue
		}
		jobs = append(jobs, hashJob{index: len(checks), path: want.Path, size: have.Size})
		checks = append(checks, pending{path: want.Path, want: want})
	}
	for _, e := range m.Entries {
		if e.Type == TypeFile {
			rep.Files++
			rep.Bytes += e.Size
		} else {
			rep.Links++
		}
	}
	results, err := hashAll(ctx, src, jobs, opts)
	if err != nil {
		return Report{}, err
	}
	for _, r := range results {
		c := checks[r.index]
		switch {
		case r.size != c.want.Size:
			rep.Changed = append(rep.Changed, Change{Path: c.path, Reason: fmt.Sprintf("size %d, want %d (changed while verifying)", r.size, c.want.Size)})
		case r.sum != c.want.SHA256:
			rep.Changed = append(rep.Changed, Change{Path: c.path, Reason: contentReason(r.sum, c.want.SHA256)})
		}
	}
	sort.Slice(rep.Changed, func(a, b int) bool { return rep.Changed[a].Path < rep.Changed[b].Path })
	return rep, nil
}

// compareMeta compares what is known without reading a file: the type,
// the size and the link target.
func compareMeta(want Entry, have Node) string {
	if have.Type != want.Type {
		what := have.Kind
		if have.Type == TypeFile || have.Type == TypeLink {
			what = have.Type.String()
		}
		return fmt.Sprintf("is a %s, want a %s", what, want.Type)
	}
	switch want.Type {
	case TypeLink:
		if have.Target != want.Target {
			return fmt.Sprintf("link target %s, want %s", Escape(have.Target), Escape(want.Target))
		}
	case TypeFile:
		if have.Size != want.Size {
			return fmt.Sprintf("size %d, want %d", have.Size, want.Size)
		}
	}
	return ""
}

func contentReason(have, want string) string {
	return fmt.Sprintf("content differs: sha256 %s, want %s", have, want)
}

type hashJob struct {
	index int
	path  string
	size  int64
}

type hashResult struct {
	index int
	sum   string
	size  int64
}

// hashAll hashes the jobs' files with a fixed pool of workers, each with
// one buffer for the whole run, largest files first so that a big file
// does not start last. Every unreadable file is reported, by path.
func hashAll(ctx context.Context, src Source, jobs []hashJob, opts Options) ([]hashResult, error) {
	if len(jobs) == 0 {
		return nil, nil
	}
	order := make([]hashJob, len(jobs))
	copy(order, jobs)
	sort.SliceStable(order, func(a, b int) bool { return order[a].size > order[b].size })
	if opts.Progress != nil {
		var total int64
		for _, j := range order {
			total += j.size
		}
		opts.Progress.Start(total)
		defer opts.Progress.Finish()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	feed := make(chan hashJob)
	results := make([]hashResult, len(order))
	errs := make([]error, len(order))
	slot := make(map[int]int, len(order))
	for k, j := range order {
		slot[j.index] = k
	}
	var wg sync.WaitGroup
	n := opts.workers(len(order))
	size := opts.bufferSize()
	for w := 0; w < n; w++ {
		buf := make([]byte, size)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range feed {
				sum, got, err := hashOne(ctx, src, j.path, buf, opts.Progress)
				k := slot[j.index]
				if err != nil {
					errs[k] = err
					continue
				}
				results[k] = hashResult{index: j.index, sum: sum, size: got}
			}
		}()
	}
feeding:
	for _, j := range order {
		select {
		case feed <- j:
		case <-ctx.Done():
			break feeding
		}
	}
	close(feed)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var failed []error
	for _, e := range errs {
		if e != nil {
			failed = append(failed, e)
		}
	}
	if len(failed) > 0 {
		sort.Slice(failed, func(a, b int) bool { return failed[a].Error() < failed[b].Error() })
		return nil, errors.Join(failed...)
	}
	return results, nil
}

// hashOne streams one file through SHA-256 with the worker's buffer.
func hashOne(ctx context.Context, src Source, path string, buf []byte, p Progress) (string, int64, error) {
	rc, err := src.Open(ctx, path)
	if err != nil {
		return "", 0, fmt.Errorf("cannot read %s: %w", Escape(path), err)
	}
	defer rc.Close()
	h := sha256.New()
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return "", 0, err
		}
		n, err := rc.Read(buf)
		if n > 0 {
			h.Write(buf[:n])
			total += int64(n)
			if p != nil {
				p.Add(int64(n))
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", 0, fmt.Errorf("cannot read %s: %w", Escape(path), err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), total, nil
}
