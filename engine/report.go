package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Mode is what produced a report.
type Mode string

// The report modes.
const (
	ModePlan  Mode = "plan"
	ModeCheck Mode = "check"
	ModeApply Mode = "apply"
	// ModeDestroyPlan is what `hvfctl destroy` would remove.
	ModeDestroyPlan Mode = "destroy plan"
	// ModeDestroy is the outcome of `hvfctl destroy`.
	ModeDestroy Mode = "destroy"
)

// Report is the outcome of a plan, check or apply. Every string in it has
// had the run's secrets scrubbed.
type Report struct {
	// Recipe is the recipe file.
	Recipe string
	// Target names the host ("fake", "darwin" …).
	Target string
	// Mode says what produced the report.
	Mode Mode
	// Resources are in declaration order.
	Resources []ResourceReport
	// Summary counts resources by status.
	Summary Summary
	// HostCommands are the commands the run executed, in order.
	HostCommands []host.Entry
	// Errors are run-level problems (an apply refused by allow_writes).
	Errors []string
	// Secrets are the secrets a person must supply for the actions of
	// the report, in order of first use.
	Secrets []*Secret
	// Vars are the recipe vars given with --var or recorded by the last
	// run, with the recorded value each replaces.
	Vars []Var
	// NextSteps are what the recipe says a maintainer should do once it
	// is applied (declare("next_step", text = ...)).
	NextSteps []string

	secretUsers map[string][]string
	// Kept lists, in a destroy report, the resources destroy leaves on
	// the host and why.
	Kept []KeptResource

	redactor *host.Redactor
}

// Effect is what a resource whose status is "change" does to the host,
// marked in the text report as in Terraform's plans.
type Effect string

// The effects of a change.
const (
	// EffectCreate: the resource is not there at all (+).
	EffectCreate Effect = "create"
	// EffectUpdate: the resource is there and is changed in place (~).
	EffectUpdate Effect = "update"
	// EffectReplace: something is destroyed and made again (-/+), such
	// as a runner unregistered and registered anew.
	EffectReplace Effect = "replace"
	// EffectDestroy: the resource's actions only remove things (-).
	EffectDestroy Effect = "destroy"
)

// Mark is the effect's symbol: +, ~, -/+ or -.
func (e Effect) Mark() string {
	switch e {
	case EffectCreate:
		return "+"
	case EffectReplace:
		return "-/+"
	case EffectDestroy:
		return "-"
	case EffectUpdate:
		return "~"
	}
	return ""
}

// Destroys reports whether the effect removes something from the host.
func (e Effect) Destroys() bool { return e == EffectReplace || e == EffectDestroy }

// ResourceReport is one resource in a report.
type ResourceReport struct {
	ID     string
	Kind   string
	Status Status
	// Effect says what a change does (create, update, replace, destroy);
	// empty unless Status is StatusChange.
	Effect  Effect
	Changes []Change
	Actions []ActionReport
	// Doc is the resource's doc: why it exists.
	Doc string
	// Remediation is what a person must do about a failed assertion or a
	// value to verify manually.
	Remediation string
	// Error says why the resource failed or was skipped.
	Error string
	// Destroy marks a resource a destroy removes (or removed).
	Destroy bool
	// Version is the installed version a resource with a wanted
	// "version" property reported (after its actions, in an apply), or
	// empty: what `check` lists under "installed versions".
	Version string
}

// KeptResource is a resource `hvfctl destroy` leaves on the host.
type KeptResource struct {
	ID  string `json:"id"`
	Why string `json:"why"`
}

// Change is one property whose current value differs from the wanted
// one (or cannot be read: Before is then an *Unknown).
type Change struct {
	Property string
	Before   starlark.Value
	After    starlark.Value
}

// ActionReport is an action as a report shows it.
type ActionReport struct {
	Argv   []string `json:"argv"`
	User   string   `json:"user"`
	Reason string   `json:"reason"`
	// Destroys names what the action removes for good; empty otherwise.
	Destroys string `json:"destroys,omitempty"`
	// Ran says whether an apply ran the action; it is false in a plan or
	// check, in an apply that was refused, and for the actions after a
	// resource's first failing one.
	Ran bool `json:"-"`
	// Error is why the action failed, when it ran and failed.
	Error string `json:"-"`
}

// Summary counts the resources of a report by status. Change is split by
// effect: Create + Update + Replace + Destroy == Change.
type Summary struct {
	OK           int `json:"ok"`
	Change       int `json:"change"`
	AssertFailed int `json:"assert_failed"`
	Unknown      int `json:"unknown"`
	Skipped      int `json:"skipped"`
	Failed       int `json:"failed"`
	Total        int `json:"total"`
	Create       int `json:"create"`
	Update       int `json:"update"`
	Replace      int `json:"replace"`
	Destroy      int `json:"destroy"`
}

func newResourceReport(res *Resource) ResourceReport {
	return ResourceReport{ID: res.ID, Kind: res.Kind, Doc: res.Doc, Remediation: res.Remediation}
}

func (r *Recipe) report(mode Mode, ps []*planned, errs []string, mark int) *Report {
	r.reported = true
	cmds := r.sess.Recorder().Transcript()
	if mark <= len(cmds) {
		cmds = cmds[mark:]
	}
	rep := &Report{
		Recipe: r.path, Target: r.sess.Host().Name(), Mode: mode,
		HostCommands: cmds, redactor: r.sess.Redactor(), Vars: r.Vars(),
	}
	for _, e := range errs {
		rep.Errors = append(rep.Errors, r.scrub(e))
	}
	for _, d := range r.sess.Declarations("next_step") {
		if v, found, _ := d.Fields.Get(starlark.String("text")); found {
			if text, ok := starlark.AsString(v); ok && text != "" {
				rep.NextSteps = append(rep.NextSteps, r.scrub(text))
			}
		}
	}
	for _, p := range ps {
		rep.Resources = append(rep.Resources, p.rep)
		rep.Summary.add(p.rep.Status, p.rep.Effect)
		for _, a := range p.actions {
			for _, sec := range a.Secrets {
				rep.addSecret(sec, p.res.ID)
			}
		}
	}
	return rep
}

func (s *Summary) add(st Status, e Effect) {
	s.Total++
	switch st {
	case StatusOK:
		s.OK++
	case StatusChange:
		s.Change++
		switch e {
		case EffectCreate:
			s.Create++
		case EffectReplace:
			s.Replace++
		case EffectDestroy:
			s.Destroy++
		default:
			s.Update++
		}
	case StatusAssertFailed:
		s.AssertFailed++
	case StatusUnknown:
		s.Unknown++
	case StatusSkipped:
		s.Skipped++
	case StatusFailed:
		s.Failed++
	}
}

func (r *Report) addSecret(sec *Secret, resource string) {
	if !sec.Supplied() {
		return
	}
	if r.secretUsers == nil {
		r.secretUsers = map[string][]string{}
	}
	users := r.secretUsers[sec.Name()]
	if len(users) == 0 || users[len(users)-1] != resource {
		r.secretUsers[sec.Name()] = append(users, resource)
	}
	for _, have := range r.Secrets {
		if have.Name() == sec.Name() {
			return
		}
	}
	r.Secrets = append(r.Secrets, sec)
}

// SecretUsers returns the ids of the resources whose actions need the
// named secret, in plan order.
func (r *Report) SecretUsers(name string) []string { return r.secretUsers[name] }

// Destroys lists, in plan order, what the report's destroying actions
// remove ("runner macmini-m4-hvf-2" …), each once.
func (r *Report) Destroys() []string {
	var out []string
	seen := map[string]bool{}
	for _, res := range r.Resources {
		if res.Status != StatusChange {
			continue
		}
		for _, a := range res.Actions {
			if a.Destroys != "" && !seen[a.Destroys] {
				seen[a.Destroys] = true
				out = append(out, a.Destroys)
			}
		}
	}
	return out
}

// Resource returns the report of the resource with the given id, or nil.
func (r *Report) Resource(id string) *ResourceReport {
	for i := range r.Resources {
		if r.Resources[i].ID == id {
			return &r.Resources[i]
		}
	}
	return nil
}

// Converged reports whether an apply left every resource as wanted: no
// failure, no failed assertion, nothing skipped, no run-level error.
func (r *Report) Converged() bool {
	s := r.Summary
	return len(r.Errors) == 0 && s.Failed == 0 && s.AssertFailed == 0 && s.Skipped == 0
}

// ExitCode is the process exit code of the command that produced the
// report (DESIGN.md): plan 0, or 1 on errors; check 0 converged, 2 drift
// or a failed assertion, 1 errors; apply 0 converged, else 1.
func (r *Report) ExitCode() int {
	s := r.Summary
	switch r.Mode {
	case ModeApply, ModeDestroy:
		if r.Converged() {
			return 0
		}
		return 1
	case ModeCheck:
		if len(r.Errors) > 0 || s.Failed > 0 {
			return 1
		}
		if s.Change > 0 || s.AssertFailed > 0 {
			return 2
		}
		return 0
	default:
		if len(r.Errors) > 0 || s.Failed > 0 {
			return 1
		}
		return 0
	}
}

// jsonReport is the DESIGN.md shape of `plan --json` / `check --json`.
type jsonReport struct {
	Resources    []jsonResource `json:"resources"`
	Summary      Summary        `json:"summary"`
	HostCommands []jsonCommand  `json:"host_commands"`
	Kept         []KeptResource `json:"kept,omitempty"`
}

type jsonResource struct {
	ID      string       `json:"id"`
	Kind    string       `json:"kind"`
	Status  Status       `json:"status"`
	Effect  Effect       `json:"effect,omitempty"`
	Changes []jsonChange `json:"changes"`
	Actions []jsonAction `json:"actions"`
	Doc     string       `json:"doc,omitempty"`
	// Remediation is present for failed assertions and values to verify
	// manually that have one.
	Remediation string `json:"remediation,omitempty"`
	// Version is the installed version (ResourceReport.Version).
	Version string `json:"version,omitempty"`
}

// jsonAction is an action in the JSON report: the DESIGN.md keys, plus,
// in an apply, whether it ran and, when it failed, the error.
type jsonAction struct {
	Argv     []string `json:"argv"`
	User     string   `json:"user"`
	Reason   string   `json:"reason"`
	Destroys string   `json:"destroys,omitempty"`
	Ran      *bool    `json:"ran,omitempty"`
	Error    string   `json:"error,omitempty"`
}

type jsonChange struct {
	Property string `json:"property"`
	Before   any    `json:"before"`
	After    any    `json:"after"`
}

type jsonCommand struct {
	Argv []string `json:"argv"`
	User string   `json:"user"`
}

// WriteJSON writes the report as one indented JSON object, the shape
// DESIGN.md fixes for `plan --json` and `check --json`; an apply's actions
// also carry "ran" (true or false) and, for the one that failed, "error".
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{Resources: []jsonResource{}, Summary: r.Summary, HostCommands: []jsonCommand{}, Kept: r.Kept}
	for _, res := range r.Resources {
		jr := jsonResource{ID: res.ID, Kind: res.Kind, Status: res.Status, Effect: res.Effect, Changes: []jsonChange{}, Actions: []jsonAction{}, Doc: r.redactor.Scrub(res.Doc), Version: r.redactor.Scrub(res.Version)}
		if res.needsRemediation() {
			jr.Remediation = r.redactor.Scrub(res.Remediation)
		}
		for _, c := range res.Changes {
			jr.Changes = append(jr.Changes, jsonChange{Property: c.Property, Before: r.jsonValue(c.Before), After: r.jsonValue(c.After)})
		}
		for _, a := range res.Actions {
			ja := jsonAction{Argv: r.scrubAll(a.Argv), User: a.User, Reason: r.redactor.Scrub(a.Reason), Destroys: r.redactor.Scrub(a.Destroys), Error: r.redactor.Scrub(a.Error)}
			if r.Mode == ModeApply || r.Mode == ModeDestroy {
				ran := a.Ran
				ja.Ran = &ran
			}
			jr.Actions = append(jr.Actions, ja)
		}
		out.Resources = append(out.Resources, jr)
	}
	for _, e := range r.HostCommands {
		out.HostCommands = append(out.HostCommands, jsonCommand{Argv: r.scrubAll(e.Argv), User: e.User})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (r *Report) scrubAll(in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = r.redactor.Scrub(s)
	}
	return out
}

// jsonValue converts a Starlark value to plain JSON data, scrubbing
// strings. Matchers, unknowns and secrets become their display strings.
func (r *Report) jsonValue(v starlark.Value) any {
	return ToJSON(v, r.redactor.Scrub)
}

// ToJSON converts a Starlark value into data encoding/json can marshal:
// None → null, numbers, strings (passed through scrub), lists, dicts
// with string keys, structs → objects; anything else → its str().
func ToJSON(v starlark.Value, scrub func(string) string) any {
	if scrub == nil {
		scrub = func(s string) string { return s }
	}
	switch x := v.(type) {
	case nil, starlark.NoneType:
		return nil
	case starlark.Bool:
		return bool(x)
	case starlark.Int:
		if n, ok := x.Int64(); ok {
			return n
		}
		return json.Number(x.BigInt().Text(10))
	case starlark.Float:
		return float64(x)
	case starlark.String:
		return scrub(string(x))
	case *starlark.List:
		out := make([]any, x.Len())
		for i := range out {
			out[i] = ToJSON(x.Index(i), scrub)
		}
		return out
	case starlark.Tuple:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ToJSON(e, scrub)
		}
		return out
	case *starlark.Dict:
		out := make(map[string]any, x.Len())
		for _, item := range x.Items() {
			k, ok := starlark.AsString(item[0])
			if !ok {
				k = item[0].String()
			}
			out[scrub(k)] = ToJSON(item[1], scrub)
		}
		return out
	case starlark.HasAttrs:
		if _, isSecret := v.(*Secret); !isSecret {
			if _, isUnknown := v.(*Unknown); !isUnknown {
				if _, isAction := v.(*Action); !isAction {
					out := map[string]any{}
					for _, name := range x.AttrNames() {
						if av, err := x.Attr(name); err == nil && av != nil {
							if _, fn := av.(starlark.Callable); !fn {
								out[name] = ToJSON(av, scrub)
							}
						}
					}
					return out
				}
			}
		}
	}
	return scrub(Display(v))
}

// DisplayProperty is Display, except that an int property named "mode"
// (or ending in "_mode") is shown in octal.
func DisplayProperty(prop string, v starlark.Value) string {
	if n, ok := v.(starlark.Int); ok && (prop == "mode" || strings.HasSuffix(prop, "_mode")) {
		if m, ok := n.Int64(); ok && m >= 0 {
			return fmt.Sprintf("0o%o", m)
		}
	}
	return Display(v)
}

// needsRemediation says whether a person must act on the resource, so
// that its remediation is shown: a failed assertion or a value to verify.
func (res ResourceReport) needsRemediation() bool {
	return res.Remediation != "" && (res.Status == StatusAssertFailed || res.Status == StatusUnknown)
}

// Display renders a value for `property: before → after`: None as
// "absent", unknown values as "unknown (why)", strings quoted, matchers
// in words ("\"present\" or \"not needed\"", "at least 30").
func Display(v starlark.Value) string {
	switch x := v.(type) {
	case *matcher:
		return x.describe()
	case nil, starlark.NoneType:
		return "absent"
	case *Unknown:
		return "unknown (" + x.Reason + ")"
	case starlark.String:
		return strconv.Quote(string(x))
	case starlark.Int:
		if n, ok := x.Int64(); ok {
			return strconv.FormatInt(n, 10)
		}
		return new(big.Int).Set(x.BigInt()).String()
	}
	return v.String()
}

func isMultiline(v starlark.Value) bool {
	s, ok := v.(starlark.String)
	return ok && strings.Contains(strings.TrimRight(string(s), "\n"), "\n")
}

// Verdict is the one-line outcome of a report for people.
func (r *Report) Verdict() string {
	s := r.Summary
	switch r.Mode {
	case ModeApply:
		if r.Converged() {
			return "converged"
		}
		return "not converged"
	case ModeDestroy:
		if r.Converged() {
			return "destroyed"
		}
		return "not destroyed"
	case ModeDestroyPlan:
		switch {
		case s.Failed > 0 || len(r.Errors) > 0:
			return "errors"
		case s.Change == 0:
			return "nothing to destroy"
		}
		return "destroys pending"
	case ModeCheck:
		switch r.ExitCode() {
		case 0:
			return "no drift"
		case 2:
			return "drift detected"
		}
		return "errors"
	}
	switch {
	case s.Failed > 0 || len(r.Errors) > 0:
		return "errors"
	case s.Change == 0:
		return "no changes"
	}
	return "changes pending"
}
