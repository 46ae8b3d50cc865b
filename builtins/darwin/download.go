package darwin

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// maxRedirects bounds the redirects one download follows.
const maxRedirects = 10

// UserAgent is sent with every download. Since late 2025 developer.arm.com
// answers clients it does not take for a browser or curl with an HTML
// challenge page; Homebrew's gcc-aarch64-embedded cask sends a curl user
// agent for that reason (docs/host-commands.md cites both), and so does
// hvfctl. Whatever arrives is still checked against the pinned SHA-256.
const UserAgent = "curl/8.7.1"

// htmlPage reports whether a response is a web page: by its Content-Type,
// or by its first bytes when the type says nothing.
func htmlPage(contentType string, head []byte) bool {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
		return true
	}
	return strings.HasPrefix(http.DetectContentType(head), "text/html")
}

// Download implements host.Host. It fetches req.URL (https only) with
// Options.DownloadTimeout into a temporary file next to req.Dest, hashing
// while it streams; only when the size and SHA-256 match the pins is the
// file synced, given its owner and mode and renamed to req.Dest. A
// mismatch returns an error wrapping host.ErrChecksum; on any failure
// nothing is left behind and req.Dest is untouched.
func (h *Host) Download(ctx context.Context, req host.DownloadRequest) error {
	if err := h.checkURL(req.URL); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if err := checkPath("download", req.Dest); err != nil {
		return err
	}
	if !validSHA256(req.SHA256) {
		return fmt.Errorf("download %s: pinned SHA-256 %q is not 64 lower-case hex digits", req.URL, req.SHA256)
	}
	if req.Size < 0 {
		return fmt.Errorf("download %s: negative pinned size %d", req.URL, req.Size)
	}
	uid, gid, err := h.owner(req.Dest, req.Mode, req.Owner, req.Group)
	if err != nil {
		return fmt.Errorf("download %s: %w", req.Dest, err)
	}
	ctx, cancel := context.WithTimeout(ctx, h.opts.DownloadTimeout)
	defer cancel()

	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, req.URL, nil)
	if err != nil {
		return fmt.Errorf("download %s: %w", req.URL, err)
	}
	hreq.Header.Set("User-Agent", UserAgent)
	hreq.Header.Set("Accept", "*/*")
	resp, err := h.client.Do(hreq)
	if err != nil {
		return fmt.Errorf("download %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: HTTP status %s", req.URL, resp.Status)
	}
	body := bufio.NewReaderSize(resp.Body, 512)
	head, _ := body.Peek(512)
	if htmlPage(resp.Header.Get("Content-Type"), head) {
		return fmt.Errorf("download %s: %w: %w (Content-Type %q); nothing was written", req.URL, host.ErrHTMLPage, host.ErrChecksum, resp.Header.Get("Content-Type"))
	}
	limit := h.opts.MaxDownload
	if req.Size > 0 {
		limit = req.Size
		if resp.ContentLength >= 0 && resp.ContentLength != req.Size {
			return fmt.Errorf("download %s: %w: the server announces %d bytes, pinned size is %d", req.URL, host.ErrChecksum, resp.ContentLength, req.Size)
		}
	} else if resp.ContentLength > limit {
		return fmt.Errorf("download %s: %d bytes exceed the limit of %d", req.URL, resp.ContentLength, limit)
	}

	err = h.atomicReplace(ctx, req.Dest, uid, gid, req.Mode, func(f *os.File) error {
		sum := sha256.New()
		w := io.MultiWriter(f, sum)
		if bar := h.progressBar(resp.ContentLength, req.Dest); bar != nil {
			defer bar.Close()
			w = io.MultiWriter(w, bar)
		}
		n, err := io.Copy(w, io.LimitReader(body, limit+1))
		if err != nil {
			return fmt.Errorf("fetch %s: %w", req.URL, err)
		}
		switch {
		case n > limit && req.Size > 0:
			return fmt.Errorf("%w: %s sent more than the pinned %d bytes", host.ErrChecksum, req.URL, req.Size)
		case n > limit:
			return fmt.Errorf("fetch %s: more than the limit of %d bytes", req.URL, limit)
		case req.Size > 0 && n != req.Size:
			return fmt.Errorf("%w: %s sent %d bytes, pinned size is %d", host.ErrChecksum, req.URL, n, req.Size)
		}
		if got := hex.EncodeToString(sum.Sum(nil)); got != req.SHA256 {
			return fmt.Errorf("%w: %s has SHA-256 %s, pinned %s", host.ErrChecksum, req.URL, got, req.SHA256)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("download to %s: %w", req.Dest, err)
	}
	return nil
}

// newClient builds the HTTP client of downloads: no client-wide timeout
// (each download has its context), and redirects only to allowed URLs.
func (h *Host) newClient() *http.Client {
	tr := h.opts.Transport
	if tr == nil {
		tr = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(r *http.Request, via []*http.Request) error {
			if len(via) >= maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			if err := h.checkURL(r.URL.String()); err != nil {
				return fmt.Errorf("redirect refused: %w", err)
			}
			return nil
		},
	}
}

// checkURL allows https URLs, and http://127.0.0.1 when the options say so.
func (h *Host) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("bad URL: %w", err)
	}
	if u.User != nil {
		return fmt.Errorf("URL %s carries credentials", u.Redacted())
	}
	if u.Host == "" {
		return fmt.Errorf("URL %q has no host", raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && h.opts.AllowHTTPLoopback && u.Hostname() == "127.0.0.1":
		return nil
	}
	return fmt.Errorf("URL %s refused: only https downloads are allowed", raw)
}

// progressBar returns a progress bar drawn on Options.Progress when that
// is a terminal, else nil.
func (h *Host) progressBar(size int64, dest string) *progressbar.ProgressBar {
	out := h.opts.Progress
	if out == nil || !term.IsTerminal(int(out.Fd())) {
		return nil
	}
	if size <= 0 {
		size = -1
	}
	return progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(out),
		progressbar.OptionSetDescription("download "+filepath.Base(dest)),
		progressbar.OptionShowBytes(true),
		progressbar.OptionShowTotalBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
}

// validSHA256 reports whether s is 64 lower-case hex digits.
func validSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
