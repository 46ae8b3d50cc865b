// Package ghapi is hvfctl's GitHub side: a REST client (on go-github v75)
// for the repository settings, labels, self-hosted runners, registration
// tokens and workflow runs that hvfctl audits and enforces, with the
// credential lookup, pagination, rate-limit waits and error messages that
// tell a maintainer what to do. See docs/github.md and
// github-api.md of the shared reference for every endpoint and shape.
package ghapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/go-github/v75/github"
	"github.com/sysprog21/hvfctl/builtins/host"
)

// Service is the name under which a run's *Client is registered with the
// engine (engine.Options.Services).
const Service = "github"

// DefaultAPI is the API base of github.com.
const DefaultAPI = "https://api.github.com/"

// APIVersion is the REST API version every request names.
const APIVersion = "2022-11-28"

// Options configures New.
type Options struct {
	// API is the API base URL: https://api.github.com (the default),
	// https://HOST/api/v3 for GitHub Enterprise Server, or a test server.
	API string
	// Credential authenticates the requests; the zero value sends none.
	Credential Credential
	// MaxWait bounds how long a rate-limited request waits for the limit
	// to reset before it gives up with an error naming the reset time
	// (0 means DefaultMaxWait).
	MaxWait time.Duration
	// Sleep waits d or until ctx ends; nil means a timer. Tests replace it.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTP is the underlying transport; nil means http.DefaultTransport.
	HTTP http.RoundTripper
}

// DefaultMaxWait is how long a rate-limited request may wait by default.
const DefaultMaxWait = 90 * time.Second

// Client talks to one GitHub API base with one credential.
type Client struct {
	gh   *github.Client
	cred Credential
	api  *url.URL
	now  func() time.Time
}

// New returns a client for o.API.
func New(o Options) (*Client, error) {
	api, err := ParseAPI(o.API)
	if err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = host.Sleep
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	base := o.HTTP
	if base == nil {
		base = http.DefaultTransport
	}
	rt := &transport{base: base, host: api.Host, token: o.Credential.Token, maxWait: o.MaxWait, sleep: o.Sleep, now: o.Now}
	gh := github.NewClient(&http.Client{Transport: rt, Timeout: 60 * time.Second})
	gh.BaseURL = api
	// The transport judges rate limits (403 and 429); go-github's own
	// bookkeeping would refuse requests without asking GitHub and
	// without the reset time.
	gh.DisableRateLimitCheck = true
	gh.UserAgent = "hvfctl (+https://github.com/sysprog21/hvfctl)"
	return &Client{gh: gh, cred: o.Credential, api: api, now: o.Now}, nil
}

// ParseAPI validates an API base URL and returns it with a trailing
// slash; "" means DefaultAPI.
func ParseAPI(s string) (*url.URL, error) {
	if s == "" {
		s = DefaultAPI
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL %q: %w", s, err)
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("GitHub API URL %q: want https://api.github.com or https://HOST/api/v3", s)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// WebHost returns the host of the web site that belongs to an API base:
// github.com for api.github.com, SUB.ghe.com for api.SUB.ghe.com, and
// the API's own host for GitHub Enterprise Server.
func WebHost(api *url.URL) string {
	h := api.Host
	switch {
	case h == "api.github.com":
		return "github.com"
	case strings.HasPrefix(h, "api.") && strings.HasSuffix(h, ".ghe.com"):
		return strings.TrimPrefix(h, "api.")
	}
	return h
}

// API returns the client's API base.
func (c *Client) API() *url.URL { u := *c.api; return &u }

// Credential returns where the client's token came from (never the
// token's value in any printed form).
func (c *Client) Credential() Credential { return c.cred }

// WebURL returns https://WEBHOST/PATH for the client's GitHub.
func (c *Client) WebURL(path string) string {
	scheme := c.api.Scheme
	return scheme + "://" + WebHost(c.api) + "/" + strings.TrimPrefix(path, "/")
}

// Repo is OWNER/NAME.
type Repo struct {
	Owner, Name string
}

// String returns OWNER/NAME.
func (r Repo) String() string { return r.Owner + "/" + r.Name }

// ParseRepo parses OWNER/NAME (also accepting https://github.com/OWNER/NAME).
func ParseRepo(s string) (Repo, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), ".git")
	for _, p := range []string{"https://github.com/", "http://github.com/"} {
		t = strings.TrimPrefix(t, p)
	}
	parts := strings.Split(t, "/")
	if len(parts) != 2 || !validName(parts[0]) || !validName(parts[1]) {
		return Repo{}, fmt.Errorf("repository %q: want OWNER/NAME, e.g. sysprog21/elfuse", s)
	}
	return Repo{Owner: parts[0], Name: parts[1]}, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 100 || s == "." || s == ".." {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// endpoint describes one call for error messages: its method and path,
// and the fine-grained permission it needs.
type endpoint struct {
	method, path string
	repo         Repo
	need         string // "Administration: read"
}

// do sends a request built with go-github's NewRequest and decodes the
// answer into v (nil to ignore it), mapping errors to what the
// maintainer must do.
func (c *Client) do(ctx context.Context, ep endpoint, body, v any) (*github.Response, error) {
	// Relative to the API base: a leading slash would drop the /api/v3/
	// of GitHub Enterprise Server.
	req, err := c.gh.NewRequest(ep.method, strings.TrimPrefix(ep.path, "/"), body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", ep.method, ep.path, err)
	}
	resp, err := c.gh.Do(ctx, req, v)
	return resp, c.explain(ep, resp, err)
}

// call runs a go-github method and maps its error.
func call[T any](c *Client, ep endpoint, f func() (T, *github.Response, error)) (T, *github.Response, error) {
	v, resp, err := f()
	return v, resp, c.explain(ep, resp, err)
}

// Error is a GitHub API failure explained for a maintainer.
type Error struct {
	// Status is the HTTP status (0 when no answer came).
	Status int
	// Msg says what failed and what to do.
	Msg string
	// Err is the underlying error.
	Err error
}

func (e *Error) Error() string { return e.Msg }

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// explain turns a go-github error into an *Error whose message names the
// request, GitHub's answer and the permission to grant.
func (c *Client) explain(ep endpoint, resp *github.Response, err error) error {
	if err == nil {
		return nil
	}
	what := ep.method + " " + strings.TrimPrefix(ep.path, "/")
	if !strings.HasPrefix(what, ep.method+" /") {
		what = ep.method + " /" + strings.TrimPrefix(ep.path, "/")
	}
	status := 0
	var hdr http.Header
	if resp != nil && resp.Response != nil {
		status = resp.StatusCode
		hdr = resp.Header
	}
	msg := ghMessage(err)
	if msg == "" && status != 0 {
		// An answer without GitHub's JSON body (a proxy's error page).
		msg = http.StatusText(status)
	}
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	switch {
	case errors.As(err, &rl) || errors.As(err, &abuse) || isRateLimited(status, hdr, msg):
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: GitHub's API rate limit is exhausted%s; run hvfctl again after that (or with another token)", what, resetText(hdr, c.now()))}
	case status == http.StatusUnauthorized:
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: GitHub rejected the credential from %s (401 %s): create a new token (or run gh auth login) and set it in GH_TOKEN", what, c.cred.describe(), msg)}
	case status == http.StatusForbidden:
		need := ep.need
		if acc := hdr.Get("X-Accepted-GitHub-Permissions"); acc != "" {
			need = describePermissions(acc)
		}
		if scopes, ok := hdr["X-Oauth-Scopes"]; ok {
			// A classic token (or OAuth app): GitHub lists the scopes it
			// has and, where it says, those the endpoint accepts.
			have := strings.TrimSpace(strings.Join(scopes, ","))
			if have == "" {
				have = "none"
			}
			if acc := strings.TrimSpace(hdr.Get("X-Accepted-Oauth-Scopes")); acc != "" {
				need += fmt.Sprintf(" (a classic token: one of the scopes %s; it has %s)", acc, have)
			} else {
				need += fmt.Sprintf(" (a classic token: scope repo; it has %s)", have)
			}
		}
		if strings.Contains(strings.ToLower(msg), "login attempts") {
			// After repeated bad credentials GitHub answers 403 for a
			// while, even to valid tokens.
			return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: 403 %s: GitHub refuses credentials for a while after repeated bad ones; check the token from %s and try again later", what, msg, c.cred.describe())}
		}
		if strings.Contains(strings.ToLower(msg), "admin rights") {
			return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: 403 %s: the token's user needs the admin role on %s (and the token %s)", what, msg, ep.repo, need)}
		}
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: 403 %s: the token from %s needs %s on %s", what, msg, c.cred.describe(), need, ep.repo)}
	case status == http.StatusNotFound:
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: 404 %s: %s does not exist, or the token from %s cannot see it (GitHub answers 404, not 403, to a token without access): the token needs %s on %s%s", what, msg, ep.repo, c.cred.describe(), ep.need, ep.repo, adminRole(ep))}
	case status == http.StatusConflict:
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: 409 %s: the organization or enterprise that owns %s enforces this setting; change it there", what, msg, ep.repo)}
	case status != 0:
		return &Error{Status: status, Err: err, Msg: fmt.Sprintf("%s: GitHub answered %d %s", what, status, msg)}
	}
	return &Error{Err: err, Msg: fmt.Sprintf("%s: %v", what, err)}
}

// adminRole adds, for the endpoints that need Administration, that the
// token's user must be an admin of the repository: a classic token of a
// user without that role gets 403 "Must have admin rights to
// Repository." or a plain 404 from the runner endpoints.
func adminRole(ep endpoint) string {
	if strings.HasPrefix(ep.need, "Administration") {
		return ", and its user the admin role there"
	}
	return ""
}

// ghMessage returns GitHub's message of an error answer, with the
// validation errors it lists.
func ghMessage(err error) string {
	var er *github.ErrorResponse
	if errors.As(err, &er) {
		m := er.Message
		for _, e := range er.Errors {
			switch {
			case e.Code == "custom" && e.Message != "":
				m += "; " + e.Message
			case e.Code != "":
				m += fmt.Sprintf("; %s %s %s", e.Resource, e.Field, e.Code)
			case e.Message != "":
				// GitHub also lists errors as plain strings.
				m += "; " + e.Message
			}
		}
		return strings.TrimSpace(m)
	}
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return rl.Message
	}
	var ab *github.AbuseRateLimitError
	if errors.As(err, &ab) {
		return ab.Message
	}
	return err.Error()
}

// describePermissions renders X-Accepted-GitHub-Permissions
// ("administration=read", commas = all of, semicolons = alternatives).
func describePermissions(h string) string {
	var alts []string
	for _, alt := range strings.Split(h, ";") {
		var all []string
		for _, p := range strings.Split(alt, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
			if k == "" {
				continue
			}
			name := strings.ReplaceAll(k, "_", " ")
			name = strings.ToUpper(name[:1]) + name[1:]
			all = append(all, name+": "+v)
		}
		if len(all) > 0 {
			alts = append(alts, strings.Join(all, " and "))
		}
	}
	if len(alts) == 0 {
		return h
	}
	return strings.Join(alts, ", or ")
}
