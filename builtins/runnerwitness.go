package builtins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// psArgv lists every process as its effective uid and pid, nothing else:
// both are numbers the kernel fills in, so no process (whose name and
// arguments its owner chooses) can add, hide or shift a line.
var psArgv = []string{"/bin/ps", "-axo", "uid=,pid="}

// maxWitnessesShown bounds the pids a refusal names.
const maxWitnessesShown = 8

// refuseWitnesses fails when any process of user is running at the
// instant before config.sh would receive a token as user.
//
// On macOS any process may read the arguments and the environment of
// every other process with the same effective uid (sysctl KERN_PROCARGS2,
// what `ps -E` shows: xnu's sysctl_procargsx allows it to root and to the
// same uid, is_procargs_content_read_permitted in bsd/kern/kern_sysctl.c),
// and config.sh and the Runner.Listener it starts carry the token in
// ACTIONS_RUNNER_INPUT_TOKEN for as long as they run. A CI job running as
// the runner account at that moment (on another runner instance of the
// same account, or a process an earlier job left behind) could read it
// and, with a registration token, register a runner of its own to the
// repository: that runner would then be sent jobs, secrets included, that
// the workflow guard never lets near this Mac. So the token is handed over
// only while the account has no process at all: a process that does not
// exist when config.sh starts can only be started later by one that does,
// or by root's schedulers (launchd jobs hvfctl stops first; a crontab or
// at job of the account, which is persistence, see docs/security.md).
func refuseWitnesses(ctx context.Context, s *engine.Session, user string) error {
	pids, err := witnesses(ctx, s, user)
	if err != nil {
		return err
	}
	if len(pids) == 0 {
		return nil
	}
	return fmt.Errorf("%s: any process of an account can read the environment of the account's other processes, so a job running now could read the token config.sh gets; stop every runner of %s (and let their jobs finish) and kill what is left, then run hvfctl again", running(user, pids), user)
}

// witnesses lists the pids of the processes of user (by effective uid),
// as root: an error when the listing is not a whole process table.
func witnesses(ctx context.Context, s *engine.Session, user string) ([]int, error) {
	in, ok := host.InspectorOf(s.Host())
	if !ok {
		return nil, fmt.Errorf("cannot resolve %s on this host: the token is handed over only when no process of the account could read it", user)
	}
	uid, err := in.UserID(ctx, user)
	if err != nil {
		return nil, err
	}
	cmd := host.Command{Argv: psArgv, Timeout: 30 * time.Second}
	res, err := s.Host().Run(ctx, cmd)
	if err != nil {
		return nil, fmt.Errorf("listing the processes of %s: %w", user, err)
	}
	if res.Exit != 0 {
		return nil, fmt.Errorf("listing the processes of %s: %w", user, exitError(strings.Join(psArgv, " "), res))
	}
	pids, err := processesOf(res.Stdout, uid)
	if err != nil {
		return nil, fmt.Errorf("listing the processes of %s: %w", user, err)
	}
	return pids, nil
}

// running says how many processes of user run, naming at most
// maxWitnessesShown pids.
func running(user string, pids []int) string {
	shown := pids
	more := ""
	if len(shown) > maxWitnessesShown {
		shown, more = shown[:maxWitnessesShown], fmt.Sprintf(" and %d more", len(pids)-maxWitnessesShown)
	}
	ids := make([]string, len(shown))
	for i, p := range shown {
		ids[i] = strconv.Itoa(p)
	}
	return fmt.Sprintf("%d process(es) of %s are running (pid %s%s)", len(pids), user, strings.Join(ids, ", "), more)
}

// refuseStarters fails unless nothing can start a process of user while
// config.sh holds the token: refuseWitnesses proves that none runs at
// that instant, and a process that does not exist then can only be
// started later by one that does or by a scheduler that starts the
// account's programs by itself. Those of the account are refused here,
// right before the token is revealed (in-process stats as root, and the
// Remote Login query):
//   - a crontab (CronTabs/USER): cron runs its lines as the account;
//   - an at job of the account (refuseAtJobs);
//   - any entry in HOME/Library/LaunchAgents: launchd starts a per-user
//     agent in the account's sessions (one a job loaded itself with
//     StartInterval would fire while config.sh runs);
//   - Remote Login open to the account (remoteLoginOf): a key a job added
//     to ~/.ssh/authorized_keys gives a shell as the account at any time.
//
// The runner and prune LaunchDaemons that run as the account are root's
// jobs; the stdlib boots the runners out first (runner.stop_for_token).
// HOME is the account's home in the directory (NFSHomeDirectory), where
// launchd and sshd look.
func refuseStarters(ctx context.Context, s *engine.Session, user string) error {
	in, ok := host.InspectorOf(s.Host())
	if !ok {
		return fmt.Errorf("cannot inspect this host: the token is handed over only when nothing can start a process of %s while config.sh runs", user)
	}
	users, err := gatherUsers(ctx, s.Host())
	if err != nil {
		return fmt.Errorf("reading the account %s: %w", user, err)
	}
	u, ok := users[user]
	if !ok || u.Home == "" {
		return fmt.Errorf("the directory has no home for %s", user)
	}
	tab := CronTabs + "/" + user
	switch _, err := in.Lstat(ctx, tab); {
	case err == nil:
		return fmt.Errorf("%s has a crontab (%s): cron could start a process of the account that reads the token from config.sh's environment; remove it first (persistence:%s:crontab, or `sudo crontab -u %s -r`)", user, tab, user, user)
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("looking for the crontab of %s: %w", user, err)
	}
	if err := refuseAtJobs(ctx, in, user, u.UID); err != nil {
		return err
	}
	agents := u.Home + "/Library/LaunchAgents"
	names, err := in.ReadDir(ctx, agents)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("listing %s: %w", agents, err)
	case len(names) > 0:
		slices.Sort(names)
		return fmt.Errorf("%s holds %d LaunchAgent(s) (%s): launchd could start one as %s while config.sh runs, and it could read the token from config.sh's environment; remove them first (persistence:%s:launch-agents)", agents, len(names), engine.EscapeControls(strings.Join(names[:min(len(names), maxWitnessesShown)], ", ")), user, user)
	}
	rl, err := remoteLoginOf(ctx, s.Host(), user)
	if err != nil {
		return fmt.Errorf("asking whether %s may log in over SSH: %w", user, err)
	}
	if rl.Allowed() {
		return fmt.Errorf("%s: a job that added a key to ~%s/.ssh/authorized_keys could log in as %s while config.sh runs and read the token from its environment; keep %s out of Remote Login first (persistence:%s:remote-login)", rl.Why, user, user, user, user)
	}
	return nil
}

// AtJobs is where at(1) of macOS queues jobs: one file per job, made by
// at and handed to the submitting account (apple-oss-distributions/
// system_cmds at/pathnames.h _PATH_ATJOBS, at/at.c fchown to the real
// uid), which atrun runs as the file's owner (atrun/atrun.c run_file with
// st_uid). atrun is disabled on macOS (atrun/com.apple.atrun.plist), but
// an administrator may enable it, and any account may queue jobs.
const AtJobs = "/usr/lib/cron/jobs"

// maxAtJobs bounds the entries of AtJobs looked at before the token.
const maxAtJobs = 4096

// refuseAtJobs fails when AtJobs holds a file of uid (user): atrun, if
// enabled, would run it as the account, maybe while config.sh holds the
// token. In-process, as root: the directory is listed and each entry
// stat'ed (never read). A missing directory holds no job.
func refuseAtJobs(ctx context.Context, in host.Inspector, user string, uid int) error {
	names, err := in.ReadDir(ctx, AtJobs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("listing the at jobs (%s): %w", AtJobs, err)
	}
	if len(names) > maxAtJobs {
		return fmt.Errorf("%s holds %d entries, more than the %d hvfctl looks at before handing over the token: look at them (`sudo ls -ln %s`) and remove those of %s (`sudo atrm JOB`)", AtJobs, len(names), maxAtJobs, AtJobs, user)
	}
	slices.Sort(names)
	for _, n := range names {
		fi, err := in.Lstat(ctx, AtJobs+"/"+n)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("looking at the at job %s/%s: %w", AtJobs, engine.EscapeControls(n), err)
		}
		if fi.UID == uid {
			return fmt.Errorf("%s has an at job (%s/%s): atrun, when enabled, runs it as the account, which could read the token from config.sh's environment; look at it (`sudo atq`, `sudo at -c JOB`) and remove it (`sudo atrm JOB`) first", user, AtJobs, engine.EscapeControls(n))
		}
	}
	return nil
}

// refuseAfterConfig fails when any process of user runs right after
// config.sh exited. None should: the runners of the account were booted
// out before the token was revealed, refuseWitnesses found no process,
// refuseStarters found nothing that starts one, and config.sh waits for
// the listener it starts. A process there either ran beside config.sh
// (and could have read the token from its environment) or outlived it
// (and holds the token in its own). The registration may have happened;
// the error says what the maintainer has to do.
func refuseAfterConfig(ctx context.Context, s *engine.Session, user, purpose string) error {
	const afterExposure = "A registration token cannot be revoked; it expires one hour after it was created: until then look at the repository's Settings > Actions > Runners and remove every runner you did not register"
	pids, err := witnesses(ctx, s, user)
	if err != nil {
		return fmt.Errorf("after config.sh exited, whether a process of %s could have read the %s token is not known: %w. %s", user, purpose, err, afterExposure)
	}
	if len(pids) == 0 {
		return nil
	}
	return fmt.Errorf("after config.sh exited, %s: THE %s TOKEN MAY HAVE BEEN READ (a process of %s ran beside config.sh, which held it in its environment, or outlived it and holds it). %s. Look at the process (`sudo ps -o pid,ppid,lstart,comm -p PID`: hvfctl cannot tell a helper macOS started for the account from a job's process), stop it (`sudo kill PID`), find what started it, and re-provision %s before trusting it again", running(user, pids), strings.ToUpper(purpose), user, afterExposure, user)
}

// processesOf parses the output of psArgv and returns the pids whose
// effective uid is uid. Every line must be two numbers and the listing
// must include launchd (pid 1, uid 0), or the output is not a whole
// process table and the answer is an error rather than "none".
func processesOf(out string, uid int) ([]int, error) {
	var pids []int
	sawLaunchd := false
	for i, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, fmt.Errorf("ps output line %d is not \"UID PID\": %q", i+1, line)
		}
		u, err1 := strconv.Atoi(f[0])
		p, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ps output line %d is not \"UID PID\": %q", i+1, line)
		}
		if p == 1 && u == 0 {
			sawLaunchd = true
		}
		if u == uid {
			pids = append(pids, p)
		}
	}
	if !sawLaunchd {
		return nil, fmt.Errorf("ps did not list launchd (pid 1): not a whole process table")
	}
	return pids, nil
}

// githubHost and actionsHostSuffix are where a runner's .runner may send
// what config.sh gives it: github.com (and its API) and GitHub's Actions
// service (pipelines…, broker.actions.githubusercontent.com).
const (
	githubHost        = "github.com"
	actionsHostSuffix = ".actions.githubusercontent.com"
)

// plainAuthority reports whether the URL raw names its host exactly as
// host, in letters, digits, hyphens and dots only: `https://` then the
// host, then the end or a `/`, and no backslash anywhere. Go's url.Parse
// is not the parser that uses the address (the runner's .NET Uri is),
// and the two differ on what they accept around a host: Go takes `;`,
// `!`, `$` and percent-escaped non-ASCII bytes in a host name
// (`https://evil.example;.actions.githubusercontent.com` ends with
// GitHub's suffix for Go), .NET turns a backslash into a slash and maps
// an internationalized name. A name of the LDH form (RFC 952, RFC 1123)
// with nothing else in the authority reads alike in both.
func plainAuthority(raw, host string) bool {
	if strings.ContainsRune(raw, '\\') {
		return false
	}
	rest, ok := strings.CutPrefix(strings.ToLower(raw), "https://")
	if !ok {
		return false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		if rest[i] != '/' {
			return false
		}
		rest = rest[:i]
	}
	if rest != host || host == "" {
		return false
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// checkRunnerDestinations refuses a runner root whose .runner names an
// address that is not GitHub's. `config.sh remove` takes the GitHub URL
// from .runner, sends the token to that host's API to get a credential
// for the runner pool, and sends that credential to .runner's serverUrl
// (actions/runner ConfigurationManager.UnconfigureAsync); .runner is the
// runner account's file, so a job that pointed it at its own server would
// receive the token. Every string in .runner that is an http(s) URL must
// be https to github.com or to a host under actions.githubusercontent.com,
// and gitHubUrl must be https://github.com/OWNER/REPO. A missing .runner
// is fine (config.sh then registers from its --url, or has nothing to
// remove).
func checkRunnerDestinations(ctx context.Context, h host.Host, root string) error {
	b, err := h.ReadFile(ctx, root+"/.runner", 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s/.runner: %w", root, err)
	}
	var fields map[string]any
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte{0xEF, 0xBB, 0xBF}), &fields); err != nil {
		return fmt.Errorf("%s/.runner is not a JSON object: %w", root, err)
	}
	for _, k := range sortedKeys(fields) {
		v, ok := fields[k].(string)
		if !ok {
			continue
		}
		lv := strings.ToLower(strings.TrimSpace(v))
		if !strings.HasPrefix(lv, "http:") && !strings.HasPrefix(lv, "https:") && !strings.Contains(lv, "://") {
			continue
		}
		u, err := url.Parse(strings.TrimSpace(v))
		host := ""
		if err == nil {
			host = strings.ToLower(u.Hostname())
		}
		if err != nil || u.Scheme != "https" || u.User != nil || u.Port() != "" || (host != githubHost && !strings.HasSuffix(host, actionsHostSuffix)) || !plainAuthority(strings.TrimSpace(v), host) {
			return fmt.Errorf("%s/.runner gives %s as %q: config.sh would send the token, or a credential made from it, there; hvfctl hands the token only to a runner whose .runner names GitHub (https://github.com, *%s)", root, k, engine.EscapeControls(v), actionsHostSuffix)
		}
	}
	if g, ok := fields["gitHubUrl"].(string); ok {
		u, err := url.Parse(g)
		if err != nil || u.Scheme != "https" || strings.ToLower(u.Host) != githubHost || u.RawQuery != "" || u.Fragment != "" || len(strings.Split(strings.Trim(u.Path, "/"), "/")) != 2 {
			return fmt.Errorf("%s/.runner gives gitHubUrl %q, not https://github.com/OWNER/REPO: config.sh remove sends the token to that address's API", root, engine.EscapeControls(g))
		}
	}
	return nil
}
