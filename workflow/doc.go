// Package workflow holds what the GitHub Actions workflow tools of hvfctl
// share: the facts a recipe declares about the runner and its CI job
// (RecipeFacts) and how they are read from an evaluated recipe.
//
// The tools themselves live in sub-packages: workflow/expr evaluates
// GitHub expressions, workflow/audit proves which runs can reach the
// self-hosted runner, and workflow/render writes the recipe's
// runtime-macos job into a workflow file.
package workflow
