package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/stdlib"
)

const cliData = "../../testdata/engine/cli/"

// hvfctl runs the CLI in-process and returns its exit code and outputs.
func hvfctl(t *testing.T, environ map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := env{
		ctx: context.Background(), stdin: strings.NewReader(""), stdout: &out, stderr: &errOut,
		getenv: func(k string) string { return environ[k] }, programs: testPrograms,
	}
	code := run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	token := map[string]string{"HVFCTL_RUNNER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		code    int
		stdout  string
		stderr  string
		skipMac bool
	}{
		{name: "plan with changes", args: []string{"plan", "--target", "fake", cliData + "power.star"}, code: 0, stdout: "sleep: 1 → 0"},
		{name: "plan with a failing assertion", args: []string{"plan", "--target", "fake", cliData + "drift.star"}, code: 0},
		{name: "plan of a broken recipe", args: []string{"plan", "--target", "fake", cliData + "broken.star"}, code: 1, stderr: "broken.star:3:5:"},
		{name: "plan of a missing recipe", args: []string{"plan", "--target", "fake", cliData + "nope.star"}, code: 1, stderr: "nope.star"},
		{name: "check drift", args: []string{"check", "--target", "fake", cliData + "power.star"}, code: 2, stdout: "drift detected"},
		{name: "check failed assertion", args: []string{"check", "--target", "fake", cliData + "drift.star"}, code: 2, stdout: "remediation: Nothing can fix this"},
		{name: "check of a broken recipe", args: []string{"check", "--target", "fake", cliData + "broken.star"}, code: 1},
		{name: "run without --yes and no terminal", args: []string{"run", "--target", "fake", cliData + "power.star"}, code: 1, stderr: "pass --yes"},
		{name: "run converges", env: token, args: []string{"run", "--target", "fake", "--yes", cliData + "power.star"}, code: 0, stdout: "converged"},
		{name: "run with a failing assertion", args: []string{"run", "--target", "fake", "--yes", cliData + "drift.star"}, code: 1, stdout: "not converged"},
		{name: "run of a broken recipe", args: []string{"run", "--target", "fake", "--yes", cliData + "broken.star"}, code: 1},
		{name: "local refused off macOS", args: []string{"plan", cliData + "power.star"}, code: 1, stderr: "use --target fake", skipMac: true},
		{name: "unknown target", args: []string{"plan", "--target", "cloud", cliData + "power.star"}, code: 1, stderr: "want local, fake or fake:FILE"},
		{name: "missing fixture", args: []string{"check", "--target", "fake:" + cliData + "nope.json", cliData + "power.star"}, code: 1},
		{name: "facts", args: []string{"facts", "--target", "fake"}, code: 0, stdout: "macos_version: "},
		{name: "facts local refused off macOS", args: []string{"facts", "--target", "local"}, code: 1, stderr: "use --target fake", skipMac: true},
		{name: "test passing", args: []string{"test", cliData + "tests_pass"}, code: 0, stdout: "1 passed, 0 failed"},
		{name: "test failing", args: []string{"test", cliData + "tests_fail"}, code: 1, stdout: "drift_test.star:2:14: assert.eq: got 2, want 0"},
		{name: "test without tests", args: []string{"test", cliData + "../cli/power.star"}, code: 1, stderr: "*_test.star"},
		{name: "doc", args: []string{"doc"}, code: 0, stdout: "## Module `pmset`"},
		{name: "version", args: []string{"version"}, code: 0, stdout: "hvfctl "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skipMac && runtime.GOOS == "darwin" {
				t.Skip("macOS has a local target")
			}
			code, out, errOut := hvfctl(t, tc.env, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, errOut)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
		})
	}
}

func TestRunSaveThenCheck(t *testing.T) {
	saved := filepath.Join(t.TempDir(), "converged.json")
	if code, out, errOut := hvfctl(t, nil, "run", "--target", "fake", "--yes", "--save", saved, cliData+"power.star"); code != 0 {
		t.Fatalf("run exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := hvfctl(t, nil, "check", "--target", "fake:"+saved, "--json", cliData+"power.star")
	if code != 0 {
		t.Fatalf("check of the saved state exit %d\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		Resources []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"resources"`
		HostCommands []struct {
			Argv []string `json:"argv"`
			User string   `json:"user"`
		} `json:"host_commands"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, out)
	}
	if len(rep.Resources) != 1 || rep.Resources[0].Status != "ok" || len(rep.HostCommands) == 0 {
		t.Fatalf("report %+v", rep)
	}
	if code, _, errOut := hvfctl(t, nil, "run", "--target", "fake", "--yes", "--save", filepath.Join(t.TempDir(), "no", "such", "dir.json"), cliData+"power.star"); code != 1 || !strings.Contains(errOut, "--save") {
		t.Fatalf("save into a missing directory: exit %d, %s", code, errOut)
	}
}

func TestPlanJSONContract(t *testing.T) {
	code, out, errOut := hvfctl(t, nil, "plan", "--target", "fake", "--json", cliData+"power.star")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"resources", "summary", "host_commands"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("plan --json lacks %q", k)
		}
	}
	if len(obj) != 3 {
		t.Errorf("plan --json has %d keys, want 3", len(obj))
	}
	if !strings.Contains(out, `"/usr/bin/pmset"`) || !strings.Contains(out, `"status": "change"`) {
		t.Errorf("plan --json:\n%s", out)
	}
}

func TestTokenFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte("TOKENFROMFILE\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := &cliSecrets{getenv: func(string) string { return "" }, tokenFile: p}
	if v, err := s.Lookup(context.Background(), "runner_token"); err != nil || v != "TOKENFROMFILE" {
		t.Fatalf("Lookup = %q, %v", v, err)
	}
	s = &cliSecrets{getenv: func(k string) string { return map[string]string{"HVFCTL_RUNNER_TOKEN": "FROMENV"}[k] }, tokenFile: p}
	if v, _ := s.Lookup(context.Background(), "runner_token"); v != "FROMENV" {
		t.Fatalf("the environment must win, got %q", v)
	}
	s = &cliSecrets{getenv: func(string) string { return "" }}
	if _, err := s.Lookup(context.Background(), "runner_token"); err == nil || !strings.Contains(err.Error(), "--token-file") {
		t.Fatalf("err = %v", err)
	}
	s = &cliSecrets{getenv: func(string) string { return "" }, prompt: func(string) (string, error) { return " typed \n", nil }}
	if v, _ := s.Lookup(context.Background(), "admin_password"); v != "typed" {
		t.Fatalf("prompt value %q", v)
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, cmd := range []string{"plan", "check", "run", "facts", "test", "doc", "version"} {
		code, out, _ := hvfctl(t, nil, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Example:") {
			t.Errorf("%s --help: exit %d, no example:\n%s", cmd, code, out)
		}
	}
}

func TestEveryBuiltinIsDocumented(t *testing.T) {
	missing, err := engine.MissingDocs(docModules(), stdlib.FS)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) > 0 {
		t.Fatalf("undocumented builtins or stdlib functions: %s", strings.Join(missing, ", "))
	}
}
