package darwin

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/creack/pty"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// payload is what the test server serves; payloadSHA is its SHA-256.
var (
	payload    = bytes.Repeat([]byte("actions-runner-osx-arm64 "), 40000)
	payloadSHA = sha(string(payload))
)

// downloadServer serves payload in several ways:
//
//	/ok          the whole payload with its Content-Length
//	/chunked     the whole payload without a Content-Length
//	/truncated   half the payload, announcing all of it, then hangs up
//	/missing     404
//	/redirect    a redirect to /ok on the same server
func downloadServer(t *testing.T, tls bool) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload)
	})
	mux.HandleFunc("/chunked", func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(payload); i += 4096 {
			w.Write(payload[i:min(i+4096, len(payload))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload[:len(payload)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	// /challenge behaves like developer.arm.com since late 2025: a
	// client that is neither a browser nor curl gets an HTML page (200
	// OK); curl's user agent gets the file.
	mux.HandleFunc("/challenge", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.UserAgent(), "curl/") {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte("<!DOCTYPE html><html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>"))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.Write(payload)
	})
	// /page is an HTML page with no Content-Type at all.
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = nil
		w.Write([]byte("<!DOCTYPE html>\n<html><body>Sign in to download</body></html>\n"))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusFound)
	})
	var srv *httptest.Server
	if tls {
		srv = httptest.NewTLSServer(mux)
	} else {
		srv = httptest.NewServer(mux)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestDownload(t *testing.T) {
	plain := downloadServer(t, false)
	secure := downloadServer(t, true)
	// A TLS server that redirects to the plain loopback one.
	downgrade := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/ok", http.StatusFound)
	}))
	t.Cleanup(downgrade.Close)

	loopback := newRig(t, func(o *Options) { o.AllowHTTPLoopback = true })
	strict := newRig(t, func(o *Options) { o.Transport = secure.Client().Transport })
	strictDowngrade := newRig(t, func(o *Options) { o.Transport = downgrade.Client().Transport })

	size := int64(len(payload))
	tests := []struct {
		name     string
		r        *rig
		url      string
		sha      string
		size     int64
		checksum bool   // the error must wrap host.ErrChecksum
		errText  string // any other expected error
	}{
		{name: "good, size pinned", r: loopback, url: plain.URL + "/ok", sha: payloadSHA, size: size},
		{name: "good, size not pinned", r: loopback, url: plain.URL + "/ok", sha: payloadSHA},
		{name: "good, chunked", r: loopback, url: plain.URL + "/chunked", sha: payloadSHA, size: size},
		{name: "good over https with a redirect", r: strict, url: secure.URL + "/redirect", sha: payloadSHA, size: size},
		{name: "curl user agent passes the challenge", r: loopback, url: plain.URL + "/challenge", sha: payloadSHA, size: size},
		{name: "an HTML page is named as such", r: loopback, url: plain.URL + "/page", sha: payloadSHA, checksum: true, errText: "the server returned an HTML page, not the package"},
		{name: "wrong sha", r: loopback, url: plain.URL + "/ok", sha: sha("other"), size: size, checksum: true},
		{name: "wrong size announced", r: loopback, url: plain.URL + "/ok", sha: payloadSHA, size: size + 1, checksum: true},
		{name: "wrong size streamed, smaller pin", r: loopback, url: plain.URL + "/chunked", sha: payloadSHA, size: size - 1, checksum: true},
		{name: "wrong size streamed, larger pin", r: loopback, url: plain.URL + "/chunked", sha: payloadSHA, size: size + 1, checksum: true},
		{name: "truncated body", r: loopback, url: plain.URL + "/truncated", sha: payloadSHA, size: size, errText: "unexpected EOF"},
		{name: "not found", r: loopback, url: plain.URL + "/missing", sha: payloadSHA, errText: "404"},
		{name: "plain http refused", r: strict, url: plain.URL + "/ok", sha: payloadSHA, errText: "only https"},
		{name: "plain http elsewhere refused", r: loopback, url: "http://example.com/x.tar.gz", sha: payloadSHA, errText: "only https"},
		{name: "redirect to http refused", r: strictDowngrade, url: downgrade.URL + "/", sha: payloadSHA, errText: "redirect refused"},
		{name: "credentials in the URL refused", r: strict, url: "https://user:pw@example.com/x", sha: payloadSHA, errText: "carries credentials"},
		{name: "sha not pinned", r: loopback, url: plain.URL + "/ok", sha: "", errText: "64 lower-case hex"},
		{name: "sha in upper case", r: loopback, url: plain.URL + "/ok", sha: strings.ToUpper(payloadSHA), errText: "64 lower-case hex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "runner.tar.gz")
			// An older file at Dest must survive every failure.
			if err := os.WriteFile(dest, []byte("previous"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := tt.r.h.Download(t.Context(), host.DownloadRequest{
				URL: tt.url, Dest: dest, SHA256: tt.sha, Size: tt.size,
				Mode: 0o644, Owner: "ghrunner", Group: "staff",
			})
			if names := listDir(t, dir); len(names) != 1 || names[0] != "runner.tar.gz" {
				t.Errorf("directory holds %q, want only the destination", names)
			}
			if !tt.checksum && tt.errText == "" {
				if err != nil {
					t.Fatal(err)
				}
				checkFile(t, dest, payload, 0o644, runnerUID, staffGID)
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.checksum != errors.Is(err, host.ErrChecksum) {
				t.Errorf("err = %v; wraps ErrChecksum = %v, want %v", err, !tt.checksum, tt.checksum)
			}
			if tt.errText != "" && !strings.Contains(err.Error(), tt.errText) {
				t.Errorf("err = %v, want %q", err, tt.errText)
			}
			if strings.Contains(err.Error(), "pw@") {
				t.Errorf("the error shows URL credentials: %v", err)
			}
			checkFile(t, dest, []byte("previous"), 0o600, 0, 0)
		})
	}
}

func TestDownloadProgressOnlyOnATerminal(t *testing.T) {
	plain := downloadServer(t, false)
	master, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer master.Close()
	var shown bytes.Buffer
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		_, _ = io.Copy(&shown, master)
	}()
	notTTY, err := os.Create(filepath.Join(t.TempDir(), "progress.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer notTTY.Close()
	for _, out := range []*os.File{tty, notTTY} {
		r := newRig(t, func(o *Options) { o.AllowHTTPLoopback = true; o.Progress = out })
		dest := filepath.Join(t.TempDir(), "runner.tar.gz")
		if err := r.h.Download(t.Context(), host.DownloadRequest{URL: plain.URL + "/ok", Dest: dest, SHA256: payloadSHA, Mode: 0o644, Owner: "root", Group: "wheel"}); err != nil {
			t.Fatal(err)
		}
	}
	tty.Close()
	<-readDone
	if !strings.Contains(shown.String(), "download runner.tar.gz") {
		t.Errorf("no progress bar on the terminal: %q", shown.String())
	}
	if b, _ := os.ReadFile(notTTY.Name()); len(b) != 0 {
		t.Errorf("progress drawn on a file that is not a terminal: %q", b)
	}
}
