package main

// This file wires the host backends into the CLI: the target names of
// docs/design.md, the principals of each, and the fake hosts of recipe tests.

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/sysprog21/hvfctl/builtins"
	"github.com/sysprog21/hvfctl/builtins/darwin"
	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/engine/recipetest"
)

// defaultPreset is the embedded fake Mac of `--target fake`.
const defaultPreset = "fresh-m4"

// target is an opened --target.
type target struct {
	host       host.Host
	principals engine.Principals
	// save writes the host's state to a file (fake targets only).
	save func(path string) error
}

// openTarget opens a --target value.
func openTarget(spec string, getenv func(string) string) (*target, error) {
	switch {
	case spec == "local":
		if runtime.GOOS != "darwin" {
			return nil, fmt.Errorf("--target local needs macOS, and this is %s: use --target fake (an embedded fresh M4 Mac mini) or --target fake:FILE (a recorded fixture)", runtime.GOOS)
		}
		h, err := darwin.New(darwin.Options{})
		if err != nil {
			return nil, fmt.Errorf("opening the local Mac: %w", err)
		}
		who := getenv("SUDO_USER")
		return &target{host: h, principals: engine.Principals{BrewOwner: who, Invoker: who}}, nil
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
	return &target{host: m, principals: engine.Principals{BrewOwner: who, Invoker: who}, save: m.Save}
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
