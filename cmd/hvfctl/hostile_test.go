package main

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// hostileDir holds the hostile recipes; each has a "# expect: REGEX"
// line and may name a fixture under hosts/ with "# fixture: FILE".
const hostileDir = relRoot + "/testdata/hostile"

// hostileCanary is a runner token of the real shape that must never
// appear in anything hvfctl prints or saves.
const hostileCanary = "CANARY7TOKEN7CANARY7TOKEN7ZQX"

// hostileHeader reads a hostile recipe's expect and fixture lines.
func hostileHeader(t *testing.T, file string) (expect *regexp.Regexp, fixture string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break
		}
		if v, ok := strings.CutPrefix(line, "# expect: "); ok {
			expect, err = regexp.Compile("(?i)" + v)
			if err != nil {
				t.Fatalf("%s: bad expect line: %v", file, err)
			}
		}
		if v, ok := strings.CutPrefix(line, "# fixture: "); ok {
			fixture = filepath.Join(hostileDir, "hosts", v)
		}
	}
	if expect == nil {
		t.Fatalf("%s has no \"# expect: REGEX\" line", file)
	}
	return expect, fixture
}

// TestHostileRecipes runs every hostile recipe through the built hvfctl
// (plan, then run --yes --save on the fake macOS, with a canary runner
// token in the environment) and requires: exit 1 or 2, a clear error
// matching the recipe's expect line, no panic or Go stack trace, the
// canary nowhere, and a host state unchanged by the run (or, for a recipe
// refused while it is evaluated, no plan and no apply at all).
func TestHostileRecipes(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(hostileDir, "*.star"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 25 {
		t.Fatalf("%d hostile recipes, want at least 25", len(files))
	}
	bin := relBuild(t, t.TempDir())
	environ := map[string]string{tokenEnv: hostileCanary}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".star")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			expect, fixture := hostileHeader(t, file)
			dir := t.TempDir()
			start := filepath.Join(dir, "start.json")
			if fixture == "" {
				relFixture(t, dir, "start.json", map[string]any{"base": defaultPreset})
			} else {
				raw, err := os.ReadFile(fixture)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(start, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := relStable(relState(t, start))
			saved := filepath.Join(dir, "after.json")

			// A small heap limit stops the allocation bombs quickly.
			plan := relExec(t, bin, environ, "plan", "--max-heap", "64", "--target", "fake:"+start, file)
			apply := relExec(t, bin, environ, "run", "--yes", "--max-heap", "64", "--target", "fake:"+start, "--save", saved, file)
			for what, r := range map[string]relResult{"plan": plan, "run": apply} {
				relNoCrash(t, what, r)
				if r.code != 0 && r.code != 1 && r.code != 2 {
					t.Errorf("%s exited %d, want 0, 1 or 2:\n%s", what, r.code, r.all())
				}
			}
			if apply.code == 0 {
				t.Errorf("run was not refused (exit 0):\n%s", apply.all())
			}
			if !expect.MatchString(plan.all() + apply.all()) {
				t.Errorf("no error matches %q:\nplan:\n%s\nrun:\n%s", expect, plan.all(), apply.all())
			}
			texts := map[string]string{"plan output": plan.all(), "run output": apply.all()}
			switch raw, err := os.ReadFile(saved); {
			case err == nil:
				texts["saved state"] = string(raw)
				after := relStable(relState(t, saved))
				if d := relDiffKeys(before, after); len(d) > 0 {
					t.Errorf("the run changed the host: %v", d)
				}
			case os.IsNotExist(err):
				// No state saved: the recipe was refused while it was
				// evaluated, so neither a plan nor an apply may have
				// started (nothing on stdout).
				if strings.TrimSpace(apply.stdout) != "" || strings.TrimSpace(plan.stdout) != "" {
					t.Errorf("run saved no state but printed a plan or an apply:\nplan:\n%s\nrun:\n%s", plan.stdout, apply.stdout)
				}
			default:
				t.Fatal(err)
			}
			relAssertAbsent(t, hostileCanary, texts)
		})
	}
}
