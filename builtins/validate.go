package builtins

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"
)

// Validators refuse bad arguments before anything runs. Every string that
// reaches an argv passes one of them: paths must be absolute and clean,
// names must match their tool's pattern and may never start with a dash,
// so that no argument can be read as an option.

var (
	userPattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]{0,254}$`)
	formulaPattern = regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9._-]*/)?[a-z0-9][a-z0-9@._+-]*$`)
	tapPattern     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*/[A-Za-z0-9][A-Za-z0-9._-]*$`)
	labelPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	pkgIDPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	sha256Pattern  = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
	domainPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	defaultsKeyPat = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)
	pmsetKeyPat    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*$`)
	pmsetValuePat  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/]*$`)
	runnerLabelPat = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
	workFolderPat  = regexp.MustCompile(`^([A-Za-z0-9_][A-Za-z0-9._-]*|/[A-Za-z0-9._/-]+)$`)
	runnerNamePat  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	githubURLPat   = regexp.MustCompile(`^https://github\.com/[A-Za-z0-9][A-Za-z0-9-]*(/[A-Za-z0-9._-]+)?$`)
	cltLabelPat    = regexp.MustCompile(`^Command Line Tools for Xcode(-[0-9][0-9.]*| [0-9][0-9.]*-[0-9][0-9.]*)$`)
	fullNamePat    = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._'-]{0,127}$`)
)

// checkText refuses control characters (NUL, newline, tab …) in any
// string that goes into an argv or a path.
func checkText(what, s string) error {
	for _, r := range s {
		if r == 0 || unicode.IsControl(r) {
			return fmt.Errorf("%s %q contains a control character", what, s)
		}
	}
	return nil
}

// checkPath requires an absolute, clean path without control characters
// or `..` components.
func checkPath(what, p string) error {
	if err := checkText(what, p); err != nil {
		return err
	}
	if p == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !path.IsAbs(p) {
		return fmt.Errorf("%s %q is not an absolute path", what, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return fmt.Errorf("%s %q contains a .. component", what, p)
		}
	}
	if path.Clean(p) != p {
		return fmt.Errorf("%s %q is not clean (expected %q)", what, p, path.Clean(p))
	}
	return nil
}

// checkPattern matches s against re after refusing a leading dash and
// control characters.
func checkPattern(what, s string, re *regexp.Regexp) error {
	if err := checkText(what, s); err != nil {
		return err
	}
	if strings.HasPrefix(s, "-") {
		return fmt.Errorf("%s %q starts with a dash and would be read as an option", what, s)
	}
	if !re.MatchString(s) {
		return fmt.Errorf("invalid %s %q (must match %s)", what, s, re)
	}
	return nil
}

// checkUser validates an account name.
func checkUser(s string) error { return checkPattern("user name", s, userPattern) }

// checkFormula validates a Homebrew formula name, optionally tap-qualified.
func checkFormula(s string) error { return checkPattern("formula name", s, formulaPattern) }

// checkTapFormula validates a tap-qualified formula name USER/REPO/NAME.
func checkTapFormula(s string) error {
	if err := checkFormula(s); err != nil {
		return err
	}
	if strings.Count(s, "/") != 2 {
		return fmt.Errorf("formula %q must be tap-qualified (USER/REPO/NAME)", s)
	}
	return nil
}

// checkCask validates a Homebrew cask token.
func checkCask(s string) error { return checkPattern("cask name", s, formulaPattern) }

// checkTap validates a tap name USER/REPO.
func checkTap(s string) error { return checkPattern("tap name", s, tapPattern) }

// checkLabel validates a launchd label.
func checkLabel(s string) error { return checkPattern("launchd label", s, labelPattern) }

// checkPkgID validates a package receipt identifier.
func checkPkgID(s string) error { return checkPattern("package id", s, pkgIDPattern) }

// normSHA256 validates a SHA-256 as 64 hex digits and returns it in lower case.
func normSHA256(s string) (string, error) {
	if !sha256Pattern.MatchString(s) {
		return "", fmt.Errorf("sha256 %q is not 64 hex digits", s)
	}
	return strings.ToLower(s), nil
}

// checkMode validates permission bits (including setuid, setgid, sticky).
func checkMode(m int) error {
	if m < 0 || m > 0o7777 {
		return fmt.Errorf("mode %#o is out of range 0..0o7777", m)
	}
	return nil
}

// checkHTTPSURL validates a download URL: https, a host, no credentials,
// no control characters.
func checkHTTPSURL(s string) error {
	if err := checkText("url", s); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("url %q: %w", s, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("url %q must be an https URL with a host", s)
	}
	if u.User != nil {
		return fmt.Errorf("url %q must not carry credentials", s)
	}
	return nil
}

// checkGitHubURL validates a runner registration URL (repository or
// organisation on github.com).
func checkGitHubURL(s string) error { return checkPattern("GitHub URL", s, githubURLPat) }
