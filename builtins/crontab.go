package builtins

import (
	"context"
	"fmt"
	"strings"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
)

// CronTabs is where crontab(1) of macOS keeps each user's crontab, a
// root-owned file of mode 0600 named after the user: CRONDIR
// /usr/lib/cron on Apple platforms, SPOOL_DIR tabs
// (apple-oss-distributions/cron cron/pathnames.h, crontab/crontab.c).
const CronTabs = "/usr/lib/cron/tabs"

// crontabRemoved judges `crontab -r` run as user: exit 0, or crontab's
// own "no crontab for USER" (exit 1, crontab.c delete_cmd: ENOENT), which
// means there is nothing left to remove.
func crontabRemoved(user string) func(host.Result) error {
	return func(res host.Result) error {
		if res.Exit == 0 || (res.Exit == 1 && strings.Contains(res.Stderr, "no crontab for "+user)) {
			return nil
		}
		return fmt.Errorf("exit status %d", res.Exit)
	}
}

func crontabModule() engine.Module {
	return engine.Module{
		Name: "crontab",
		Doc:  "The per-user crontab (`crontab -r`).",
		Builtins: []engine.Builtin{
			newBuiltin("crontab", "remove", "user", engine.KindAction, `
Returns the action `+"`/usr/bin/crontab -r`"+` run as USER, never as uid 0:
crontab(1) removes the crontab of the account that runs it,
`+"`/usr/lib/cron/tabs/USER`"+` (standard input is not a terminal, so it does not
ask). Judged by exit 0, or crontab's "no crontab for USER" (nothing left).
The recipe's allow_writes must allow /usr/lib/cron/tabs/USER.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					user, err := c.unpackUser(args, kwargs)
					if err != nil {
						return nil, err
					}
					if user == host.Root {
						return nil, c.argError("crontab.remove must not run as root: it would remove root's crontab")
					}
					tab := CronTabs + "/" + user
					if err := c.s.CheckWrite(tab); err != nil {
						return nil, c.wrap(err)
					}
					cmd := host.Command{Argv: []string{"/usr/bin/crontab", "-r"}, User: user}
					a := engine.Exec(cmd, []string{tab}, crontabRemoved(user))
					run := a.Run
					a.Run = func(ctx context.Context, s *engine.Session) error {
						if err := refuseSuperuser(ctx, s, user, "crontab -r"); err != nil {
							return &engine.ActionError{Argv: cmd.Argv, User: user, Exit: -1, Err: err}
						}
						return run(ctx, s)
					}
					a.Destroys = "the crontab of " + user
					return a, nil
				}),
		},
	}
}
