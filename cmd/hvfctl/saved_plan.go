package main

// This file implements saved plans: `hvfctl plan -o FILE` writes the
// plan with what it was made from, and `hvfctl run FILE` applies exactly
// that plan, refusing when the recipe or the host changed since
// (Terraform's `plan -out`).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// planFormat names the saved-plan format.
const planFormat = "hvfctl-plan/1"

// savedPlan is a plan file. It holds no secret: the plan's strings are
// scrubbed, secrets are never revealed by a plan, and the facts are the
// queries the plan ran with a digest of their output, not the output.
type savedPlan struct {
	Format string `json:"format"`
	// Recipe is the recipe file as given to plan, RecipeSHA256 the digest
	// of its bytes.
	Recipe       string `json:"recipe"`
	RecipeSHA256 string `json:"recipe_sha256"`
	// Target is the --target the plan was made on.
	Target string `json:"target"`
	// Vars are the recipe vars the plan used (--var and recorded).
	Vars map[string]string `json:"vars"`
	// Facts are the commands the plan ran (queries only), in order, each
	// with its exit status and the SHA-256 of what it printed or read.
	Facts []savedFact `json:"facts"`
	// Plan is the plan as `plan --json` prints it.
	Plan json.RawMessage `json:"plan"`
}

// savedFact is one query of a saved plan.
type savedFact struct {
	Argv         []string `json:"argv"`
	User         string   `json:"user"`
	Exit         int      `json:"exit"`
	OutputSHA256 string   `json:"output_sha256,omitempty"`
}

// writeSavedPlan writes the plan file atomically (0600: it describes the
// host).
func writeSavedPlan(trust *host.LocalTrust, path string, f *recipeFlags, r *engine.Recipe, rep *engine.Report) error {
	if err := trust.CheckOutput(path); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	sum, err := fileSHA256(trust, f.Recipe)
	if err != nil {
		return err
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		return err
	}
	sp := savedPlan{Format: planFormat, Recipe: f.Recipe, RecipeSHA256: sum, Target: f.Target, Vars: map[string]string{}, Plan: json.RawMessage(bytes.TrimSpace(js.Bytes()))}
	for _, v := range r.Vars() {
		sp.Vars[v.Name] = v.Value
	}
	red := r.Session().Redactor()
	for _, e := range rep.HostCommands {
		argv := make([]string, len(e.Argv))
		for i, a := range e.Argv {
			argv[i] = red.Scrub(a)
		}
		sp.Facts = append(sp.Facts, savedFact{Argv: argv, User: e.User, Exit: e.Exit, OutputSHA256: e.Output})
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(sp); err != nil {
		return fmt.Errorf("encoding the plan: %w", err)
	}
	if err := writePrivate(path, out.Bytes()); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	return nil
}

// writePrivate replaces path atomically with data, mode 0600, owned by
// whoever runs hvfctl: a temporary file in the same directory, synced,
// renamed over path.
func writePrivate(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".plan-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// readSavedPlan reads FILE when it is a saved plan; ok is false for any
// other file (a recipe). A file another account could have written (when
// hvfctl runs as root) or that is not a regular file is an error: a plan
// names the recipe and the vars root applies.
func readSavedPlan(trust *host.LocalTrust, path string) (sp *savedPlan, ok bool, err error) {
	b, err := host.ReadTrustedLocalFile(trust, path, maxLocalFile)
	if errors.Is(err, host.ErrUntrustedLocal) || errors.Is(err, host.ErrNotRegular) {
		return nil, false, err
	}
	if err != nil || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
		return nil, false, nil
	}
	var p savedPlan
	if err := json.Unmarshal(b, &p); err != nil || p.Format == "" {
		return nil, false, nil
	}
	if p.Format != planFormat {
		return nil, true, fmt.Errorf("%s is a %s plan; this hvfctl reads %s: make the plan again with `hvfctl plan -o`", path, p.Format, planFormat)
	}
	return &p, true, nil
}

func fileSHA256(trust *host.LocalTrust, path string) (string, error) {
	b, err := host.ReadTrustedLocalFile(trust, path, maxLocalFile)
	if err != nil {
		return "", fmt.Errorf("reading the recipe: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// usePlan points a run at the saved plan's recipe, target and vars, and
// refuses when the recipe changed since the plan was made.
func (c *runCmd) usePlan(trust *host.LocalTrust, file string, sp *savedPlan) error {
	if c.Target != "local" && c.Target != sp.Target {
		return fmt.Errorf("%s was made for --target %s, not %s", file, sp.Target, c.Target)
	}
	if len(c.Var) > 0 {
		return fmt.Errorf("%s applies the vars it was made with (%s): make a new plan to change them", file, formatVars(sp.Vars))
	}
	sum, err := fileSHA256(trust, sp.Recipe)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if sum != sp.RecipeSHA256 {
		return fmt.Errorf("not applied: %s changed since %s was made: make a new plan with `hvfctl plan -o`", sp.Recipe, file)
	}
	c.Recipe, c.Target, c.Var = sp.Recipe, sp.Target, sp.Vars
	return nil
}

func formatVars(vars map[string]string) string {
	if len(vars) == 0 {
		return "none"
	}
	var out []string
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// samePlan compares the plan made now with the saved one: every resource
// with its status, effect, changes and actions. It returns what differs,
// or "" when the plan is the same.
func samePlan(saved json.RawMessage, now *engine.Report) (string, error) {
	var buf bytes.Buffer
	if err := now.WriteJSON(&buf); err != nil {
		return "", err
	}
	type res struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Effect  string `json:"effect"`
		Changes any    `json:"changes"`
		Actions any    `json:"actions"`
	}
	var a, b struct {
		Resources []res `json:"resources"`
	}
	if err := json.Unmarshal(saved, &a); err != nil {
		return "", fmt.Errorf("the saved plan: %w", err)
	}
	if err := json.Unmarshal(buf.Bytes(), &b); err != nil {
		return "", err
	}
	byID := map[string]res{}
	for _, r := range b.Resources {
		byID[r.ID] = r
	}
	var diffs []string
	for _, r := range a.Resources {
		n, ok := byID[r.ID]
		switch {
		case !ok:
			diffs = append(diffs, r.ID+" is no longer declared")
		case n.Status != r.Status || n.Effect != r.Effect:
			diffs = append(diffs, fmt.Sprintf("%s was %s%s, is now %s%s", r.ID, r.Status, paren(r.Effect), n.Status, paren(n.Effect)))
		case !reflect.DeepEqual(n.Changes, r.Changes) || !reflect.DeepEqual(n.Actions, r.Actions):
			diffs = append(diffs, r.ID+" would change or run something else")
		}
		delete(byID, r.ID)
	}
	for _, r := range b.Resources {
		if _, extra := byID[r.ID]; extra {
			diffs = append(diffs, r.ID+" is new")
		}
	}
	return strings.Join(diffs, "; "), nil
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
