package builtins

import (
	"testing"

	"github.com/sysprog21/hvfctl/builtins/host"
)

// Each parser must survive any input. Seed corpora live under
// testdata/fuzz/<FuzzName>/ as well as in the f.Add calls below.

func FuzzParsePmset(f *testing.F) {
	f.Add("AC Power:\n sleep                1 (sleep prevented by powerd)\n Sleep On Power Button 1\n SleepDisabled\t\t0\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, kv := range ParsePmset(s) {
			for k := range kv {
				if k == "" {
					t.Fatalf("empty key from %q", s)
				}
			}
		}
	})
}

func FuzzParseDscl(f *testing.F) {
	f.Add("RealName:\n GitHub Runner\nRecordName: ghrunner\n-\nUniqueID: 0\ndsAttrTypeNative:x:\n<plist>\n")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range ParseDscl(s) {
			if len(r) == 0 {
				t.Fatalf("empty record from %q", s)
			}
		}
		_ = usersFromRecords(ParseDscl(s))
	})
}

func FuzzParseFdesetup(f *testing.F) {
	f.Add("FileVault is On.\nEncryption in progress: Percent completed = 41.5\n")
	f.Fuzz(func(t *testing.T, s string) {
		fv := ParseFdesetup(s)
		switch fv.State {
		case "on", "off", "encrypting", "decrypting", "unknown":
		default:
			t.Fatalf("state %q", fv.State)
		}
		if fv.Percent != nil && (*fv.Percent < 0 || *fv.Percent > 100) {
			t.Fatalf("percent %v", *fv.Percent)
		}
	})
}

func FuzzParseMdutil(f *testing.F) {
	f.Add("/System/Volumes/Data:\n\tIndexing enabled. \n", "/System/Volumes/Data")
	f.Fuzz(func(t *testing.T, s, p string) {
		switch ParseMdutil(s, p) {
		case "", "enabled", "disabled":
		default:
			t.Fatal("bad state")
		}
	})
}

func FuzzParseBrewList(f *testing.F) {
	f.Add("qemu 10.0.3 10.1.0\nbinutils 2.45\n")
	f.Fuzz(func(t *testing.T, s string) {
		for k := range ParseBrewList(s) {
			if k == "" {
				t.Fatal("empty name")
			}
		}
		_ = ParseBrewTaps(s)
	})
}

func FuzzParseEntitlements(f *testing.F) {
	f.Add(entXML)
	f.Add("[Dict]\n\t[Key] com.apple.security.hypervisor\n\t[Value]\n\t\t[Bool] true\n")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseEntitlements(s)
		if err == nil {
			for k, v := range m {
				if !v || k == "" {
					t.Fatalf("entry %q=%v", k, v)
				}
			}
		}
	})
}

func FuzzParseLaunchctlPrint(f *testing.F) {
	f.Add("system/x = {\n\tstate = running\n\tpid = 812\n\tlast exit code = 78: EX_CONFIG\n}\n")
	f.Fuzz(func(t *testing.T, s string) { _ = ParseLaunchctlPrint(s) })
}

func FuzzParseSmall(f *testing.F) {
	f.Add("ProductVersion:\t15.6\nkern.hv_support: 1\n/dev/disk3s5 971350180 838860800 104857600 89% 3 2 99% /\n* Label: Command Line Tools for Xcode-26.0\npackage-id: x\nyes a\nSecure token is ENABLED for user A\nx|y|2\n")
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseSwVers(s)
		_ = ParseSysctl(s)
		if n, err := ParseDf(s); err == nil && n < 0 {
			t.Fatal("negative free bytes")
		}
		_ = PickCLTLabel(s)
		_, _ = ParseReceipt(s)
		_, _ = ParseCheckMember(s)
		_ = ParseSecureToken(s)
		_, _ = ParseTCC(s)
		_, _ = ParseICloud(0, s, s)
		_ = ParseSvcStatus(s)
		_ = ParseIDGroups(s)
		_, _ = ParseXcodeSelect(host.Result{Stdout: s, Stderr: s, Exit: len(s) % 3})
		_ = JudgeAddUser(s)
		_ = JudgeConfig(host.Result{Stdout: s})
		_ = JudgeInstaller(host.Result{Stdout: s})
		_, _ = ParseRunnerFile([]byte(s))
	})
}

func FuzzDecodePlist(f *testing.F) {
	f.Add([]byte(entXML))
	f.Add([]byte(`{ a = 1; b = (x, "y"); }`))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodePlist(b)
		if err == nil {
			_, _ = FromPlistValue(v)
		}
	})
}
