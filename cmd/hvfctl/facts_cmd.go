package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/engine"
)

// factsCmd is `hvfctl facts`.
type factsCmd struct {
	Target string `default:"local" placeholder:"T" help:"Where to look: local (this Mac; macOS only), fake (an embedded fresh M4 Mac mini) or fake:FILE (a fake-host fixture)."`
	JSON   bool   `name:"json" help:"Print the facts as one JSON object (the facts contract of docs/design.md)."`
	Record string `placeholder:"FILE" help:"With --target local, also write a fixture that replays these facts offline (--target fake:FILE): every read-only command's raw output, scrubbed of secrets and identifying data (docs/recording-a-mac.md)."`
}

// Help implements kong.HelpProvider.
func (c *factsCmd) Help() string {
	return `Gathers what hvfctl sees of the host — macOS version, architecture, Hypervisor support, FileVault, users, Spotlight, power settings, Homebrew, Rosetta, Command Line Tools, launchd jobs, free space — one command per family, read-only.

Exit status: 0, or 1 when a family cannot be read (the others are still printed).

With --record FILE (only on --target local), the raw output of every command is also written to FILE as a fake-host fixture, scrubbed of secrets and identifying data; ` + "`hvfctl facts --target fake:FILE`" + ` then prints the same facts offline (docs/recording-a-mac.md).

Example:
  hvfctl facts --target fake --json
  sudo hvfctl facts
  sudo hvfctl facts --record mac.json`
}

// Run implements `hvfctl facts`.
func (c *factsCmd) Run(e *env) error {
	tgt, err := openTargetEnv(c.Target, e)
	if err != nil {
		return exit(1, err)
	}
	if c.Record != "" {
		if err := tgt.startRecording("--record"); err != nil {
			return exit(1, err)
		}
	}
	sess := engine.NewSession(e.ctx, engine.SessionOptions{Host: tgt.host, Principals: tgt.principals})
	facts, ferr := builtins.Facts(e.ctx, sess)
	if facts != nil {
		if c.JSON {
			b, err := json.MarshalIndent(facts, "", "  ")
			if err != nil {
				return exit(1, fmt.Errorf("encoding the facts: %w", err))
			}
			fmt.Fprintln(e.stdout, sess.Redactor().Scrub(string(b)))
		} else {
			writeFactsText(e, facts)
		}
	}
	if c.Record != "" {
		if err := tgt.saveRecording(e, c.Record, sess.Redactor(), "facts", nil); err != nil {
			return exit(1, err)
		}
	}
	if ferr != nil {
		return exit(1, fmt.Errorf("facts: %w", ferr))
	}
	return nil
}

// writeFactsText prints one "key: value" line per fact, nested values as
// compact JSON.
func writeFactsText(e *env, facts map[string]any) {
	keys := make([]string, 0, len(facts))
	for k := range facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		v, err := json.Marshal(facts[k])
		if err != nil {
			v = []byte(fmt.Sprint(facts[k]))
		}
		fmt.Fprintf(&b, "%s: %s\n", k, v)
	}
	fmt.Fprint(e.stdout, b.String())
}
