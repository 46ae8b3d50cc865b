// Package engine runs hvfctl recipes.
//
// A recipe is a Starlark file that declares resources: an id, a kind, the
// wanted properties, a check function that reads the host with queries,
// and either a fix function that returns actions or a remediation text
// (an assertion). Load evaluates a recipe once, in a sandboxed thread:
// the dialect is fixed by explicit syntax.FileOptions, load() reaches
// only the embedded stdlib ("@stdlib//x.star") and files under the
// recipe's own directory, execution is bounded by a step budget and
// cancelled with its context, and print() goes to the run's log. Every
// problem of a recipe (syntax, evaluation with its backtrace through
// load(), schema violations, duplicate ids) is reported at once.
//
// A loaded Recipe then runs one of three lifecycles, each returning a
// Report:
//
//   - Plan: check every resource, compare with what is wanted, and ask
//     the fix functions for the actions, with reasons. Nothing changes.
//   - Check: the same, judged for drift (Report.ExitCode gives 2).
//   - Apply: refuse the run if an action writes outside allow_writes;
//     then for each resource in order re-check, run the actions, and
//     re-check; a failure (with its command, exit status and stderr
//     tail) makes the resources that require it skipped, while
//     independent resources continue.
//   - DestroyPlan and Destroy (`hvfctl destroy`): the resources that have
//     a destroy function, last declared first; each one's actions run,
//     then the function is asked again and must return nothing. A
//     failure keeps the resources the failed one requires.
//
// Reports render as text for people (changes as `before → after`,
// multi-line values as unified diffs, colour only when asked) and as the
// JSON object DESIGN.md fixes. Secrets (the Secret type) are shown as
// `<secret NAME>` and their values are scrubbed from every output.
//
// Stdlib functions validate their keywords with args(), which records
// every refused argument and returns a struct with every schema name (None
// when refused) and ok; a function returns early when ok is False, so that
// one run reports all of a recipe's errors. principals() tells recipes who
// owns Homebrew and who ran hvfctl. Builtins keep run-scoped state that
// must survive ForgetFacts (the paths files.prefetch registered while the
// recipe was evaluated) with Session.Keep.
//
// Builtin modules are described by Module and Builtin values; the same
// registry binds them (through Wrap, the hook that enforces phases and
// cancellation) and generates the reference (Reference).
package engine
