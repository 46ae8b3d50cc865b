package fakemac

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestPresetsBuildAndRoundTrip(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			m, err := New(name)
			if err != nil {
				t.Fatalf("New(%q): %v", name, err)
			}
			want, err := m.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), name+".json")
			if err := m.Save(file); err != nil {
				t.Fatal(err)
			}
			back, err := Load(file)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			got, err := back.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("state changed across Save/Load")
			}
			info, err := os.Stat(file)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o644 {
				t.Errorf("saved mode %v, want 0644", info.Mode().Perm())
			}
		})
	}
}

// TestFixtureRoundTrip: Fixture over fresh-m4 loads back into the same
// state for every preset, and lists only what differs.
func TestFixtureRoundTrip(t *testing.T) {
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			m := mustNew(t, name)
			want, err := m.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			fix, err := m.Fixture("fresh-m4")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(fix, []byte("{\n  \"base\": \"fresh-m4\"")) {
				t.Errorf("fixture does not start with its base:\n%.200s", fix)
			}
			st, err := parseFixture(name+".json", fix)
			if err != nil {
				t.Fatalf("the fixture does not load: %v", err)
			}
			got, err := encodeState(st)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Fixture(fresh-m4) does not round-trip %s", name)
			}
		})
	}
	t.Run("unchanged", func(t *testing.T) {
		fix, err := mustNew(t, "fresh-m4").Fixture("fresh-m4")
		if err != nil {
			t.Fatal(err)
		}
		if string(fix) != "{\n  \"base\": \"fresh-m4\"\n}\n" {
			t.Errorf("fresh-m4 over itself: %q", fix)
		}
	})
	t.Run("deleted and changed", func(t *testing.T) {
		m := mustNew(t, "fresh-m4")
		delete(m.st.Files, "/Users/Shared")
		m.st.Power.Sources["AC Power"]["sleep"] = "0"
		fix, err := m.Fixture("fresh-m4")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range []string{`  "files": {"/Users/Shared": null}`, `      "AC Power": {"sleep": "0"}`} {
			if !strings.Contains(string(fix), line+"\n") && !strings.Contains(string(fix), line+",\n") {
				t.Errorf("fixture lacks the line %q:\n%s", line, fix)
			}
		}
	})
	t.Run("unknown base", func(t *testing.T) {
		if _, err := mustNew(t, "fresh-m4").Fixture("nope"); err == nil || !strings.Contains(err.Error(), "unknown fake host preset") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestClone: a clone starts equal and then lives its own life.
func TestClone(t *testing.T) {
	m := mustNew(t, "converged")
	c := m.Clone()
	a, _ := m.Snapshot()
	b, _ := c.Snapshot()
	if !bytes.Equal(a, b) {
		t.Fatal("a clone differs from its original")
	}
	exec(t, c, as("root", "/usr/bin/pmset", "-c", "sleep", "5"))
	exec(t, c, as("admin", "/opt/homebrew/bin/brew", "install", "--formula", "guile"))
	c.st.Files["/Users/ghrunner"].ACL = append(c.st.Files["/Users/ghrunner"].ACL, "group:everyone deny delete")
	after, _ := m.Snapshot()
	if !bytes.Equal(a, after) {
		t.Error("changing the clone changed the original")
	}
}

// TestPresetAliases: "partial" is the part-way preset.
func TestPresetAliases(t *testing.T) {
	a, _ := mustNew(t, "partial").Snapshot()
	b, _ := mustNew(t, "part-way").Snapshot()
	if !bytes.Equal(a, b) {
		t.Error("partial is not part-way")
	}
	if slices.Contains(Presets(), "partial") {
		t.Error("Presets lists an alias")
	}
}

// TestDriftedIsConvergedAfterAnUpdate: drifted differs from converged by
// exactly the drift of a macOS minor update.
func TestDriftedIsConvergedAfterAnUpdate(t *testing.T) {
	conv, drift := mustNew(t, "converged"), mustNew(t, "drifted")
	if v := drift.st.System; v.ProductVersion != "26.2" || v.BuildVersion != "25C56" {
		t.Errorf("drifted is macOS %+v", v)
	}
	if got, want := drift.st.Power.Sources["AC Power"], acDefaults(); !maps.Equal(got, want) {
		t.Errorf("pmset AC %v, want the defaults %v", got, want)
	}
	if drift.st.Launchd.Jobs[RunnerLabel] != nil || conv.st.Launchd.Jobs[RunnerLabel] == nil {
		t.Errorf("the runner daemon is not booted out")
	}
	if drift.st.Brew.Formulae["qemu"] != nil || conv.st.Brew.Formulae["qemu"] == nil {
		t.Errorf("qemu is not the missing formula")
	}
	for p := range conv.st.Files {
		if drift.st.Files[p] == nil && !strings.Contains(p, "qemu") {
			t.Errorf("drift removed %s", p)
		}
	}
	for _, label := range sortedKeys(conv.st.Launchd.Jobs) {
		if label != RunnerLabel && drift.st.Launchd.Jobs[label] == nil {
			t.Errorf("drift removed the job %s", label)
		}
	}
}

// TestPresetMemos checks that every preset has a memo and that the
// memos hand out independent copies: changing one fake Mac, or the tree
// a fixture is merged into, leaves the next one built from the same
// preset as the first was.
func TestPresetMemos(t *testing.T) {
	if got, want := slices.Sorted(maps.Keys(presetMemos)), Presets(); !slices.Equal(got, want) {
		t.Fatalf("memos of %v, want one per preset %v", got, want)
	}
	for _, name := range Presets() {
		t.Run(name, func(t *testing.T) {
			first := mustNew(t, name)
			want, err := first.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			first.st.Clock++
			for p, n := range first.st.Files {
				n.Mode ^= 0o777
				first.st.Files[p+"/changed"] = n
				break
			}
			first.st.Users["changed"] = &User{}
			tree, err := presetTree(name)
			if err != nil {
				t.Fatal(err)
			}
			tree.(map[string]any)["clock"] = "changed"
			delete(tree.(map[string]any), "files")
			got, err := mustNew(t, name).Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("a second %s differs from the first after the first was changed", name)
			}
			again, err := presetTree(name)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := again.(map[string]any)["files"]; !ok {
				t.Errorf("changing a copy of %s's tree changed the memo", name)
			}
		})
	}
}
