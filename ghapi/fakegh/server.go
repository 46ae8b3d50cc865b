package fakegh

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request is one request the fake received.
type Request struct {
	Method string
	Path   string
	Query  string
	Body   string
	// Auth is the Authorization scheme used ("Bearer", "token" or "").
	Auth       string
	APIVersion string
}

// Server is a running fake GitHub.
type Server struct {
	*httptest.Server

	mu    sync.Mutex
	st    *State
	log   []Request
	start time.Time
	next  int64
}

// New starts a fake GitHub with st (nil: sysprog21/elfuse as
// DefaultRepo). Close it when done.
func New(st *State) *Server {
	if st == nil {
		st = &State{}
	}
	if st.Repos == nil {
		st.Repos = map[string]*Repo{"sysprog21/elfuse": DefaultRepo()}
	}
	s := &Server{st: st, start: time.Now(), next: 500000}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	s.Server.Start()
	return s
}

// API returns the API base (the server's URL with a trailing slash).
func (s *Server) API() string { return s.Server.URL + "/" }

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.log...)
}

// Repo returns a repository's live state (lock with Do to change it).
func (s *Server) Repo(full string) *Repo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.Repos[full]
}

// Do runs f on the state under the server's lock.
func (s *Server) Do(f func(st *State)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.st)
}

// State returns a deep copy of the state.
func (s *Server) State() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := json.Marshal(s.st)
	var c State
	_ = json.Unmarshal(b, &c)
	return &c
}

const docsBase = "https://docs.github.com/rest"

// apiError writes GitHub's error body (status as a string).
func apiError(w http.ResponseWriter, status int, msg, doc string, extra map[string]any) {
	body := map[string]any{"message": msg, "documentation_url": docsBase + doc, "status": strconv.Itoa(status)}
	for k, v := range extra {
		body[k] = v
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// need is the fine-grained permission of an endpoint: name and level;
// alt is an alternative permission ("pull_requests" for labels).
type need struct {
	perm, level, alt string
	// runnerAdmin: the token's user must be a repository admin.
	runnerAdmin bool
	// anonymousRead: public repositories answer without a token.
	anonymousRead bool
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	auth, token := parseAuth(r.Header.Get("Authorization"))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body), Auth: auth, APIVersion: r.Header.Get("X-GitHub-Api-Version")})

	if r.Header.Get("User-Agent") == "" {
		apiError(w, http.StatusForbidden, "Request forbidden by administrative rules. Please make sure your request has a User-Agent header.", "/using-the-rest-api/getting-started-with-the-rest-api#user-agent", nil)
		return
	}
	switch v := r.Header.Get("X-GitHub-Api-Version"); v {
	case "", "2022-11-28", "2026-03-10":
	default:
		apiError(w, http.StatusBadRequest, fmt.Sprintf("Invalid API version provided: %s.", v), "/about-the-rest-api/api-versions", nil)
		return
	}
	for i := range s.st.Faults {
		f := &s.st.Faults[i]
		pathOK := strings.HasPrefix(r.URL.Path, f.PathPrefix)
		if f.Path != "" {
			pathOK = r.URL.Path == f.Path
		}
		if (f.Method == "" || strings.EqualFold(f.Method, r.Method)) && pathOK {
			f.seen++
			if f.Nth == 0 || f.seen == f.Nth {
				for k, v := range f.Headers {
					w.Header().Set(k, v)
				}
				if len(f.Body) > 0 {
					w.Header().Set("Content-Type", "application/json; charset=utf-8")
					w.WriteHeader(f.Status)
					_, _ = w.Write(f.Body)
					return
				}
				msg := f.Message
				if msg == "" {
					msg = http.StatusText(f.Status)
				}
				apiError(w, f.Status, msg, "", nil)
				return
			}
		}
	}
	var info *TokenInfo
	if token != "" {
		if len(s.st.Tokens) == 0 {
			info = &TokenInfo{Login: "maintainer", Permissions: map[string]string{"administration": "write", "actions": "write", "issues": "write", "pull_requests": "write", "metadata": "read"}}
		} else if info = s.st.Tokens[token]; info == nil {
			apiError(w, http.StatusUnauthorized, "Bad credentials", "", nil)
			return
		}
	}
	if !s.rateLimit(w) {
		return
	}
	if strings.HasSuffix(r.URL.Path, "/") && r.URL.Path != "/" {
		apiError(w, http.StatusNotFound, "Not Found", "", nil)
		return
	}
	if r.URL.Path == "/user" && r.Method == http.MethodGet {
		if info == nil {
			apiError(w, http.StatusUnauthorized, "Requires authentication", "/users/users#get-the-authenticated-user", nil)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"login": info.Login, "id": 1002, "type": "User"})
		return
	}
	// Split the escaped path: a label name may hold an escaped "/"
	// (%2F), which stays inside its segment.
	parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	if len(parts) >= 2 && parts[0] == "repositories" {
		// GitHub's Link URLs name a repository by id:
		// /repositories/ID/... is /repos/OWNER/NAME/...
		for full, rp := range s.st.Repos {
			if strconv.FormatInt(rp.ID, 10) == parts[1] {
				owner, name, _ := strings.Cut(full, "/")
				parts = append([]string{"repos", owner, name}, parts[2:]...)
				break
			}
		}
	}
	if len(parts) < 4 || parts[0] != "repos" {
		apiError(w, http.StatusNotFound, "Not Found", "", nil)
		return
	}
	full := parts[1] + "/" + parts[2]
	repo := s.st.Repos[full]
	h, nd, ok := s.route(r.Method, parts[3:])
	if !ok || repo == nil {
		apiError(w, http.StatusNotFound, "Not Found", "", nil)
		return
	}
	if !s.authorize(w, info, repo, nd) {
		return
	}
	h(&ctx{s: s, w: w, r: r, body: body, repo: repo, full: full, owner: parts[1], name: parts[2], rest: strings.Join(parts[3:], "/"), info: info})
}

func parseAuth(h string) (scheme, token string) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", ""
	}
	return scheme, strings.TrimSpace(token)
}

// rateLimit sets the rate-limit headers and answers 403 (or
// State.RateLimitStatus, 429) when the primary limit is used up.
func (s *Server) rateLimit(w http.ResponseWriter) bool {
	limit := s.st.RateLimit
	if limit == 0 {
		limit = 5000
	}
	if s.st.RateRemaining == nil {
		n := limit
		s.st.RateRemaining = &n
	}
	if s.st.RateReset.IsZero() {
		s.st.RateReset = s.start.Add(time.Hour)
	}
	if !time.Now().Before(s.st.RateReset) {
		n := limit
		s.st.RateRemaining = &n
		s.st.RateReset = time.Now().Add(time.Hour)
	}
	rem := *s.st.RateRemaining
	h := w.Header()
	h.Set("X-Ratelimit-Limit", strconv.Itoa(limit))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(s.st.RateReset.Unix(), 10))
	h.Set("X-Ratelimit-Resource", "core")
	if rem <= 0 {
		h.Set("X-Ratelimit-Remaining", "0")
		h.Set("X-Ratelimit-Used", strconv.Itoa(limit))
		status := s.st.RateLimitStatus
		if status == 0 {
			status = http.StatusForbidden
		}
		apiError(w, status, "API rate limit exceeded for user ID 1002. If you reach out to GitHub Support for help, please include the request ID.", "/overview/rate-limits-for-the-rest-api", nil)
		return false
	}
	rem--
	*s.st.RateRemaining = rem
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(rem))
	h.Set("X-Ratelimit-Used", strconv.Itoa(limit-rem))
	return true
}

// authorize applies the endpoint's permission to the token.
func (s *Server) authorize(w http.ResponseWriter, info *TokenInfo, repo *Repo, nd need) bool {
	if info == nil {
		if nd.anonymousRead && !repo.Private {
			return true
		}
		if repo.Private {
			apiError(w, http.StatusNotFound, "Not Found", "", nil)
			return false
		}
		apiError(w, http.StatusUnauthorized, "Requires authentication", "", nil)
		return false
	}
	if nd.perm == "" {
		return true
	}
	has := func(p string) bool {
		lv := info.Permissions[p]
		return lv == "write" || (lv == "read" && nd.level == "read")
	}
	if !has(nd.perm) && (nd.alt == "" || !has(nd.alt)) {
		if repo.Private && !has("metadata") && info.Permissions["metadata"] == "" {
			apiError(w, http.StatusNotFound, "Not Found", "", nil)
			return false
		}
		acc := nd.perm + "=" + nd.level
		if nd.alt != "" {
			acc += "; " + nd.alt + "=" + nd.level
		}
		w.Header().Set("X-Accepted-GitHub-Permissions", acc)
		apiError(w, http.StatusForbidden, "Resource not accessible by personal access token", "", nil)
		return false
	}
	if nd.runnerAdmin && info.NotAdmin {
		apiError(w, http.StatusForbidden, "Must have admin rights to Repository.", "", nil)
		return false
	}
	return true
}

// ctx is one request being answered.
type ctx struct {
	s                 *Server
	w                 http.ResponseWriter
	r                 *http.Request
	body              []byte
	repo              *Repo
	full, owner, name string
	// rest is the escaped path below /repos/OWNER/NAME/.
	rest string
	info *TokenInfo
}

type handler func(c *ctx)

var (
	adminRead  = need{perm: "administration", level: "read"}
	adminWrite = need{perm: "administration", level: "write"}
	runnerRead = need{perm: "administration", level: "read", runnerAdmin: true}
	runnerWrt  = need{perm: "administration", level: "write", runnerAdmin: true}
	issuesRead = need{perm: "issues", level: "read", alt: "pull_requests", anonymousRead: true}
	issuesWrt  = need{perm: "issues", level: "write", alt: "pull_requests"}
	actions    = need{perm: "actions", level: "read", anonymousRead: true}
	metadata   = need{perm: "metadata", level: "read", anonymousRead: true}
)

// route maps the path below /repos/{o}/{r}/ to a handler.
func (s *Server) route(method string, p []string) (handler, need, bool) {
	path := strings.Join(p, "/")
	switch {
	case path == "actions/permissions/fork-pr-contributor-approval":
		switch method {
		case "GET":
			return getApproval, adminRead, true
		case "PUT":
			return putApproval, adminWrite, true
		}
	case path == "actions/permissions":
		if method == "GET" {
			return getActionsPermissions, adminRead, true
		}
	case path == "actions/permissions/workflow":
		switch method {
		case "GET":
			return getWorkflowPermissions, adminRead, true
		case "PUT":
			return putWorkflowPermissions, adminWrite, true
		}
	case path == "actions/runners":
		if method == "GET" {
			return listRunners, runnerRead, true
		}
	case path == "actions/runners/registration-token" || path == "actions/runners/remove-token":
		if method == "POST" {
			return createToken(strings.TrimSuffix(p[2], "-token")), runnerWrt, true
		}
	case len(p) == 3 && p[0] == "actions" && p[1] == "runners":
		switch method {
		case "GET":
			return runnerHandler(p[2], getRunner), runnerRead, true
		case "DELETE":
			return runnerHandler(p[2], deleteRunner), runnerWrt, true
		}
	case len(p) == 4 && p[0] == "actions" && p[1] == "runners" && p[3] == "labels":
		switch method {
		case "GET":
			return runnerHandler(p[2], getRunnerLabels), runnerRead, true
		case "POST", "PUT":
			return runnerHandler(p[2], setRunnerLabels(method == "PUT")), runnerWrt, true
		case "DELETE":
			return runnerHandler(p[2], setRunnerLabelsEmpty), runnerWrt, true
		}
	case len(p) == 5 && p[0] == "actions" && p[1] == "runners" && p[3] == "labels":
		if method == "DELETE" {
			name, _ := url.PathUnescape(p[4])
			return runnerHandler(p[2], deleteRunnerLabel(name)), runnerWrt, true
		}
	case path == "labels":
		if method == "POST" {
			return createLabel, issuesWrt, true
		}
	case len(p) == 2 && p[0] == "labels":
		if method == "GET" {
			name, _ := url.PathUnescape(p[1])
			return getLabel(name), issuesRead, true
		}
	case len(p) == 3 && p[0] == "issues" && p[2] == "labels":
		if method == "GET" {
			return issueLabels(p[1]), issuesRead, true
		}
	case path == "actions/runs":
		if method == "GET" {
			return listRuns, actions, true
		}
	case len(p) == 4 && p[0] == "actions" && p[1] == "runs" && p[3] == "jobs":
		if method == "GET" {
			return listJobs(p[2]), actions, true
		}
	case len(p) == 3 && p[0] == "branches" && p[2] == "protection":
		if method == "GET" {
			branch, _ := url.PathUnescape(p[1])
			return getProtection(branch), adminRead, true
		}
	case len(p) == 3 && p[0] == "rules" && p[1] == "branches":
		if method == "GET" {
			branch, _ := url.PathUnescape(p[2])
			return getRules(branch), metadata, true
		}
	}
	return nil, need{}, false
}

func (c *ctx) decode(v any) bool {
	if err := json.Unmarshal(c.body, v); err != nil {
		apiError(c.w, http.StatusBadRequest, "Problems parsing JSON", "", nil)
		return false
	}
	return true
}

func validationFailed(w http.ResponseWriter, resource, field, code string) {
	apiError(w, http.StatusUnprocessableEntity, "Validation Failed", "", map[string]any{
		"errors": []map[string]string{{"resource": resource, "field": field, "code": code}},
	})
}

func getApproval(c *ctx) {
	writeJSON(c.w, http.StatusOK, map[string]string{"approval_policy": c.repo.ApprovalPolicy})
}

func putApproval(c *ctx) {
	var b struct {
		Policy *string `json:"approval_policy"`
	}
	if !c.decode(&b) {
		return
	}
	switch {
	case b.Policy == nil:
		validationFailed(c.w, "ForkPrContributorApproval", "approval_policy", "missing_field")
	case *b.Policy != "first_time_contributors_new_to_github" && *b.Policy != "first_time_contributors" && *b.Policy != "all_external_contributors":
		validationFailed(c.w, "ForkPrContributorApproval", "approval_policy", "invalid")
	default:
		c.repo.ApprovalPolicy = *b.Policy
		c.w.WriteHeader(http.StatusNoContent)
	}
}

func getActionsPermissions(c *ctx) {
	out := map[string]any{"enabled": c.repo.ActionsEnabled, "sha_pinning_required": c.repo.SHAPinningRequired}
	if c.repo.ActionsEnabled {
		out["allowed_actions"] = c.repo.AllowedActions
		if c.repo.AllowedActions == "selected" {
			out["selected_actions_url"] = fmt.Sprintf("%srepositories/%d/actions/permissions/selected-actions", c.s.API(), c.repo.ID)
		}
	}
	writeJSON(c.w, http.StatusOK, out)
}

func getWorkflowPermissions(c *ctx) {
	writeJSON(c.w, http.StatusOK, map[string]any{"default_workflow_permissions": c.repo.WorkflowPermissions, "can_approve_pull_request_reviews": c.repo.CanApprovePRReviews})
}

func putWorkflowPermissions(c *ctx) {
	var b struct {
		Default    *string `json:"default_workflow_permissions"`
		CanApprove *bool   `json:"can_approve_pull_request_reviews"`
	}
	if !c.decode(&b) {
		return
	}
	if c.repo.OrgLocksWorkflowPermissions {
		apiError(c.w, http.StatusConflict, "Conflict: the organization does not allow this change", "", nil)
		return
	}
	if b.Default != nil && *b.Default != "read" && *b.Default != "write" {
		validationFailed(c.w, "WorkflowPermissions", "default_workflow_permissions", "invalid")
		return
	}
	if b.Default != nil {
		c.repo.WorkflowPermissions = *b.Default
	}
	if b.CanApprove != nil {
		c.repo.CanApprovePRReviews = *b.CanApprove
	}
	c.w.WriteHeader(http.StatusNoContent)
}

// paginate writes the items of one page with a Link header.
func (c *ctx) paginate(key string, items []any, total int) {
	q := c.r.URL.Query()
	per, _ := strconv.Atoi(q.Get("per_page"))
	if per <= 0 {
		per = 30
	}
	if per > 100 {
		per = 100
	}
	page, _ := strconv.Atoi(q.Get("page"))
	if page <= 0 {
		page = 1
	}
	last := (len(items) + per - 1) / per
	from := min((page-1)*per, len(items))
	to := min(from+per, len(items))
	if last > 1 {
		link := func(n int, rel string) string {
			u := *c.r.URL
			u.Scheme, u.Host = "http", c.r.Host
			// GitHub's Link URLs use the /repositories/ID/ form.
			u.Path, u.RawPath = "", ""
			u.Opaque = fmt.Sprintf("//%s/repositories/%d/%s", c.r.Host, c.repo.ID, c.rest)
			qq := u.Query()
			qq.Set("page", strconv.Itoa(n))
			qq.Set("per_page", strconv.Itoa(per))
			u.RawQuery = qq.Encode()
			return fmt.Sprintf("<%s>; rel=%q", u.String(), rel)
		}
		var ls []string
		if page < last {
			ls = append(ls, link(page+1, "next"), link(last, "last"))
		}
		if page > 1 {
			ls = append(ls, link(1, "first"), link(page-1, "prev"))
		}
		if len(ls) > 0 {
			c.w.Header().Set("Link", strings.Join(ls, ", "))
		}
	}
	writeJSON(c.w, http.StatusOK, map[string]any{"total_count": total, key: items[from:to]})
}

func listRunners(c *ctx) {
	name := c.r.URL.Query().Get("name")
	var items []any
	for _, r := range c.repo.Runners {
		if name == "" || r.Name == name {
			items = append(items, r)
		}
	}
	c.paginate("runners", items, len(items))
}

func runnerHandler(idText string, h func(c *ctx, r *Runner, i int)) handler {
	return func(c *ctx) {
		id, err := strconv.ParseInt(idText, 10, 64)
		for i, r := range c.repo.Runners {
			if err == nil && r.ID == id {
				h(c, r, i)
				return
			}
		}
		apiError(c.w, http.StatusNotFound, "Not Found", "/actions/self-hosted-runners#get-a-self-hosted-runner-for-a-repository", nil)
	}
}

func getRunner(c *ctx, r *Runner, _ int) { writeJSON(c.w, http.StatusOK, r) }

func deleteRunner(c *ctx, r *Runner, i int) {
	if r.Busy {
		apiError(c.w, http.StatusUnprocessableEntity, "Bad request - Runner \""+r.Name+"\" is still running a job", "", nil)
		return
	}
	c.repo.Runners = append(c.repo.Runners[:i], c.repo.Runners[i+1:]...)
	c.w.WriteHeader(http.StatusNoContent)
}

func labelsAnswer(c *ctx, r *Runner) {
	writeJSON(c.w, http.StatusOK, map[string]any{"total_count": len(r.Labels), "labels": r.Labels})
}

func getRunnerLabels(c *ctx, r *Runner, _ int) { labelsAnswer(c, r) }

func setRunnerLabels(replace bool) func(c *ctx, r *Runner, i int) {
	return func(c *ctx, r *Runner, _ int) {
		var b struct {
			Labels *[]string `json:"labels"`
		}
		if !c.decode(&b) {
			return
		}
		if b.Labels == nil || (!replace && len(*b.Labels) == 0) || len(*b.Labels) > 100 {
			validationFailed(c.w, "Runner", "labels", "invalid")
			return
		}
		var kept []*RunnerLabel
		for _, l := range r.Labels {
			if l.Type == "read-only" || !replace {
				kept = append(kept, l)
			}
		}
		for _, n := range *b.Labels {
			if strings.TrimSpace(n) == "" {
				validationFailed(c.w, "Runner", "labels", "invalid")
				return
			}
			dup := false
			for _, l := range kept {
				dup = dup || strings.EqualFold(l.Name, n)
			}
			if !dup {
				c.s.next++
				kept = append(kept, &RunnerLabel{ID: c.s.next, Name: n, Type: "custom"})
			}
		}
		r.Labels = kept
		labelsAnswer(c, r)
	}
}

func setRunnerLabelsEmpty(c *ctx, r *Runner, _ int) {
	var kept []*RunnerLabel
	for _, l := range r.Labels {
		if l.Type == "read-only" {
			kept = append(kept, l)
		}
	}
	r.Labels = kept
	labelsAnswer(c, r)
}

func deleteRunnerLabel(name string) func(c *ctx, r *Runner, i int) {
	return func(c *ctx, r *Runner, _ int) {
		for i, l := range r.Labels {
			if l.Type == "custom" && strings.EqualFold(l.Name, name) {
				r.Labels = append(r.Labels[:i], r.Labels[i+1:]...)
				labelsAnswer(c, r)
				return
			}
		}
		apiError(c.w, http.StatusNotFound, "Not Found", "", nil)
	}
}

// createToken answers POST registration-token / remove-token with a
// 29-character token valid one hour.
func createToken(kind string) handler {
	return func(c *ctx) {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
		b := make([]byte, 29)
		_, _ = rand.Read(b)
		for i := range b {
			b[i] = alphabet[int(b[i])%len(alphabet)]
		}
		tok := string(b)
		c.repo.IssuedTokens = append(c.repo.IssuedTokens, IssuedToken{Kind: kind, Token: tok})
		exp := time.Now().Add(time.Hour).In(time.FixedZone("", -8*3600)).Format("2006-01-02T15:04:05.000-07:00")
		writeJSON(c.w, http.StatusCreated, map[string]string{"token": tok, "expires_at": exp})
	}
}

func (c *ctx) labelJSON(l *Label) map[string]any {
	return map[string]any{
		"id": l.ID, "node_id": fmt.Sprintf("LA_%d", l.ID),
		"url":  fmt.Sprintf("%srepos/%s/labels/%s", c.s.API(), c.full, url.PathEscape(l.Name)),
		"name": l.Name, "color": l.Color, "description": l.Description, "default": l.Default,
	}
}

func getLabel(name string) handler {
	return func(c *ctx) {
		for _, l := range c.repo.Labels {
			if strings.EqualFold(l.Name, name) {
				writeJSON(c.w, http.StatusOK, c.labelJSON(l))
				return
			}
		}
		apiError(c.w, http.StatusNotFound, "Not Found", "/issues/labels#get-a-label", nil)
	}
}

func createLabel(c *ctx) {
	var b struct {
		Name        *string `json:"name"`
		Color       string  `json:"color"`
		Description string  `json:"description"`
	}
	if !c.decode(&b) {
		return
	}
	if b.Name == nil || *b.Name == "" {
		validationFailed(c.w, "Label", "name", "missing_field")
		return
	}
	if len(b.Description) > 100 {
		validationFailed(c.w, "Label", "description", "invalid")
		return
	}
	if b.Color != "" {
		if _, err := strconv.ParseUint(b.Color, 16, 32); err != nil || len(b.Color) != 6 {
			validationFailed(c.w, "Label", "color", "invalid")
			return
		}
	} else {
		b.Color = "ededed"
	}
	for _, l := range c.repo.Labels {
		if strings.EqualFold(l.Name, *b.Name) {
			validationFailed(c.w, "Label", "name", "already_exists")
			return
		}
	}
	c.s.next++
	l := &Label{ID: c.s.next, Name: *b.Name, Color: strings.ToLower(b.Color), Description: b.Description}
	c.repo.Labels = append(c.repo.Labels, l)
	writeJSON(c.w, http.StatusCreated, c.labelJSON(l))
}

func (c *ctx) runJSON(r *Run) map[string]any {
	user := func(login string, id int) map[string]any {
		if login == "" {
			return nil
		}
		return map[string]any{"login": login, "id": id, "type": "User"}
	}
	repoObj := map[string]any{"id": c.repo.ID, "full_name": c.full, "fork": false, "owner": map[string]any{"login": c.owner}}
	var head any = repoObj
	switch r.HeadRepo {
	case "", c.full:
	case "-":
		head = nil
	default:
		owner, _, _ := strings.Cut(r.HeadRepo, "/")
		head = map[string]any{"id": 217723378, "full_name": r.HeadRepo, "fork": true, "owner": map[string]any{"login": owner}}
	}
	prs := []any{}
	numbers := r.PullRequests
	if r.HeadRepo != "" && r.HeadRepo != c.full {
		// GitHub lists no pull request for a run from a fork (github/docs
		// issue #22501), whatever the state says.
		numbers = nil
	}
	for _, n := range numbers {
		prs = append(prs, map[string]any{"number": n, "url": fmt.Sprintf("%srepos/%s/pulls/%d", c.s.API(), c.full, n)})
	}
	nullable := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	trig := r.TriggeringActor
	if trig == "" {
		trig = r.Actor
	}
	attempt := r.RunAttempt
	if attempt == 0 {
		attempt = 1
	}
	return map[string]any{
		"id": r.ID, "name": nullable(r.Name), "display_title": r.Name, "event": r.Event,
		"status": nullable(r.Status), "conclusion": nullable(r.Conclusion),
		"head_branch": nullable(r.HeadBranch), "head_sha": r.HeadSHA, "path": r.Path,
		"run_number": r.RunNumber, "run_attempt": attempt, "workflow_id": 159038, "check_suite_id": r.ID + 7,
		"created_at": r.CreatedAt.UTC().Format(time.RFC3339), "updated_at": r.CreatedAt.UTC().Add(7 * time.Minute).Format(time.RFC3339),
		"run_started_at": r.CreatedAt.UTC().Format(time.RFC3339),
		"html_url":       fmt.Sprintf("https://github.com/%s/actions/runs/%d", c.full, r.ID),
		"jobs_url":       fmt.Sprintf("%srepos/%s/actions/runs/%d/jobs", c.s.API(), c.full, r.ID),
		"pull_requests":  prs, "actor": user(r.Actor, 1001), "triggering_actor": user(trig, 1002),
		"head_repository": head, "repository": repoObj,
	}
}

// listRuns filters by event, branch, actor, status and created (search
// date syntax) and caps a filtered search at 1,000 results.
func listRuns(c *ctx) {
	q := c.r.URL.Query()
	match, err := createdFilter(q.Get("created"))
	if err != nil {
		validationFailed(c.w, "WorkflowRun", "created", "invalid")
		return
	}
	filtered := false
	for _, k := range []string{"actor", "branch", "check_suite_id", "created", "event", "head_sha", "status"} {
		filtered = filtered || q.Get(k) != ""
	}
	runs := append([]*Run(nil), c.repo.Runs...)
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].CreatedAt.After(runs[j].CreatedAt) })
	var items []any
	for _, r := range runs {
		if (q.Get("event") != "" && r.Event != q.Get("event")) || (q.Get("branch") != "" && r.HeadBranch != q.Get("branch")) ||
			(q.Get("actor") != "" && r.Actor != q.Get("actor")) || (q.Get("status") != "" && r.Status != q.Get("status") && r.Conclusion != q.Get("status")) ||
			!match(r.CreatedAt) {
			continue
		}
		items = append(items, c.runJSON(r))
	}
	total := len(items)
	if filtered && len(items) > 1000 {
		items = items[:1000]
	}
	c.paginate("workflow_runs", items, total)
}

// createdFilter parses GitHub's search date syntax for created: DATE,
// >=DATE, >DATE, <=DATE, <DATE, A..B, with dates or RFC 3339 times.
func createdFilter(s string) (func(time.Time) bool, error) {
	if s == "" {
		return func(time.Time) bool { return true }, nil
	}
	parse := func(v string, end bool) (time.Time, error) {
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, nil
		}
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return t, err
		}
		if end {
			t = t.Add(24*time.Hour - time.Nanosecond)
		}
		return t, nil
	}
	if a, b, ok := strings.Cut(s, ".."); ok {
		lo, err1 := parse(a, false)
		hi, err2 := parse(b, true)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("bad range %q", s)
		}
		return func(t time.Time) bool { return !t.Before(lo) && !t.After(hi) }, nil
	}
	for _, op := range []string{">=", "<=", ">", "<"} {
		if rest, ok := strings.CutPrefix(s, op); ok {
			t, err := parse(rest, op == "<=" || op == ">")
			if err != nil {
				return nil, err
			}
			switch op {
			case ">=":
				return func(x time.Time) bool { return !x.Before(t) }, nil
			case "<=":
				return func(x time.Time) bool { return !x.After(t) }, nil
			case ">":
				return func(x time.Time) bool { return x.After(t) }, nil
			default:
				return func(x time.Time) bool { return x.Before(t) }, nil
			}
		}
	}
	lo, err := parse(s, false)
	if err != nil {
		return nil, err
	}
	hi, _ := parse(s, true)
	return func(t time.Time) bool { return !t.Before(lo) && !t.After(hi) }, nil
}

func listJobs(idText string) handler {
	return func(c *ctx) {
		id, _ := strconv.ParseInt(idText, 10, 64)
		var run *Run
		for _, r := range c.repo.Runs {
			if r.ID == id {
				run = r
			}
		}
		if run == nil {
			apiError(c.w, http.StatusNotFound, "Not Found", "", nil)
			return
		}
		attempt := run.RunAttempt
		if attempt == 0 {
			attempt = 1
		}
		all := c.r.URL.Query().Get("filter") == "all"
		var items []any
		for _, j := range run.Jobs {
			ja := j.RunAttempt
			if ja == 0 {
				ja = attempt
			}
			if !all && ja != attempt {
				continue
			}
			var rid, rname any
			if j.RunnerID != 0 {
				rid, rname = j.RunnerID, j.RunnerName
			}
			items = append(items, map[string]any{
				"id": j.ID, "run_id": run.ID, "run_attempt": ja, "workflow_name": run.Name, "name": j.Name,
				"head_branch": run.HeadBranch, "head_sha": run.HeadSHA, "status": j.Status, "conclusion": nilIfEmpty(j.Conclusion),
				"created_at": run.CreatedAt.UTC().Format(time.RFC3339), "started_at": j.StartedAt.UTC().Format(time.RFC3339),
				"completed_at": nilIf(j.Status != "completed", j.StartedAt.UTC().Add(5*time.Minute).Format(time.RFC3339)),
				"labels":       j.Labels, "runner_id": rid, "runner_name": rname, "runner_group_id": nilIf(rid == nil, 1), "runner_group_name": nilIf(rid == nil, "Default"),
				"html_url": fmt.Sprintf("https://github.com/%s/actions/runs/%d/job/%d", c.full, run.ID, j.ID),
				"steps":    []any{},
			})
		}
		c.paginate("jobs", items, len(items))
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nilIf(cond bool, v any) any {
	if cond {
		return nil
	}
	return v
}

func getProtection(branch string) handler {
	return func(c *ctx) {
		cor, ok := c.repo.Protection[branch]
		if !ok {
			apiError(c.w, http.StatusNotFound, "Branch not protected", "/branches/branch-protection#get-branch-protection", nil)
			return
		}
		writeJSON(c.w, http.StatusOK, map[string]any{
			"url": fmt.Sprintf("%srepos/%s/branches/%s/protection", c.s.API(), c.full, branch),
			"required_pull_request_reviews": map[string]any{
				"require_code_owner_reviews": cor, "required_approving_review_count": 1,
				"dismiss_stale_reviews": false, "require_last_push_approval": false,
			},
			"enforce_admins": map[string]any{"enabled": false},
		})
	}
}

func getRules(branch string) handler {
	return func(c *ctx) {
		out := []any{}
		for _, r := range c.repo.Rules[branch] {
			out = append(out, map[string]any{"type": r.Type, "parameters": r.Parameters, "ruleset_source_type": "Repository", "ruleset_source": c.full, "ruleset_id": r.RulesetID})
		}
		writeJSON(c.w, http.StatusOK, out)
	}
}

func issueLabels(numText string) handler {
	return func(c *ctx) {
		n, err := strconv.Atoi(numText)
		names, ok := c.repo.PullLabels[n]
		if err != nil || !ok {
			apiError(c.w, http.StatusNotFound, "Not Found", "/issues/labels#list-labels-for-an-issue", nil)
			return
		}
		var items []any
		for _, name := range names {
			l := &Label{Name: name, Color: "ededed"}
			for _, known := range c.repo.Labels {
				if strings.EqualFold(known.Name, name) {
					l = known
				}
			}
			items = append(items, c.labelJSON(l))
		}
		if items == nil {
			items = []any{}
		}
		writeJSON(c.w, http.StatusOK, items)
	}
}
