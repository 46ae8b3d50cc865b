package main

// This file wires the host backends into the CLI: the target names of
// docs/design.md, the principals of each, and the fake hosts of recipe tests.

import (
	"fmt"
	"os"
	"os/user"
	"regexp"
	"runtime"
	"strings"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/builtins/record"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/engine/recipetest"
)

// defaultPreset is the embedded fake Mac of `--target fake`.
const defaultPreset = "fresh-m4"

// target is an opened --target.
type target struct {
	host       host.Host
	principals engine.Principals
	// save writes the host's state to a file (fake targets only), its
	// text passed through scrub (which removes the run's secrets).
	save func(path string, scrub func(string) string) error
	// local is set for the real Mac (--target local).
	local bool
	// tape records the run for --record (see startRecording).
	tape *record.Tape
}

// startRecording puts a tape between the local Mac and the engine, for
// `--record FILE`: only the real Mac is recorded.
func (t *target) startRecording(flag string) error {
	if !t.local {
		return fmt.Errorf("%s records the real Mac: it needs --target local", flag)
	}
	t.tape = record.NewTape(t.host)
	t.host = t.tape
	return nil
}

// saveRecording writes the recorded run to file, scrubbed of the secrets
// red knows and of identifying data. keep are values never scrubbed: the
// string literals of the recipe checked (its account names and full names
// are public in the recipe, and the replay must compare them).
func (t *target) saveRecording(e *env, file string, red *host.Redactor, what string, keep []string) error {
	names := hostNames()
	if e.hostname != nil {
		names = e.hostname()
	}
	invoker := t.principals.Invoker
	id := record.Identity{Invoker: invoker, Hostnames: names, Keep: keep}
	if invoker != "" {
		if u, err := user.Lookup(invoker); err == nil && u.Name != "" {
			id.RealNames = append(id.RealNames, u.Name)
		}
	}
	if err := e.trust.CheckOutput(file); err != nil {
		return err
	}
	fx := record.Build(t.tape, id, red, what)
	if err := fx.Write(file); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "recorded %d responses to %s; replay with: hvfctl check --target fake:%s RECIPE\n", len(fx.Responses), file, file)
	return nil
}

// stringLiteral is a double-quoted Starlark string without escapes.
var stringLiteral = regexp.MustCompile(`"([^"\\\n]+)"`)

// recipeLiterals returns the double-quoted string literals of a recipe
// file, the values --record keeps. The file is read like the recipe was
// loaded: size-capped, never a FIFO or device, and (as root) only when
// only the trusted accounts can change it.
func recipeLiterals(trust *host.LocalTrust, file string) ([]string, error) {
	b, err := host.ReadTrustedLocalFile(trust, file, maxLocalFile)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	var out []string
	for _, m := range stringLiteral.FindAllStringSubmatch(string(b), -1) {
		out = append(out, m[1])
	}
	return out, nil
}

// hostNames are this machine's names: its host name with and without
// the domain.
func hostNames() []string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return nil
	}
	out := []string{h}
	if i := strings.IndexByte(h, '.'); i > 0 {
		out = append(out, h[:i])
	}
	return out
}

// openTarget opens a --target value.
func openTarget(spec string, getenv func(string) string) (*target, error) {
	return openTargetEnv(spec, &env{getenv: getenv})
}

// openTargetEnv opens a --target value, the local Mac through e.local
// when set.
func openTargetEnv(spec string, e *env) (*target, error) {
	switch {
	case spec == "local":
		var h host.Host
		if e.local != nil {
			lh, err := e.local()
			if err != nil {
				return nil, fmt.Errorf("opening the local Mac: %w", err)
			}
			h = lh
		} else {
			if runtime.GOOS != "darwin" {
				return nil, fmt.Errorf("--target local needs macOS, and this is %s: use --target fake (an embedded fresh M4 Mac mini) or --target fake:FILE (a recorded fixture)", runtime.GOOS)
			}
			dh, err := darwin.New(darwin.Options{})
			if err != nil {
				return nil, fmt.Errorf("opening the local Mac: %w", err)
			}
			h = dh
		}
		who := e.getenv("SUDO_USER")
		return &target{host: h, principals: engine.Principals{BrewOwner: who, Invoker: who}, local: true}, nil
	case spec == "fake":
		m, err := fakemac.New(defaultPreset)
		if err != nil {
			return nil, fmt.Errorf("--target fake: %w", err)
		}
		return fakeTarget(m), nil
	case strings.HasPrefix(spec, "fake:"):
		file := strings.TrimPrefix(spec, "fake:")
		if file == "" {
			return nil, fmt.Errorf("--target fake:FILE needs a fixture file")
		}
		m, err := fakemac.Load(file)
		if err != nil {
			return nil, fmt.Errorf("--target %s: %w", spec, err)
		}
		return fakeTarget(m), nil
	}
	return nil, fmt.Errorf("unknown --target %q: want local, fake or fake:FILE", spec)
}

func fakeTarget(m *fakemac.Mac) *target {
	who := m.Invoker()
	save := func(path string, scrub func(string) string) error { return m.SaveScrubbed(path, scrub) }
	return &target{host: m, principals: engine.Principals{BrewOwner: who, Invoker: who}, save: save}
}

// modules returns every builtin module.
func modules() []engine.Module { return builtins.Modules() }

// fakeHosts makes the fake Macs of recipe tests.
type fakeHosts struct{}

// Preset implements recipetest.HostFactory.
func (fakeHosts) Preset(name string) (host.Host, error) { return fakemac.New(name) }

// Fixture implements recipetest.HostFactory.
func (fakeHosts) Fixture(path string) (host.Host, error) { return fakemac.Load(path) }

var _ recipetest.HostFactory = fakeHosts{}
