package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/google/go-github/v75/github"
)

// Permissions named in error messages (fine-grained token permissions).
const (
	needAdminRead  = "Administration: read"
	needAdminWrite = "Administration: write"
	needIssuesRead = "Issues: read (or Pull requests: read)"
	needIssuesWrt  = "Issues: write (or Pull requests: write)"
	needActions    = "Actions: read"
	needMetadata   = "Metadata: read"
)

// Fork-PR contributor approval policies, least to most restrictive.
const (
	ApprovalNewToGitHub  = "first_time_contributors_new_to_github"
	ApprovalFirstTime    = "first_time_contributors"
	ApprovalAllExternal  = "all_external_contributors"
	approvalPolicyFormat = "repos/%s/%s/actions/permissions/fork-pr-contributor-approval"
)

// nobypass makes go-github send every request, leaving rate limits to
// the transport (which waits when the reset is near).
func nobypass(ctx context.Context) context.Context {
	return context.WithValue(ctx, github.BypassRateLimitCheck, true)
}

type approvalPolicy struct {
	ApprovalPolicy string `json:"approval_policy"`
}

// ForkPRApproval returns the repository's fork pull request contributor
// approval policy (go-github v75 has no method for this endpoint).
func (c *Client) ForkPRApproval(ctx context.Context, r Repo) (string, error) {
	var p approvalPolicy
	ep := endpoint{"GET", fmt.Sprintf(approvalPolicyFormat, r.Owner, r.Name), r, needAdminRead}
	if _, err := c.do(nobypass(ctx), ep, nil, &p); err != nil {
		return "", err
	}
	return p.ApprovalPolicy, nil
}

// SetForkPRApproval sets the fork pull request contributor approval
// policy (PUT, 204).
func (c *Client) SetForkPRApproval(ctx context.Context, r Repo, policy string) error {
	ep := endpoint{"PUT", fmt.Sprintf(approvalPolicyFormat, r.Owner, r.Name), r, needAdminWrite}
	_, err := c.do(nobypass(ctx), ep, approvalPolicy{ApprovalPolicy: policy}, nil)
	return err
}

// ForkPRApprovalRequest is the method, path and body of SetForkPRApproval,
// as a plan shows it.
func ForkPRApprovalRequest(r Repo, policy string) (method, path string, body any) {
	return "PUT", "/" + fmt.Sprintf(approvalPolicyFormat, r.Owner, r.Name), approvalPolicy{ApprovalPolicy: policy}
}

// WorkflowPermissions are the defaults of the GITHUB_TOKEN of workflows.
type WorkflowPermissions struct {
	// Default is "read" or "write".
	Default string `json:"default_workflow_permissions"`
	// CanApprove says whether workflows may create and approve pull
	// requests.
	CanApprove bool `json:"can_approve_pull_request_reviews"`
}

// WorkflowPermissionsPath returns the endpoint path of the workflow
// permissions of r.
func WorkflowPermissionsPath(r Repo) string {
	return fmt.Sprintf("/repos/%s/%s/actions/permissions/workflow", r.Owner, r.Name)
}

// WorkflowPermissions reads the default workflow permissions.
func (c *Client) WorkflowPermissions(ctx context.Context, r Repo) (WorkflowPermissions, error) {
	ep := endpoint{"GET", WorkflowPermissionsPath(r), r, needAdminRead}
	p, _, err := call(c, ep, func() (*github.DefaultWorkflowPermissionRepository, *github.Response, error) {
		return c.gh.Repositories.GetDefaultWorkflowPermissions(nobypass(ctx), r.Owner, r.Name)
	})
	if err != nil {
		return WorkflowPermissions{}, err
	}
	return WorkflowPermissions{Default: p.GetDefaultWorkflowPermissions(), CanApprove: p.GetCanApprovePullRequestReviews()}, nil
}

// SetWorkflowPermissions sets the default workflow permissions (PUT, 204;
// 409 when the organization enforces them).
func (c *Client) SetWorkflowPermissions(ctx context.Context, r Repo, p WorkflowPermissions) error {
	ep := endpoint{"PUT", WorkflowPermissionsPath(r), r, needAdminWrite}
	_, err := c.do(nobypass(ctx), ep, p, nil)
	return err
}

// ActionsPermissions is the repository's Actions policy.
type ActionsPermissions struct {
	Enabled        bool   `json:"enabled"`
	AllowedActions string `json:"allowed_actions"`
	// SHAPinningRequired is nil when GitHub does not report it (older
	// servers; go-github v75 lacks the field, hence this own type).
	SHAPinningRequired *bool `json:"sha_pinning_required"`
}

// ActionsPermissions reads GET /repos/{o}/{r}/actions/permissions.
func (c *Client) ActionsPermissions(ctx context.Context, r Repo) (ActionsPermissions, error) {
	var p ActionsPermissions
	ep := endpoint{"GET", fmt.Sprintf("repos/%s/%s/actions/permissions", r.Owner, r.Name), r, needAdminRead}
	_, err := c.do(nobypass(ctx), ep, nil, &p)
	return p, err
}

// Label is an issue label.
type Label struct {
	Name        string `json:"name"`
	Color       string `json:"color,omitempty"`
	Description string `json:"description,omitempty"`
}

// LabelsPath returns the endpoint that creates labels of r.
func LabelsPath(r Repo) string { return fmt.Sprintf("/repos/%s/%s/labels", r.Owner, r.Name) }

// Label returns the label called name, or nil when it does not exist.
func (c *Client) Label(ctx context.Context, r Repo, name string) (*Label, error) {
	// go-github v75 puts the name into the path unescaped.
	esc := url.PathEscape(name)
	ep := endpoint{"GET", fmt.Sprintf("repos/%s/%s/labels/%s", r.Owner, r.Name, esc), r, needIssuesRead}
	l, _, err := call(c, ep, func() (*github.Label, *github.Response, error) {
		return c.gh.Issues.GetLabel(nobypass(ctx), r.Owner, r.Name, esc)
	})
	if IsNotFound(err) {
		// A missing label and an invisible repository both answer 404;
		// the other checks of the repository tell the second apart.
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Label{Name: l.GetName(), Color: l.GetColor(), Description: l.GetDescription()}, nil
}

// CreateLabel creates a label (POST, 201); a label that already exists
// (422 already_exists) is not an error.
func (c *Client) CreateLabel(ctx context.Context, r Repo, l Label) error {
	ep := endpoint{"POST", LabelsPath(r), r, needIssuesWrt}
	_, _, err := call(c, ep, func() (*github.Label, *github.Response, error) {
		return c.gh.Issues.CreateLabel(nobypass(ctx), r.Owner, r.Name, &github.Label{Name: &l.Name, Color: &l.Color, Description: &l.Description})
	})
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		for _, e := range er.Errors {
			if e.Code == "already_exists" {
				return nil
			}
		}
	}
	return err
}

// Token is a registration or removal token for config.sh. Its String
// never shows the value.
type Token struct {
	Value     string
	ExpiresAt time.Time
}

// String hides the value.
func (t Token) String() string {
	return "<runner token, expires " + t.ExpiresAt.Format(time.RFC3339) + ">"
}

// RegistrationToken creates a runner registration token (POST, 201; valid
// one hour).
func (c *Client) RegistrationToken(ctx context.Context, r Repo) (Token, error) {
	ep := endpoint{"POST", fmt.Sprintf("/repos/%s/%s/actions/runners/registration-token", r.Owner, r.Name), r, needAdminWrite}
	t, _, err := call(c, ep, func() (*github.RegistrationToken, *github.Response, error) {
		return c.gh.Actions.CreateRegistrationToken(nobypass(ctx), r.Owner, r.Name)
	})
	if err != nil {
		return Token{}, err
	}
	if t.GetToken() == "" {
		return Token{}, fmt.Errorf("%s %s: GitHub answered without a token", ep.method, ep.path)
	}
	return Token{Value: t.GetToken(), ExpiresAt: t.GetExpiresAt().Time}, nil
}

// RemoveToken creates a runner removal token for `config.sh remove`.
func (c *Client) RemoveToken(ctx context.Context, r Repo) (Token, error) {
	ep := endpoint{"POST", fmt.Sprintf("/repos/%s/%s/actions/runners/remove-token", r.Owner, r.Name), r, needAdminWrite}
	t, _, err := call(c, ep, func() (*github.RemoveToken, *github.Response, error) {
		return c.gh.Actions.CreateRemoveToken(nobypass(ctx), r.Owner, r.Name)
	})
	if err != nil {
		return Token{}, err
	}
	if t.GetToken() == "" {
		return Token{}, fmt.Errorf("%s %s: GitHub answered without a token", ep.method, ep.path)
	}
	return Token{Value: t.GetToken(), ExpiresAt: t.GetExpiresAt().Time}, nil
}

// User returns the login of the credential's user, for plans ("as which
// GitHub user"); "" when GitHub does not say.
func (c *Client) User(ctx context.Context) string {
	if !c.cred.OK() {
		return ""
	}
	u, _, err := c.gh.Users.Get(nobypass(ctx), "")
	if err != nil {
		return ""
	}
	return u.GetLogin()
}
