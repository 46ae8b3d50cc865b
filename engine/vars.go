package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"sort"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// VarsFile is where `run` records the vars a recipe was applied with, so
// that a later plan, check or run without --var keeps them (a plain
// `run` after `run --var runner_count=4` must not fall back to one
// runner). It is root's, beside the fixture lock.
const VarsFile = "/Library/Application Support/hvfctl/vars.json"

// varsRecord is the file's shape: the vars of each recipe, by the
// recipe's file name (the same recipe is often run from different
// directories).
type varsRecord struct {
	Version int                          `json:"version"`
	Recipes map[string]map[string]string `json:"recipes"`
}

// Var is a recipe variable as a report shows it: its value in this run,
// where that value came from, and the value recorded by the last run.
type Var struct {
	Name string
	// Value is the value this run uses.
	Value string
	// Recorded is the value the last run recorded; HasRecorded says
	// whether there is one.
	Recorded    string
	HasRecorded bool
	// Given says the value came from --var (else from the record).
	Given bool
}

// Changed reports whether --var changes a recorded value.
func (v Var) Changed() bool { return v.Given && v.HasRecorded && v.Value != v.Recorded }

// recipeKey is the name a recipe's vars are recorded under.
func recipeKey(recipe string) string { return filepath.Base(recipe) }

// readVarsRecord reads the vars file through the host; a missing file is
// an empty record.
func readVarsRecord(ctx context.Context, h host.Host) (varsRecord, error) {
	rec := varsRecord{Version: 1, Recipes: map[string]map[string]string{}}
	b, err := h.ReadFile(ctx, VarsFile, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return rec, fmt.Errorf("reading the recorded vars %s: %w", VarsFile, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		return rec, fmt.Errorf("the recorded vars %s are not valid (%v): remove the file (sudo rm %q) and pass every --var again", VarsFile, err, VarsFile)
	}
	if rec.Recipes == nil {
		rec.Recipes = map[string]map[string]string{}
	}
	return rec, nil
}

// mergeVars returns the vars a run uses: the recorded ones, overridden by
// the given ones.
func mergeVars(recorded, given map[string]string) map[string]string {
	out := make(map[string]string, len(recorded)+len(given))
	for k, v := range recorded {
		out[k] = v
	}
	for k, v := range given {
		out[k] = v
	}
	return out
}

// Vars returns the recipe's vars that came from --var or the record and
// that the recipe reads, sorted by name.
func (r *Recipe) Vars() []Var {
	var out []Var
	for name, val := range r.sess.vars {
		if !r.usedVars[name] {
			continue
		}
		_, given := r.givenVars[name]
		old, has := r.recordedVars[name]
		out = append(out, Var{Name: name, Value: val, Recorded: old, HasRecorded: has, Given: given})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// RecordVars writes the vars this run used to VarsFile on the host, when
// they differ from the record: the state directory is made root:wheel
// 0755 if missing, and the file is replaced atomically, root:wheel 0644.
// `run` calls it once the apply has run.
func (r *Recipe) RecordVars(ctx context.Context) error {
	used := map[string]string{}
	for _, v := range r.Vars() {
		used[v.Name] = v.Value
	}
	same := len(used) == len(r.recordedVars)
	for k, v := range used {
		if old, ok := r.recordedVars[k]; !ok || old != v {
			same = false
		}
	}
	if same {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recording the vars: interrupted, %s keeps the vars of the run before", VarsFile)
	}
	h := r.sess.Host()
	rec, err := readVarsRecord(ctx, h)
	if err != nil {
		return fmt.Errorf("recording the vars: %w", err)
	}
	if len(used) == 0 {
		delete(rec.Recipes, recipeKey(r.path))
	} else {
		rec.Recipes[recipeKey(r.path)] = used
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return fmt.Errorf("recording the vars: %w", err)
	}
	dir := path.Dir(VarsFile)
	for _, argv := range [][]string{{"/bin/mkdir", "-p", "-m", "755", dir}, {"/usr/sbin/chown", "root:wheel", dir}} {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("recording the vars: interrupted before %s", ArgvString(argv))
		}
		res, err := h.Run(ctx, host.Command{Argv: argv, User: host.Root})
		if err == nil && res.Exit != 0 {
			err = fmt.Errorf("exit status %d: %s", res.Exit, Tail(res.Stderr, 3))
		}
		if err != nil {
			return fmt.Errorf("recording the vars: %s: %w", ArgvString(argv), err)
		}
	}
	req := host.WriteRequest{Path: VarsFile, Data: append(data, '\n'), Mode: 0o644, Owner: "root", Group: "wheel"}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recording the vars: interrupted before %s", ArgvString(host.WriteArgv(req)))
	}
	if err := h.WriteFile(ctx, req); err != nil {
		return fmt.Errorf("recording the vars: %s: %w", ArgvString(host.WriteArgv(req)), err)
	}
	r.recordedVars = used
	return nil
}
