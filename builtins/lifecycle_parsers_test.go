package builtins

import (
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestParseRunnerLog(t *testing.T) {
	const (
		listen  = "2026-09-01 09:03:00Z: Listening for Jobs"
		start   = "2026-09-01 10:00:00Z: Running job: build (Release)"
		done    = "2026-09-01 10:20:00Z: Job build (Release) completed with result: Succeeded"
		failed  = "2026-09-01 10:21:00Z: Job build (Release) completed with result: Failed"
		restart = "2026-09-01 11:00:00Z: Listening for Jobs"
	)
	tests := []struct {
		name string
		log  string
		want RunnerActivity
	}{
		{"empty", "", RunnerActivity{}},
		{"listening", "√ Connected to GitHub\n" + listen + "\n", RunnerActivity{}},
		{"a job runs", listen + "\n" + start + "\n", RunnerActivity{Busy: true, Job: "build (Release)"}},
		{"the job completed", listen + "\n" + start + "\n" + done + "\n", RunnerActivity{}},
		{"a failed job completed too", start + "\n" + failed + "\n", RunnerActivity{}},
		{"a second job after the first", start + "\n" + done + "\n" + "2026-09-01 10:30:00Z: Running job: test\n", RunnerActivity{Busy: true, Job: "test"}},
		{"the listener restarted mid-job", start + "\n" + restart + "\n", RunnerActivity{}},
		{"a step's output that mentions the words is no job line", listen + "\nRunning job: fake\n", RunnerActivity{}},
		{"CRLF", start + "\r\n", RunnerActivity{Busy: true, Job: "build (Release)"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseRunnerLog(tc.log); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseListenerVersion(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"2.335.1\n", "2.335.1", true},
		{"  2.336.0  ", "2.336.0", true},
		{"", "", false},
		{"Runner.Listener 2.335.1", "", false},
		{"2.335", "", false},
	}
	for _, tc := range tests {
		got, err := ParseListenerVersion(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseListenerVersion(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
		ok   bool
	}{
		{"2.332.0", "2.335.1", -1, true},
		{"2.335.1", "2.335.1", 0, true},
		{"2.336.0", "2.335.1", 1, true},
		{"13.3.0", "13.2.0", 1, true},
		{"2.335", "2.335.0", 0, true},
		{"2.x", "2.335.0", 0, false},
		{"", "1", 0, false},
	}
	for _, tc := range tests {
		got, err := CompareVersions(tc.a, tc.b)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, %v; want %d ok=%v", tc.a, tc.b, got, err, tc.want, tc.ok)
		}
	}
}

func TestJudgeRestart(t *testing.T) {
	tests := []struct {
		name  string
		judge func(host.Result) error
		res   host.Result
		ok    bool
	}{
		{"authrestart success (munki: System is being restarted)", JudgeAuthRestart, host.Result{Stderr: "System is being restarted.\n"}, true},
		{"authrestart silent success", JudgeAuthRestart, host.Result{}, true},
		{"authrestart bad credential", JudgeAuthRestart, host.Result{Stderr: "Error: User could not be authenticated.\n", Exit: 1}, false},
		{"authrestart error with exit 0", JudgeAuthRestart, host.Result{Stderr: "Error: something\n"}, false},
		{"shutdown", JudgeShutdown, host.Result{Stdout: "Shutdown NOW!\n"}, true},
		{"shutdown without root", JudgeShutdown, host.Result{Stderr: "shutdown: NOT super-user\n", Exit: 1}, false},
	}
	for _, tc := range tests {
		if err := tc.judge(tc.res); (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

func TestAuthRestartCommandKeepsTheCredentialOffArgv(t *testing.T) {
	const cred = `p&ss<word> "x"`
	cmd, err := AuthRestartCommand(cred)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range cmd.Argv {
		if a == cred {
			t.Fatal("the credential is on argv")
		}
	}
	if !cmd.StdinSecret || cmd.Principal() != host.Root {
		t.Errorf("stdin secret %v, principal %s", cmd.StdinSecret, cmd.Principal())
	}
	v, err := DecodePlist(cmd.Stdin)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := v.(map[string]any); m["Password"] != cred {
		t.Errorf("the plist on stdin holds %v", v)
	}
}
