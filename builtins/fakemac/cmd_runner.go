package fakemac

import (
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// tokenShape is the shape of a GitHub runner registration token.
var tokenShape = regexp.MustCompile(`^[A-Z0-9]{29}$`)

var repoUnsafe = regexp.MustCompile(`[^0-9A-Za-z._-]`)

// runnerLabel is the service label svc.sh derives (§1.11).
func runnerLabel(url, name string) string {
	repo := strings.TrimPrefix(strings.TrimPrefix(url, "https://github.com/"), "http://github.com/")
	repo = strings.TrimSuffix(repo, "/")
	return "actions.runner." + repoUnsafe.ReplaceAllString(repo, "-") + "." + strings.ReplaceAll(name, " ", "_")
}

// runnerInput returns a config.sh argument from its flag or from
// ACTIONS_RUNNER_INPUT_<NAME> (case-insensitive, trimmed).
func runnerInput(c *call, flags map[string]string, name string) (string, bool) {
	if v, ok := flags[name]; ok {
		return v, true
	}
	want := "ACTIONS_RUNNER_INPUT_" + strings.ToUpper(name)
	for k, v := range c.env {
		if strings.ToUpper(k) == want {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// runnerBool reports a config.sh flag given on argv or as
// ACTIONS_RUNNER_INPUT_<NAME>=true.
func runnerBool(c *call, flags map[string]string, name string) bool {
	v, ok := runnerInput(c, flags, name)
	return ok && (v == "" || strings.EqualFold(v, "true"))
}

var runnerValueArgs = map[string]bool{"url": true, "token": true, "pat": true, "name": true, "labels": true, "runnergroup": true, "work": true}
var runnerFlagArgs = map[string]bool{"unattended": true, "replace": true, "ephemeral": true, "disableupdate": true, "no-default-labels": true, "runasservice": true}

// runnerPrelude does what config.sh does before Runner.Listener: refuse
// root, run env.sh in the current directory (writing .path and .env).
func (m *Mac) runnerPrelude(c *call, root string) (bool, int) {
	if c.user == host.Root && c.env["RUNNER_ALLOW_RUNASROOT"] == "" {
		c.outf("Must not run with sudo\n")
		return false, 1
	}
	dir, err := m.resolve(c.user, clean("/", c.dir), true)
	if err != nil || dir != root || m.st.Files[root+"/env.sh"] == nil {
		c.errf("%s/config.sh: line 85: ./env.sh: No such file or directory\n", root)
		return false, 1
	}
	if m.st.Files[root+"/bin/Runner.Listener"] == nil {
		c.errf("%s/config.sh: line 91: ./bin/Runner.Listener: No such file or directory\n", root)
		return false, 127
	}
	if !m.canCreateIn(c.user, root) {
		c.errf("%s/env.sh: line 48: .path: Permission denied\n", root)
		return false, 1
	}
	m.writeRunnerFile(c, root, ".path", c.env["PATH"]+"\n", 0o644)
	m.writeRunnerFile(c, root, ".env", "LANG="+c.env["LANG"]+"\n", 0o644)
	return true, 0
}

func (m *Mac) writeRunnerFile(c *call, root, name, content string, mode Mode) {
	owner, group := m.newOwner(c.user, root)
	m.put(root+"/"+name, &Node{Type: TypeFile, Mode: mode, Owner: owner, Group: group, Content: text(content)})
}

const runnerBanner = `
--------------------------------------------------------------------------------
|        ____ _ _   _   _       _          _        _   _                      |
|       / ___(_) |_| | | |_   _| |__      / \   ___| |_(_) ___  _ __  ___      |
|      | |  _| | __| |_| | | | | '_ \    / _ \ / __| __| |/ _ \| '_ \/ __|     |
|      | |_| | | |_|  _  | |_| | |_) |  / ___ \ (__| |_| | (_) | | | \__ \     |
|       \____|_|\__|_| |_|\__,_|_.__/  /_/   \_\___|\__|_|\___/|_| |_|___/     |
|                                                                              |
|                       Self-hosted runner registration                        |
|                                                                              |
--------------------------------------------------------------------------------

`

// configSh emulates the runner's config.sh (configure and remove).
func (m *Mac) configSh(c *call, root string) (host.Result, error) {
	args := c.argv[1:]
	remove := len(args) > 0 && args[0] == "remove"
	if remove {
		args = args[1:]
	}
	flags := map[string]string{}
	var unknown []string
	for i := 0; i < len(args); i++ {
		a := strings.TrimPrefix(args[i], "--")
		switch {
		case !strings.HasPrefix(args[i], "--"):
			unknown = append(unknown, args[i])
		case runnerValueArgs[a] && i+1 < len(args):
			flags[a] = args[i+1]
			i++
		case runnerFlagArgs[a]:
			flags[a] = ""
		case remove && a == "local":
			flags[a] = ""
		default:
			unknown = append(unknown, args[i])
		}
	}
	ok, exit := m.runnerPrelude(c, root)
	if !ok {
		return c.result(exit)
	}
	if len(unknown) > 0 {
		c.errf("Unrecognized command-line input arguments: '%s'. For usage refer to: .\\config.cmd --help or ./config.sh --help\n", strings.Join(unknown, "', '"))
		return c.result(1)
	}
	if remove {
		return m.runnerRemove(c, root, flags)
	}
	c.outf("%s", runnerBanner)
	if m.st.Files[root+"/.runner"] != nil || m.st.Files[root+"/.runner_migrated"] != nil {
		c.errf("Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.cmd remove' or './config.sh remove' first.\n")
		return c.result(1)
	}
	unattended := runnerBool(c, flags, "unattended")
	url, _ := runnerInput(c, flags, "url")
	token, _ := runnerInput(c, flags, "token")
	if !unattended {
		return unsupported(c, "interactive config.sh (without --unattended) prompts on a terminal")
	}
	if url == "" {
		c.errf("Invalid configuration provided for url. Terminating unattended configuration.\n")
		return c.result(1)
	}
	if token == "" {
		c.errf("Invalid configuration provided for token. Terminating unattended configuration.\n")
		return c.result(1)
	}
	c.outf("# Authentication\n\n")
	if !m.tokenAccepted(token) {
		c.errf("Http response code: NotFound from 'POST https://api.github.com/actions/runner-registration' (Request Id: 0000:1F2E3D:4C5B6A:7980A9:68B5C4D3)\n{\"message\":\"Not Found\",\"documentation_url\":\"https://docs.github.com/rest\",\"status\":\"404\"}\nResponse status code does not indicate success: 404 (Not Found).\n")
		return c.result(1)
	}
	c.outf("\n√ Connected to GitHub\n\n# Runner Registration\n\n")
	name, ok2 := runnerInput(c, flags, "name")
	if !ok2 || name == "" {
		name = "Mac-mini"
	}
	work, ok3 := runnerInput(c, flags, "work")
	if !ok3 || work == "" {
		work = "_work"
	}
	key := strings.TrimSuffix(url, "/") + " " + name
	if m.st.Runner.Registered == nil {
		m.st.Runner.Registered = map[string]int{}
	}
	if _, exists := m.st.Runner.Registered[key]; exists {
		if !runnerBool(c, flags, "replace") {
			c.errf("A runner exists with the same name %s.\n", name)
			return c.result(1)
		}
		c.outf("√ Successfully replaced the runner\n")
	} else {
		c.outf("√ Runner successfully added\n")
	}
	m.st.Runner.NextID++
	id := m.st.Runner.NextID
	m.st.Runner.Registered[key] = id
	c.outf("√ Runner connection is good\n\n# Runner settings\n\n")
	settings := map[string]any{
		"agentId":    id,
		"agentName":  name,
		"poolId":     1,
		"poolName":   "Default",
		"serverUrl":  "https://pipelinesghubeus22.actions.githubusercontent.com/fakemacRunnerPool/",
		"gitHubUrl":  strings.TrimSuffix(url, "/"),
		"workFolder": work,
	}
	if runnerBool(c, flags, "ephemeral") {
		settings["isEphemeral"] = true
	}
	if runnerBool(c, flags, "disableupdate") {
		settings["disableUpdate"] = true
	}
	b, _ := json.MarshalIndent(settings, "", "  ")
	m.writeRunnerFile(c, root, ".runner", "\ufeff"+string(b), 0o644)
	creds := fmt.Sprintf("\ufeff{\n  \"scheme\": \"OAuth\",\n  \"data\": {\n    \"clientId\": \"%s\",\n    \"authorizationUrl\": \"https://vstoken.actions.githubusercontent.com/_apis/oauth2/token/%s\",\n    \"requireFipsCryptography\": \"False\"\n  }\n}", fakeUUID("client", key), fakeUUID("auth", key))
	m.writeRunnerFile(c, root, ".credentials", creds, 0o644)
	m.writeRunnerFile(c, root, ".credentials_rsaparams", "\ufeff{\n  \"d\": \"<modelled>\"\n}", 0o600)
	label := runnerLabel(url, name)
	m.writeRunnerFile(c, root, "svc.sh", "#!/bin/bash\n\nSVC_NAME=\""+label+"\"\nSVC_DESCRIPTION=\"GitHub Actions Runner ("+label+")\"\n", 0o755)
	c.outf("√ Settings Saved.\n\n")
	return c.result(0)
}

// tokenAccepted is GitHub's verdict on a registration token.
func (m *Mac) tokenAccepted(token string) bool {
	if m.st.Runner.ValidToken != "" {
		return token == m.st.Runner.ValidToken
	}
	return tokenShape.MatchString(token)
}

func (m *Mac) runnerRemove(c *call, root string, flags map[string]string) (host.Result, error) {
	c.outf("\n# Runner removal\n\n")
	n := m.st.Files[root+"/.runner"]
	if n == nil || n.Content == nil {
		c.errf("Failed: Runner is not configured.\n")
		return c.result(1)
	}
	var settings struct {
		AgentName string `json:"agentName"`
		GitHubURL string `json:"gitHubUrl"`
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(*n.Content, "\ufeff")), &settings); err != nil {
		c.errf("Failed: .runner is not valid JSON: %v\n", err)
		return c.result(1)
	}
	// ConfigurationManager.UnconfigureAsync (actions/runner): while
	// svc.sh's .service exists, a remove on macOS refuses before it asks
	// GitHub anything; --local skips the service step.
	if _, local := flags["local"]; !local && m.st.Files[root+"/.service"] != nil {
		c.outf("Removing service\n")
		c.errf("Failed: Removing service\nUninstall service first\n")
		return c.result(1)
	}
	if _, local := flags["local"]; !local {
		token, _ := runnerInput(c, flags, "token")
		if token == "" {
			c.errf("Invalid configuration provided for token. Terminating unattended configuration.\n")
			return c.result(1)
		}
		if !m.tokenAccepted(token) {
			c.errf("Response status code does not indicate success: 404 (Not Found).\n")
			return c.result(1)
		}
		delete(m.st.Runner.Registered, settings.GitHubURL+" "+settings.AgentName)
		c.outf("√ Runner removed successfully\n")
	}
	for _, f := range []string{".credentials", ".credentials_rsaparams", ".runner"} {
		if m.st.Files[root+"/"+f] != nil {
			m.removeTree(root + "/" + f)
			if f != ".credentials_rsaparams" {
				c.outf("√ Removed %s\n", f)
			}
		}
	}
	return c.result(0)
}

// svcLabel reads the label baked into a generated svc.sh.
func (m *Mac) svcLabel(root string) string {
	n := m.st.Files[root+"/svc.sh"]
	if n == nil || n.Content == nil {
		return ""
	}
	for _, line := range strings.Split(*n.Content, "\n") {
		if v, ok := strings.CutPrefix(line, "SVC_NAME=\""); ok {
			return strings.TrimSuffix(v, "\"")
		}
	}
	return ""
}

// svcSh emulates the macOS svc.sh: it refuses root, reads only its verb
// and manages a per-user LaunchAgent, which never runs headless.
func (m *Mac) svcSh(c *call, root string) (host.Result, error) {
	if c.user == host.Root {
		c.outf("Must not run with sudo\n")
		return c.result(1)
	}
	label := m.svcLabel(root)
	if label == "" {
		return unsupported(c, "svc.sh without the SVC_NAME line config.sh writes")
	}
	home := m.st.Users[c.user].Home
	plistPath := home + "/Library/LaunchAgents/" + label + ".plist"
	status := func() {
		c.outf("\nstatus %s:\n\n", label)
		if m.st.Files[plistPath] == nil {
			c.outf("not installed\n\n")
			return
		}
		c.outf("%s\n\nStopped\n", plistPath)
	}
	verb := ""
	if len(c.argv) > 1 {
		verb = c.argv[1]
	}
	switch verb {
	case "install":
		if m.st.Files[plistPath] != nil {
			c.errf("Failed: error: exists %s\n", plistPath)
			return c.result(1)
		}
		c.outf("Creating launch runner in %s\n", plistPath)
		for _, d := range []string{home + "/Library/LaunchAgents", home + "/Library/Logs", home + "/Library/Logs/" + label} {
			if m.st.Files[d] == nil {
				if !m.canCreateIn(c.user, path.Dir(d)) {
					c.errf("Failed: failed to create %s\n", d)
					return c.result(1)
				}
				owner, group := m.newOwner(c.user, path.Dir(d))
				m.put(d, &Node{Type: TypeDir, Mode: 0o755, Owner: owner, Group: group})
				c.outf("Creating %s\n", d)
			}
		}
		c.outf("Creating %s\n", plistPath)
		owner, group := m.newOwner(c.user, home+"/Library/LaunchAgents")
		m.put(plistPath, &Node{Type: TypeFile, Mode: 0o644, Owner: owner, Group: group, Content: text(agentPlist(label, root, c.user, home))})
		c.outf("Creating runsvc.sh\n")
		m.put(root+"/runsvc.sh", &Node{Type: TypeFile, Mode: 0o755, Owner: owner, Group: m.st.Files[root].Group, Size: 578, SHA256: synthSum("runsvc.sh")})
		c.outf("Creating .service\n")
		m.writeRunnerFile(c, root, ".service", plistPath+"\n", 0o644)
		c.outf("svc install complete\n")
		return c.result(0)
	case "start":
		c.outf("\nstarting %s\n", label)
		if m.st.Files[plistPath] == nil {
			c.errf("Failed: error: %s not installed\n", label)
			return c.result(1)
		}
		c.errf("Load failed: 5: Input/output error\n")
		status()
		return c.result(0)
	case "stop":
		c.outf("\nstopping %s\n", label)
		status()
		return c.result(0)
	case "status":
		status()
		return c.result(0)
	case "uninstall":
		c.outf("\nuninstalling %s\n", label)
		if m.st.Files[plistPath] == nil {
			c.errf("Failed: error: %s not installed\n", label)
			return c.result(1)
		}
		m.removeTree(plistPath)
		m.removeTree(root + "/.service")
		return c.result(0)
	}
	c.outf("\nUsage: ./svc.sh [install, start, stop, status, uninstall]\nCommands:\n   install: Install runner service as Root or specified user.\n   start: Manually start the runner service.\n   stop: Manually stop the runner service.\n   status: Display the status of the runner service.\n   uninstall: Uninstall runner service.\n")
	return c.result(0)
}

// agentPlist is the LaunchAgent svc.sh writes from its template.
func agentPlist(label, root, user, home string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple Computer//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
  <dict>
    <key>Label</key>
    <string>%[1]s</string>
    <key>ProgramArguments</key>
    <array>
      <string>%[2]s/runsvc.sh</string>
    </array>
    <key>UserName</key>
    <string>%[3]s</string>
    <key>WorkingDirectory</key>
    <string>%[2]s</string>
    <key>RunAtLoad</key>
    <true/>
    <key>StandardOutPath</key>
    <string>%[4]s/Library/Logs/%[1]s/stdout.log</string>
    <key>StandardErrorPath</key>
    <string>%[4]s/Library/Logs/%[1]s/stderr.log</string>
    <key>EnvironmentVariables</key>
    <dict>
      <key>ACTIONS_RUNNER_SVC</key>
      <string>1</string>
    </dict>
    <key>ProcessType</key>
    <string>Interactive</string>
    <key>SessionCreate</key>
    <true/>
  </dict>
</plist>
`, label, root, user, home)
}

// runSh emulates run.sh only as far as it returns: without a
// configuration it exits; a configured listener runs until stopped,
// which the fake does not emulate.
func (m *Mac) runSh(c *call, root string) (host.Result, error) {
	if c.user == host.Root && c.env["RUNNER_ALLOW_RUNASROOT"] == "" {
		c.outf("Must not run with sudo\n")
		return c.result(1)
	}
	if m.st.Files[root+"/.runner"] == nil {
		c.errf("An error occurred: Not configured. Run config.(sh/cmd) to configure the runner.\n")
		return c.result(1)
	}
	return unsupported(c, "run.sh of a configured runner listens for jobs until stopped")
}

// runnerListener emulates `bin/Runner.Listener --version`, which prints
// the version compiled into the listener (actions/runner
// src/Runner.Listener/Runner.cs). The fake knows a listener's version by
// its bytes: the archive of the download table whose ./bin/Runner.Listener
// has the same (synthetic) SHA-256.
func (m *Mac) runnerListener(c *call, n *Node) (host.Result, error) {
	if len(c.argv) != 2 || c.argv[1] != "--version" {
		return unsupported(c, "Runner.Listener other than --version (the listener runs until stopped)")
	}
	for _, key := range sortedKeys(m.st.Archives) {
		v, ok := strings.CutPrefix(key, "actions-runner-osx-arm64-")
		if ok && synthSum(key, "./bin/Runner.Listener") == n.SHA256 {
			c.outf("%s\n", v)
			return c.result(0)
		}
	}
	return unsupported(c, "a Runner.Listener from no archive the fake knows")
}
