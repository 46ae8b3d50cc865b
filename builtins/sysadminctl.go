package builtins

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

var (
	secureTokenPat = regexp.MustCompile(`Secure token is (ENABLED|DISABLED) for user`)
	creatingUser   = regexp.MustCompile(`(?i)creating user`)
	errorWord      = regexp.MustCompile(`(?i)\berror\b`)
	benignError    = regexp.MustCompile(`### Error:-14120`)
	nslogPrefix    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+ sysadminctl\[\d+:\d+\] `)
)

// ParseSecureToken reads `sysadminctl -secureTokenStatus NAME` output
// (NSLog lines on stderr): "enabled", "disabled", or "" when the output
// says neither.
func ParseSecureToken(out string) string {
	m := secureTokenPat.FindStringSubmatch(out)
	if m == nil {
		return ""
	}
	return strings.ToLower(m[1])
}

// JudgeAddUser decides from sysadminctl's output whether -addUser worked,
// ignoring its exit status (always 0). It requires the "Creating user"
// words (the dots are U+2026, so only the words are matched) and no error
// line other than the benign `### Error:-14120`.
func JudgeAddUser(out string) error {
	for _, ln := range lines(out) {
		msg := nslogPrefix.ReplaceAllString(ln, "")
		if errorWord.MatchString(msg) && !benignError.MatchString(msg) {
			return fmt.Errorf("sysadminctl reported: %s", strings.TrimSpace(msg))
		}
	}
	if !creatingUser.MatchString(out) {
		return fmt.Errorf("sysadminctl did not report creating the user: %w", engine.ErrNotConfirmed)
	}
	return nil
}

// addUserArgv is the argv of sysadminctl -addUser; the password is read
// from the terminal (`-password -`), never passed in argv.
func addUserArgv(name, fullName, shell, home string, admin bool) []string {
	argv := []string{"/usr/sbin/sysadminctl", "-addUser", name, "-fullName", fullName, "-shell", shell, "-home", home, "-password", "-"}
	if admin {
		argv = append(argv, "-admin")
	}
	return argv
}

// userCreated re-reads an account with `id -u NAME`: an error wrapping
// engine.ErrNotConfirmed when id does not know it (its documented
// answer), and an error naming id, its exit status and its stderr when id
// itself failed.
func userCreated(ctx context.Context, h host.Host, name string) error {
	res, err := run(ctx, h, "", "/usr/bin/id", "-u", name)
	if err != nil {
		return err
	}
	switch {
	case res.Exit == 0:
		return nil
	case noSuchUser(res, name):
		return fmt.Errorf("user %s not found after sysadminctl: %w", name, engine.ErrNotConfirmed)
	}
	return exitError("id -u "+name, res)
}

// addUserAction creates an account with sysadminctl, typing the password
// on its terminal, and confirms it from the output and with id -u.
func addUserAction(name, fullName, shell, home string, admin bool, password *engine.Secret) *engine.Action {
	argv := addUserArgv(name, fullName, shell, home, admin)
	return &engine.Action{
		Argv:   argv,
		User:   host.Root,
		Writes: []string{home},
		Run: func(ctx context.Context, s *engine.Session) error {
			pw, err := password.Reveal(ctx, s)
			if err != nil {
				return &engine.ActionError{Argv: argv, User: host.Root, Exit: -1, Err: err}
			}
			cmd := host.Command{Argv: argv, User: host.Root, Stdin: []byte(pw + "\n"), StdinSecret: true, TTY: true, Timeout: 2 * time.Minute, Paths: []string{home}}
			res, err := runStep(ctx, s, cmd, func(r host.Result) error { return JudgeAddUser(r.Stdout + "\n" + r.Stderr) })
			if err != nil {
				return err
			}
			return confirmed(cmd, res, userCreated(ctx, s.Host(), name))
		},
	}
}

// checkDeletion refuses, right before sysadminctl -deleteUser NAME runs,
// to delete an account that is not the one the action declared: NAME is
// looked up as Open Directory looks it up (case-insensitively) in the
// session's account facts (read afresh after any action ran), and the
// account must not be uid 0, a system account (uid below 500), the
// administrator running hvfctl or the Homebrew owner (compared by uid),
// and its real home (NFSHomeDirectory) must be HOME, the path the action
// declares it writes and allow_writes must cover. sysadminctl deletes the
// account's own home whatever HOME the recipe named, so a recipe could
// otherwise delete another account and its home under the name of a
// path it may write. A missing account passes (sysadminctl deletes
// nothing).
func checkDeletion(s *engine.Session, name, home string) error {
	users, err := usersFact(s)
	if err != nil {
		return fmt.Errorf("looking up %s before deleting it: %w", name, err)
	}
	find := func(n string) (User, bool) {
		if n == "" {
			return User{}, false
		}
		for k, u := range users {
			if strings.EqualFold(k, n) {
				return u, true
			}
		}
		return User{}, false
	}
	u, ok := find(name)
	if !ok {
		return nil
	}
	p := s.Principals()
	for _, other := range []string{p.Invoker, p.BrewOwner} {
		if o, ok := find(other); ok && o.UID == u.UID {
			return fmt.Errorf("refusing to delete %s: it is %s (uid %d), the administrator running hvfctl or the Homebrew owner", name, o.Name, u.UID)
		}
	}
	switch {
	case u.UID == 0:
		return fmt.Errorf("refusing to delete %s: it is uid 0", name)
	case u.UID < 500:
		return fmt.Errorf("refusing to delete %s: uid %d is a system account", name, u.UID)
	case path.Clean(u.Home) != path.Clean(home):
		return fmt.Errorf("refusing to delete %s: its home is %s, not %s (the path this action declares and allow_writes covers); sysadminctl deletes the account's own home", name, u.Home, home)
	}
	return nil
}

// autologinArgv reads the auto-login user.
var autologinArgv = []string{"/usr/bin/defaults", "read", "/Library/Preferences/com.apple.loginwindow", "autoLoginUser"}

// gatherAutologin reads the auto-login user; "" when none is set (exit 1
// with "does not exist"). Any other failure of defaults is an error.
func gatherAutologin(ctx context.Context, h host.Host) (string, error) {
	res, err := run(ctx, h, "", autologinArgv...)
	if err != nil {
		return "", err
	}
	u, _, err := defaultsRead{res.Exit, res.Stdout, res.Stderr}.value("defaults read /Library/Preferences/com.apple.loginwindow autoLoginUser")
	return u, err
}

// gatherSecureToken reads the secure token status of user.
func gatherSecureToken(user string) func(ctx context.Context, h host.Host) (string, error) {
	return func(ctx context.Context, h host.Host) (string, error) {
		res, err := run(ctx, h, "", "/usr/sbin/sysadminctl", "-secureTokenStatus", user)
		if err != nil {
			return "", err
		}
		// sysadminctl exits 0 whatever it says (§1.1): another status is
		// a failure of the query itself.
		if res.Exit != 0 {
			return "", exitError("sysadminctl -secureTokenStatus "+user, res)
		}
		return ParseSecureToken(res.Stderr + "\n" + res.Stdout), nil
	}
}

func sysadminctlModule() engine.Module {
	const m = "sysadminctl"
	return engine.Module{
		Name: m,
		Doc:  "Accounts and auto-login (`sysadminctl`). Its exit status is always 0, so every action is judged from its output and a re-read.",
		Builtins: []engine.Builtin{
			newBuiltin(m, "secure_token", "user", engine.KindQuery, `
Runs `+"`/usr/sbin/sysadminctl -secureTokenStatus USER`"+` and returns "enabled" or
"disabled" from its `+"`Secure token is ENABLED|DISABLED for user …`"+` line, or
unknown when the output says neither.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.userArg(args, kwargs)
					if err != nil {
						return nil, err
					}
					st, err := cached(c.s, "securetoken:"+user, gatherSecureToken(user))
					if err != nil {
						return nil, c.hostError(err)
					}
					if st == "" {
						return unknown("sysadminctl -secureTokenStatus %s gave no status", user), nil
					}
					return starlark.String(st), nil
				}),
			newBuiltin(m, "autologin", "", engine.KindQuery, `
Returns the auto-login user name, or None when auto-login is off. Runs
`+"`/usr/bin/defaults read /Library/Preferences/com.apple.loginwindow autoLoginUser`"+`
(exit 1 with "does not exist" when unset); any other failure fails the
query with the command's exit status and stderr.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					u, err := cached(c.s, "autologin", gatherAutologin)
					if err != nil {
						return nil, c.hostError(err)
					}
					if u == "" {
						return starlark.None, nil
					}
					return starlark.String(u), nil
				}),
			newBuiltin(m, "add_user", `name, full_name, password, shell="/bin/zsh", home=None, admin=False`, engine.KindAction, `
Returns the action
`+"`/usr/sbin/sysadminctl -addUser NAME -fullName FULL_NAME -shell SHELL -home HOME -password -`"+`
run as root on a terminal, with the password (a secret(), never a string)
typed on its standard input. The user is standard unless admin=True
(which adds `+"`-admin`"+`). HOME defaults to /Users/NAME; sysadminctl does not
create it (see createhomedir.create).

Success is judged from the output (the "Creating user" words and no error
line) and a re-read with `+"`/usr/bin/id -u NAME`"+`, never the exit status.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var name, fullName string
					var password starlark.Value
					shell := "/bin/zsh"
					var home starlark.Value = starlark.None
					admin := false
					if err := c.unpack(args, kwargs, "name", &name, "full_name", &fullName, "password", &password, "shell?", &shell, "home?", &home, "admin?", &admin); err != nil {
						return nil, err
					}
					if err := checkUser(name); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkPattern("full name", fullName, fullNamePat); err != nil {
						return nil, c.wrap(err)
					}
					sec, ok := password.(*engine.Secret)
					if !ok {
						return nil, c.argError("password must be a secret() or random_password(), not a %s", password.Type())
					}
					if err := c.checkPaths("shell", shell); err != nil {
						return nil, err
					}
					h := "/Users/" + name
					if home != starlark.None {
						hs, ok := starlark.AsString(home)
						if !ok {
							return nil, c.argError("home must be a string or None, not %s", home.Type())
						}
						h = hs
					}
					if err := c.checkPaths("home", h); err != nil {
						return nil, err
					}
					return addUserAction(name, fullName, shell, h, admin, sec), nil
				}),
			newBuiltin(m, "delete_user", "name, home", engine.KindAction, `
Returns the action `+"`/usr/sbin/sysadminctl -deleteUser NAME`"+`, run as root,
which deletes the account and its home directory HOME (the recipe's
allow_writes must cover HOME). sysadminctl exits 0 whatever happens, so
the action is judged by `+"`id -u NAME`"+` failing afterwards with "no such user".
Refuses root and the administrator running hvfctl.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var name, home string
					if err := c.unpack(args, kwargs, "name", &name, "home", &home); err != nil {
						return nil, err
					}
					if err := checkUser(name); err != nil {
						return nil, c.wrap(err)
					}
					if err := c.checkPaths("home", home); err != nil {
						return nil, err
					}
					// Open Directory matches names case-insensitively: "Admin"
					// is admin. The action checks again by uid and home
					// right before it runs (checkDeletion).
					if p := c.s.Principals(); strings.EqualFold(name, host.Root) || (p.Invoker != "" && strings.EqualFold(name, p.Invoker)) || (p.BrewOwner != "" && strings.EqualFold(name, p.BrewOwner)) {
						return nil, c.argError("refusing to delete %s: it is root, the administrator running hvfctl or the Homebrew owner", name)
					}
					cmd := host.Command{Argv: []string{"/usr/sbin/sysadminctl", "-deleteUser", name}, User: host.Root, Timeout: 5 * time.Minute}
					a := confirmedAction(cmd, nil, func(ctx context.Context, h host.Host, _ host.Result) error {
						err := userCreated(ctx, h, name)
						switch {
						case err == nil:
							return fmt.Errorf("user %s still exists after sysadminctl -deleteUser: %w", name, engine.ErrNotConfirmed)
						case errors.Is(err, engine.ErrNotConfirmed):
							return nil // id says no such user: deleted
						}
						return err
					})
					a.Writes = []string{home}
					a.Destroys = "account " + name + " and its home " + home
					run := a.Run
					a.Run = func(ctx context.Context, s *engine.Session) error {
						if err := checkDeletion(s, name, home); err != nil {
							return &engine.ActionError{Argv: cmd.Argv, User: host.Root, Exit: -1, Err: err}
						}
						return run(ctx, s)
					}
					return a, nil
				}),
			newBuiltin(m, "autologin_off", "", engine.KindAction, `
Returns the action `+"`/usr/sbin/sysadminctl -autologin off`"+`, run as root, judged
by re-reading autoLoginUser (it must be unset afterwards).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					if err := c.unpack(args, kwargs); err != nil {
						return nil, err
					}
					cmd := host.Command{Argv: []string{"/usr/sbin/sysadminctl", "-autologin", "off"}, User: host.Root}
					return confirmedAction(cmd, nil, func(ctx context.Context, h host.Host, _ host.Result) error {
						u, err := gatherAutologin(ctx, h)
						if err != nil {
							return err
						}
						if u != "" {
							return fmt.Errorf("auto-login still set for %s: %w", u, engine.ErrNotConfirmed)
						}
						return nil
					}), nil
				}),
		},
	}
}

func createhomedirModule() engine.Module {
	return engine.Module{
		Name: "createhomedir",
		Doc:  "Home directory creation (`createhomedir`).",
		Builtins: []engine.Builtin{
			newBuiltin("createhomedir", "create", "user", engine.KindAction, `
Returns the action `+"`/usr/sbin/createhomedir -c -u USER`"+`, run as root, which
creates /Users/USER from the user template (sysadminctl -home does not).`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.userArg(args, kwargs)
					if err != nil {
						return nil, err
					}
					cmd := host.Command{Argv: []string{"/usr/sbin/createhomedir", "-c", "-u", user}, User: host.Root}
					return engine.Exec(cmd, []string{"/Users/" + user}, nil), nil
				}),
		},
	}
}
