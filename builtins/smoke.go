package builtins

import (
	"context"
	"fmt"
	"path"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// smokeTimeout bounds one smoke-test command (a compile and link of a
// hello world is the slowest).
const smokeTimeout = 2 * time.Minute

// smokeResult is what one smoke-test command did.
type smokeResult struct {
	program string // the program run ("" when the name was not found)
	res     host.Result
}

// resolveOnPath finds name the way the runner's shell would: the first
// entry of dirs where it exists and is not a directory. An absolute name
// is taken as it is.
func resolveOnPath(ctx context.Context, s *engine.Session, name string, dirs []string) (string, error) {
	if path.IsAbs(name) {
		return name, nil
	}
	cands := make([]string, len(dirs))
	for i, d := range dirs {
		cands[i] = path.Join(d, name)
	}
	st, err := statPaths(ctx, s, cands...)
	if err != nil {
		return "", err
	}
	for _, c := range cands {
		if f := st[c]; f.Exists && f.Type != "dir" {
			return c, nil
		}
	}
	return "", nil
}

// smokeRun runs argv as user, in dir, with PATH set to dirs and TMPDIR
// to dir, and stdin on standard input.
func smokeRun(ctx context.Context, s *engine.Session, user string, argv []string, dirs []string, dir, stdin string) (smokeResult, error) {
	prog, err := resolveOnPath(ctx, s, argv[0], dirs)
	if err != nil {
		return smokeResult{}, err
	}
	if prog == "" {
		return smokeResult{res: host.Result{Exit: 127, Stderr: fmt.Sprintf("%s: command not found (PATH=%s)", argv[0], strings.Join(dirs, ":"))}}, nil
	}
	cmd := host.Command{
		Argv: append([]string{prog}, argv[1:]...),
		User: user,
		Dir:  dir,
		Env: []host.EnvVar{
			{Name: "PATH", Value: strings.Join(dirs, ":")},
			{Name: "TMPDIR", Value: dir},
		},
		Stdin:   []byte(stdin),
		Timeout: smokeTimeout,
	}
	res, err := s.Host().Run(ctx, cmd)
	if err != nil {
		// Could not start (a broken link, a file that is not a Mach-O
		// the kernel runs): a failed smoke test, not a failed check.
		return smokeResult{program: prog, res: host.Result{Exit: 126, Stderr: err.Error()}}, nil
	}
	return smokeResult{program: prog, res: res}, nil
}

func smokeModule() engine.Module {
	return engine.Module{
		Name: "smoke",
		Doc:  "Smoke tests of what the CI runs, as the runner account (`smoke.run`).",
		Builtins: []engine.Builtin{
			newBuiltin("smoke", "run", `argv, user, path, dir, stdin=""`, engine.KindQuery, `
Runs ARGV as USER, never root, the way a CI job would: a bare ARGV[0] is
looked up in PATH (a list of directories, the runner's PATH) like the
runner's shell does, and the command runs with PATH set to them, TMPDIR and
the working directory set to DIR, and STDIN on its standard input. DIR
must be absolute and under the recipe's allow_writes: it is the only place
the command is meant to write (its output files belong there). No shell is
involved. Returns struct(program, exit, stdout, stderr): program is the
path run ("" and exit 127 when ARGV[0] is not on PATH); a program that
cannot be started at all gives exit 126 with the reason in stderr.
Cached per run for the same arguments.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var argvV, pathV starlark.Value
					var user, dir, stdin string
					if err := c.unpack(args, kwargs, "argv", &argvV, "user", &user, "path", &pathV, "dir", &dir, "stdin?", &stdin); err != nil {
						return nil, err
					}
					argv, err := stringsOf(argvV, "argv")
					if err != nil || len(argv) == 0 {
						return nil, c.argError("argv must be a non-empty list of strings")
					}
					dirs, err := stringsOf(pathV, "path")
					if err != nil || len(dirs) == 0 {
						return nil, c.argError("path must be a non-empty list of directories")
					}
					if user == host.Root || user == "" {
						return nil, c.argError("smoke tests run as the runner account, never as root")
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					for _, a := range argv {
						if err := checkText("argument", a); err != nil {
							return nil, c.wrap(err)
						}
					}
					if strings.Contains(argv[0], "/") && !path.IsAbs(argv[0]) {
						return nil, c.argError("argv[0] %q must be absolute or a bare name looked up in path", argv[0])
					}
					for _, d := range dirs {
						if err := checkPath("path entry", d); err != nil {
							return nil, c.wrap(err)
						}
					}
					if err := c.checkPaths("dir", dir); err != nil {
						return nil, err
					}
					if err := c.s.CheckWrite(dir); err != nil {
						return nil, c.argError("dir: %v", err)
					}
					key := "smoke\x00" + user + "\x00" + dir + "\x00" + stdin + "\x00" + strings.Join(dirs, ":") + "\x00" + strings.Join(argv, "\x00")
					r, err := cached(c.s, key, func(ctx context.Context, _ host.Host) (smokeResult, error) {
						return smokeRun(ctx, c.s, user, argv, dirs, dir, stdin)
					})
					if err != nil {
						return nil, c.hostError(err)
					}
					return mkstruct(map[string]starlark.Value{
						"program": starlark.String(r.program),
						"exit":    starlark.MakeInt(r.res.Exit),
						"stdout":  starlark.String(r.res.Stdout),
						"stderr":  starlark.String(r.res.Stderr),
					}), nil
				}),
		},
	}
}
