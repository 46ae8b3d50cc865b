package builtins

import "testing"

// TestAgentLabelOf: only one line naming HOME/Library/LaunchAgents/LABEL.plist
// with a runner service label yields a label; .service is the runner
// account's file, so anything else yields none.
func TestAgentLabelOf(t *testing.T) {
	const home = "/Users/ghrunner"
	const dir = home + "/Library/LaunchAgents/"
	tests := []struct{ text, want string }{
		{dir + "actions.runner.sysprog21-elfuse.mini-1.plist\n", "actions.runner.sysprog21-elfuse.mini-1"},
		{dir + "actions.runner.sysprog21-elfuse.mini_1.plist", "actions.runner.sysprog21-elfuse.mini_1"},
		{dir + "actions.runner..plist\n", ""},
		{dir + "actions.runner.a..b.plist\n", ""},
		{dir + "actions.runner.a/b.plist\n", ""},
		{dir + "actions.runner.a b.plist\n", ""},
		{dir + "-actions.runner.x.plist\n", ""},
		{dir + "com.apple.Finder.plist\n", ""},
		{dir + "actions.runner.x.y.plist\n\n", ""},
		{dir + "actions.runner.x.y.plist\n" + dir + "actions.runner.z.plist\n", ""},
		{dir + "actions.runner.x.y\n", ""},
		{"/Users/admin/Library/LaunchAgents/actions.runner.x.y.plist\n", ""},
		{dir + "../../../../Library/LaunchDaemons/actions.runner.x.y.plist\n", ""},
		{"/Library/LaunchDaemons/actions.runner.x.y.plist\n", ""},
		{"Library/LaunchAgents/actions.runner.x.y.plist\n", ""},
		{"", ""},
		{"{\"RunAsService\": true}\n", ""},
	}
	for _, tc := range tests {
		if got := AgentLabelOf(tc.text, home); got != tc.want {
			t.Errorf("AgentLabelOf(%q) = %q, want %q", tc.text, got, tc.want)
		}
	}
}
