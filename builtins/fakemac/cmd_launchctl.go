package fakemac

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/sysprog21/hvfctl/builtins/host"
	"howett.net/plist"
)

// launchdPlist is the part of a job plist the fake reads.
type launchdPlist struct {
	Label             string   `plist:"Label"`
	Program           string   `plist:"Program"`
	ProgramArguments  []string `plist:"ProgramArguments"`
	UserName          string   `plist:"UserName"`
	GroupName         string   `plist:"GroupName"`
	WorkingDirectory  string   `plist:"WorkingDirectory"`
	StandardOutPath   string   `plist:"StandardOutPath"`
	StandardErrorPath string   `plist:"StandardErrorPath"`
	RunAtLoad         bool     `plist:"RunAtLoad"`
}

// launchctl emulates the system-domain verbs of launchctl (§1.10), and
// print and bootout of a LaunchAgent in a GUI login domain (gui/UID/LABEL;
// the domain exists only while the fixture lists its user in launchd.gui).
//
// bootout is modelled as asynchronous, deterministically: the job is
// marked as booting out; the next `print` of it still shows it (state
// "not running") and removes it; later prints exit 113. A bootstrap of
// the same label before that print fails with 5, as re-bootstrapping too
// soon does on a real Mac.
func (m *Mac) launchctl(c *call) (host.Result, error) {
	args := c.argv[1:]
	if len(args) == 0 {
		return unsupported(c, "launchctl without a verb")
	}
	label := func(target string) (string, bool) {
		if !strings.HasPrefix(target, "system/") || len(target) == len("system/") {
			return "", false
		}
		return strings.TrimPrefix(target, "system/"), true
	}
	notFound := func(l string) (host.Result, error) {
		c.errf("Could not find service \"%s\" in domain for system\n", l)
		return c.result(113)
	}
	switch verb := args[0]; verb {
	case "limit":
		if len(args) != 2 || args[1] != "maxfiles" {
			break
		}
		lim := m.st.Launchd.MaxFiles
		if len(lim) != 2 {
			lim = []string{"256", "unlimited"}
		}
		c.outf("\tmaxfiles    %-15s%-15s\n", lim[0], lim[1])
		return c.result(0)
	case "print":
		if len(args) != 2 {
			break
		}
		if strings.HasPrefix(args[1], "gui/") {
			return m.guiPrint(c, args[1])
		}
		l, ok := label(args[1])
		if !ok {
			return unsupported(c, "only launchctl print system/LABEL is emulated")
		}
		j := m.st.Launchd.Jobs[l]
		if j == nil {
			return notFound(l)
		}
		m.printJob(c, l, j)
		if j.BootingOut {
			delete(m.st.Launchd.Jobs, l)
		}
		return c.result(0)
	case "bootstrap":
		if len(args) != 3 || args[1] != "system" {
			return unsupported(c, "only launchctl bootstrap system PLIST is emulated")
		}
		return m.bootstrap(c, args[2])
	case "bootout":
		if len(args) != 2 {
			break
		}
		if strings.HasPrefix(args[1], "gui/") {
			return m.guiBootout(c, args[1])
		}
		l, ok := label(args[1])
		if !ok {
			return unsupported(c, "only launchctl bootout system/LABEL and gui/UID/LABEL are emulated")
		}
		if c.user != host.Root {
			c.errf("Boot-out failed: 1: Operation not permitted\n")
			return c.result(1)
		}
		return bootoutJob(c, m.st.Launchd.Jobs[l])
	case "enable", "disable":
		if len(args) != 2 {
			break
		}
		l, ok := label(args[1])
		if !ok {
			return unsupported(c, "only launchctl "+verb+" system/LABEL is emulated")
		}
		if c.user != host.Root {
			c.errf("Not privileged to %s service.\n", verb)
			return c.result(1)
		}
		if verb == "enable" {
			delete(m.st.Launchd.Disabled, l)
		} else {
			if m.st.Launchd.Disabled == nil {
				m.st.Launchd.Disabled = map[string]bool{}
			}
			m.st.Launchd.Disabled[l] = true
		}
		return c.result(0)
	case "kickstart":
		if len(args) != 3 || args[1] != "-k" {
			break
		}
		l, ok := label(args[2])
		if !ok {
			return unsupported(c, "only launchctl kickstart -k system/LABEL is emulated")
		}
		if c.user != host.Root {
			c.errf("Could not kickstart service \"%s\": 1: Operation not permitted\n", l)
			return c.result(1)
		}
		j := m.st.Launchd.Jobs[l]
		if j == nil || j.BootingOut {
			return notFound(l)
		}
		if j.State == "running" {
			j.LastExit = "0"
		}
		m.spawn(j)
		return c.result(0)
	case "print-disabled":
		if len(args) != 2 || args[1] != "system" {
			break
		}
		c.outf("disabled services = {\n")
		for _, l := range sortedKeys(m.st.Launchd.Disabled) {
			c.outf("\t\"%s\" => disabled\n", l)
		}
		c.outf("}\n")
		return c.result(0)
	case "load", "unload":
		return unsupported(c, "legacy launchctl "+verb+" is not emulated (hvfctl uses bootstrap/bootout)")
	}
	return unsupported(c, "launchctl "+strings.Join(args, " "))
}

// bootstrap loads a LaunchDaemon plist into the system domain.
func (m *Mac) bootstrap(c *call, plistPath string) (host.Result, error) {
	fail := func(code int, msg string) (host.Result, error) {
		c.errf("Bootstrap failed: %d: %s\n", code, msg)
		return c.result(code)
	}
	if c.user != host.Root {
		return fail(1, "Operation not permitted")
	}
	real, n, err := m.lookup(c.user, clean(c.dir, plistPath), false)
	if err != nil {
		return fail(2, "No such file or directory")
	}
	if n.Type == TypeSymlink {
		return fail(5, "Input/output error")
	}
	if n.Type != TypeFile || n.Content == nil {
		return fail(5, "Input/output error")
	}
	if n.Owner != "root" || n.Group != "wheel" || n.Mode&0o022 != 0 {
		return fail(122, "Path had bad ownership/permissions")
	}
	var pl launchdPlist
	if _, err := plist.Unmarshal([]byte(*n.Content), &pl); err != nil || pl.Label == "" {
		return fail(5, "Input/output error")
	}
	if m.st.Launchd.Disabled[pl.Label] {
		return fail(119, "Service is disabled")
	}
	if old := m.st.Launchd.Jobs[pl.Label]; old != nil {
		return fail(5, "Input/output error")
	}
	prog := pl.Program
	if prog == "" && len(pl.ProgramArguments) > 0 {
		prog = pl.ProgramArguments[0]
	}
	if prog == "" {
		return fail(5, "Input/output error")
	}
	j := &Job{Path: real, Program: prog, Arguments: pl.ProgramArguments, UserName: pl.UserName, GroupName: pl.GroupName, WorkingDirectory: pl.WorkingDirectory,
		StdoutPath: pl.StandardOutPath, StderrPath: pl.StandardErrorPath, State: "not running", LastExit: "(never exited)"}
	m.st.Launchd.Jobs[pl.Label] = j
	if !pl.RunAtLoad {
		return c.result(0)
	}
	m.spawn(j)
	return c.result(0)
}

// spawn starts a job if its program can run as its user.
func (m *Mac) spawn(j *Job) {
	user := j.UserName
	if user == "" {
		user = host.Root
	}
	j.State, j.PID = "not running", 0
	if m.st.Users[user] == nil {
		j.LastExit = "78: EX_CONFIG"
		return
	}
	_, n, err := m.lookup(user, j.Program, true)
	if err != nil || n.Type != TypeFile || !m.may(user, n, 1) {
		j.LastExit = "78: EX_CONFIG"
		return
	}
	if j.WorkingDirectory != "" {
		if _, d, err := m.lookup(user, j.WorkingDirectory, true); err != nil || d.Type != TypeDir {
			j.LastExit = "78: EX_CONFIG"
			return
		}
	}
	if !m.openLogs(j, user) {
		j.LastExit = "78: EX_CONFIG"
		return
	}
	j.State, j.PID = "running", m.pid()
	j.Runs++
}

// openLogs gives a starting job its StandardOutPath and
// StandardErrorPath the way launchd does (docs/security.md, "launchd and
// the daemons' log files"), and reports whether both opened:
//
//   - A missing log directory is created by launchd itself, as root,
//     mode 0744, wherever the path leads (root follows every link in
//     it); a UserName job then cannot create its file there.
//   - The file is opened as the job's account (launchd-842 core.c:
//     job_setup_fd with O_WRONLY|O_CREAT|O_APPEND after
//     job_postfork_become_user), following links; a missing one is
//     created as that account, mode 0644 (DEFFILEMODE under umask 022),
//     group GroupName or the account's primary group.
//   - When the file cannot be opened for writing (the account cannot
//     create it, cannot write it, it is a directory, or a FIFO, which
//     would block the spawn), the job does not run: 78 EX_CONFIG, as
//     today's launchd reports it.
func (m *Mac) openLogs(j *Job, user string) bool {
	for _, lp := range []string{j.StdoutPath, j.StderrPath} {
		if lp == "" {
			continue
		}
		if dir, err := m.resolve(host.Root, path.Dir(lp), true); err == nil && m.st.Files[dir] == nil {
			if parent := m.st.Files[path.Dir(dir)]; parent != nil && parent.Type == TypeDir {
				m.put(dir, &Node{Type: TypeDir, Mode: 0o744, Owner: "root", Group: "wheel"})
			}
		}
		real, err := m.resolve(user, lp, true)
		if err != nil {
			return false
		}
		n := m.st.Files[real]
		if n == nil {
			if !m.canCreateIn(user, path.Dir(real)) {
				return false
			}
			m.put(real, &Node{Type: TypeFile, Mode: 0o644, Owner: user, Group: m.jobGroup(j, user), Content: text("")})
			continue
		}
		if n.Type != TypeFile || !m.may(user, n, 2) {
			return false
		}
	}
	return true
}

// jobGroup is the group a job's new files get: its GroupName, else its
// account's primary group.
func (m *Mac) jobGroup(j *Job, user string) string {
	if j.GroupName != "" {
		return j.GroupName
	}
	if u := m.st.Users[user]; u != nil {
		if name := m.groupName(u.GID); name != "" {
			return name
		}
	}
	return "wheel"
}

// printJob prints a job the way launchctl print does.
func (m *Mac) printJob(c *call, label string, j *Job) {
	c.outf("system/%s = {\n", label)
	active := 0
	if j.State == "running" {
		active = 1
	}
	c.outf("\tactive count = %d\n\tpath = %s\n\ttype = LaunchDaemon\n\tstate = %s\n\n", active, j.Path, j.State)
	c.outf("\tprogram = %s\n", j.Program)
	if len(j.Arguments) > 0 {
		c.outf("\targuments = {\n")
		for _, a := range j.Arguments {
			c.outf("\t\t%s\n", a)
		}
		c.outf("\t}\n")
	}
	c.outf("\n")
	if j.WorkingDirectory != "" {
		c.outf("\tworking directory = %s\n\n", j.WorkingDirectory)
	}
	if j.UserName != "" {
		c.outf("\tusername = %s\n", j.UserName)
	}
	c.outf("\tdefault environment = {\n\t\tPATH => /usr/bin:/bin:/usr/sbin:/sbin\n\t}\n\n\tdomain = system\n")
	c.outf("\truns = %d\n", j.Runs)
	if j.State == "running" {
		c.outf("\tpid = %d\n\timmediate reason = speculative\n", j.PID)
	}
	c.outf("\tforks = 0\n\texecs = %d\n\tinitialized = 1\n\ttrampolined = 1\n\tstarted suspended = 0\n\tproxy started suspended = 0\n\tlast exit code = %s\n\n", j.Runs, j.LastExit)
	c.outf("\tspawn type = daemon (3)\n\tjetsam priority = 40\n\tproperties = runatload | inferred program\n}\n")
}

// bootoutJob starts the asynchronous bootout of j. A job launchd does
// not know (nil, or already booting out) fails as on a real Mac with
// `Boot-out failed: 3: No such process` (ESRCH; reported for system/ by
// DeterminateSystems/nix-installer#1148 and for user/ by
// nix-community/home-manager#9585).
func bootoutJob(c *call, j *Job) (host.Result, error) {
	if j == nil || j.BootingOut {
		c.errf("Boot-out failed: 3: No such process\n")
		return c.result(3)
	}
	if j.State == "running" {
		j.LastExit = "(never exited)"
		if j.Runs > 0 {
			j.LastExit = "0"
		}
	}
	j.BootingOut, j.State, j.PID = true, "not running", 0
	return c.result(0)
}

// guiTarget splits gui/UID/LABEL into the user whose uid it names and the
// label. ok is false for a malformed target (usage error, exit 64).
func (m *Mac) guiTarget(target string) (user string, uid int, label string, ok bool) {
	rest := strings.TrimPrefix(target, "gui/")
	u, l, found := strings.Cut(rest, "/")
	n, err := strconv.Atoi(u)
	if !found || err != nil || l == "" || strings.Contains(l, "/") {
		return "", 0, "", false
	}
	for name, usr := range m.st.Users {
		if usr.UID == n {
			user = name
		}
	}
	return user, n, l, true
}

// guiSession returns the GUI login session of user, or nil when the user
// is not logged in at the console (no gui/UID domain).
func (m *Mac) guiSession(user string) *GUISession {
	if user == "" {
		return nil
	}
	return m.st.Launchd.GUI[user]
}

// noGUIDomain is launchctl's answer for a gui/UID domain that does not
// exist, that is when UID has no GUI login: exit 112 (ENODOMAIN) and
// "Could not find domain for user gui: UID" (the message reported in
// Wamphyre/macOS_Silverback-Debloater#2; the exit status and the
// "Could not find domain for" prefix as in ProcursusTeam/launchctl,
// launchctl.c).
func noGUIDomain(c *call, uid int) (host.Result, error) {
	c.errf("Could not find domain for user gui: %d\n", uid)
	return c.result(112)
}

// guiPrint emulates `launchctl print gui/UID/LABEL`.
func (m *Mac) guiPrint(c *call, target string) (host.Result, error) {
	user, uid, l, ok := m.guiTarget(target)
	if !ok {
		return unsupported(c, "only launchctl print gui/UID/LABEL is emulated")
	}
	g := m.guiSession(user)
	if g == nil {
		return noGUIDomain(c, uid)
	}
	j := g.Jobs[l]
	if j == nil {
		c.errf("Could not find service \"%s\" in domain for user gui: %d\n", l, uid)
		return c.result(113)
	}
	active := 0
	if j.State == "running" {
		active = 1
	}
	c.outf("gui/%d/%s = {\n\tactive count = %d\n\tpath = %s\n\ttype = LaunchAgent\n\tstate = %s\n\n\tprogram = %s\n\n\tdomain = gui/%d\n", uid, l, active, j.Path, j.State, j.Program, uid)
	if j.State == "running" {
		c.outf("\tpid = %d\n", j.PID)
	}
	c.outf("\tlast exit code = %s\n}\n", j.LastExit)
	if j.BootingOut {
		delete(g.Jobs, l)
	}
	return c.result(0)
}

// guiBootout emulates `launchctl bootout gui/UID/LABEL`: root (or the
// domain's own user) may boot out a LaunchAgent of a GUI session;
// without a GUI login the domain does not exist (112).
func (m *Mac) guiBootout(c *call, target string) (host.Result, error) {
	user, uid, l, ok := m.guiTarget(target)
	if !ok {
		return unsupported(c, "only launchctl bootout gui/UID/LABEL is emulated")
	}
	if c.user != host.Root && c.user != user {
		c.errf("Boot-out failed: 1: Operation not permitted\n")
		return c.result(1)
	}
	g := m.guiSession(user)
	if g == nil {
		return noGUIDomain(c, uid)
	}
	return bootoutJob(c, g.Jobs[l])
}

// ps emulates the two forms hvfctl runs, over the same process table
// (see processes), sorted by pid, without a header (every header is
// emptied with =; ps(1) of macOS, apple-oss-distributions/adv_cmds
// ps/ps.1):
//   - `ps -axo uid=,pid=`: the effective uid and the pid, right-aligned;
//   - `ps -U USER -o pid=,ppid=,uid=,ucomm=`: the processes of USER's
//     real uid (the fake keeps one uid per process), pid, parent pid and
//     uid right-aligned in columns of five (PIDLEN, UIDLEN in
//     ps/keyword.c), then the accounting name (p_comm, at most 16 bytes,
//     MAXCOMLEN) left-aligned and padded to 16 (ps/print.c ucomm); exit 1
//     without output when none matched (ps/ps.c).
func (m *Mac) ps(c *call) (host.Result, error) {
	args := c.argv[1:]
	switch {
	case strings.Join(args, " ") == "-axo uid=,pid=":
		for _, p := range m.processes() {
			c.outf("%5d %5d\n", p.uid, p.pid)
		}
	case len(args) == 4 && args[0] == "-U" && args[2] == "-o" && args[3] == "pid=,ppid=,uid=,ucomm=":
		u := m.st.Users[m.canonicalUser(args[1])]
		if u == nil {
			c.errf("ps: %s: no such user\n", args[1])
			return c.result(1)
		}
		kept := 0
		for _, p := range m.processes() {
			if p.uid == u.UID {
				c.outf("%5d %5d %5d %-16s\n", p.pid, p.ppid, p.uid, p.name)
				kept++
			}
		}
		if kept == 0 {
			return c.result(1) // ps/ps.c: nothing matched
		}
	default:
		return unsupported(c, "only ps -axo uid=,pid= and ps -U USER -o pid=,ppid=,uid=,ucomm= are emulated")
	}
	return c.result(0)
}

// proc is a running process: its effective uid, its pid, its parent's
// pid and its accounting name.
type proc struct {
	uid, pid, ppid int
	name           string
}

// ucomm is the accounting name of a program: its file name, cut to 16
// bytes (MAXCOMLEN).
func ucomm(program string) string {
	name := path.Base(program)
	if len(name) > 16 {
		name = name[:16]
	}
	return name
}

// processes returns the running processes, sorted by pid: launchd (pid 1,
// root), every running job of the system domain (as its UserName, root
// without one; parent launchd, named after its program), every running
// LaunchAgent of a GUI session (as the session's user) and the fixture's
// other Processes (parent launchd unless they name one; named by Name, or
// after Command's first word). A job's own children are not modelled
// unless a fixture lists them.
func (m *Mac) processes() []proc {
	uid := func(name string) int {
		if name == "" {
			return 0
		}
		if u := m.st.Users[m.canonicalUser(name)]; u != nil {
			return u.UID
		}
		return -2 // nobody: a UserName launchd could not resolve
	}
	procs := []proc{{uid: 0, pid: 1, ppid: 0, name: "launchd"}}
	for _, j := range m.st.Launchd.Jobs {
		if j.State == "running" && j.PID > 0 {
			procs = append(procs, proc{uid(j.UserName), j.PID, 1, ucomm(j.Program)})
		}
	}
	for name, s := range m.st.Launchd.GUI {
		if s == nil {
			continue
		}
		for _, j := range s.Jobs {
			if j.State == "running" && j.PID > 0 {
				procs = append(procs, proc{uid(name), j.PID, 1, ucomm(j.Program)})
			}
		}
	}
	for _, p := range m.st.Processes {
		ppid, name := p.PPID, p.Name
		if ppid == 0 {
			ppid = 1
		}
		if name == "" {
			if f := strings.Fields(p.Command); len(f) > 0 {
				name = ucomm(f[0])
			} else {
				name = "?"
			}
		}
		if len(name) > 16 {
			name = name[:16]
		}
		procs = append(procs, proc{uid(p.User), p.PID, ppid, name})
	}
	sort.Slice(procs, func(i, k int) bool { return procs[i].pid < procs[k].pid })
	return procs
}

// StartProcess models a process of user that no launchd job accounts for
// (one a CI job left behind, or a login at the console) and returns its
// pid. `ps` lists it until the account is deleted.
func (m *Mac) StartProcess(user, command string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	pid := m.pid()
	m.st.Processes = append(m.st.Processes, Process{PID: pid, User: m.canonicalUser(user), Command: command})
	return pid
}

// ProcessesOf returns the pids of the running processes whose effective
// uid is user's, as `ps` lists them.
func (m *Mac) ProcessesOf(user string) []int {
	m.mu.Lock()
	defer m.mu.Unlock()
	u := m.st.Users[m.canonicalUser(user)]
	if u == nil {
		return nil
	}
	var out []int
	for _, p := range m.processes() {
		if p.uid == u.UID {
			out = append(out, p.pid)
		}
	}
	return out
}
