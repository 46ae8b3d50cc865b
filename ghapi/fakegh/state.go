// Package fakegh is an in-process fake of the GitHub REST API endpoints
// hvfctl uses (an httptest server with state): repository Actions
// settings, issue labels, self-hosted runners and their labels,
// registration and removal tokens, workflow runs and jobs, branch
// protection and branch rules. It answers with the shapes, status codes,
// pagination (Link headers with page=N), rate-limit headers and error
// bodies of GitHub's reference (docs/github.md), checks each token's
// fine-grained permissions, and injects faults.
package fakegh

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// State is everything the fake knows. It is also the JSON of a fixture
// (`t.github(fixture = FILE)` in recipe tests).
type State struct {
	// Repos by OWNER/NAME.
	Repos map[string]*Repo `json:"repos"`
	// Tokens that authenticate; empty means any non-empty token is the
	// user "maintainer" with every permission.
	Tokens map[string]*TokenInfo `json:"tokens,omitempty"`
	// Faults make matching requests fail.
	Faults []Fault `json:"faults,omitempty"`
	// RateLimit is the primary limit of every token (0 means 5000).
	RateLimit int `json:"rate_limit,omitempty"`
	// RateRemaining is what is left of it (nil means the full limit).
	RateRemaining *int `json:"rate_remaining,omitempty"`
	// RateReset is when the limit resets (zero means an hour from start).
	RateReset time.Time `json:"rate_reset,omitzero"`
	// RateLimitStatus is the status of a primary rate-limit answer: 403
	// (0 means 403) or 429; GitHub answers either.
	RateLimitStatus int `json:"rate_limit_status,omitempty"`
}

// TokenInfo is the user and fine-grained permissions of a token:
// permission name ("administration", "actions", "issues",
// "pull_requests", "metadata") → "read" or "write".
type TokenInfo struct {
	Login       string            `json:"login"`
	Permissions map[string]string `json:"permissions"`
	// NotAdmin makes runner endpoints answer 403 "Must have admin rights
	// to Repository." (a classic token whose user is not a repo admin).
	NotAdmin bool `json:"not_admin,omitempty"`
}

// Fault makes the nth request (1-based; 0 = every one) whose method
// matches Method ("" any) and whose path is Path, or starts with
// PathPrefix when Path is empty, fail with
// Status, Body (a JSON object; default GitHub's error shape) and Headers.
type Fault struct {
	Method     string            `json:"method,omitempty"`
	Path       string            `json:"path,omitempty"`
	PathPrefix string            `json:"path_prefix,omitempty"`
	Nth        int               `json:"nth,omitempty"`
	Status     int               `json:"status"`
	Message    string            `json:"message,omitempty"`
	Body       json.RawMessage   `json:"body,omitempty"`
	Headers    map[string]string `json:"headers,omitempty"`

	seen int
}

// Repo is one repository's state.
type Repo struct {
	ID             int64  `json:"id"`
	Private        bool   `json:"private,omitempty"`
	ApprovalPolicy string `json:"approval_policy"`
	// ActionsEnabled etc. are GET /actions/permissions.
	ActionsEnabled     bool   `json:"actions_enabled"`
	AllowedActions     string `json:"allowed_actions"`
	SHAPinningRequired bool   `json:"sha_pinning_required"`
	// WorkflowPermissions is "read" or "write".
	WorkflowPermissions string `json:"default_workflow_permissions"`
	CanApprovePRReviews bool   `json:"can_approve_pull_request_reviews"`
	// OrgLocksWorkflowPermissions makes the PUT answer 409.
	OrgLocksWorkflowPermissions bool      `json:"org_locks_workflow_permissions,omitempty"`
	Labels                      []*Label  `json:"labels"`
	Runners                     []*Runner `json:"runners"`
	Runs                        []*Run    `json:"runs"`
	// Protection maps a branch to whether its protection requires code
	// owner reviews; a branch not listed is not protected.
	Protection map[string]bool `json:"protection,omitempty"`
	// Rules maps a branch to the rules in force on it.
	Rules map[string][]Rule `json:"rules,omitempty"`
	// PullLabels are the current labels of pull requests, by number
	// (GET /issues/{n}/labels; a number not listed is not found).
	PullLabels map[int][]string `json:"pull_labels,omitempty"`
	// IssuedTokens are the registration and removal tokens created.
	IssuedTokens []IssuedToken `json:"issued_tokens,omitempty"`
}

// Label is an issue label.
type Label struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Color       string `json:"color"`
	Description string `json:"description"`
	Default     bool   `json:"default"`
}

// Runner is a self-hosted runner.
type Runner struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	OS        string         `json:"os"`
	Status    string         `json:"status"`
	Busy      bool           `json:"busy"`
	Ephemeral bool           `json:"ephemeral"`
	GroupID   int64          `json:"runner_group_id"`
	Labels    []*RunnerLabel `json:"labels"`
}

// RunnerLabel is a label of a runner ("read-only" or "custom").
type RunnerLabel struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Run is a workflow run with its jobs.
type Run struct {
	ID              int64     `json:"id"`
	Name            string    `json:"name"`
	Event           string    `json:"event"`
	Status          string    `json:"status"`
	Conclusion      string    `json:"conclusion"`
	HeadBranch      string    `json:"head_branch"`
	HeadSHA         string    `json:"head_sha"`
	Path            string    `json:"path"`
	RunNumber       int       `json:"run_number"`
	RunAttempt      int       `json:"run_attempt"`
	CreatedAt       time.Time `json:"created_at"`
	Actor           string    `json:"actor"`
	TriggeringActor string    `json:"triggering_actor"`
	// HeadRepo is the full name of the repository the code came from
	// ("" = the repository itself; "-" = null, a deleted fork).
	HeadRepo string `json:"head_repository"`
	// PullRequests are the numbers of same-repository pull requests
	// whose head matches (GitHub lists none for forks).
	PullRequests []int  `json:"pull_requests"`
	Jobs         []*Job `json:"jobs"`
}

// Job is one job of a run.
type Job struct {
	ID         int64     `json:"id"`
	RunAttempt int       `json:"run_attempt"`
	Name       string    `json:"name"`
	Status     string    `json:"status"`
	Conclusion string    `json:"conclusion"`
	Labels     []string  `json:"labels"`
	RunnerID   int64     `json:"runner_id"`
	RunnerName string    `json:"runner_name"`
	StartedAt  time.Time `json:"started_at"`
}

// Rule is one rule in force on a branch.
type Rule struct {
	Type       string         `json:"type"`
	Parameters map[string]any `json:"parameters"`
	RulesetID  int64          `json:"ruleset_id"`
}

// IssuedToken is a registration or removal token the fake created.
type IssuedToken struct {
	Kind  string `json:"kind"` // "registration" or "remove"
	Token string `json:"token"`
}

// DefaultRepo returns sysprog21/elfuse as a new repository is: approval
// for first-time contributors, read-only workflow token, no labels, no
// runners, no runs.
func DefaultRepo() *Repo {
	return &Repo{
		ID: 1296269, ApprovalPolicy: "first_time_contributors", ActionsEnabled: true, AllowedActions: "all",
		WorkflowPermissions: "read",
	}
}

// LoadState reads a fixture file.
func LoadState(path string) (*State, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("fake GitHub fixture: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("fake GitHub fixture %s: %w", path, err)
	}
	return &s, nil
}
