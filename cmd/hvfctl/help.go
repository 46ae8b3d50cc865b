package main

// Long help, with an example, for the commands whose flags and exit codes
// are defined in other files. Kept together so that the tone and the
// examples stay consistent.

// Help implements kong.HelpProvider.
func (c *fmtCmd) Help() string {
	return `Formats .star files the way buildifier formats Starlark. A directory means every *.star below it.

Exit status: 0 formatted (or, with --check, already formatted); 1 with --check when a file would change (listed); 2 on a syntax error or an unreadable file (file:line:col).

Example:
  hvfctl fmt recipes/m4.star stdlib
  hvfctl fmt --check recipes stdlib`
}

// Help implements kong.HelpProvider.
func (c *lintCmd) Help() string {
	return `Lints recipes and stdlib modules: buildtools' Starlark checks plus hvfctl's own (load paths the engine would refuse, secrets written as literals, assertions without remediation, syntax the recipe dialect refuses). Prints file:line: category: message for each finding.

Exit status: 0 clean, 1 findings, 2 a syntax error.

Example:
  hvfctl lint recipes/m4.star stdlib`
}

// Help implements kong.HelpProvider.
func (c *workflowAuditCmd) Help() string {
	return `For every job of every workflow file (a directory means every .yml and .yaml in it): does it land on the runner (label subset, matrix expanded as GitHub does, runs-on objects and groups), and in which kinds of run (push, fork or same-repository pull request with or without the opt-in label, pull_request_target, dispatch, schedule, …) can it start, given its if: and the jobs it needs? What the audit cannot know (variables, inputs, job outputs) may be anything. Local reusable workflows are followed and audited with their caller's runs and inputs; one it cannot read fails the calling job unless --trust-callee matches it. Prints a truth table per landing job, the findings (forbidden triggers, secrets, write permissions, unpinned actions, dead steps, concurrency) with witnesses, and the residual risk YAML cannot show. With --recipe, also cross-checks labels, toolchain paths, Homebrew formulae and the Rosetta path against the recipe, and takes the repository, default branch and opt-in label from it. See docs/workflow-audit.md.

Exit status: 0 no FAIL finding, 1 a FAIL finding, 2 bad input (YAML or expression syntax with file:line, an alias bomb, a matrix over 256 jobs); every file is reported and the worst code wins.

Example:
  hvfctl workflow audit --recipe recipes/m4.star .github/workflows/
  hvfctl workflow audit --repo acme/widgets --default-branch master --label run-on-mac --json .github/workflows/build.yml`
}

// Help implements kong.HelpProvider.
func (c *workflowRenderCmd) Help() string {
	return `Renders the job the recipe declares (declare("workflow_job", ...)) into a workflow file: adds it, or replaces that job only, leaving every other byte of the file unchanged. Prints a unified diff; --write replaces the file atomically. The result is audited before it is written.

Exit status: 0 rendered (or nothing to change), 1 refused: the rendered job would fail the audit, or the file cannot be edited safely (an anchor other jobs alias would change meaning, a flow-style mapping, an edit that would not read back as only that job changed); the file is left unchanged. 2 bad input: the recipe or the workflow does not load (YAML or workflow syntax, with file:line).

Example:
  hvfctl workflow render --recipe recipes/m4.star .github/workflows/main.yml
  hvfctl workflow render --recipe recipes/m4.star --write .github/workflows/main.yml`
}

// Help implements kong.HelpProvider.
func (c *fixturesLockCmd) Help() string {
	return `Writes a SHA-256 lock of a fixture tree: one line per regular file (path, size, SHA-256) and per symlink (its target, never followed), sorted. The default place is DIR/.hvfctl-fixtures.lock, which the lock leaves out; keep it outside the tree (--out) when the tree is writable by CI jobs.

Exit status: 0 written, 2 bad input.

Example:
  sudo hvfctl fixtures lock /Users/ghrunner/.cache/elfuse-ci/test-fixtures --out "/Library/Application Support/hvfctl/test-fixtures.lock"`
}

// Help implements kong.HelpProvider.
func (c *fixturesVerifyCmd) Help() string {
	return `Checks a fixture tree against its lock, hashing files in parallel.

Exit status: 0 the tree matches; 1 missing, extra or changed entries (listed); 2 bad input (no or malformed manifest, unreadable file — named).

Example:
  hvfctl fixtures verify ~/.cache/elfuse-ci/test-fixtures --manifest "/Library/Application Support/hvfctl/test-fixtures.lock"`
}

// Help implements kong.HelpProvider.
func (c *fixturesDiffCmd) Help() string {
	return `Shows what changed between two locks: - removed, + added, ~ changed.

Exit status: 0 same, 1 different, 2 bad input.

Example:
  hvfctl fixtures diff old.lock new.lock`
}

// Help implements kong.HelpProvider.
func (c *pruneCmd) Help() string {
	return `Deletes entries inside DIR older than the age given, as the daily prune LaunchDaemon does for each runner's work folder (_work.noindex). Never removes DIR itself, never follows a symlink (an old link is removed as a link), keeps anything modified within the window, and keeps a directory that holds something recent.

Exit status: 0 done, 1 an entry could not be removed, 2 bad input (relative, missing or / DIR, bad age).

Example:
  hvfctl prune --older-than 7d --dry-run /Users/ghrunner/actions-runner/_work.noindex
  hvfctl prune --older-than 36h /Users/ghrunner/actions-runner/_work.noindex`
}
