package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFactsJSON pins `hvfctl facts --json`: the keys of the facts contract
// with their JSON types, and exit status 1 when one family cannot be read
// while the others are still printed.
func TestFactsJSON(t *testing.T) {
	faulted := filepath.Join(t.TempDir(), "fdesetup-fails.json")
	fixture := `{"base": "fresh-m4", "faults": [{"argv_prefix": ["/usr/bin/fdesetup", "status"], "nth": 1, "exit": 1, "stderr": "fdesetup: broken"}]}`
	if err := os.WriteFile(faulted, []byte(fixture), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		target    string
		code      int
		filevault string
		stderr    string
	}{
		{"fresh", "fake", 0, "on", ""},
		{"one family fails", "fake:" + faulted, 1, "unknown", "fdesetup status exited 1: fdesetup: broken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := hvfctl(t, nil, "facts", "--target", tt.target, "--json")
			if code != tt.code || !strings.Contains(errOut, tt.stderr) {
				t.Fatalf("exit %d, want %d; stderr %q, want %q", code, tt.code, errOut, tt.stderr)
			}
			var f struct {
				MacOSVersion string `json:"macos_version"`
				Arch         string `json:"arch"`
				HVSupport    *bool  `json:"hv_support"`
				CPUBrand     string `json:"cpu_brand"`
				Model        string `json:"model"`
				FreeBytes    *int64 `json:"free_bytes"`
				FileVault    struct {
					State   string `json:"state"`
					Percent *int   `json:"percent"`
				} `json:"filevault"`
				Users map[string]struct {
					UID      int    `json:"uid"`
					Admin    bool   `json:"admin"`
					Home     string `json:"home"`
					RealName string `json:"real_name"`
					Shell    string `json:"shell"`
				} `json:"users"`
				Spotlight map[string]string         `json:"spotlight"`
				Power     map[string]map[string]any `json:"power"`
				Brew      struct {
					Prefix   *string             `json:"prefix"`
					Owner    *string             `json:"owner"`
					Formulae map[string][]string `json:"formulae"`
					Casks    map[string][]string `json:"casks"`
				} `json:"brew"`
				Rosetta struct {
					Installed       *bool `json:"installed"`
					LinuxTranslator *bool `json:"linux_translator"`
				} `json:"rosetta"`
				CLT     map[string]*string        `json:"clt"`
				Launchd map[string]map[string]any `json:"launchd"`
			}
			dec := json.NewDecoder(strings.NewReader(out))
			if err := dec.Decode(&f); err != nil {
				t.Fatalf("facts --json does not fit the contract: %v\n%s", err, out)
			}
			if f.MacOSVersion != "26.1" || f.Arch != "arm64" || f.HVSupport == nil || !*f.HVSupport || f.CPUBrand != "Apple M4" || f.Model == "" || f.FreeBytes == nil {
				t.Errorf("system facts: %+v", f)
			}
			if f.FileVault.State != tt.filevault {
				t.Errorf("filevault state %q, want %q", f.FileVault.State, tt.filevault)
			}
			if u, ok := f.Users["admin"]; !ok || !u.Admin || u.Home != "/Users/admin" {
				t.Errorf("users: %+v", f.Users)
			}
			if _, ok := f.Power["ac"]["sleep"].(float64); !ok {
				t.Errorf("power.ac.sleep is not a number: %v", f.Power)
			}
			if _, ok := f.CLT["path"]; !ok || f.Rosetta.Installed == nil || f.Spotlight == nil || f.Launchd == nil || f.Brew.Formulae == nil {
				t.Errorf("clt %v rosetta %+v spotlight %v launchd %v brew %+v", f.CLT, f.Rosetta, f.Spotlight, f.Launchd, f.Brew)
			}
		})
	}
}
