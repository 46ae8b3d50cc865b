package ghapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// transport adds the credential and the API version to every request and
// waits out rate limits that reset soon: a 403 or 429 answer with
// x-ratelimit-remaining 0 (primary limit: wait until x-ratelimit-reset) or
// a secondary-limit answer (wait Retry-After seconds, else until the
// reset, else one minute), when the wait is at most maxWait. Longer waits
// return the answer, which the client reports with the reset time.
type transport struct {
	base http.RoundTripper
	// host is the API's host: the token goes to it only, never to a host
	// a redirect or a Link URL names.
	host    string
	token   string
	maxWait time.Duration
	sleep   func(ctx context.Context, d time.Duration) error
	now     func() time.Time
}

// maxAttempts bounds the retries of one rate-limited request.
const maxAttempts = 4

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if req.Body != nil && req.GetBody != nil && attempt > 1 {
			b, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = b
		}
		r.Header.Set("X-GitHub-Api-Version", APIVersion)
		if r.Header.Get("Accept") == "" {
			r.Header.Set("Accept", "application/vnd.github+json")
		}
		r.Header.Del("Authorization")
		if t.token != "" && strings.EqualFold(r.URL.Host, t.host) {
			r.Header.Set("Authorization", "Bearer "+t.token)
		}
		resp, err := t.base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusTooManyRequests {
			return resp, nil
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if !isRateLimited(resp.StatusCode, resp.Header, string(body)) || attempt >= maxAttempts {
			return resp, nil
		}
		wait := rateWait(resp.Header, t.now(), attempt)
		if wait > t.maxWait || (req.Body != nil && req.GetBody == nil) {
			return resp, nil
		}
		if err := t.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// isRateLimited reports whether an answer is a primary or secondary
// rate limit rather than a permission problem.
func isRateLimited(status int, h http.Header, body string) bool {
	if status != http.StatusForbidden && status != http.StatusTooManyRequests {
		return false
	}
	if status == http.StatusTooManyRequests || h.Get("X-Ratelimit-Remaining") == "0" || h.Get("Retry-After") != "" {
		return true
	}
	b := strings.ToLower(body)
	return strings.Contains(b, "rate limit") || strings.Contains(b, "secondary-rate-limits") || strings.Contains(b, "abuse-rate-limits")
}

// rateWait is how long to wait before the attempt after attempt of a
// rate-limited request, as GitHub's rate-limit page says: Retry-After
// seconds when present; else, when x-ratelimit-remaining is 0 (the
// primary limit), until x-ratelimit-reset; else (a secondary limit
// without Retry-After, whose x-ratelimit-reset is the primary limit's
// and says nothing about it) one minute, doubled on every further try.
func rateWait(h http.Header, now time.Time, attempt int) time.Duration {
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 {
			return time.Duration(n) * time.Second
		}
	}
	if strings.TrimSpace(h.Get("X-Ratelimit-Remaining")) == "0" {
		if reset, ok := resetTime(h); ok {
			d := reset.Sub(now) + time.Second
			if d < time.Second {
				d = time.Second
			}
			return d
		}
	}
	if attempt < 1 {
		attempt = 1
	}
	return time.Minute << (attempt - 1)
}

// resetTime reads x-ratelimit-reset (UTC epoch seconds).
func resetTime(h http.Header) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(h.Get("X-Ratelimit-Reset")), 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// resetText says when a rate limit resets, for error messages: the
// Retry-After time, else x-ratelimit-reset when the primary limit is
// exhausted, else a secondary limit's "a minute or more".
func resetText(h http.Header, now time.Time) string {
	if h == nil {
		return ""
	}
	if s := h.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			at := now.Add(time.Duration(n) * time.Second).UTC()
			return fmt.Sprintf(" until %s (GitHub asks to retry after %ds)", at.Format(time.RFC3339), n)
		}
	}
	if reset, ok := resetTime(h); ok && strings.TrimSpace(h.Get("X-Ratelimit-Remaining")) == "0" {
		return fmt.Sprintf(" until %s (in %s)", reset.Format(time.RFC3339), reset.Sub(now).Round(time.Second))
	}
	if h.Get("X-Ratelimit-Remaining") != "" || h.Get("X-Ratelimit-Reset") != "" {
		return fmt.Sprintf(" (a secondary rate limit: retry after %s at the earliest)", now.Add(time.Minute).UTC().Format(time.RFC3339))
	}
	return ""
}
