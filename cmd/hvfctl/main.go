// Command hvfctl provisions and audits the self-hosted Apple Silicon runner
// of the elfuse project. See README.md.
//
// This file holds only the command tree and the mapping from errors to exit
// codes; each command lives in its own file.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
)

// cli is the whole command tree.
type cli struct {
	Plan      planCmd      `cmd:"" help:"Show what a recipe would change on the target."`
	Check     checkCmd     `cmd:"" help:"Detect drift: exit 0 when converged, 2 on drift or a failed assertion."`
	Run       runCmd       `cmd:"" help:"Apply a recipe, then verify it converged."`
	Destroy   destroyCmd   `cmd:"" help:"Decommission what a recipe created (runners, daemons, toolchains; the account and caches with --all)."`
	Reboot    rebootCmd    `cmd:"" help:"Wait until the runners are idle, stop them and restart the Mac (fdesetup authrestart with FileVault on)."`
	Facts     factsCmd     `cmd:"" help:"Print the host facts hvfctl sees."`
	Test      testCmd      `cmd:"" help:"Run *_test.star recipe tests against the fake macOS."`
	Doc       docCmd       `cmd:"" help:"Print the reference of every builtin and stdlib function (Markdown)."`
	Fmt       fmtCmd       `cmd:"" help:"Format recipe files."`
	Lint      lintCmd      `cmd:"" help:"Lint recipe files."`
	Workflow  workflowCmd  `cmd:"" help:"Audit and render GitHub Actions workflows that reach the runner."`
	Fixtures  fixturesCmd  `cmd:"" help:"Lock and verify the elfuse test-fixture tree by SHA-256."`
	Prune     pruneCmd     `cmd:"" help:"Delete old entries inside a runner work directory."`
	GitHub    gitHubCmd    `cmd:"" name:"github" help:"Check the repository's GitHub side and which runs reached the runners."`
	Checklist checklistCmd `cmd:"" help:"Print the setup checklist as Markdown task items, each decided by the host check, the GitHub check and the workflow audit: exit 0 all checked, 2 some open."`
	Version   versionCmd   `cmd:"" help:"Print the hvfctl version."`
}

// env carries what every command needs from the process, so that commands
// can be run in tests without touching the real one.
type env struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// environ lists the environment (for HVFCTL_SECRET_*); nil means none.
	environ func() []string
	// redactor knows the run's secrets; run() scrubs stdout and stderr
	// with it. nil means a new one.
	redactor *host.Redactor
	// exit ends the process at once (hardStop); nil means no hard
	// stop. main sets os.Exit.
	exit func(code int)
	// rand is the randomness of random_password; nil means crypto/rand.
	// Tests set it to know a generated password.
	rand io.Reader
	// local opens the real Mac of --target local; nil means the darwin
	// backend (macOS only). Tests set it to the darwin backend over
	// stand-in executables.
	local func() (host.Host, error)
	// hostname returns this Mac's names for --record to scrub; nil means
	// os.Hostname.
	hostname func() []string
	// ghLookup finds the gh CLI's stored login; nil means none (tests).
	ghLookup ghapi.GhLookup
	// sleep waits between two looks at busy runners (hvfctl reboot); nil
	// means a timer. Tests change the fake Mac in it.
	sleep func(ctx context.Context, d time.Duration) error
	// trust decides whose local files hvfctl takes as instructions and
	// where it writes its outputs; nil checks nothing. main sets it when
	// hvfctl runs as root (host.ProcessLocalTrust): a recipe, module,
	// plan, token file or manifest another account could have written,
	// or an output directory it could change, is refused.
	trust *host.LocalTrust
	// programs caches compiled Starlark modules (engine.Programs); nil
	// means a cache for this invocation. Tests share one across runs.
	programs *engine.Programs
}

// maxLocalFile bounds a file the CLI reads itself (a recipe to format,
// a workflow to audit).
const maxLocalFile = 64 << 20

// hardStop is what a recipe thread's guard calls when cancelling the
// recipe cannot stop it in time (engine.Limits): the heap overshoots
// --max-heap inside one builtin call, the Go stack passes --max-stack in
// one recursive operation, or one operation runs on past
// --max-eval-time. hvfctl reports it and exits 1 at once (e.exit,
// os.Exit in main), before the process grows further or Go's own stack
// limit ends it with a stack trace. Without e.exit (hvfctl run
// in-process by tests) there is no hard stop; the recipe's cancellation
// still applies. code is the exit status of the command's errors.
func (e *env) hardStop(code int) func(string) {
	if e.exit == nil {
		return nil
	}
	return func(msg string) {
		fmt.Fprintf(e.stderr, "hvfctl: %s\n", msg)
		e.exit(code)
	}
}

// limits are the bounds of every recipe and test thread the CLI runs,
// with its hard stop exiting with code: heapMiB and stackMiB in MiB,
// evalTime the evaluation time (0 means the engine's default of each).
func (e *env) limits(heapMiB, stackMiB uint64, evalTime time.Duration, code int) engine.Limits {
	return engine.Limits{
		MaxHeapBytes: heapMiB << 20, MaxStackBytes: stackMiB << 20, MaxEvalTime: evalTime,
		OnHardLimit: e.hardStop(code),
	}
}

// exitError carries the exit code a command wants.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exit returns an error that makes hvfctl exit with code. A nil err exits
// with code silently (the command already printed its report).
func exit(code int, err error) error { return &exitError{code: code, err: err} }

// stopGrace is how long hvfctl may take to stop after SIGINT or SIGTERM
// cancelled its run (killing running commands, writing what it has)
// before it exits regardless.
const stopGrace = 5 * time.Second

// minUmask is the least restrictive umask hvfctl and the programs it runs
// (installer and its scripts as root, brew as the Homebrew owner, tar as
// the runner account) work under: nothing they create is writable by
// group or others unless they set the mode themselves. sudo already
// applies 022 (sudoers' umask default), a root shell or a launchd job
// may not.
const minUmask = 0o022

// tightUmask is the umask to use instead of old: old with minUmask's bits
// added.
func tightUmask(old int) int { return old | minUmask }

func main() {
	syscall.Umask(tightUmask(syscall.Umask(minUmask)))
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go stopOnSignal(sigs, cancel, os.Stderr, stopGrace, os.Exit)
	code := run(ctx, os.Args[1:], env{ctx: ctx, stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, environ: os.Environ, ghLookup: ghapi.StoredLogin, exit: os.Exit,
		trust: processTrust()})
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}

// processTrust is the LocalTrust of this process (nil unless it runs as
// root); on macOS it reads ACLs too, since an entry such as
// "group:staff allow add_file" lets the runner account change a file
// whatever its mode says.
func processTrust() *host.LocalTrust {
	t := host.ProcessLocalTrust(os.Geteuid(), os.Getenv("SUDO_UID"))
	if t != nil && runtime.GOOS == "darwin" {
		t.ACL = darwin.LocalACL
	}
	return t
}

// stopOnSignal makes SIGINT and SIGTERM always stop hvfctl: the first
// signal cancels the run (the recipe's thread, running commands and their
// process groups) and says on stderr that hvfctl is stopping; if the run
// has not ended grace later (stopGrace in main), or a second signal
// comes, it says which and exit ends the process with status 1, whatever
// Go code is still busy (a builtin call that checks no cancellation).
// exit is os.Exit in main; in tests it returns, and so does stopOnSignal.
func stopOnSignal(sigs <-chan os.Signal, cancel func(), stderr io.Writer, grace time.Duration, exit func(code int)) {
	sig := <-sigs
	cancel()
	fmt.Fprintf(stderr, "hvfctl: %v: stopping (a second signal ends hvfctl at once)\n", sig)
	select {
	case sig = <-sigs:
		fmt.Fprintf(stderr, "hvfctl: stopped: a second signal came (%v)\n", sig)
	case <-time.After(grace):
		fmt.Fprintln(stderr, "hvfctl: stopped: the run did not end within", grace, "of the signal")
	}
	exit(1)
}

// run parses args, runs the command and returns the process exit code.
// A Go panic never reaches the user as a stack trace: it is reported as
// an internal error with exit code 1.
func run(ctx context.Context, args []string, e env) (code int) {
	if e.redactor == nil {
		e.redactor = host.NewRedactor()
	}
	if e.environ == nil {
		e.environ = func() []string { return nil }
	}
	if e.programs == nil {
		e.programs = engine.NewPrograms()
	}
	e.stdout = &scrubWriter{w: e.stdout, red: e.redactor}
	e.stderr = &scrubWriter{w: e.stderr, red: e.redactor}
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(e.stderr, "hvfctl: internal error: %v (please report this)\n", r)
			code = 1
		}
	}()
	var c cli
	exitCode := -1
	parser, err := kong.New(&c,
		kong.Name("hvfctl"),
		kong.Description("Provision and audit the elfuse self-hosted M4 Mac mini runner."),
		kong.UsageOnError(),
		kong.Writers(e.stdout, e.stderr),
		kong.Exit(func(code int) { exitCode = code }),
		kong.ConfigureHelp(kong.HelpOptions{Compact: true}),
	)
	if err != nil {
		fmt.Fprintf(e.stderr, "hvfctl: %v\n", err)
		return 1
	}
	kctx, err := parser.Parse(args)
	if exitCode >= 0 {
		return exitCode
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "hvfctl: %v\n", err)
		return 2
	}
	err = kctx.Run(&e)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(e.stderr, "hvfctl: %v\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(e.stderr, "hvfctl: %v\n", err)
	return 1
}
