package audit

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"

	"github.com/sysprog21/hvfctl/workflow"
	"github.com/sysprog21/hvfctl/workflow/expr"
)

// rosettaRe finds Rosetta translator paths in scripts and env values.
var rosettaRe = regexp.MustCompile(`/Library/Apple/usr/libexec/oah/[A-Za-z0-9_./-]+`)

// toolchainEnv are the env variables that name a toolchain directory.
var toolchainEnv = map[string]bool{"LINUX_TOOLCHAIN": true, "ELF_TOOLCHAIN": true}

// hostFindings cross-checks the job with the recipe: labels, env paths,
// Homebrew formulae and the Rosetta path must all be provided by the
// recipe, because the runner account cannot install anything.
func (ja *jobAudit) hostFindings() error {
	rf := ja.o.Recipe
	src := rf.Source
	if src == "" {
		src = "the recipe"
	}
	ja.hostLabels(rf, src)
	envs, err := ja.envValues()
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	once := func(f Finding) {
		k := f.Rule + "\x00" + f.Message
		if !seen[k] {
			seen[k] = true
			ja.add(f)
		}
	}
	for _, e := range envs {
		name := strings.ToUpper(e.name)
		switch {
		case toolchainEnv[name]:
			if !containsPath(rf.ToolchainPaths(), e.value) {
				once(Finding{Rule: "host-env", Level: LevelFail, Line: e.line,
					Message: fmt.Sprintf("%s=%s, but %s declares no such toolchain (it has %s)", e.name, e.value, src, listOrNone(rf.ToolchainPaths())),
					Witness: fmt.Sprintf("workflow %s=%s ≠ recipe toolchains %s", e.name, e.value, listOrNone(rf.ToolchainPaths()))})
			}
		case name == "GNU_OBJCOPY":
			if path.Clean(e.value) != path.Clean(rf.ObjcopyPath) || rf.ObjcopyPath == "" {
				once(Finding{Rule: "host-env", Level: LevelFail, Line: e.line,
					Message: fmt.Sprintf("GNU_OBJCOPY=%s, but %s provides %s", e.value, src, orNoneStr(rf.ObjcopyPath)),
					Witness: fmt.Sprintf("workflow GNU_OBJCOPY=%s ≠ recipe objcopy %s", e.value, orNoneStr(rf.ObjcopyPath))})
			}
		case name == "BREW_PKGS":
			for _, f := range strings.FieldsFunc(e.value, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' || r == '\n' }) {
				if f == anyValue || rf.HasFormula(f) {
					continue
				}
				once(Finding{Rule: "host-brew", Level: LevelFail, Line: e.line,
					Message: fmt.Sprintf("the job installs the formula %s (BREW_PKGS%s), but %s does not pre-install it, and the runner account cannot install", f, e.combo, src),
					Witness: fmt.Sprintf("workflow BREW_PKGS has %s ∉ recipe formulae %s", f, listOrNone(rf.Formulae))})
			}
		case strings.HasPrefix(e.value, "/"):
			if msg := ja.pathProvided(rf, e.value); msg != "" {
				once(Finding{Rule: "host-env", Level: LevelFail, Line: e.line,
					Message: fmt.Sprintf("%s=%s: %s in %s", e.name, e.value, msg, src),
					Witness: fmt.Sprintf("workflow %s=%s", e.name, e.value)})
			}
		}
		for _, p := range rosettaRe.FindAllString(e.value, -1) {
			ja.checkRosetta(rf, src, p, e.line, once)
		}
	}
	for _, combo := range ja.combos {
		for k, v := range combo {
			if k != "brew_pkgs" && k != "brew-pkgs" {
				continue
			}
			for _, f := range strings.Fields(fmt.Sprint(v)) {
				if f == anyValue || rf.HasFormula(f) {
					continue
				}
				once(Finding{Rule: "host-brew", Level: LevelFail, Line: posLine(ja.j.Strategy.Pos),
					Message: fmt.Sprintf("matrix brew_pkgs installs the formula %s, but %s does not pre-install it, and the runner account cannot install", f, src),
					Witness: fmt.Sprintf("workflow matrix brew_pkgs has %s ∉ recipe formulae %s", f, listOrNone(rf.Formulae))})
			}
		}
	}
	runsMatrix := false
	for _, st := range ja.j.Steps {
		r, ok := st.Exec.(*actionlint.ExecRun)
		if !ok || r.Run == nil {
			continue
		}
		for _, p := range rosettaRe.FindAllString(r.Run.Value, -1) {
			ja.checkRosetta(rf, src, p, posLine(r.Run.Pos), once)
		}
		if strings.Contains(r.Run.Value, "test-matrix.sh") {
			runsMatrix = true
		}
		for _, f := range brewInstalls(r.Run.Value) {
			if rf.HasFormula(f) {
				continue
			}
			once(Finding{Rule: "host-brew", Level: LevelFail, Line: posLine(r.Run.Pos),
				Message: fmt.Sprintf("a run step installs the formula %s (brew install), but %s does not pre-install it, and the runner account cannot install", f, src),
				Witness: fmt.Sprintf("workflow run: brew install %s ∉ recipe formulae %s", f, listOrNone(rf.Formulae))})
		}
	}
	if runsMatrix && rf.RosettaPath == "" {
		once(Finding{Rule: "host-rosetta", Level: LevelFail, Line: posLine(ja.j.ID.Pos),
			Message: fmt.Sprintf("the job runs tests/test-matrix.sh, whose Rosetta suites need /Library/Apple/usr/libexec/oah/RosettaLinux/rosetta, but %s provides no Rosetta (the suites would skip silently)", src),
			Witness: "workflow runs test-matrix.sh; recipe declares no rosetta"})
	}
	return nil
}

func (ja *jobAudit) checkRosetta(rf *workflow.RecipeFacts, src, p string, line int, once func(Finding)) {
	if rf.RosettaPath != "" && path.Clean(p) == path.Clean(rf.RosettaPath) {
		return
	}
	once(Finding{Rule: "host-rosetta", Level: LevelFail, Line: line,
		Message: fmt.Sprintf("the job checks the Rosetta translator %s, but %s provides %s", p, src, orNoneStr(rf.RosettaPath)),
		Witness: fmt.Sprintf("workflow Rosetta path %s ≠ recipe rosetta %s", p, orNoneStr(rf.RosettaPath))})
}

// hostLabels reports runs-on labels that are not the recipe runner's.
func (ja *jobAudit) hostLabels(rf *workflow.RecipeFacts, src string) {
	if ja.runsOn == nil {
		return
	}
	bad := map[string]bool{}
	line := posLine(ja.j.ID.Pos)
	if ja.j.RunsOn != nil && len(ja.j.RunsOn.Labels) > 0 {
		line = posLine(ja.j.RunsOn.Labels[0].Pos)
	}
	for _, combo := range ja.combos {
		ctx := completeContext(map[string]any{"github": ja.ss.rows[0].github("push", "", labelVariant{}, baseChoice{})})
		if combo != nil {
			ctx["matrix"] = deepCopy(map[string]any(combo))
		} else {
			ctx["matrix"] = expr.Unknown{}
		}
		labels, _, err := ja.runsOn.resolve(ctx)
		if err != nil {
			continue
		}
		for _, l := range labels {
			if l == anyValue || l == "" {
				continue
			}
			if !landsOn([]string{l}, "", rf.Labels) {
				bad[l] = true
			}
		}
	}
	for _, l := range sortedKeys(bad) {
		ja.add(Finding{Rule: "host-labels", Level: LevelFail, Line: line,
			Message: fmt.Sprintf("runs-on label %q is not one of the runner labels %s declared in %s", l, listOrNone(rf.Labels), src),
			Witness: fmt.Sprintf("workflow runs-on %s ∌ recipe labels %s", ja.rep.RunsOn, listOrNone(rf.Labels))})
	}
}

// pathProvided checks an absolute path under the Homebrew prefix or
// /opt/toolchain; it returns what is missing, or "".
func (ja *jobAudit) pathProvided(rf *workflow.RecipeFacts, p string) string {
	p = path.Clean(p)
	if rf.BrewPrefix != "" && strings.HasPrefix(p, path.Join(rf.BrewPrefix, "opt")+"/") {
		formula := strings.SplitN(strings.TrimPrefix(p, path.Join(rf.BrewPrefix, "opt")+"/"), "/", 2)[0]
		if !rf.HasFormula(formula) {
			return fmt.Sprintf("the formula %s is not pre-installed", formula)
		}
		return ""
	}
	if strings.HasPrefix(p, "/opt/toolchain/") {
		for _, t := range rf.ToolchainPaths() {
			t = path.Clean(t)
			if p == t || strings.HasPrefix(p, t+"/") {
				return ""
			}
		}
		return fmt.Sprintf("no declared toolchain contains it (toolchains: %s)", listOrNone(rf.ToolchainPaths()))
	}
	return ""
}

// envValue is one env variable as the job sees it, per matrix row.
type envValue struct {
	name, value, combo string
	line               int
}

// envValues evaluates the workflow, job and step env of the job for each
// matrix combination (values that use other expressions become <any>).
func (ja *jobAudit) envValues() ([]envValue, error) {
	var envs []*actionlint.Env
	envs = append(envs, ja.w.Env, ja.j.Env)
	for _, st := range ja.j.Steps {
		envs = append(envs, st.Env)
	}
	var out []envValue
	for _, e := range envs {
		if e == nil {
			continue
		}
		for _, k := range sortedKeys(e.Vars) {
			v := e.Vars[k]
			if v.Value == nil {
				continue
			}
			t, err := parseTemplate(v.Value)
			if err != nil {
				return nil, err
			}
			for _, combo := range ja.combos {
				ctx := completeContext(map[string]any{"github": ja.ss.rows[0].github("push", "", labelVariant{}, baseChoice{})})
				if combo != nil {
					ctx["matrix"] = deepCopy(map[string]any(combo))
				}
				rs := newRefSet(t.exprs...)
				as, _ := assignments(ctx, anyOnly(rs.unknowns(ctx)), 1)
				s, err := t.str(as[0].ctx)
				if err != nil {
					return nil, err
				}
				c := ""
				if len(combo) > 0 && t.exprs != nil {
					c = " in " + describeCombo(combo, nil)
				}
				ev := envValue{name: v.Name.Value, value: s, combo: c, line: posLine(v.Value.Pos)}
				if !containsEnv(out, ev) {
					out = append(out, ev)
				}
			}
		}
	}
	return out, nil
}

// anyOnly makes every unknown take the single value anyValue.
func anyOnly(us []unknownRef) []unknownRef {
	out := make([]unknownRef, len(us))
	for i, u := range us {
		out[i] = unknownRef{path: u.path, cands: []any{anyValue}}
	}
	return out
}

func containsEnv(xs []envValue, e envValue) bool {
	for _, x := range xs {
		if x.name == e.name && x.value == e.value {
			return true
		}
	}
	return false
}

func containsPath(xs []string, p string) bool {
	for _, x := range xs {
		if path.Clean(x) == path.Clean(p) {
			return true
		}
	}
	return false
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	s := append([]string(nil), xs...)
	sort.Strings(s)
	return "[" + strings.Join(s, ", ") + "]"
}

func orNoneStr(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// brewCmdRe finds a brew command that installs formulae.
var brewCmdRe = regexp.MustCompile(`\bbrew\s+(install|reinstall|upgrade)\b`)

// brewInstalls returns the formulae a run script names literally after
// brew install, reinstall or upgrade (options, variables and expressions
// are left out: BREW_PKGS and the matrix are checked from their values).
func brewInstalls(script string) []string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []string
	for _, line := range strings.Split(script, "\n") {
		loc := brewCmdRe.FindStringIndex(line)
		if loc == nil {
			continue
		}
		for _, w := range strings.Fields(line[loc[1]:]) {
			if strings.ContainsAny(w, ";|&#)") {
				break
			}
			if strings.HasPrefix(w, "-") || strings.ContainsAny(w, "$\"'`{}") {
				continue
			}
			if !containsStr(out, w) {
				out = append(out, w)
			}
		}
	}
	return out
}
