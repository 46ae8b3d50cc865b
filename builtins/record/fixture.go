package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// Base is the preset a recorded fixture is laid over. Every command of the
// recorded run is answered from the responses; the preset only supplies
// what the fake needs to exist (its administrator, the fixture format's
// defaults).
const Base = "fresh-m4"

// Fixture is the file `--record` writes: an ordinary fake-host fixture.
type Fixture struct {
	Base      string     `json:"base"`
	Comment   string     `json:"comment"`
	Backend   string     `json:"backend"`
	Responses []Response `json:"responses"`
}

// readByName returns the account names the run read one by one
// (`dscl . -read /Users/NAME …`): the recipe's own accounts, whose names
// and full names are the recipe's and are kept.
func readByName(rs []Response) []string {
	var out []string
	for _, r := range rs {
		if len(r.Argv) >= 4 && filepath.Base(r.Argv[0]) == "dscl" && r.Argv[2] == "-read" && strings.HasPrefix(r.Argv[3], "/Users/") {
			out = append(out, strings.TrimPrefix(r.Argv[3], "/Users/"))
		}
	}
	return out
}

// CompleteIdentity adds to id what the recorded output itself reveals:
// the full names of the accounts from uid 500 up listed by `dscl .
// -readall /Users` (people), except those of accounts the run read by
// name (the recipe's own), whose names and full names are kept.
func CompleteIdentity(id Identity, rs []Response) Identity {
	own := readByName(rs)
	for _, r := range rs {
		if len(r.Argv) < 4 || filepath.Base(r.Argv[0]) != "dscl" || (r.Argv[2] != "-readall" && r.Argv[2] != "-read") {
			continue
		}
		for _, rec := range builtins.ParseDscl(r.Stdout) {
			name := rec.First("RecordName")
			uid, err := strconv.Atoi(rec.First("UniqueID"))
			real := strings.Join(rec["RealName"], " ")
			if contains(own, name) && name != id.Invoker {
				id.Keep = append(id.Keep, name)
				if real != "" {
					id.Keep = append(id.Keep, real)
				}
				continue
			}
			if name == id.Invoker || (err == nil && uid >= 500) {
				if real != "" {
					id.RealNames = append(id.RealNames, real)
				}
				id.RealNames = append(id.RealNames, rec["RealName"]...)
			}
		}
	}
	return id
}

// Build makes the fixture of a recorded run: the tape's responses scrubbed
// of the secrets red knows and of identifying data, over Base.
func Build(t *Tape, id Identity, red *host.Redactor, what string) *Fixture {
	rs := t.Responses()
	if red != nil {
		for i := range rs {
			for j := range rs[i].Argv {
				rs[i].Argv[j] = red.Scrub(rs[i].Argv[j])
			}
			rs[i].Stdout, rs[i].Stderr = red.Scrub(rs[i].Stdout), red.Scrub(rs[i].Stderr)
		}
	}
	id = CompleteIdentity(id, rs)
	rs = NewScrubber(id).ScrubAll(rs)
	return &Fixture{
		Base: Base,
		Comment: fmt.Sprintf("Recorded with `hvfctl %s` on a Mac: the raw output of every read-only command it ran. "+
			"Serial numbers, UUIDs, host names, e-mail addresses and people's names are replaced consistently; "+
			"the administrator who ran it is \"admin\". Replay: hvfctl check --target fake:THIS_FILE RECIPE.", what),
		Backend:   t.Name(),
		Responses: rs,
	}
}

// Write writes the fixture to file atomically (0644).
func (f *Fixture) Write(file string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return fmt.Errorf("encoding the recorded fixture: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".hvfctl-record-*.json")
	if err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if err := os.Rename(name, file); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	return nil
}
