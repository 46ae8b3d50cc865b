package builtins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestFetcher(t *testing.T) {
	body := []byte(strings.Repeat("actions-runner ", 1000))
	sum := sha256.Sum256(body)
	good := hex.EncodeToString(sum[:])
	var hits atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	dir := t.TempDir()
	f := &Fetcher{Client: srv.Client(), CacheDir: filepath.Join(dir, "cache")}
	tests := []struct {
		name    string
		sum     string
		size    int64
		wantErr error
	}{
		{"pinned", good, int64(len(body)), nil},
		{"upper-case pin", strings.ToUpper(good), 0, nil},
		{"wrong sum", strings.Repeat("0", 64), 0, host.ErrChecksum},
		{"wrong size", good, int64(len(body)) - 1, host.ErrChecksum},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			err := f.Download(context.Background(), host.DownloadRequest{URL: srv.URL + "/r.tgz", Dest: dest, SHA256: tt.sum, Size: tt.size, Mode: 0o640})
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if _, serr := os.Stat(dest); !os.IsNotExist(serr) {
					t.Errorf("something left at %s after a mismatch", dest)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(dest)
			if err != nil || string(got) != string(body) {
				t.Fatalf("dest content wrong: %v", err)
			}
			if fi, _ := os.Stat(dest); fi.Mode().Perm() != 0o640 {
				t.Errorf("mode %v", fi.Mode())
			}
		})
	}
	// The verified file was cached: the second good download did not fetch.
	// (pinned fetched once; the wrong-sum and wrong-size requests fetched
	// because their pins name no cached file or fail verification.)
	if n := hits.Load(); n != 3 {
		t.Errorf("%d requests, want 3 (cache reuse for the second good pin)", n)
	}
	if err := f.Download(context.Background(), host.DownloadRequest{URL: "http://example.org/x", Dest: filepath.Join(dir, "x"), SHA256: good}); err == nil {
		t.Error("plain http accepted")
	}
}

func TestSHA256Of(t *testing.T) {
	sum, n, err := SHA256Of(strings.NewReader("abc"))
	if err != nil || n != 3 || sum != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("%s %d %v", sum, n, err)
	}
	m := ParseShasum("5092abd7f9f318672e833a8ad99a88d3d9044afc6e7152b26740d18b29949141  actions-runner-osx-arm64-2.332.0.tar.gz\n")
	if m["actions-runner-osx-arm64-2.332.0.tar.gz"] != "5092abd7f9f318672e833a8ad99a88d3d9044afc6e7152b26740d18b29949141" {
		t.Errorf("%v", m)
	}
}

// TestModulesDocumented requires real documentation on every builtin and
// unique names, since `hvfctl doc` is generated from them.
func TestModulesDocumented(t *testing.T) {
	seen := map[string]bool{}
	for _, m := range Modules() {
		if seen[m.Name] {
			t.Errorf("module %s twice", m.Name)
		}
		seen[m.Name] = true
		if m.Doc == "" {
			t.Errorf("module %s has no doc", m.Name)
		}
		names := map[string]bool{}
		for _, b := range m.Builtins {
			if names[b.Name] {
				t.Errorf("%s.%s twice", m.Name, b.Name)
			}
			names[b.Name] = true
			if len(b.Doc) < 40 || b.Fn == nil {
				t.Errorf("%s.%s: doc too short or no function", m.Name, b.Name)
			}
		}
	}
}
