// Command standin is a stand-in for the macOS tools in the tests of
// package darwin. It reports how it was run (argv, environment, working
// directory, credentials, standard input, terminal) as JSON on stdout, and
// can misbehave on request through STANDIN_* variables:
//
//	STANDIN_MODE=report    (default) print the report
//	STANDIN_MODE=sleep     sleep STANDIN_SLEEP, then report
//	STANDIN_MODE=spawn     start a sleeping grandchild that writes its pid to
//	                       STANDIN_PIDFILE, then sleep STANDIN_SLEEP
//	STANDIN_MODE=silent    read a line without printing a prompt, report
//	STANDIN_MODE=flood     write STANDIN_BYTES numbered bytes to stdout and stderr
//	STANDIN_MODE=prompt    print "Password: ", read a line with echo on, report
//	STANDIN_MODE=password  read a password with echo off, report
//	STANDIN_STDERR=text    also print text on stderr
//	STANDIN_EXIT=n         exit with status n
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/term"
)

type report struct {
	Argv        []string          `json:"argv"`
	Env         []string          `json:"env"`
	EnvSHA256   map[string]string `json:"env_sha256"`
	Cwd         string            `json:"cwd"`
	UID         int               `json:"uid"`
	GID         int               `json:"gid"`
	Groups      []int             `json:"groups"`
	Stdin       string            `json:"stdin"`
	StdinSHA256 string            `json:"stdin_sha256"`
	TTY         bool              `json:"tty"`
	Pgid        int               `json:"pgid"`
	Pid         int               `json:"pid"`
}

func main() {
	mode := os.Getenv("STANDIN_MODE")
	if s := os.Getenv("STANDIN_STDERR"); s != "" {
		fmt.Fprint(os.Stderr, s)
	}
	var stdin []byte
	tty := term.IsTerminal(0)
	switch mode {
	case "", "report":
		if !tty {
			stdin, _ = io.ReadAll(os.Stdin)
		}
	case "sleep":
		sleep()
	case "spawn":
		spawn()
		sleep()
	case "silent":
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		stdin = []byte(line)
	case "flood":
		flood()
	case "prompt":
		fmt.Print("Password: ")
		line, _ := bufio.NewReader(os.Stdin).ReadString('\n')
		stdin = []byte(line)
	case "password":
		// Give a writer that does not wait for echo to go off the
		// chance to write too early.
		time.Sleep(300 * time.Millisecond)
		pw, err := term.ReadPassword(0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "standin:", err)
			os.Exit(90)
		}
		stdin = append(pw, '\n')
	default:
		fmt.Fprintln(os.Stderr, "standin: unknown mode", mode)
		os.Exit(91)
	}
	if mode != "flood" {
		printReport(stdin, tty)
	}
	if s := os.Getenv("STANDIN_EXIT"); s != "" {
		n, _ := strconv.Atoi(s)
		os.Exit(n)
	}
}

func printReport(stdin []byte, tty bool) {
	cwd, _ := os.Getwd()
	groups, _ := os.Getgroups()
	sum := sha256.Sum256(stdin)
	r := report{
		Argv:        os.Args,
		Env:         os.Environ(),
		EnvSHA256:   map[string]string{},
		Cwd:         cwd,
		UID:         os.Getuid(),
		GID:         os.Getgid(),
		Groups:      groups,
		Stdin:       string(stdin),
		StdinSHA256: hex.EncodeToString(sum[:]),
		TTY:         tty,
		Pid:         os.Getpid(),
	}
	r.Pgid, _ = syscall.Getpgid(0)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		s := sha256.Sum256([]byte(v))
		r.EnvSHA256[k] = hex.EncodeToString(s[:])
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func sleep() {
	d, err := time.ParseDuration(os.Getenv("STANDIN_SLEEP"))
	if err != nil {
		d = time.Minute
	}
	time.Sleep(d)
}

func spawn() {
	self, err := os.Executable()
	if err != nil {
		os.Exit(92)
	}
	c := exec.Command(self)
	c.Env = append(os.Environ(), "STANDIN_MODE=sleep", "STANDIN_SLEEP=1m")
	c.Stdout = os.Stdout
	if err := c.Start(); err != nil {
		os.Exit(93)
	}
	if err := os.WriteFile(os.Getenv("STANDIN_PIDFILE"), []byte(strconv.Itoa(c.Process.Pid)), 0o644); err != nil {
		os.Exit(94)
	}
}

func flood() {
	n, _ := strconv.Atoi(os.Getenv("STANDIN_BYTES"))
	w := bufio.NewWriter(os.Stdout)
	for i := 0; i < n; i++ {
		w.WriteByte(byte('0' + i%10))
	}
	w.WriteString("END")
	w.Flush()
	fmt.Fprint(os.Stderr, strings.Repeat("e", n)+"END")
}
