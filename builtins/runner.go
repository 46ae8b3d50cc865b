package builtins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// Registration is the runner's `.runner` file (camelCase JSON); each
// field is the key named in its tag, as config.sh writes it.
type Registration struct {
	AgentID     int64  `json:"agentId"`
	AgentName   string `json:"agentName"`
	GitHubURL   string `json:"gitHubUrl"`
	WorkFolder  string `json:"workFolder"`
	PoolID      int64  `json:"poolId"`
	PoolName    string `json:"poolName"`
	ServerURL   string `json:"serverUrl"`
	Ephemeral   bool   `json:"ephemeral"`
	DisableUpdt bool   `json:"disableUpdate"`
}

// ParseRunnerFile parses `.runner`, stripping the UTF-8 BOM .NET writes.
func ParseRunnerFile(data []byte) (Registration, error) {
	var r Registration
	data = bytes.TrimPrefix(data, []byte{0xEF, 0xBB, 0xBF})
	if err := json.Unmarshal(data, &r); err != nil {
		return r, fmt.Errorf("parsing .runner: %w", err)
	}
	return r, nil
}

var labelUnsafe = regexp.MustCompile(`[^0-9A-Za-z._-]`)

// RunnerLabel returns the launchd label of a runner:
// `actions.runner.<owner-repo>.<name>`, where every character of OWNER/REPO
// outside [0-9A-Za-z._-] becomes `-`. Labels over 150 characters (which
// the runner shortens with a random suffix) are refused.
func RunnerLabel(url, name string) (string, error) {
	if err := checkGitHubURL(url); err != nil {
		return "", err
	}
	if err := checkPattern("runner name", name, runnerNamePat); err != nil {
		return "", err
	}
	scope := strings.TrimPrefix(url, "https://github.com/")
	l := "actions.runner." + labelUnsafe.ReplaceAllString(scope, "-") + "." + name
	if len(l) > 150 {
		return "", fmt.Errorf("runner label %q is over 150 characters; the runner would shorten it unpredictably", l)
	}
	return l, nil
}

var listenerVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// ParseListenerVersion reads `Runner.Listener --version`: one line with
// the version (BuildConstants.RunnerPackage.Version).
func ParseListenerVersion(out string) (string, error) {
	v := strings.TrimSpace(out)
	if !listenerVersion.MatchString(v) {
		return "", fmt.Errorf("Runner.Listener --version printed %q, not a version", engine.Tail(v, 1))
	}
	return v, nil
}

// listenerOutput runs ROOT/bin/Runner.Listener --version as user once
// per run and returns what it printed; a command that cannot run or exits
// non-zero is an error.
func listenerOutput(s *engine.Session, root, user string) (string, error) {
	return cached(s, "runner-version:"+root+"\x00"+user, func(ctx context.Context, h host.Host) (string, error) {
		// The listener is the runner account's file: it runs only as
		// the account that owns the root, never as another one (an
		// administrator's account would run what a job wrote), and
		// never as uid 0, as svc.sh and config.sh do.
		if _, _, err := runnerOwnedRoot(ctx, s, root, user); err != nil {
			return "", fmt.Errorf("%s/bin/Runner.Listener --version not run: %w", root, err)
		}
		// No working directory: the listener finds its root from its own
		// path, and --version reads nothing there.
		cmd := host.Command{Argv: []string{root + "/bin/Runner.Listener", "--version"}, User: user, Timeout: time.Minute}
		res, err := h.Run(ctx, cmd)
		if err != nil {
			return "", fmt.Errorf("%s: %w", strings.Join(cmd.Argv, " "), err)
		}
		if res.Exit != 0 {
			return "", exitError(strings.Join(cmd.Argv, " "), res)
		}
		return res.Stdout, nil
	})
}

// CompareVersions compares dotted versions number by number (a missing
// number counts as 0); a part that is not a number is refused.
func CompareVersions(a, b string) (int, error) {
	pa, err := strictVersionParts(a)
	if err != nil {
		return 0, err
	}
	pb, err := strictVersionParts(b)
	if err != nil {
		return 0, err
	}
	return engine.CompareVersions(pa, pb), nil
}

func strictVersionParts(v string) ([]int, error) {
	if v == "" {
		return nil, fmt.Errorf("empty version")
	}
	var out []int
	for _, f := range strings.Split(v, ".") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("version %q: %q is not a number", v, f)
		}
		out = append(out, n)
	}
	return out, nil
}

// RunnerDaemon is a runner that a LaunchDaemon starts, as its plist and
// the runner's .runner describe it.
type RunnerDaemon struct {
	// Label is the launchd label (actions.runner.OWNER-REPO.NAME).
	Label string
	// Root is the runner root (WorkingDirectory).
	Root string
	// User is the account the daemon runs as (UserName).
	User string
	// StdoutPath is where the runner's console goes (StandardOutPath):
	// runsvc.sh runs bin/RunnerService.js, which copies the listener's
	// stdout and stderr there (actions/runner
	// src/Misc/layoutbin/RunnerService.js).
	StdoutPath string
	// Name and URL are what .runner registers ("" when not configured).
	Name, URL string
}

// RunnerDaemons lists the runners started by
// /Library/LaunchDaemons/actions.runner.*.plist, whatever recipe wrote
// them, sorted by label.
func RunnerDaemons(s *engine.Session) ([]RunnerDaemon, error) {
	names, ok, err := listDir(s, launchDaemons)
	if err != nil || !ok {
		return nil, err
	}
	var out []RunnerDaemon
	for _, n := range names {
		label, isRunner := runnerDaemonLabel(n)
		if !isRunner {
			continue
		}
		d, ok, err := ReadRunnerDaemon(s, label)
		if err != nil {
			return out, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// runnerDaemonLabel returns the label of a runner LaunchDaemon plist
// file name (actions.runner.*.plist), or false for any other file.
func runnerDaemonLabel(name string) (string, bool) {
	if !strings.HasPrefix(name, "actions.runner.") || !strings.HasSuffix(name, ".plist") {
		return "", false
	}
	label := strings.TrimSuffix(name, ".plist")
	return label, checkLabel(label) == nil
}

// ReadRunnerDaemon reads /Library/LaunchDaemons/LABEL.plist and the
// runner's .runner; ok is false when the plist is missing or is no
// runner's (no WorkingDirectory).
func ReadRunnerDaemon(s *engine.Session, label string) (RunnerDaemon, bool, error) {
	d := RunnerDaemon{Label: label}
	data, ok, err := readFile(s, launchDaemons+"/"+label+".plist", 1<<20)
	if err != nil || !ok {
		return d, false, err
	}
	v, err := DecodePlist([]byte(data))
	if err != nil {
		return d, false, fmt.Errorf("%s.plist: %w", label, err)
	}
	body, _ := v.(map[string]any)
	d.Root, _ = body["WorkingDirectory"].(string)
	d.User, _ = body["UserName"].(string)
	d.StdoutPath, _ = body["StandardOutPath"].(string)
	if d.Root == "" || checkPath("runner root", d.Root) != nil {
		return d, false, nil
	}
	reg, err := readRegistration(s.Context(), s.Host(), d.Root)
	if err != nil {
		return d, true, err
	}
	if reg != nil {
		d.Name, d.URL = reg.AgentName, reg.GitHubURL
	}
	return d, true, nil
}

// runnerLogLines is how much of a runner's console log hvfctl reads to
// tell whether a job is running: far more than the lines one job writes.
const runnerLogLines = 400

// RunnerLogCommand reads the end of a runner's console log as the runner
// account (its own file; root never reads through a path that account
// can change): `/usr/bin/tail -n 400 PATH`.
func RunnerLogCommand(d RunnerDaemon) host.Command {
	return host.Command{Argv: []string{"/usr/bin/tail", "-n", strconv.Itoa(runnerLogLines), d.StdoutPath}, User: d.User, Timeout: time.Minute, Paths: []string{d.StdoutPath}}
}

// noRunnerVerify is runner.verify's unknown reason on a host that cannot
// inspect files or hash archive members in-process.
const noRunnerVerify = "this host cannot be inspected and hashed in-process: the runner's files are not verified against the pinned archive"

// RunnerActivity is what a runner's console says it is doing.
type RunnerActivity struct {
	// Busy is true while a job runs.
	Busy bool
	// Job is the running job's display name.
	Job string
}

var (
	runningJob   = regexp.MustCompile(`: Running job: (.*)$`)
	completedJob = regexp.MustCompile(`: Job (.*) completed with result: \S+`)
	listening    = regexp.MustCompile(`: Listening for Jobs\s*$`)
)

// ParseRunnerLog reads a runner's console: the listener writes
// "<time>: Running job: NAME" when it hands a job to a worker and "<time>:
// Job NAME completed with result: RESULT" when the job ends
// (actions/runner src/Runner.Listener/JobDispatcher.cs), and "<time>:
// Listening for Jobs" when it (re)starts (Runner.cs). A runner is busy
// when the last of these lines is a "Running job" line.
func ParseRunnerLog(text string) RunnerActivity {
	var a RunnerActivity
	for _, ln := range lines(text) {
		switch {
		case runningJob.MatchString(ln):
			a = RunnerActivity{Busy: true, Job: strings.TrimSpace(runningJob.FindStringSubmatch(ln)[1])}
		case completedJob.MatchString(ln), listening.MatchString(ln):
			a = RunnerActivity{}
		}
	}
	return a
}

// ParseSvcStatus reads `svc.sh status`: "started", "stopped", "not
// installed", or "" when it says none of these.
func ParseSvcStatus(out string) string {
	switch {
	case strings.Contains(out, "not installed"):
		return "not installed"
	case strings.Contains(out, "Started:"):
		return "started"
	case strings.Contains(out, "Stopped"):
		return "stopped"
	}
	return ""
}

// JudgeConfig accepts config.sh output only when it exits 0 and prints
// `√ ` success lines including `Settings Saved`.
func JudgeConfig(res host.Result) error {
	if res.Exit != 0 {
		return fmt.Errorf("exit status %d", res.Exit)
	}
	saved := false
	for _, ln := range lines(res.Stdout) {
		t := strings.TrimSpace(ln)
		if strings.HasPrefix(t, "√ ") && strings.Contains(t, "Settings Saved") {
			saved = true
		}
	}
	if !saved {
		return fmt.Errorf("config.sh printed no \"√ Settings Saved.\" line: %w", engine.ErrNotConfirmed)
	}
	return nil
}

// readRegistration reads ROOT/.runner now; nil when it does not exist.
func readRegistration(ctx context.Context, h host.Host, root string) (*Registration, error) {
	b, err := h.ReadFile(ctx, root+"/.runner", 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/.runner: %w", root, err)
	}
	r, err := ParseRunnerFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s/.runner: %w", root, err)
	}
	return &r, nil
}

// tokenEnv reveals the token into ACTIONS_RUNNER_INPUT_TOKEN, the only way
// it reaches config.sh. purpose ("registration" or "remove") tells a
// secret source that creates tokens through the GitHub API which kind
// config.sh needs.
func tokenEnv(ctx context.Context, s *engine.Session, token *engine.Secret, purpose string) (host.EnvVar, error) {
	v, err := token.Reveal(engine.WithSecretPurpose(ctx, purpose), s)
	if err != nil {
		return host.EnvVar{}, err
	}
	return host.EnvVar{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: strings.TrimSpace(v), Secret: true}, nil
}

// configShAction returns the action that runs config.sh (argv) as user in
// root, with the token only in ACTIONS_RUNNER_INPUT_TOKEN and env after
// it, judges its result with judge, then re-reads ROOT/.runner (nil when
// absent) with confirm. Every failure after the run carries config.sh's
// output.
//
// Before the token is revealed, the runner root is verified against the
// pinned archive (verifyRunnerRoot): config.sh runs only as the account
// that owns the root, never as uid 0, and only as hvfctl unpacked it; and
// no process of the account may be running (refuseWitnesses), since any
// of them could read the token from config.sh's environment.
func configShAction(argv []string, root, user string, pin runnerPin, token *engine.Secret, purpose string, env []host.EnvVar, judge func(host.Result) error, confirm func(*Registration) error) *engine.Action {
	return &engine.Action{
		Argv:    argv,
		User:    user,
		Writes:  []string{root},
		Secrets: []*engine.Secret{token},
		Run: func(ctx context.Context, s *engine.Session) error {
			if pin.archive == "" {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("no pinned runner archive given (archive, sha256): config.sh gets a token only from a runner root verified against the archive hvfctl unpacked it from")}
			}
			if err := verifyRunnerRoot(ctx, s, root, user, pin.archive, pin.sha256); err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("refusing to hand the token to %s: %w", argv[0], err)}
			}
			if err := checkRunnerDestinations(ctx, s.Host(), root); err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("refusing to hand the token to %s: %w", argv[0], err)}
			}
			if err := refuseStarters(ctx, s, user); err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("refusing to hand the token to %s: %w", argv[0], err)}
			}
			if err := refuseWitnesses(ctx, s, user); err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("refusing to hand the token to %s: %w", argv[0], err)}
			}
			// Runner.Listener sets every line of ROOT/.env in its own
			// environment when it starts, configure and remove included
			// (actions/runner src/Runner.Listener/Program.cs, Main calls
			// LoadAndSetEnv first), and config.sh's env.sh keeps what is
			// there: a .env a job wrote (an https_proxy of its own with
			// GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1) would route the token
			// through the job's server. It goes, removed as the runner
			// account (its own file: never followed), and env.sh writes it
			// anew from config.sh's environment.
			rmEnv := host.Command{Argv: []string{"/bin/rm", "-f", root + "/.env"}, User: user, Dir: root, Timeout: time.Minute}
			if res, err := s.Host().Run(ctx, rmEnv); err != nil || res.Exit != 0 {
				if err == nil {
					err = exitError("rm -f "+root+"/.env", res)
				}
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: fmt.Errorf("refusing to hand the token to %s: removing %s/.env first: %w", argv[0], root, err)}
			}
			tok, err := tokenEnv(ctx, s, token, purpose)
			if err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: err}
			}
			cmd := host.Command{Argv: argv, User: user, Dir: root, Timeout: 5 * time.Minute, Env: append([]host.EnvVar{tok}, env...)}
			res, err := runStep(ctx, s, cmd, judge)
			// Whatever config.sh did, a process of the account that runs
			// now ran beside it or outlived it: the token may be read.
			if werr := refuseAfterConfig(ctx, s, user, purpose); werr != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: werr}
			}
			if err != nil {
				return err
			}
			reg, err := readRegistration(ctx, s.Host(), root)
			if err == nil {
				err = confirm(reg)
			}
			if err != nil {
				return judgeError(cmd, res, err)
			}
			return nil
		},
	}
}

// configureAction registers the runner with config.sh and confirms that
// ROOT/.runner names it afterwards.
func configureAction(root, url, name string, labels []string, work string, token *engine.Secret, pathList []string, user string, pin runnerPin) *engine.Action {
	argv := []string{root + "/config.sh", "--unattended", "--url", url, "--name", name, "--labels", strings.Join(labels, ","), "--work", work, "--replace"}
	env := []host.EnvVar{{Name: "PATH", Value: strings.Join(pathList, ":")}}
	return configShAction(argv, root, user, pin, token, "registration", env, JudgeConfig, func(reg *Registration) error {
		if reg == nil || reg.AgentName != name {
			return fmt.Errorf("%s/.runner does not name runner %s after config.sh: %w", root, name, engine.ErrNotConfirmed)
		}
		return nil
	})
}

// removeAction unregisters the runner with config.sh remove and confirms
// that ROOT/.runner is gone afterwards.
func removeAction(root string, token *engine.Secret, user string, pin runnerPin) *engine.Action {
	argv := []string{root + "/config.sh", "remove"}
	a := configShAction(argv, root, user, pin, token, "remove", nil, engine.ExitZero, func(reg *Registration) error {
		if reg != nil {
			return fmt.Errorf("%s/.runner still exists after config.sh remove: %w", root, engine.ErrNotConfirmed)
		}
		return nil
	})
	a.Destroys = "runner registration " + root
	return a
}

// runnerPin is the pinned runner archive a runner root is verified
// against.
type runnerPin struct{ archive, sha256 string }

// pinArgs validates the archive and sha256 keywords of runner.configure
// and runner.remove.
func pinArgs(c *call, archive, sum string) (runnerPin, error) {
	if archive == "" && sum == "" {
		return runnerPin{}, nil
	}
	if err := c.checkPaths("archive", archive); err != nil {
		return runnerPin{}, err
	}
	norm, err := normSHA256(sum)
	if err != nil {
		return runnerPin{}, c.wrap(err)
	}
	return runnerPin{archive, norm}, nil
}

func runnerModule() engine.Module {
	const m = "runner"
	secretArg := func(c *call, v starlark.Value) (*engine.Secret, error) {
		s, ok := v.(*engine.Secret)
		if !ok {
			return nil, c.argError("token must be a secret(), never a %s: it goes only into ACTIONS_RUNNER_INPUT_TOKEN", v.Type())
		}
		return s, nil
	}
	// runnerUser validates the account config.sh runs as, which is never
	// root.
	runnerUser := func(c *call, user string) error {
		if err := checkUser(user); err != nil {
			return c.wrap(err)
		}
		if strings.EqualFold(user, host.Root) {
			return c.argError("config.sh must not run as root; give the runner account")
		}
		return nil
	}
	return engine.Module{
		Name: m,
		Doc:  "The GitHub Actions runner: registration file, config.sh and svc.sh. The token reaches config.sh only through ACTIONS_RUNNER_INPUT_TOKEN.",
		Builtins: []engine.Builtin{
			newBuiltin(m, "registration", "root", engine.KindQuery, `
Reads `+"`ROOT/.runner`"+` in-process as root (`+"`<read>`"+`, UTF-8 BOM stripped) and
returns `+"`struct(agent_name, github_url, work_folder, agent_id)`"+`, or None when
the runner is not configured. Like files.read, a ROOT in an account's home
must be under the recipe's allow_writes.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root string
					if err := c.unpack(args, kwargs, "root", &root); err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root); err != nil {
						return nil, err
					}
					if err := c.s.CheckQueryRead(root + "/.runner"); err != nil {
						return nil, c.wrap(err)
					}
					data, ok, err := readFile(c.s, root+"/.runner", 1<<20)
					if err != nil {
						return nil, c.hostError(err)
					}
					if !ok {
						return starlark.None, nil
					}
					r, err := ParseRunnerFile([]byte(data))
					if err != nil {
						return unknown("%s/.runner: %v", root, err), nil
					}
					return mkstruct(map[string]starlark.Value{
						"agent_name": starlark.String(r.AgentName), "github_url": starlark.String(r.GitHubURL),
						"work_folder": starlark.String(r.WorkFolder), "agent_id": starlark.MakeInt64(r.AgentID),
					}), nil
				}),
			newBuiltin(m, "stop_for_token", "label, token, purposes", engine.KindAction, `
Returns the action `+"`/bin/launchctl bootout system/LABEL`"+` (as launchctl.bootout,
LABEL's plist under allow_writes) that first obtains TOKEN for each of
PURPOSES ("registration", "remove"): the runner daemons of an account
stop before config.sh gets a token (no process of the account may run
then), and a token that cannot be had (none given, no prompt) fails here,
before any runner stopped, instead of leaving them stopped.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var label string
					var token starlark.Value
					var purposes *starlark.List
					if err := c.unpack(args, kwargs, "label", &label, "token", &token, "purposes", &purposes); err != nil {
						return nil, err
					}
					if err := checkLabel(label); err != nil {
						return nil, c.wrap(err)
					}
					sec, err := secretArg(c, token)
					if err != nil {
						return nil, err
					}
					var want []string
					for i := 0; i < purposes.Len(); i++ {
						p, ok := starlark.AsString(purposes.Index(i))
						if !ok || (p != "registration" && p != "remove") {
							return nil, c.argError("purposes: want \"registration\" or \"remove\", got %s", purposes.Index(i))
						}
						want = append(want, p)
					}
					if len(want) == 0 {
						return nil, c.argError("purposes must name what the token is for")
					}
					a := bootoutAction(label)
					a.Writes = []string{daemonPlist(label)}
					a.Secrets = []*engine.Secret{sec}
					run := a.Run
					a.Run = func(ctx context.Context, s *engine.Session) error {
						for _, p := range want {
							if _, err := sec.Reveal(engine.WithSecretPurpose(ctx, p), s); err != nil {
								return &engine.ActionError{Argv: a.Argv, User: a.User, Exit: -1, Err: fmt.Errorf("not stopping %s: the %s token is needed first (the runners stop only so that config.sh can get it): %w", label, p, err)}
							}
						}
						return run(ctx, s)
					}
					return a, nil
				}),
			newBuiltin(m, "service_status", "root, user", engine.KindQuery, `
Runs `+"`ROOT/svc.sh status`"+` as USER and returns "started", "stopped", "not
installed", or unknown. USER must own ROOT and must not be uid 0 (under any
name): svc.sh is the runner account's own script, and a program the runner
account could have written never runs as a more privileged account; ROOT
must be a real directory reached through no link another account made. (hvfctl runs the runner from its own LaunchDaemon;
this reports the svc.sh LaunchAgent.)`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root, user string
					if err := c.unpack(args, kwargs, "root", &root, "user", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root); err != nil {
						return nil, err
					}
					if err := checkUser(user); err != nil {
						return nil, c.wrap(err)
					}
					out, err := cached(c.s, "svc:"+root, func(ctx context.Context, h host.Host) (string, error) {
						// svc.sh is the runner account's to write: it runs
						// only as the account that owns the root, never as
						// uid 0, during check as during run.
						if _, _, err := runnerOwnedRoot(ctx, c.s, root, user); err != nil {
							return "", fmt.Errorf("%s/svc.sh status not run: %w", root, err)
						}
						res, err := h.Run(ctx, host.Command{Argv: []string{root + "/svc.sh", "status"}, User: user, Dir: root})
						if err != nil {
							return "", fmt.Errorf("%s/svc.sh status: %w", root, err)
						}
						return res.Stdout + "\n" + res.Stderr, nil
					})
					if err != nil {
						return nil, c.hostError(err)
					}
					if st := ParseSvcStatus(out); st != "" {
						return starlark.String(st), nil
					}
					return unknown("svc.sh status printed %q", engine.Tail(out, 2)), nil
				}),
			newBuiltin(m, "configure", "root, url, name, labels, work, token, path, user, archive=None, sha256=None", engine.KindAction, `
Returns the action
`+"`ROOT/config.sh --unattended --url URL --name NAME --labels L1,L2 --work WORK --replace`"+`
run as USER (the runner account; config.sh refuses root) in ROOT, with the
token (a secret()) only in `+"`ACTIONS_RUNNER_INPUT_TOKEN`"+` and `+"`PATH`"+` set to
the PATH list (what env.sh writes to `+"`.path`"+`). Judged by the `+"`√ Settings Saved.`"+`
line and `+"`ROOT/.runner`"+` naming the runner afterwards. Before the token is
revealed, ROOT is verified: a real directory owned by USER (never uid 0),
and ARCHIVE (the pinned runner release, SHA256) still matches its pin while
every top-level script and every file under bin/ in ROOT matches the
archive's member and bin/ holds nothing else; otherwise the action fails
and the token goes nowhere.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root, url, name, work, user, archive, sum string
					var labelsV, tokenV, pathV starlark.Value
					if err := c.unpack(args, kwargs, "root", &root, "url", &url, "name", &name, "labels", &labelsV, "work", &work, "token", &tokenV, "path", &pathV, "user", &user, "archive?", &archive, "sha256?", &sum); err != nil {
						return nil, err
					}
					pin, err := pinArgs(c, archive, sum)
					if err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root); err != nil {
						return nil, err
					}
					if err := checkGitHubURL(url); err != nil {
						return nil, c.wrap(err)
					}
					if err := checkPattern("runner name", name, runnerNamePat); err != nil {
						return nil, c.wrap(err)
					}
					labels, err := stringsOf(labelsV, "labels")
					if err != nil {
						return nil, c.wrap(err)
					}
					if len(labels) == 0 {
						return nil, c.argError("labels is empty")
					}
					for _, l := range labels {
						if err := checkPattern("runner label", l, runnerLabelPat); err != nil {
							return nil, c.wrap(err)
						}
					}
					if err := checkPattern("work folder", work, workFolderPat); err != nil {
						return nil, c.wrap(err)
					}
					if strings.HasPrefix(work, "/") {
						if err := c.checkPaths("work", work); err != nil {
							return nil, err
						}
					}
					tok, err := secretArg(c, tokenV)
					if err != nil {
						return nil, err
					}
					pathList, err := stringsOf(pathV, "path")
					if err != nil {
						return nil, c.wrap(err)
					}
					for _, p := range pathList {
						if err := checkPath("PATH entry", p); err != nil {
							return nil, c.wrap(err)
						}
						if strings.Contains(p, ":") {
							return nil, c.argError("PATH entry %q contains a colon", p)
						}
					}
					if err := runnerUser(c, user); err != nil {
						return nil, err
					}
					return configureAction(root, url, name, labels, work, tok, pathList, user, pin), nil
				}),
			newBuiltin(m, "remove", "root, token, user, archive=None, sha256=None", engine.KindAction, `
Returns the action `+"`ROOT/config.sh remove`"+` run as USER in ROOT with the token
(a secret()) only in `+"`ACTIONS_RUNNER_INPUT_TOKEN`"+`, judged by `+"`ROOT/.runner`"+` being
gone afterwards. ROOT is verified against ARCHIVE and SHA256 first, as
runner.configure does.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root, user, archive, sum string
					var tokenV starlark.Value
					if err := c.unpack(args, kwargs, "root", &root, "token", &tokenV, "user", &user, "archive?", &archive, "sha256?", &sum); err != nil {
						return nil, err
					}
					pin, err := pinArgs(c, archive, sum)
					if err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root); err != nil {
						return nil, err
					}
					tok, err := secretArg(c, tokenV)
					if err != nil {
						return nil, err
					}
					if err := runnerUser(c, user); err != nil {
						return nil, err
					}
					return removeAction(root, tok, user, pin), nil
				}),
			newBuiltin(m, "version", "root, user", engine.KindQuery, `
Runs `+"`ROOT/bin/Runner.Listener --version`"+` as USER (the runner account, never
root: the runner tree is the account's own; USER must own ROOT, a real
directory reached through no link another account made, as for
`+"`runner.service_status`"+`) and returns the
version it prints (`+"`2.335.1`"+`): the version compiled into the listener
(actions/runner src/Runner.Listener/Runner.cs prints
BuildConstants.RunnerPackage.Version for --version). After a self-update,
`+"`bin`"+` is a link to `+"`bin.VERSION`"+` (src/Misc/layoutbin/update.sh.template), so
this reads the running version either way. A command that fails fails
the query (with its exit status and stderr); output that is not a
version gives unknown. Call it only when the file exists.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root, user string
					if err := c.unpack(args, kwargs, "root", &root, "user", &user); err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root); err != nil {
						return nil, err
					}
					if err := runnerUser(c, user); err != nil {
						return nil, err
					}
					v, err := listenerOutput(c.s, root, user)
					if err != nil {
						return nil, c.hostError(err)
					}
					ver, err := ParseListenerVersion(v)
					if err != nil {
						return unknown("%v", err), nil
					}
					return starlark.String(ver), nil
				}),
			newBuiltin(m, "verify", "root, user, archive, sha256", engine.KindQuery, `
Checks that the runner root holds what the pinned archive does, as
`+"`runner.configure`"+` does before it hands over a token: ROOT is USER's own
directory reached through no link another account made, ARCHIVE still
has SHA256, and every top-level script and every file under `+"`bin/`"+` and
`+"`externals/`"+` (or the `+"`bin.VERSION`"+`/`+"`externals.VERSION`"+` they link to after an
update) is a regular file with one link whose SHA-256 is its archive
member's, and those directories hold nothing else. Hashes in Go; runs
nothing. Returns None when it holds, the first difference as a string
when it does not (a job that changed the listener, the worker or node
would persist into later jobs), and unknown when the archive is not the
pinned one; a read or hash the host fails fails the query.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var root, user, archive, sum string
					if err := c.unpack(args, kwargs, "root", &root, "user", &user, "archive", &archive, "sha256", &sum); err != nil {
						return nil, err
					}
					if err := c.checkPaths("root", root, "archive", archive); err != nil {
						return nil, err
					}
					if err := runnerUser(c, user); err != nil {
						return nil, err
					}
					// A host that cannot be inspected or hash archive
					// members in-process (a replayed recording), or that
					// does not know the account, cannot tell: unknown, the
					// same words whichever is missing.
					in, ok := host.InspectorOf(c.s.Host())
					_, hashes := host.ArchiveHasherOf(c.s.Host())
					if !ok || !hashes {
						return unknown("%s", noRunnerVerify), nil
					}
					if _, err := in.UserID(c.ctx(), user); err != nil {
						return unknown("%s", noRunnerVerify), nil
					}
					err := verifyRunnerRoot(c.ctx(), c.s, root, user, archive, strings.ToLower(sum))
					var diff differsError
					switch {
					case err == nil:
						return starlark.None, nil
					case errors.Is(err, errArchive):
						return unknown("%v", err), nil
					case errors.As(err, &diff):
						return starlark.String(err.Error()), nil
					}
					// The host failed to answer (a read or hash that
					// failed): the query fails with its error.
					return nil, c.hostError(err)
				}),
			newBuiltin(m, "compare_versions", "a, b", engine.KindUtil, `
Compares two dotted versions number by number (`+"`2.335.1`"+` < `+"`2.336.0`"+`,
`+"`13.3.0`"+` > `+"`13.2.0`"+`) and returns -1, 0 or 1. Runs nothing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var a, b string
					if err := c.unpack(args, kwargs, "a", &a, "b", &b); err != nil {
						return nil, err
					}
					n, err := CompareVersions(a, b)
					if err != nil {
						return nil, c.wrap(err)
					}
					return starlark.MakeInt(n), nil
				}),
			newBuiltin(m, "label", "url, name", engine.KindUtil, `
Returns the runner's launchd label `+"`actions.runner.<owner-repo>.<name>`"+` (every
character of OWNER/REPO outside [0-9A-Za-z._-] becomes "-"). Runs nothing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var url, name string
					if err := c.unpack(args, kwargs, "url", &url, "name", &name); err != nil {
						return nil, err
					}
					l, err := RunnerLabel(url, name)
					if err != nil {
						return nil, c.wrap(err)
					}
					return starlark.String(l), nil
				}),
		},
	}
}
