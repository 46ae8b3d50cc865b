package record

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

func TestScrub(t *testing.T) {
	s := NewScrubber(Identity{
		Invoker:   "jim",
		RealNames: []string{"Jim Huang", "GH Actions Runner"},
		Hostnames: []string{"Jims-Mac-mini.local", "Jims-Mac-mini", "Jim's Mac mini"},
		Keep:      []string{"GH Actions Runner"},
	})
	for _, tc := range []struct{ in, want string }{
		{"/opt/homebrew\tDirectory\t0775\tjim\tadmin\t", "/opt/homebrew\tDirectory\t0775\tadmin\tadmin\t"},
		{"NFSHomeDirectory: /Users/jim\nRecordName: jim\n", "NFSHomeDirectory: /Users/admin\nRecordName: admin\n"},
		{"Secure token is ENABLED for user jim.", "Secure token is ENABLED for user admin."},
		// Not a whole name: kept.
		{"jimmy /Users/jim2 jim_x", "jimmy /Users/jim2 jim_x"},
		{"RealName:\n Jim Huang\n", "RealName:\n Person 1\n"},
		{"RealName:\n GH Actions Runner\n", "RealName:\n GH Actions Runner\n"},
		{"host Jims-Mac-mini.local and Jims-Mac-mini", "host mac-mini and mac-mini-2"},
		{"ComputerName: Jim's Mac mini", "ComputerName: Mac mini 3"},
		{`AccountID = "jim.huang@icloud.com"; again jim.huang@icloud.com, other@x.org`, `AccountID = "person1@example.com"; again person1@example.com, other is person2@example.com`},
		{"GeneratedUID: 1C3B2A4D-0000-4A4A-8B8B-0123456789AB\nroot FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000 again 1c3b2a4d-0000-4a4a-8b8b-0123456789ab",
			"GeneratedUID: 00000000-0000-4000-8000-000000000001\nroot FFFFEEEE-DDDD-CCCC-BBBB-AAAA00000000 again 00000000-0000-4000-8000-000000000001"},
		{"Serial Number (system): C02XK1ABJGH5\n\"IOPlatformSerialNumber\" = \"C02XK1ABJGH5\"", "Serial Number (system): SERIAL000001\n\"IOPlatformSerialNumber\" = \"SERIAL000001\""},
	} {
		in := tc.in
		if strings.Contains(in, "other@x.org") {
			in = strings.Replace(in, "other@x.org", "other is other@x.org", 1)
		}
		if got := s.Scrub(in); got != tc.want {
			t.Errorf("Scrub(%q)\n got %q\nwant %q", in, got, tc.want)
		}
	}
}

func TestCompleteIdentity(t *testing.T) {
	rs := []Response{
		{Argv: []string{"/usr/bin/dscl", ".", "-readall", "/Users", "RealName", "RecordName", "UniqueID"}, Stdout: "RealName:\n Jim Huang\nRecordName: jim\nUniqueID: 501\n-\nRealName:\n GH Actions Runner\nRecordName: ghrunner\nUniqueID: 502\n-\nRealName:\n Ann Other\nRecordName: ann\nUniqueID: 503\n-\nRealName:\n System Administrator\nRecordName: root\nUniqueID: 0\n"},
	}
	id := CompleteIdentity(Identity{Invoker: "jim", Keep: []string{"GH Actions Runner", "ghrunner"}}, rs)
	s := NewScrubber(id)
	got := s.Scrub(rs[0].Stdout)
	for _, gone := range []string{"Jim Huang", "Ann Other", "jim\n"} {
		if strings.Contains(got, gone) {
			t.Errorf("%q kept:\n%s", gone, got)
		}
	}
	for _, kept := range []string{"GH Actions Runner", "System Administrator", "RecordName: ghrunner", "RecordName: admin"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q lost:\n%s", kept, got)
		}
	}
}

func TestTape(t *testing.T) {
	ctx := context.Background()
	m, err := fakemac.New("converged")
	if err != nil {
		t.Fatal(err)
	}
	tape := NewTape(m)
	sw := host.Command{Argv: []string{"/usr/bin/sw_vers"}}
	for range 2 {
		if _, err := tape.Run(ctx, sw); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tape.Run(ctx, host.Command{Argv: []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"}, User: "ghrunner"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tape.Run(ctx, host.Command{Argv: []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"}, User: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := tape.Run(ctx, host.Command{Argv: []string{"/usr/bin/nope"}}); err == nil {
		t.Fatal("running a missing program succeeded")
	}
	secret := host.Command{Argv: []string{"/usr/bin/sw_vers"}, User: "admin", Env: []host.EnvVar{{Name: "ACTIONS_RUNNER_INPUT_TOKEN", Value: "SECRET", Secret: true}}}
	if _, err := tape.Run(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := tape.ReadFile(ctx, "/missing/file", 1<<20); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read of a missing file: %v", err)
	}
	_, _ = tape.ReadFile(ctx, "/Users/ghrunner/actions-runner/.credentials", 1<<20) // never kept
	if err := tape.WriteFile(ctx, host.WriteRequest{Path: "/tmp/x", Mode: 0o644, Owner: "root", Group: "wheel"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write while recording: %v", err)
	}
	if err := tape.Download(ctx, host.DownloadRequest{URL: "https://example.com/x", Dest: "/tmp/x"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("download while recording: %v", err)
	}
	if err := tape.ExtractArchive(ctx, host.ExtractRequest{Archive: "/tmp/x.tgz", Dest: "/tmp/x"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("extraction while recording: %v", err)
	}
	rs := tape.Responses()
	var got []string
	for _, r := range rs {
		got = append(got, r.User+" "+strings.Join(r.Argv, " "))
		if strings.Contains(r.Stdout+r.Stderr, "SECRET") {
			t.Errorf("a secret was recorded: %+v", r)
		}
	}
	want := []string{"root /usr/bin/sw_vers", "ghrunner /usr/bin/defaults read MobileMeAccounts Accounts", "admin /usr/bin/defaults read MobileMeAccounts Accounts", "root /usr/bin/nope", "root <read> /missing/file"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("responses:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if rs[3].Exit != NotRun || rs[3].Stderr == "" {
		t.Errorf("a command that could not run: %+v", rs[3])
	}
	if rs[4].Exit != fakemac.ExitNotExist {
		t.Errorf("a missing file: %+v", rs[4])
	}

	// The responses replay: the same answers, the same errors.
	fx := Build(tape, Identity{}, nil, "test")
	for _, r := range fx.Responses {
		if strings.Contains(r.Stdout, "mini.admin@icloud.com") || strings.Contains(r.Stdout, "0C447EE8-") {
			t.Errorf("the Apple ID or its UUIDs were kept: %s", r.Stdout)
		}
	}
	replay, err := fakemac.Load(writeFixture(t, fx))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range []host.Command{sw, {Argv: []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"}, User: "ghrunner"}, {Argv: []string{"/usr/bin/defaults", "read", "MobileMeAccounts", "Accounts"}, User: "admin"}} {
		r := fx.Responses[i]
		want := host.Result{Stdout: r.Stdout, Stderr: r.Stderr, Exit: r.Exit}
		got, err := replay.Run(ctx, c)
		if err != nil || got != want {
			t.Errorf("replay of %q as %s: %+v %v, recorded %+v", c.Argv, c.Principal(), got, err, want)
		}
	}
	_, err1 := m.Run(ctx, host.Command{Argv: []string{"/usr/bin/nope"}})
	_, err2 := replay.Run(ctx, host.Command{Argv: []string{"/usr/bin/nope"}})
	if err1 == nil || err2 == nil || err1.Error() != err2.Error() {
		t.Errorf("replayed start failure %v, recorded %v", err2, err1)
	}
	_, err1 = m.ReadFile(ctx, "/missing/file", 1<<20)
	_, err2 = replay.ReadFile(ctx, "/missing/file", 1<<20)
	if !errors.Is(err2, fs.ErrNotExist) || err1.Error() != err2.Error() {
		t.Errorf("replayed read error %v, recorded %v", err2, err1)
	}
	if replay.Name() != "fake" {
		t.Errorf("backend name %q", replay.Name())
	}
}

func writeFixture(t *testing.T, fx *Fixture) string {
	t.Helper()
	file := t.TempDir() + "/fx.json"
	if err := fx.Write(file); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestTapeKeepsACLs records the in-process ACL query (`<acl> PATH...`)
// on a Mac whose /usr carries an ACL and replays it on the fake preset
// the fixture is based on, which has none there: the replay answers what
// was recorded (entries, and a missing path by kind), not its own model.
func TestTapeKeepsACLs(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir() + "/src.json"
	if err := os.WriteFile(src, []byte(`{"base": "`+Base+`", "files": {"/usr": {"acl": ["group:staff allow add_file", "group:everyone deny delete"]}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := fakemac.Load(src)
	if err != nil {
		t.Fatal(err)
	}
	tape := NewTape(m)
	paths := []string{"/usr", "/gone"}
	as, err := tape.ACLPaths(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"group:staff allow add_file", "group:everyone deny delete"}
	if !slices.Equal(as[0].Entries, want) || !errors.Is(as[1].Err, fs.ErrNotExist) {
		t.Fatalf("recorded %+v", as)
	}
	rs := tape.Responses()
	if len(rs) != 1 || strings.Join(rs[0].Argv, " ") != "<acl> /usr /gone" || rs[0].User != host.Root {
		t.Fatalf("responses %+v", rs)
	}
	replay, err := fakemac.Load(writeFixture(t, Build(tape, Identity{}, nil, "test")))
	if err != nil {
		t.Fatal(err)
	}
	if own, err := fakemac.New(Base); err != nil {
		t.Fatal(err)
	} else if a, _ := own.ACLPaths(ctx, []string{"/usr"}); len(a) != 1 || len(a[0].Entries) != 0 {
		t.Fatalf("the base preset's /usr already has an ACL: %+v", a)
	}
	got, err := replay.ACLPaths(ctx, paths)
	if err != nil || len(got) != 2 || !slices.Equal(got[0].Entries, want) || !errors.Is(got[1].Err, fs.ErrNotExist) || got[1].Err.Error() != as[1].Err.Error() {
		t.Errorf("replayed %+v %v", got, err)
	}
}
