package builtins

import (
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestParsePmset(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]map[string]PmsetValue
	}{
		{"reference sample", "AC Power:\n sleep                0\n disksleep            0\n womp                 1\n",
			map[string]map[string]PmsetValue{"ac": {"sleep": {Int: 0, IsInt: true}, "disksleep": {Int: 0, IsInt: true}, "womp": {Int: 1, IsInt: true}}}},
		{"sleep annotation", "AC Power:\n sleep                1 (sleep prevented by powerd, sharingd)\n",
			map[string]map[string]PmsetValue{"ac": {"sleep": {Int: 1, IsInt: true}}}},
		{"key with spaces overflowing the padding", "AC Power:\n Sleep On Power Button 1\n",
			map[string]map[string]PmsetValue{"ac": {"Sleep On Power Button": {Int: 1, IsInt: true}}}},
		{"SleepDisabled with tabs", "AC Power:\n SleepDisabled\t\t0\n",
			map[string]map[string]PmsetValue{"ac": {"SleepDisabled": {Int: 0, IsInt: true}}}},
		{"string value", "AC Power:\n hibernatefile        /var/vm/sleepimage\n",
			map[string]map[string]PmsetValue{"ac": {"hibernatefile": {Str: "/var/vm/sleepimage"}}}},
		{"several sources", "Battery Power:\n sleep                10\nAC Power:\n sleep                0\nUPS Power:\n womp 0\n",
			map[string]map[string]PmsetValue{"battery": {"sleep": {Int: 10, IsInt: true}}, "ac": {"sleep": {Int: 0, IsInt: true}}, "ups": {"womp": {Int: 0, IsInt: true}}}},
		{"empty", "", map[string]map[string]PmsetValue{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParsePmset(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseDscl(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []DSRecord
	}{
		{"reference sample", "NFSHomeDirectory: /Users/ghrunner\nPrimaryGroupID: 20\nUniqueID: 502\nUserShell: /bin/zsh\n",
			[]DSRecord{{"NFSHomeDirectory": {"/Users/ghrunner"}, "PrimaryGroupID": {"20"}, "UniqueID": {"502"}, "UserShell": {"/bin/zsh"}}}},
		{"value with a space stands alone", "RealName:\n GitHub Runner\nRecordName: ghrunner\n",
			[]DSRecord{{"RealName": {"GitHub Runner"}, "RecordName": {"ghrunner"}}}},
		{"aliases one per line", "RecordName:\n root\n BUILTIN\\Local System\n",
			[]DSRecord{{"RecordName": {"root", "BUILTIN\\Local System"}}}},
		{"several space-free values", "GroupMembership: root admin ghadmin\n",
			[]DSRecord{{"GroupMembership": {"root", "admin", "ghadmin"}}}},
		{"readall separator", "RecordName: a\nUniqueID: 501\n-\nRecordName: b\nUniqueID: 502\n",
			[]DSRecord{{"RecordName": {"a"}, "UniqueID": {"501"}}, {"RecordName": {"b"}, "UniqueID": {"502"}}}},
		{"native key with colons and plist", "dsAttrTypeNative:accountPolicyData:\n <?xml version=\"1.0\"?>\n<plist>\n</plist>\nUniqueID: 7\n",
			[]DSRecord{{"dsAttrTypeNative:accountPolicyData": {"<?xml version=\"1.0\"?>", "<plist>", "</plist>"}, "UniqueID": {"7"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseDscl(tt.in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestParseFdesetup(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		in   string
		want FileVault
	}{
		{"FileVault is Off.\n", FileVault{State: "off"}},
		{"FileVault is On.\n", FileVault{State: "on"}},
		{"FileVault is On.\nEncryption in progress: Percent completed = 41.5\n", FileVault{State: "encrypting", Percent: f(41.5)}},
		{"Encryption in progress: Percent completed = 12\n", FileVault{State: "encrypting", Percent: f(12)}},
		{"FileVault is Off.\nDecryption in progress: percent completed = 99.25\n", FileVault{State: "decrypting", Percent: f(99.25)}},
		{"Encryption in progress: Pending (reason)\n", FileVault{State: "encrypting"}},
		{"FileVault is On.\nDeferred enablement appears to be active for user 'admin'.\n", FileVault{State: "on"}},
		{"something else\n", FileVault{State: "unknown"}},
	}
	for _, tt := range tests {
		if got := ParseFdesetup(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseFdesetup(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseMdutil(t *testing.T) {
	tests := []struct{ in, path, want string }{
		{"/System/Volumes/Data:\n\tIndexing enabled. \n", "/System/Volumes/Data", "enabled"},
		{"/:\n\tIndexing disabled.\n", "/", "disabled"},
		{"/:\n\tIndexing and searching disabled.\n", "/", "disabled"},
		{"/:\n\tIndexing DISABLED because of the server setting.\n", "/", "disabled"},
		{"/:\n\tSpotlight server is disabled.\n", "/", "disabled"},
		{"/:\n\tError: unknown indexing state.\n", "/", ""},
		{"/:\n\tIndexing disabled.\n/System/Volumes/Data:\n\tIndexing enabled.\n", "/System/Volumes/Data", "enabled"},
	}
	for _, tt := range tests {
		if got := ParseMdutil(tt.in, tt.path); got != tt.want {
			t.Errorf("ParseMdutil(%q, %s) = %q, want %q", tt.in, tt.path, got, tt.want)
		}
	}
}

func TestParseBrewList(t *testing.T) {
	got := ParseBrewList("binutils 2.45\nqemu 10.0.3 10.1.0\ncoreutils 9.7\n")
	want := map[string][]string{"binutils": {"2.45"}, "qemu": {"10.0.3", "10.1.0"}, "coreutils": {"9.7"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	if taps := ParseBrewTaps("homebrew/core\nmessense/macos-cross-toolchains\n\n"); !reflect.DeepEqual(taps, []string{"homebrew/core", "messense/macos-cross-toolchains"}) {
		t.Errorf("taps %v", taps)
	}
}

const entXML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>com.apple.security.hypervisor</key><true/>
<key>com.apple.security.cs.disable-library-validation</key><false/>
<key>com.apple.application-identifier</key><string>x</string>
</dict></plist>`

func TestParseEntitlements(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    map[string]bool
		wantErr bool
	}{
		{"xml", entXML, map[string]bool{"com.apple.security.hypervisor": true}, false},
		{"xml after Executable line", "Executable=/x/elfuse\n" + entXML, map[string]bool{"com.apple.security.hypervisor": true}, false},
		{"human reference sample", "[Dict]\n\t[Key] com.apple.security.hypervisor\n\t[Value]\n\t\t[Bool] true\n", map[string]bool{"com.apple.security.hypervisor": true}, false},
		{"human false value", "[Dict]\n\t[Key] com.apple.security.hypervisor\n\t[Value]\n\t\t[Bool] false\n", map[string]bool{}, false},
		{"human value on the key line", "[Dict]\n\t[Key] a [Value] [Bool] true\n\t[Key] b [Value] [Bool] false\n", map[string]bool{"a": true}, false},
		{"human key then next key before bool", "[Dict]\n\t[Key] a\n\t[Value]\n\t\t[String] x\n\t[Key] b\n\t[Value]\n\t\t[Bool] true\n", map[string]bool{"b": true}, false},
		{"garbage", "hello", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEntitlements(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v", err)
			}
			if !tt.wantErr && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v want %v", got, tt.want)
			}
		})
	}
}

func TestParseLaunchctlPrint(t *testing.T) {
	in := "system/actions.runner.sysprog21-elfuse.mini-1 = {\n\tactive count = 1\n\tpath = /Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist\n\tstate = running\n\tpid = 812\n\tlast exit code = 78: EX_CONFIG\n\tenvironment = {\n\t\tstate = nested\n\t}\n}\n"
	got := ParseLaunchctlPrint(in)
	if got.State != "running" || got.PID != 812 || got.LastExit == nil || *got.LastExit != 78 || got.Path != "/Library/LaunchDaemons/actions.runner.sysprog21-elfuse.mini-1.plist" {
		t.Errorf("got %+v", got)
	}
	never := ParseLaunchctlPrint("system/x = {\n\tstate = not running\n\tlast exit code = (never exited)\n}\n")
	if never.State != "not running" || never.LastExit != nil || never.PID != 0 {
		t.Errorf("never: %+v", never)
	}
}

func TestSimpleParsers(t *testing.T) {
	sv, err := ParseSwVers("ProductName:\t\tmacOS\nProductVersion:\t\t15.6\nBuildVersion:\t\t24G84\n")
	if err != nil || sv.ProductName != "macOS" || sv.ProductVersion != "15.6" || sv.BuildVersion != "24G84" {
		t.Errorf("sw_vers %+v %v", sv, err)
	}
	if _, err := ParseSwVers("garbage"); err == nil {
		t.Error("sw_vers garbage accepted")
	}
	sc := ParseSysctl("hw.machine: arm64\nmachdep.cpu.brand_string: Apple M4\nkern.hv_support: 1\n")
	if sc["hw.machine"] != "arm64" || sc["machdep.cpu.brand_string"] != "Apple M4" || sc["kern.hv_support"] != "1" {
		t.Errorf("sysctl %v", sc)
	}
	dfOut := "Filesystem   1024-blocks      Used  Available Capacity iused ifree %iused  Mounted on\n/dev/disk3s5   971350180 838860800  104857600    89% 3000000 20000   99%   /System/Volumes/Data\n"
	if n, err := ParseDf(dfOut); err != nil || n != 104857600*1024 {
		t.Errorf("df %d %v", n, err)
	}
	spaced := "Filesystem 1024-blocks Used Available Capacity iused ifree %iused Mounted on\nmap auto_home 0 0 0 100% 0 0 100% /System/Volumes/Data/home\n"
	if n, err := ParseDf(spaced); err != nil || n != 0 {
		t.Errorf("df spaced %d %v", n, err)
	}
	if _, err := ParseDf("Filesystem 1024-blocks\n"); err == nil {
		t.Error("df without data accepted")
	}
	for in, want := range map[string][2]bool{
		"yes ghrunner is a member of admin\n":  {true, true},
		"no ghrunner is NOT a member of admin": {false, true},
		"Group not found.":                     {false, false},
		"":                                     {false, false},
	} {
		m, k := ParseCheckMember(in)
		if [2]bool{m, k} != want {
			t.Errorf("checkmember %q = %v %v", in, m, k)
		}
	}
	if g := ParseIDGroups("staff everyone localaccounts _appserverusr admin\n"); len(g) != 5 || g[4] != "admin" {
		t.Errorf("id groups %v", g)
	}
	if s := ParseSecureToken("2026-05-02 14:24:45.258 sysadminctl[4291:66173] Secure token is DISABLED for user GitHub Runner\n"); s != "disabled" {
		t.Errorf("secure token %q", s)
	}
	r, found := ParseReceipt("package-id: com.apple.pkg.RosettaUpdateAuto\nversion: 1.0.0.0.1.1\nvolume: /\nlocation: /\ninstall-time: 1746190000\ngroups: x\n")
	if !found || r.PackageID != "com.apple.pkg.RosettaUpdateAuto" || r.InstallTime != 1746190000 || r.Volume != "/" {
		t.Errorf("receipt %+v", r)
	}
	if p, err := ParseXcodeSelect(host.Result{Exit: 2, Stderr: "xcode-select: error: Unable to get active developer directory, use ..."}); err != nil || p != "" {
		t.Errorf("xcode-select missing: %q %v", p, err)
	}
	if p, err := ParseXcodeSelect(host.Result{Stdout: "/Library/Developer/CommandLineTools\n"}); err != nil || p != cltPath {
		t.Errorf("xcode-select: %q %v", p, err)
	}
	g, err := ParseTCC("kTCCServiceSystemPolicyAllFiles|/usr/sbin/sshd|2\n")
	if err != nil || len(g) != 1 || g[0].Auth != 2 || g[0].Client != "/usr/sbin/sshd" {
		t.Errorf("tcc %v %v", g, err)
	}
	for _, tc := range []struct {
		exit           int
		out, err       string
		signedIn, know bool
	}{
		{0, "(\n    {\n        AccountID = \"a@b.c\";\n    }\n)\n", "", true, true},
		{0, "(\n)\n", "", false, true},
		{1, "", "The domain/default pair of (MobileMeAccounts, Accounts) does not exist", false, true},
		{0, "weird", "", false, false},
	} {
		in, k := ParseICloud(tc.exit, tc.out, tc.err)
		if in != tc.signedIn || k != tc.know {
			t.Errorf("icloud %q: %v %v", tc.out, in, k)
		}
	}
	if st := ParseSvcStatus("status actions.runner.x:\n\n/Users/r/Library/LaunchAgents/x.plist\n\nStarted:\n812 0 actions.runner.x\n"); st != "started" {
		t.Errorf("svc %q", st)
	}
}

// TestStatAnswers converts the host's answers of a batched stat into
// files.stat values: types in stat's names, the special bits kept, a
// missing path or one below a file as missing, and a path through a
// symlink root did not make as the host's error, never a value.
func TestStatAnswers(t *testing.T) {
	untrusted := fmt.Errorf("lstat /Users/ghrunner/actions-runner/_work: /Users/ghrunner/actions-runner is a %w (-> /Library/LaunchDaemons; it is not owned by root)", host.ErrUntrustedLink)
	tests := []struct {
		in      host.PathStat
		want    FileStat
		wantErr error
	}{
		{host.PathStat{Path: "/Users/ghrunner", Info: host.FileInfo{Type: host.TypeDir, Mode: 0o750, Owner: "ghrunner", Group: "staff", Size: 384, Nlink: 3}},
			FileStat{Path: "/Users/ghrunner", Exists: true, Type: "dir", Mode: 0o750, Owner: "ghrunner", Group: "staff", Size: 384, Links: 3}, nil},
		{host.PathStat{Path: "/opt/l", Info: host.FileInfo{Type: host.TypeSymlink, Mode: 0o755, Owner: "root", Group: "wheel", Size: 2, Nlink: 1, Target: "/x"}},
			FileStat{Path: "/opt/l", Exists: true, Type: "symlink", Mode: 0o755, Owner: "root", Group: "wheel", Size: 2, Links: 1, Target: "/x"}, nil},
		{host.PathStat{Path: "/tmp", Info: host.FileInfo{Type: host.TypeDir, Mode: 0o1777, Owner: "root", Group: "wheel", Nlink: 4}},
			FileStat{Path: "/tmp", Exists: true, Type: "dir", Mode: 0o1777, Owner: "root", Group: "wheel", Links: 4}, nil},
		{host.PathStat{Path: "/p", Info: host.FileInfo{Type: host.TypeFIFO, Mode: 0o644, Owner: "ghrunner", Group: "staff", Nlink: 1}},
			FileStat{Path: "/p", Exists: true, Type: "fifo_file", Mode: 0o644, Owner: "ghrunner", Group: "staff", Links: 1}, nil},
		{host.PathStat{Path: "/d", Info: host.FileInfo{Type: host.TypeChar, Mode: 0o666, Owner: "root", Group: "wheel", Nlink: 1, Target: "ignored"}},
			FileStat{Path: "/d", Exists: true, Type: "character_device", Mode: 0o666, Owner: "root", Group: "wheel", Links: 1}, nil},
		{host.PathStat{Path: "/missing", Err: fmt.Errorf("lstat /missing: %w", fs.ErrNotExist)}, FileStat{Path: "/missing"}, nil},
		{host.PathStat{Path: "/f/x", Err: fmt.Errorf("lstat /f/x: %w", syscall.ENOTDIR)}, FileStat{Path: "/f/x"}, nil},
		{host.PathStat{Path: "/Users/ghrunner/actions-runner/_work", Err: untrusted}, FileStat{}, host.ErrUntrustedLink},
		{host.PathStat{Path: "/secret", Err: fmt.Errorf("lstat /secret: %w", fs.ErrPermission)}, FileStat{}, fs.ErrPermission},
	}
	for _, tc := range tests {
		got, err := answerOf(tc.in)
		if tc.wantErr != nil {
			if !errors.Is(err, tc.wantErr) || err.Error() != tc.in.Err.Error() {
				t.Errorf("%s: err %v, want the host's error", tc.in.Path, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v %v\nwant %+v", tc.in.Path, got, err, tc.want)
		}
	}
}

func TestPickCLTLabel(t *testing.T) {
	const head = "Software Update Tool\n\nFinding available software\nSoftware Update found the following new or updated software:\n"
	for _, tc := range []struct{ name, in, want string }{
		{"macOS 15, both forms side by side: 26.x beats 16.4",
			head + "* Label: Command Line Tools for Xcode-16.4\n\tTitle: Command Line Tools for Xcode, Version: 16.4, Size: 700000KiB, Recommended: YES,\n" +
				"* Label: Command Line Tools for Xcode 26.1-26.1.1\n\tTitle: Command Line Tools for Xcode 26.1, Version: 26.1, Size: 850000KiB, Recommended: YES,\n",
			"Command Line Tools for Xcode 26.1-26.1.1"},
		{"new form listed first still loses to a newer one",
			"* Label: Command Line Tools for Xcode 26.5-26.5\n* Label: Command Line Tools for Xcode 26.4-26.4.1\n* Label: Command Line Tools for Xcode-16.4\n",
			"Command Line Tools for Xcode 26.5-26.5"},
		{"macOS 26 lists only the new form",
			head + "* Label: Command Line Tools for Xcode 26.2-26.2\n\tTitle: Command Line Tools for Xcode 26.2, Version: 26.2, Size: 850000KiB, Recommended: YES,\n",
			"Command Line Tools for Xcode 26.2-26.2"},
		{"same version: the build version decides",
			"* Label: Command Line Tools for Xcode 26.4-26.4\n* Label: Command Line Tools for Xcode 26.4-26.4.1\n",
			"Command Line Tools for Xcode 26.4-26.4.1"},
		{"betas of either form dropped",
			"* Label: Command Line Tools for Xcode-26.0\n* Label: Command Line Tools beta 2 for Xcode-26.1\n* Label: Command Line Tools for Xcode-26.1 beta\n" +
				"* Label: Command Line Tools beta 3 for Xcode 26.3-26.3\n* Label: Command Line Tools for Xcode 26.3 beta-26.3\n* Label: macOS Tahoe 26.0.1-25A362\n",
			"Command Line Tools for Xcode-26.0"},
		{"old form compares numerically", "* Label: Command Line Tools for Xcode-9.10\n* Label: Command Line Tools for Xcode-9.9\n", "Command Line Tools for Xcode-9.10"},
		{"none", "No new software available.\n", ""},
		{"not a CLT label", "* Label: Command Line Tools for Xcode26.1\n* Label: Command Line Tools for Xcode 26.1\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := PickCLTLabel(tc.in)
			if got != tc.want {
				t.Errorf("PickCLTLabel = %q, want %q", got, tc.want)
			}
			if got != "" && !cltLabelPat.MatchString(got) {
				t.Errorf("picked label %q fails the label check run before softwareupdate -i", got)
			}
		})
	}
}

func TestJudges(t *testing.T) {
	good := "2026-05-02 14:24:45.258 sysadminctl[4291:66173] Creating user record…\n2026-05-02 14:24:46.388 sysadminctl[4291:66173] Assigning UID: 502 GID: 20\n2026-05-02 14:24:47.101 sysadminctl[4291:66173] Home directory is assigned (not created!) at /Users/ghrunner\n"
	if err := JudgeAddUser(good); err != nil {
		t.Errorf("good add: %v", err)
	}
	if err := JudgeAddUser(good + "2026-05-02 14:24:47.2 sysadminctl[1:2] ### Error:-14120 File:/x\n"); err != nil {
		t.Errorf("benign error refused: %v", err)
	}
	if err := JudgeAddUser("2026-05-02 14:24:45.258 sysadminctl[4291:66173] New account password error\n"); err == nil {
		t.Error("password error accepted")
	}
	if err := JudgeAddUser(""); !isNotConfirmed(err) {
		t.Errorf("silent add: %v", err)
	}
	inst := "installer: Package name is PKGTITLE\ninstaller: Installing at base path /\ninstaller: The install was successful.\n"
	if err := JudgeInstaller(host.Result{Stdout: inst}); err != nil {
		t.Errorf("installer: %v", err)
	}
	if err := JudgeInstaller(host.Result{Stdout: "installer: The upgrade was successful.\n"}); err != nil {
		t.Errorf("installer upgrade: %v", err)
	}
	if err := JudgeInstaller(host.Result{Stdout: "installer: The install failed.\n"}); err == nil {
		t.Error("failed install accepted")
	}
	cfg := "√ Connected to GitHub\n√ Runner successfully added\n√ Settings Saved.\n"
	if err := JudgeConfig(host.Result{Stdout: cfg}); err != nil {
		t.Errorf("config: %v", err)
	}
	if err := JudgeConfig(host.Result{Stdout: "√ Connected to GitHub\n"}); err == nil {
		t.Error("config without Settings Saved accepted")
	}
}

func TestRunnerFile(t *testing.T) {
	data := append([]byte{0xEF, 0xBB, 0xBF}, []byte(`{"agentId": 17, "agentName": "mini-1", "gitHubUrl": "https://github.com/sysprog21/elfuse", "workFolder": "_work"}`)...)
	r, err := ParseRunnerFile(data)
	if err != nil || r.AgentID != 17 || r.AgentName != "mini-1" || r.WorkFolder != "_work" {
		t.Errorf("%+v %v", r, err)
	}
	l, err := RunnerLabel("https://github.com/sysprog21/elfuse", "mini-1")
	if err != nil || l != "actions.runner.sysprog21-elfuse.mini-1" {
		t.Errorf("label %q %v", l, err)
	}
	if l, _ := RunnerLabel("https://github.com/sysprog21", "mini-2"); l != "actions.runner.sysprog21.mini-2" {
		t.Errorf("org label %q", l)
	}
}

func TestParseLaunchctlLimit(t *testing.T) {
	for _, tc := range []struct {
		out        string
		soft, hard int64
		ok         bool
	}{
		{"\tmaxfiles    256            unlimited      \n", 256, -1, true},
		{"\tmaxfiles    256            1024           \n", 256, 1024, true},
		{"\tmaxfiles    unlimited      unlimited      \n", -1, -1, true},
		{"\tmaxproc     2666           4000           \n", 0, 0, false},
		{"\tmaxfiles    lots           1024\n", 0, 0, false},
	} {
		soft, hard, err := ParseLaunchctlLimit(tc.out, "maxfiles")
		if (err == nil) != tc.ok || soft != tc.soft || hard != tc.hard {
			t.Errorf("%q: %d %d %v", tc.out, soft, hard, err)
		}
	}
}

func TestParsePs(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Process
		wantErr string
	}{
		{"columns and the padded name", "    1     0     0 launchd         \n 4296     1   502 runsvc.sh       \n",
			[]Process{{PID: 1, PPID: 0, UID: 0, Name: "launchd"}, {PID: 4296, PPID: 1, UID: 502, Name: "runsvc.sh"}}, ""},
		{"a name with spaces and wide numbers", "123456 99999 4294967294 Google Chrome He\n",
			[]Process{{PID: 123456, PPID: 99999, UID: 4294967294, Name: "Google Chrome He"}}, ""},
		{"header line", "  PID  PPID   UID UCOMM\n", nil, `"PID" is not a number`},
		{"no name", "    1     0     0\n", nil, "want pid, ppid, uid and a name"},
		{"blank name", "    1     0     0                 \n", nil, "no process name"},
		{"a name that starts with a space", "   12     1   502  lead           \n",
			[]Process{{PID: 12, PPID: 1, UID: 502, Name: " lead"}}, ""},
		{"a name of 16 bytes with control characters", "   12     1   502 a\rb\x1b[2Jcdefghijk\n",
			[]Process{{PID: 12, PPID: 1, UID: 502, Name: "a\rb\x1b[2Jcdefghijk"}}, ""},
		// A program whose file name holds a line break forges a record:
		// "x\n5001   412 5 y" (16 bytes) after its own pid, ppid and uid.
		{"a name forging a record", " 5000     1   502 x\n5001   412 5 y \n 5001     1   502 sleep           \n", nil, "the name column is 1 bytes, not ps's 16"},
		{"a forged record after a full-width first line", " 5000     1   502 abcdefghijklmnop\n5001   412 502 y\n", nil, "not ps's 16"},
		{"a name forging a second record for its own pid", " 5000     1   502 x\n5000 412 5 y \n", nil, "not ps's 16"},
		{"a pid listed twice", " 5000     1   502 a               \n 5000   412   502 b               \n", nil, "pid 5000 is listed twice"},
		{"a name padded beyond the column", "    1     0     0 launchd          \n", nil, "not ps's 16"},
		{"negative", "   -1     0     0 x\n", nil, "is not a number"},
		{"empty", "", nil, "no process listed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePs(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParsePs(%q) = %v, %v; want error %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParsePs(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			}
		})
	}
}
