package fixturelock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// maxManifestSize bounds the manifest a verification reads (about a
// hundred thousand entries).
const maxManifestSize = 64 << 20

// ManifestMode is the permission of a written manifest.
const ManifestMode fs.FileMode = 0o644

// TreeVerifier is an optional capability of a host backend: verifying a
// fixture tree on the host against a manifest stored there. The real
// macOS backend does it on its local disk, the fake against its simulated
// file system. The recipe query fixtures.verify calls it.
type TreeVerifier interface {
	// VerifyTree verifies the tree at dir (absolute) against the manifest
	// file at manifest (absolute; when it lies inside dir it is left out
	// of the tree). The error is non-nil when the verification could not
	// be carried out: no or malformed manifest, unreadable file.
	// guard, when not nil, is Options.Guard.
	VerifyTree(ctx context.Context, dir, manifest string, guard func(path string) error) (Report, error)
}

// OpVerifyTree is the pseudo argv[0] under which a VerifyTree call is
// recorded in a run's transcript: `<verify-tree> DIR MANIFEST`.
const OpVerifyTree = "<verify-tree>"

// DefaultManifest returns the manifest's default place: DefaultName
// inside dir.
func DefaultManifest(dir string) string { return filepath.Join(dir, DefaultName) }

// Inside returns manifest's path relative to dir ("/"-separated) when it
// lies inside dir, and false otherwise. Both are cleaned first; neither is
// resolved on disk.
func Inside(dir, manifest string) (string, bool) {
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(manifest))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// ReadManifest reads and parses a manifest file. A missing file, an
// unreadable one and a malformed one are errors naming it.
func ReadManifest(path string) (*Manifest, error) { return readManifest(path, nil) }

// readManifest is ReadManifest through read (nil: host.ReadLocalFile).
func readManifest(path string, read func(string, int64) ([]byte, error)) (*Manifest, error) {
	if read == nil {
		read = host.ReadLocalFile
	}
	b, err := read(path, maxManifestSize)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("manifest %s does not exist (create it with `hvfctl fixtures lock`): %w", path, err)
		}
		return nil, fmt.Errorf("manifest: %w", err)
	}
	return Parse(bytes.NewReader(b), path)
}

// VerifyDir verifies the local directory dir against the manifest file at
// manifest ("" means DefaultManifest(dir)).
func VerifyDir(ctx context.Context, dir, manifest string, opts Options) (Report, error) {
	if manifest == "" {
		manifest = DefaultManifest(dir)
	}
	m, err := readManifest(manifest, opts.ReadFile)
	if err != nil {
		return Report{}, err
	}
	return Verify(ctx, dirSource(dir, manifest, opts), m, opts)
}

// LockDir locks the local directory dir and writes its manifest to out
// ("" means DefaultManifest(dir)) atomically. The manifest is left out of
// the tree it describes.
func LockDir(ctx context.Context, dir, out string, opts Options) (*Manifest, error) {
	if out == "" {
		out = DefaultManifest(dir)
	}
	m, err := Lock(ctx, dirSource(dir, out, opts), opts)
	if err != nil {
		return nil, err
	}
	if err := WriteManifest(out, m); err != nil {
		return nil, err
	}
	return m, nil
}

func dirSource(dir, manifest string, opts Options) DirSource {
	src := DirSource{Dir: dir, OpenDir: opts.OpenDir}
	if rel, ok := Inside(dir, manifest); ok {
		src.Exclude = []string{rel}
	}
	return src
}

// WriteManifest writes m to path atomically: a temporary file in the same
// directory gets mode ManifestMode and the owner and group of that
// directory (the fixture cache belongs to the runner account even when
// hvfctl runs as root), is synced, then renamed over path.
func WriteManifest(path string, m *Manifest) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("manifest %s: %w", path, err)
	}
	return writeAtomic(path, data, ManifestMode)
}

func writeAtomic(path string, data []byte, mode fs.FileMode) (err error) {
	dir := filepath.Dir(path)
	dinfo, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	st, ok := dinfo.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("write %s: cannot read the owner of %s", path, dir)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("write %s: chmod: %w", path, err)
	}
	if err := tmp.Chown(int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("write %s: give it the owner of %s: %w", path, dir, err)
	}
	if _, err := bytes.NewReader(data).WriteTo(tmp); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
