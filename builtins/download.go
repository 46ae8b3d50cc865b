package builtins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"

	"github.com/schollz/progressbar/v3"
	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// Fetcher downloads pinned files: URL → cache → size and SHA-256 verified
// → copied next to the destination → given mode and owner → renamed over
// it. Nothing unverified is ever left at the destination. Backends
// (builtins/darwin) implement host.Host.Download with it.
type Fetcher struct {
	// Client makes the requests; nil means http.DefaultClient.
	Client *http.Client
	// CacheDir keeps verified downloads by SHA-256, so that a second run
	// does not fetch again. It is created 0700 when missing.
	CacheDir string
	// Progress, when non-nil, receives a progress bar (pass the terminal;
	// leave nil when output is not a terminal).
	Progress io.Writer
	// Chown gives a file its owner and group by name; nil skips it (tests).
	Chown func(path, owner, group string) error
}

// Download implements host.Host.Download.
func (f *Fetcher) Download(ctx context.Context, req host.DownloadRequest) error {
	want, err := normSHA256(req.SHA256)
	if err != nil {
		return fmt.Errorf("download %s: %w", req.URL, err)
	}
	if err := checkHTTPSURL(req.URL); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if err := checkPath("destination", req.Dest); err != nil {
		return fmt.Errorf("download %s: %w", req.URL, err)
	}
	cached, err := f.fetchToCache(ctx, req.URL, want, req.Size)
	if err != nil {
		return fmt.Errorf("download %s: %w", req.URL, err)
	}
	if err := f.install(cached, req, want); err != nil {
		return fmt.Errorf("download %s to %s: %w", req.URL, req.Dest, err)
	}
	return nil
}

// fetchToCache returns the path of a verified copy of the file in the
// cache, fetching it when the cache lacks it.
func (f *Fetcher) fetchToCache(ctx context.Context, url, want string, size int64) (string, error) {
	if err := os.MkdirAll(f.CacheDir, 0o700); err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	final := filepath.Join(f.CacheDir, want)
	if err := verifyLocal(final, want, size); err == nil {
		return final, nil
	}
	tmp, err := os.CreateTemp(f.CacheDir, ".partial-*")
	if err != nil {
		return "", fmt.Errorf("cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	client := f.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %s", resp.Status)
	}
	h := sha256.New()
	var w io.Writer = io.MultiWriter(tmp, h)
	if f.Progress != nil {
		total := resp.ContentLength
		if size > 0 {
			total = size
		}
		bar := progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(f.Progress),
			progressbar.OptionSetDescription(filepath.Base(url)),
			progressbar.OptionShowBytes(true),
			progressbar.OptionClearOnFinish())
		w = io.MultiWriter(w, bar)
		defer bar.Finish()
	}
	var body io.Reader = resp.Body
	if size > 0 {
		body = io.LimitReader(resp.Body, size+1)
	}
	n, err := io.Copy(w, body)
	if err != nil {
		return "", err
	}
	if size > 0 && n != size {
		return "", fmt.Errorf("got %d bytes, want %d: %w", n, size, host.ErrChecksum)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return "", fmt.Errorf("got SHA-256 %s, want %s: %w", got, want, host.ErrChecksum)
	}
	if err := tmp.Sync(); err != nil {
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o600); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return "", err
	}
	return final, nil
}

// verifyLocal checks a local file against the pins.
func verifyLocal(p, want string, size int64) error {
	fh, err := os.Open(p)
	if err != nil {
		return err
	}
	defer fh.Close()
	got, n, err := SHA256Of(fh)
	if err != nil {
		return err
	}
	if (size > 0 && n != size) || got != want {
		return host.ErrChecksum
	}
	return nil
}

// install copies the verified cache file next to Dest, re-verifies the
// copy, gives it mode and owner, syncs it and renames it over Dest.
func (f *Fetcher) install(src string, req host.DownloadRequest, want string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(req.Dest), "."+filepath.Base(req.Dest)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tmp, h), in); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("copy has SHA-256 %s, want %s: %w", got, want, host.ErrChecksum)
	}
	mode := req.Mode.Perm()
	if mode == 0 {
		mode = 0o644
	}
	if err := tmp.Chmod(mode); err != nil {
		return err
	}
	if f.Chown != nil {
		if err := f.Chown(tmp.Name(), req.Owner, req.Group); err != nil {
			return err
		}
	}
	if err := tmp.Sync(); err != nil {
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), req.Dest)
}

func downloadModule() engine.Module {
	return engine.Module{
		Name: "download",
		Doc:  "The only way to the network: downloads pinned by SHA-256.",
		Builtins: []engine.Builtin{
			newBuiltin("download", "fetch", `url, dest, sha256, size=0, mode=0o644, owner="root", group="wheel"`, engine.KindAction, `
Returns an action (shown `+"`<download> URL DEST`"+`, run in-process as root) that
fetches the https URL into a cache, checks its size (when SIZE > 0) and
SHA-256 against the pins before anything uses it, then places it at DEST
atomically with MODE and OWNER:GROUP. On any mismatch nothing is left at
DEST. DEST must be under allow_writes.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var u, dest, sum string
					size := 0
					mode := 0o644
					owner, group := "root", "wheel"
					if err := c.unpack(args, kwargs, "url", &u, "dest", &dest, "sha256", &sum, "size?", &size, "mode?", &mode, "owner?", &owner, "group?", &group); err != nil {
						return nil, err
					}
					if err := checkHTTPSURL(u); err != nil {
						return nil, c.wrap(err)
					}
					if err := c.checkPaths("dest", dest); err != nil {
						return nil, err
					}
					sum, err := normSHA256(sum)
					if err != nil {
						return nil, c.wrap(err)
					}
					if size < 0 {
						return nil, c.argError("size must not be negative")
					}
					if err := checkMode(mode); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkOwner(owner, group); err != nil {
						return nil, c.wrap(err)
					}
					req := host.DownloadRequest{URL: u, Dest: dest, SHA256: sum, Size: int64(size), Mode: fs.FileMode(mode), Owner: owner, Group: group}
					argv := []string{host.OpDownload, u, dest}
					return &engine.Action{
						Argv:   argv,
						User:   host.Root,
						Writes: []string{dest},
						Run: func(ctx context.Context, s *engine.Session) error {
							if err := s.Host().Download(ctx, req); err != nil {
								return &engine.ActionError{Argv: argv, User: host.Root, Exit: -1, Err: err}
							}
							return nil
						},
					}, nil
				}),
		},
	}
}
