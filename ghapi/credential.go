package ghapi

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/cli/go-gh/v2/pkg/auth"
)

// Credential is a GitHub token and where it came from. Its String never
// shows the token.
type Credential struct {
	// Token is the secret value; never print it.
	Token string
	// Source names where it came from: "GH_TOKEN", "GITHUB_TOKEN", or
	// "gh" (the gh CLI's stored login).
	Source string
}

// String names the source only.
func (c Credential) String() string { return c.describe() }

// GoString keeps %#v from printing the token.
func (c Credential) GoString() string {
	return "ghapi.Credential{Source:" + fmt.Sprintf("%q", c.Source) + "}"
}

// OK reports whether there is a token.
func (c Credential) OK() bool { return c.Token != "" }

func (c Credential) describe() string {
	switch c.Source {
	case "":
		return "no credential"
	case "gh", "oauth_token":
		return "the gh CLI's stored login"
	}
	return c.Source
}

// GhLookup returns a token of the gh CLI's stored login for a web host
// and its source, or "" when there is none.
type GhLookup func(host string) (token, source string)

// StoredLogin is the GhLookup of the real gh CLI (cli/go-gh's auth
// package): the token in gh's hosts.yml, else `gh auth token
// --secure-storage` (the keyring). As root (under sudo) it never runs
// gh, a program a less privileged account may have installed; it then
// reads only root's own hosts.yml.
func StoredLogin(host string) (string, string) {
	if os.Geteuid() == 0 {
		return auth.TokenFromEnvOrConfig(host)
	}
	return auth.TokenForHost(host)
}

// FindCredential looks for a token: GH_TOKEN, then GITHUB_TOKEN, then the
// gh CLI's stored login for the API's web host (when gh is not nil).
// Tokens are never taken from the command line.
func FindCredential(getenv func(string) string, api *url.URL, gh GhLookup) Credential {
	for _, name := range []string{"GH_TOKEN", "GITHUB_TOKEN"} {
		if v := strings.TrimSpace(getenv(name)); v != "" {
			return Credential{Token: v, Source: name}
		}
	}
	if gh != nil {
		if tok, src := gh(WebHost(api)); strings.TrimSpace(tok) != "" {
			if src != "oauth_token" {
				src = "gh"
			}
			return Credential{Token: strings.TrimSpace(tok), Source: src}
		}
	}
	return Credential{}
}

// NoCredentialHelp tells a maintainer how to give hvfctl a credential.
const NoCredentialHelp = "no GitHub credential: set GH_TOKEN (a fine-grained token with Administration read/write, Actions read and Issues read/write on the repository), or GITHUB_TOKEN, or log in with `gh auth login`"
