// Command macstandin stands in for every macOS tool in the record-and-
// replay tests of hvfctl: installed under a tool root at each program
// path (/usr/bin/sw_vers, /opt/homebrew/bin/brew …), it answers its argv
// the way the fake Mac of a fixture does, as the account its uid maps to.
//
// It finds macstandin.json in the nearest directory above its executable:
//
//	{"fixture": "/path/to/fixture.json", "users": {"0": "root", "4100": "admin"}}
//
// and prints the fake's stdout and stderr and exits with its status; a
// command the fake does not know exits 127 with the fake's message.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/sysprog21/hvfctl/builtins/fakemac"
	"github.com/sysprog21/hvfctl/builtins/host"
)

type config struct {
	Fixture string            `json:"fixture"`
	Users   map[string]string `json:"users"`
}

func main() {
	exe, err := os.Executable()
	if err != nil {
		fail(err)
	}
	var cfg config
	for dir := filepath.Dir(exe); ; dir = filepath.Dir(dir) {
		b, err := os.ReadFile(filepath.Join(dir, "macstandin.json"))
		if err == nil {
			if err := json.Unmarshal(b, &cfg); err != nil {
				fail(err)
			}
			break
		}
		if dir == filepath.Dir(dir) {
			fail(fmt.Errorf("no macstandin.json above %s", exe))
		}
	}
	m, err := fakemac.Load(cfg.Fixture)
	if err != nil {
		fail(err)
	}
	who, ok := cfg.Users[strconv.Itoa(os.Getuid())]
	if !ok {
		fail(fmt.Errorf("uid %d is not in macstandin.json", os.Getuid()))
	}
	stdin, _ := io.ReadAll(os.Stdin)
	res, err := m.Run(context.Background(), host.Command{Argv: os.Args, User: who, Stdin: stdin})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(127)
	}
	fmt.Fprint(os.Stdout, res.Stdout)
	fmt.Fprint(os.Stderr, res.Stderr)
	os.Exit(res.Exit)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "macstandin:", err)
	os.Exit(126)
}
