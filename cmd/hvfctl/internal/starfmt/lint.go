package starfmt

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/bazelbuild/buildtools/build"
	"github.com/bazelbuild/buildtools/warn"
)

// Categories of findings that are not buildtools warnings.
const (
	// SyntaxCategory is a file that does not parse.
	SyntaxCategory = "syntax"
	// DialectCategory is code the recipe dialect refuses (while loops,
	// reassigned globals …).
	DialectCategory = "dialect"
	// LoadPathCategory is a load() the engine would refuse.
	LoadPathCategory = "load-path"
	// SecretLiteralCategory is a password or token written into a file.
	SecretLiteralCategory = "secret-literal"
	// RemediationCategory is a resource without fix and without
	// remediation (an assertion must say what a person has to do).
	RemediationCategory = "assertion-remediation"
)

var customCategories = []string{LoadPathCategory, SecretLiteralCategory, RemediationCategory}

// buildtoolsWarnings are the buildtools checks that find mistakes in
// plain Starlark. The Bazel-specific ones (rules, attrs, native,
// providers, visibility …) are left out, and so are the style rules that
// disagree with the stdlib's conventions (docstring layout with a
// "Keywords:" section, unit names such as KiB).
var buildtoolsWarnings = []string{
	"confusing-name",
	"dict-concatenation",
	"dict-method-named-arg",
	"integer-division",
	"keyword-positional-params",
	"list-append",
	"load",
	"no-effect",
	"redefined-variable",
	"return-value",
	"string-iteration",
	"uninitialized",
	"unreachable",
	"unused-variable",
}

// Finding is one lint finding.
type Finding struct {
	File     string
	Line     int
	Category string
	Message  string
}

// String renders the finding as "file:line: category: message".
func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: %s: %s", f.File, f.Line, f.Category, f.Message)
}

// Lint checks src and returns its findings sorted by line. A file that
// does not parse gives a *SyntaxError instead.
func Lint(name string, src []byte) (findings []Finding, err error) {
	f, err := parse(name, src)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			findings, err = nil, fmt.Errorf("%s: lint failed: %v", name, r)
		}
	}()
	params := paramPositions(f)
	for _, w := range warn.FileWarnings(f, buildtoolsWarnings, nil, warn.ModeWarn, nil) {
		if w.Category == "unused-variable" && params[w.Start] {
			// Callbacks have fixed signatures (fix(have, want)); an
			// unused parameter is not a mistake.
			continue
		}
		findings = append(findings, Finding{
			File:     name,
			Line:     w.Start.Line,
			Category: w.Category,
			Message:  firstLine(w.Message),
		})
	}
	findings = append(findings, dialectFindings(name, src)...)
	findings = append(findings, loadPathFindings(name, f)...)
	findings = append(findings, secretFindings(name, f)...)
	findings = append(findings, remediationFindings(name, f)...)
	sort.SliceStable(findings, func(i, j int) bool {
		if findings[i].Line != findings[j].Line {
			return findings[i].Line < findings[j].Line
		}
		return findings[i].Category < findings[j].Category
	})
	return findings, nil
}

// paramPositions returns the start of every function parameter's name.
func paramPositions(f *build.File) map[build.Position]bool {
	out := map[build.Position]bool{}
	var add func(build.Expr)
	add = func(p build.Expr) {
		switch p := p.(type) {
		case *build.Ident:
			out[p.NamePos] = true
		case *build.TypedIdent:
			add(p.Ident)
		case *build.AssignExpr:
			add(p.LHS)
		case *build.UnaryExpr:
			add(p.X)
		}
	}
	build.Walk(f, func(x build.Expr, _ []build.Expr) {
		if def, ok := x.(*build.DefStmt); ok {
			for _, p := range def.Params {
				add(p)
			}
		}
		if fn, ok := x.(*build.LambdaExpr); ok {
			for _, p := range fn.Params {
				add(p)
			}
		}
	})
	return out
}

// firstLine keeps a message on one line of output.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// loadPathFindings applies the engine's load() rules: modules end in
// .star and are either "@stdlib//NAME.star" or a path relative to the
// recipe that neither is absolute nor climbs out with "..".
func loadPathFindings(name string, f *build.File) []Finding {
	var out []Finding
	for _, st := range f.Stmt {
		load, ok := st.(*build.LoadStmt)
		if !ok || load.Module == nil {
			continue
		}
		m := load.Module.Value
		line := load.Module.Start.Line
		bad := func(msg string) {
			out = append(out, Finding{File: name, Line: line, Category: LoadPathCategory, Message: fmt.Sprintf("load(%q): %s", m, msg)})
		}
		switch {
		case !strings.HasSuffix(m, ".star"):
			bad("module names end in .star")
		case strings.HasPrefix(m, "@stdlib//"):
			rest := strings.TrimPrefix(m, "@stdlib//")
			if rest == ".star" || strings.Contains(rest, "..") || strings.HasPrefix(rest, "/") {
				bad("not a stdlib module name")
			}
		case strings.HasPrefix(m, "@") || strings.HasPrefix(m, "//") || strings.Contains(m, ":"):
			bad(`unknown repository; only "@stdlib//" and paths relative to the recipe are allowed`)
		case strings.HasPrefix(m, "/"):
			bad("absolute paths are not allowed; load relative to the recipe's directory")
		case m == ".." || strings.HasPrefix(m, "../") || strings.Contains(m, "/../"):
			bad(`".." would leave the recipe's directory`)
		}
	}
	return out
}

// secretName matches the names of arguments and variables that hold a
// password or a token.
var secretName = regexp.MustCompile(`(?i)(^|_)(password|passwd|passphrase|token|secret)$`)

// secretFindings reports a non-empty string literal given to a keyword
// argument, or assigned to a variable, whose name says it is a secret.
// Secrets come from secret() or random_password() at apply time.
func secretFindings(name string, f *build.File) []Finding {
	var out []Finding
	report := func(what string, rhs build.Expr) {
		s, ok := rhs.(*build.StringExpr)
		if !ok || s.Value == "" {
			return
		}
		out = append(out, Finding{File: name, Line: s.Start.Line, Category: SecretLiteralCategory,
			Message: fmt.Sprintf("%s is a string literal; secrets come from secret() or random_password() and are never written in a file", what)})
	}
	build.Walk(f, func(x build.Expr, stk []build.Expr) {
		switch x := x.(type) {
		case *build.CallExpr:
			for _, arg := range x.List {
				if kw, ok := arg.(*build.AssignExpr); ok {
					if id, ok := kw.LHS.(*build.Ident); ok && secretName.MatchString(id.Name) {
						report("argument "+id.Name, kw.RHS)
					}
				}
			}
		case *build.AssignExpr:
			if len(stk) > 0 {
				if _, inCall := stk[len(stk)-1].(*build.CallExpr); inCall {
					return // a keyword argument, handled above
				}
			}
			if id, ok := x.LHS.(*build.Ident); ok && secretName.MatchString(id.Name) {
				report("variable "+id.Name, x.RHS)
			}
		}
	})
	return out
}

// resourceFixPos is the position of fix (remediation follows it) in the
// signature resource(id, kind, want, check, fix=None, remediation=None, …).
const resourceFixPos = 4

// remediationFindings reports resource() calls that have neither a fix
// nor a remediation: an assertion must tell a person what to do.
func remediationFindings(name string, f *build.File) []Finding {
	var out []Finding
	build.Walk(f, func(x build.Expr, _ []build.Expr) {
		call, ok := x.(*build.CallExpr)
		if !ok {
			return
		}
		if id, ok := call.X.(*build.Ident); !ok || id.Name != "resource" {
			return
		}
		positional := 0
		for _, arg := range call.List {
			switch a := arg.(type) {
			case *build.AssignExpr:
				if id, ok := a.LHS.(*build.Ident); ok && (id.Name == "fix" || id.Name == "remediation") && !isNone(a.RHS) {
					return
				}
			case *build.UnaryExpr:
				if a.Op == "*" || a.Op == "**" {
					return // cannot tell statically
				}
				positional++
			default:
				if (positional == resourceFixPos || positional == resourceFixPos+1) && !isNone(arg) {
					return // fix or remediation given by position
				}
				positional++
			}
		}
		start, _ := call.Span()
		out = append(out, Finding{File: name, Line: start.Line, Category: RemediationCategory,
			Message: "resource() without fix must give remediation (what a person has to do)"})
	})
	return out
}

func isNone(x build.Expr) bool {
	id, ok := x.(*build.Ident)
	return ok && id.Name == "None"
}
