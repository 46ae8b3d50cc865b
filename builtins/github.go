package builtins

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"go.starlark.net/starlark"

	"github.com/sysprog21/hvfctl/builtins/host"
	"github.com/sysprog21/hvfctl/engine"
	"github.com/sysprog21/hvfctl/ghapi"
)

// GitHubService is the name of the session service that holds the
// *ghapi.Client of a run (engine.Options.Services).
const GitHubService = ghapi.Service

// gitHub returns the run's GitHub client with a credential, or nil.
func gitHub(s *engine.Session) *ghapi.Client {
	c, _ := s.Service(GitHubService).(*ghapi.Client)
	if c == nil || !c.Credential().OK() {
		return nil
	}
	return c
}

// settingsURL is the web page where a person checks a setting by hand.
func settingsURL(s *engine.Session, r ghapi.Repo, page string) string {
	if c, _ := s.Service(GitHubService).(*ghapi.Client); c != nil {
		return c.WebURL(r.String() + page)
	}
	return "https://github.com/" + r.String() + page
}

// noCredential is the unknown value of a GitHub query without credential.
func noCredential(s *engine.Session, r ghapi.Repo, page string) starlark.Value {
	return unknown("no GitHub credential (GH_TOKEN, GITHUB_TOKEN or `gh auth login`): check by hand at %s", settingsURL(s, r, page))
}

// gitHubUser is who GitHub actions run as: "github:LOGIN", or the
// credential's source when GitHub does not say.
func gitHubUser(s *engine.Session, c *ghapi.Client) string {
	login, _ := cached(s, "github:user", func(ctx context.Context, _ host.Host) (string, error) { return c.User(ctx), nil })
	if login == "" {
		return "github (token from " + c.Credential().String() + ")"
	}
	return "github:" + login
}

// gitHubAction builds the action of one GitHub request: the plan shows
// METHOD PATH BODY as the argv and the GitHub user as the principal.
func gitHubAction(c *call, gh *ghapi.Client, method, path string, body any, run func(ctx context.Context) error) (*engine.Action, error) {
	argv := []string{method, path}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, c.argError("%v", err)
		}
		argv = append(argv, string(b))
	}
	user := gitHubUser(c.s, gh)
	return &engine.Action{
		Argv: argv,
		User: user,
		Run: func(ctx context.Context, _ *engine.Session) error {
			if err := run(ctx); err != nil {
				return &engine.ActionError{Argv: argv, User: user, Exit: -1, Err: err}
			}
			return nil
		},
	}, nil
}

// repoArg parses the OWNER/NAME argument.
func repoArg(c *call, s string) (ghapi.Repo, error) {
	r, err := ghapi.ParseRepo(s)
	if err != nil {
		return r, c.wrap(err)
	}
	return r, nil
}

func runnerValue(r ghapi.Runner) starlark.Value {
	var custom []string
	for _, l := range r.Labels {
		if l.Type == "custom" {
			custom = append(custom, l.Name)
		}
	}
	return mkstruct(map[string]starlark.Value{
		"id": starlark.MakeInt64(r.ID), "name": starlark.String(r.Name), "os": starlark.String(r.OS),
		"status": starlark.String(strings.ToLower(r.Status)), "busy": starlark.Bool(r.Busy),
		"labels": stringList(r.LabelNames()), "custom_labels": stringList(custom),
	})
}

// runnersOnline lists the runners called name; when wait is set (an action
// of this run changed the Mac) it polls until one is online or wait has
// passed, since a runner just started takes a few seconds to connect.
func runnersOnline(ctx context.Context, gh *ghapi.Client, r ghapi.Repo, name string, wait bool, d time.Duration) ([]ghapi.Runner, error) {
	deadline := time.Now().Add(d)
	for {
		rs, err := gh.Runners(ctx, r, name)
		// config.sh registers a runner with GitHub before it returns, so
		// only a registered runner that is still connecting is waited for.
		if err != nil || !wait || len(rs) == 0 || time.Now().After(deadline) {
			return rs, err
		}
		if anyOnline(rs) {
			return rs, nil
		}
		t := time.NewTimer(5 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

// anyOnline reports whether one of the runners is online.
func anyOnline(rs []ghapi.Runner) bool {
	for _, x := range rs {
		if strings.EqualFold(x.Status, "online") {
			return true
		}
	}
	return false
}

func gitHubModule() engine.Module {
	const m = "github"
	// query defines a query of one repository: without a credential it
	// returns unknown with the page to check by hand.
	query := func(name, params, page, doc string, extra func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, []any, error),
		get func(c *call, gh *ghapi.Client, r ghapi.Repo, more []any) (starlark.Value, error)) engine.Builtin {
		return newBuiltin(m, name, params, engine.KindQuery, doc, func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
			repoText, more, err := extra(c, args, kwargs)
			if err != nil {
				return nil, err
			}
			r, err := repoArg(c, repoText)
			if err != nil {
				return nil, err
			}
			gh := gitHub(c.s)
			if gh == nil {
				return noCredential(c.s, r, page), nil
			}
			v, err := get(c, gh, r, more)
			if err != nil {
				return nil, c.hostError(err)
			}
			return v, nil
		})
	}
	repoOnly := func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, []any, error) {
		var repo string
		err := c.unpack(args, kwargs, "repo", &repo)
		return repo, nil, err
	}
	repoAndString := func(param string) func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, []any, error) {
		return func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, []any, error) {
			var repo, v string
			err := c.unpack(args, kwargs, "repo", &repo, param, &v)
			return repo, []any{v}, err
		}
	}
	needGitHub := func(c *call, r ghapi.Repo) (*ghapi.Client, error) {
		gh := gitHub(c.s)
		if gh == nil {
			return nil, c.argError("%s (change it by hand at %s)", ghapi.NoCredentialHelp, settingsURL(c.s, r, "/settings/actions"))
		}
		return gh, nil
	}
	return engine.Module{
		Name: m,
		Doc:  "The GitHub side of the runner: repository Actions settings, the opt-in label and the registered runners, read and changed through GitHub's REST API (docs/github.md). Queries return unknown, with the Settings page to check by hand, when hvfctl has no GitHub credential; actions show METHOD, path and JSON body as their argv and the GitHub user as who runs them.",
		Builtins: []engine.Builtin{
			query("fork_pr_approval", "repo", "/settings/actions", `
GET /repos/OWNER/NAME/actions/permissions/fork-pr-contributor-approval: returns the
approval policy of workflows from fork pull requests:
"first_time_contributors_new_to_github", "first_time_contributors" (GitHub's
default) or "all_external_contributors". Needs Administration: read.`, repoOnly,
				func(c *call, gh *ghapi.Client, r ghapi.Repo, _ []any) (starlark.Value, error) {
					v, err := cached(c.s, "github:approval:"+r.String(), func(ctx context.Context, _ host.Host) (string, error) { return gh.ForkPRApproval(ctx, r) })
					return starlark.String(v), err
				}),
			query("workflow_permissions", "repo", "/settings/actions", `
GET /repos/OWNER/NAME/actions/permissions/workflow: returns
`+"`struct(default, can_approve)`"+`: the GITHUB_TOKEN's default permissions ("read" or
"write") and whether workflows may create and approve pull requests.
Needs Administration: read.`, repoOnly,
				func(c *call, gh *ghapi.Client, r ghapi.Repo, _ []any) (starlark.Value, error) {
					p, err := cached(c.s, "github:wfperm:"+r.String(), func(ctx context.Context, _ host.Host) (ghapi.WorkflowPermissions, error) {
						return gh.WorkflowPermissions(ctx, r)
					})
					return mkstruct(map[string]starlark.Value{"default": starlark.String(p.Default), "can_approve": starlark.Bool(p.CanApprove)}), err
				}),
			query("actions_permissions", "repo", "/settings/actions", `
GET /repos/OWNER/NAME/actions/permissions: returns
`+"`struct(enabled, allowed_actions, sha_pinning_required)`"+`; sha_pinning_required
is None when GitHub does not report it; unknown when it cannot be read (it
serves advisories only). Needs Administration: read.`, repoOnly,
				func(c *call, gh *ghapi.Client, r ghapi.Repo, _ []any) (starlark.Value, error) {
					p, err := cached(c.s, "github:actperm:"+r.String(), func(ctx context.Context, _ host.Host) (ghapi.ActionsPermissions, error) {
						return gh.ActionsPermissions(ctx, r)
					})
					if err != nil {
						// Read for an advisory only: never fail a run.
						return unknown("could not read the Actions permissions: %v", err), nil
					}
					var pin starlark.Value = starlark.None
					if p.SHAPinningRequired != nil {
						pin = starlark.Bool(*p.SHAPinningRequired)
					}
					return mkstruct(map[string]starlark.Value{"enabled": starlark.Bool(p.Enabled), "allowed_actions": starlark.String(p.AllowedActions), "sha_pinning_required": pin}), err
				}),
			query("label", "repo, name", "/labels", `
GET /repos/OWNER/NAME/labels/NAME (the name path-escaped): returns
`+"`struct(name, color, description)`"+`, or None when the label does not exist.
Needs Issues (or Pull requests): read.`, repoAndString("name"),
				func(c *call, gh *ghapi.Client, r ghapi.Repo, more []any) (starlark.Value, error) {
					name := more[0].(string)
					l, err := cached(c.s, "github:label:"+r.String()+":"+name, func(ctx context.Context, _ host.Host) (*ghapi.Label, error) { return gh.Label(ctx, r, name) })
					if err != nil || l == nil {
						return starlark.None, err
					}
					return mkstruct(map[string]starlark.Value{"name": starlark.String(l.Name), "color": starlark.String(l.Color), "description": starlark.String(l.Description)}), nil
				}),
			query("runners", "repo, name, wait_online=0", "/settings/actions/runners", `
GET /repos/OWNER/NAME/actions/runners?name=NAME (every page): returns the
repository's self-hosted runners called NAME as a list of
`+"`struct(id, name, os, status, busy, labels, custom_labels)`"+` (status "online" or
"offline"; labels every label name, custom_labels those of type custom).
With WAIT_ONLINE seconds, after an action of this run changed the Mac (a
runner was just registered or started), a registered runner that is not
online yet is asked for again every 5 seconds until it is online or the
time is up; if none is online then, it returns unknown (the next check
decides). Needs Administration:
read and a repository admin.`, func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (string, []any, error) {
				var repo, name string
				wait := 0
				err := c.unpack(args, kwargs, "repo", &repo, "name", &name, "wait_online?", &wait)
				if err == nil && (wait < 0 || wait > 600) {
					err = c.argError("wait_online must be 0 to 600 seconds, not %d", wait)
				}
				return repo, []any{name, wait}, err
			},
				func(c *call, gh *ghapi.Client, r ghapi.Repo, more []any) (starlark.Value, error) {
					name, wait := more[0].(string), more[1].(int)
					rs, err := cached(c.s, "github:runners:"+r.String()+":"+name, func(ctx context.Context, _ host.Host) ([]ghapi.Runner, error) {
						return runnersOnline(ctx, gh, r, name, c.s.Changed(), time.Duration(wait)*time.Second)
					})
					if err != nil {
						return nil, err
					}
					if wait > 0 && c.s.Changed() && !anyOnline(rs) {
						// This run just changed the Mac: GitHub not showing
						// the runner online yet proves nothing; check does.
						return unknown("this run changed the Mac and GitHub does not list runner %s online after %ds; run `hvfctl github check` in a minute", name, wait), nil
					}
					out := make([]starlark.Value, len(rs))
					for i, x := range rs {
						out[i] = runnerValue(x)
					}
					return starlark.NewList(out), nil
				}),
			query("code_owner_review", "repo, branch", "/settings/rules", `
GET /repos/OWNER/NAME/rules/branches/BRANCH, then
GET /repos/OWNER/NAME/branches/BRANCH/protection: returns
`+"`struct(required, source)`"+`: whether a pull request into BRANCH needs a code
owner's review (a ruleset's pull_request rule or branch protection), and
which one says so. Whether CODEOWNERS names an owner for .github/workflows/
is not read; unknown when GitHub does not answer (it serves advisories
only). Needs Metadata: read and Administration: read.`, repoAndString("branch"),
				func(c *call, gh *ghapi.Client, r ghapi.Repo, more []any) (starlark.Value, error) {
					branch := more[0].(string)
					type cor struct {
						req bool
						src string
					}
					v, err := cached(c.s, "github:codeowner:"+r.String()+":"+branch, func(ctx context.Context, _ host.Host) (cor, error) {
						req, src, err := gh.CodeOwnerReview(ctx, r, branch)
						return cor{req, src}, err
					})
					if err != nil {
						// Read for an advisory only: never fail a run.
						return unknown("could not read the rules of %s: %v", branch, err), nil
					}
					return mkstruct(map[string]starlark.Value{"required": starlark.Bool(v.req), "source": starlark.String(v.src)}), err
				}),
			newBuiltin(m, "settings_url", "repo, page=\"/settings/actions\"", engine.KindUtil, `
Returns the web address of a repository page (on the GitHub of
--github-api), for remediation texts. Runs nothing.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var repo string
					page := "/settings/actions"
					if err := c.unpack(args, kwargs, "repo", &repo, "page?", &page); err != nil {
						return nil, err
					}
					r, err := repoArg(c, repo)
					if err != nil {
						return nil, err
					}
					if !strings.HasPrefix(page, "/") {
						return nil, c.argError("page must start with /, not %q", page)
					}
					return starlark.String(settingsURL(c.s, r, page)), nil
				}),
			newBuiltin(m, "set_fork_pr_approval", "repo, policy", engine.KindAction, `
Returns the action PUT /repos/OWNER/NAME/actions/permissions/fork-pr-contributor-approval
with body `+"`{\"approval_policy\": POLICY}`"+` (204). Needs Administration: write.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var repo, policy string
					if err := c.unpack(args, kwargs, "repo", &repo, "policy", &policy); err != nil {
						return nil, err
					}
					r, err := repoArg(c, repo)
					if err != nil {
						return nil, err
					}
					switch policy {
					case ghapi.ApprovalNewToGitHub, ghapi.ApprovalFirstTime, ghapi.ApprovalAllExternal:
					default:
						return nil, c.argError("policy %q: want %s, %s or %s", policy, ghapi.ApprovalAllExternal, ghapi.ApprovalFirstTime, ghapi.ApprovalNewToGitHub)
					}
					gh, err := needGitHub(c, r)
					if err != nil {
						return nil, err
					}
					method, path, body := ghapi.ForkPRApprovalRequest(r, policy)
					return gitHubAction(c, gh, method, path, body, func(ctx context.Context) error { return gh.SetForkPRApproval(ctx, r, policy) })
				}),
			newBuiltin(m, "set_workflow_permissions", "repo, default, can_approve", engine.KindAction, `
Returns the action PUT /repos/OWNER/NAME/actions/permissions/workflow with body
`+"`{\"default_workflow_permissions\": DEFAULT, \"can_approve_pull_request_reviews\": CAN_APPROVE}`"+`
(204; 409 when the organization enforces the setting). Needs Administration: write.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var repo, def string
					var approve bool
					if err := c.unpack(args, kwargs, "repo", &repo, "default", &def, "can_approve", &approve); err != nil {
						return nil, err
					}
					r, err := repoArg(c, repo)
					if err != nil {
						return nil, err
					}
					if def != "read" && def != "write" {
						return nil, c.argError("default %q: want read or write", def)
					}
					gh, err := needGitHub(c, r)
					if err != nil {
						return nil, err
					}
					p := ghapi.WorkflowPermissions{Default: def, CanApprove: approve}
					return gitHubAction(c, gh, "PUT", ghapi.WorkflowPermissionsPath(r), p, func(ctx context.Context) error { return gh.SetWorkflowPermissions(ctx, r, p) })
				}),
			newBuiltin(m, "create_label", "repo, name, color, description", engine.KindAction, `
Returns the action POST /repos/OWNER/NAME/labels with body
`+"`{\"name\", \"color\", \"description\"}`"+` (201; a label that already exists is not an
error). COLOR is six hex digits without #; DESCRIPTION at most 100
characters. Needs Issues (or Pull requests): write.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var repo string
					var l ghapi.Label
					if err := c.unpack(args, kwargs, "repo", &repo, "name", &l.Name, "color", &l.Color, "description", &l.Description); err != nil {
						return nil, err
					}
					r, err := repoArg(c, repo)
					if err != nil {
						return nil, err
					}
					if err := checkPattern("label name", l.Name, runnerLabelPat); err != nil {
						return nil, c.wrap(err)
					}
					if len(l.Color) != 6 || strings.Trim(strings.ToLower(l.Color), "0123456789abcdef") != "" {
						return nil, c.argError("color %q: want six hex digits without #", l.Color)
					}
					if len(l.Description) > 100 {
						return nil, c.argError("description is %d characters; GitHub takes at most 100", len(l.Description))
					}
					gh, err := needGitHub(c, r)
					if err != nil {
						return nil, err
					}
					return gitHubAction(c, gh, "POST", ghapi.LabelsPath(r), l, func(ctx context.Context) error { return gh.CreateLabel(ctx, r, l) })
				}),
			newBuiltin(m, "set_runner_labels", "repo, runner_id, labels", engine.KindAction, `
Returns the action PUT /repos/OWNER/NAME/actions/runners/RUNNER_ID/labels with
body `+"`{\"labels\": LABELS}`"+`: LABELS replace every custom label of the runner
(the read-only ones, self-hosted, OS and architecture, stay). Needs
Administration: write.`,
				func(c *call, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
					var repo string
					var id int64
					var labelsV starlark.Value
					if err := c.unpack(args, kwargs, "repo", &repo, "runner_id", &id, "labels", &labelsV); err != nil {
						return nil, err
					}
					r, err := repoArg(c, repo)
					if err != nil {
						return nil, err
					}
					labels, err := stringsOf(labelsV, "labels")
					if err != nil {
						return nil, c.wrap(err)
					}
					for _, l := range labels {
						if err := checkPattern("runner label", l, runnerLabelPat); err != nil {
							return nil, c.wrap(err)
						}
					}
					if id <= 0 {
						return nil, c.argError("runner_id must be a runner's id, not %d", id)
					}
					gh, err := needGitHub(c, r)
					if err != nil {
						return nil, err
					}
					if labels == nil {
						labels = []string{}
					}
					return gitHubAction(c, gh, "PUT", ghapi.RunnerLabelsPath(r, id), ghapi.RunnerLabelsBody{Labels: labels}, func(ctx context.Context) error {
						_, err := gh.SetRunnerLabels(ctx, r, id, labels)
						return err
					})
				}),
		},
	}
}
