package results

import (
	"context"
	"strings"
	"testing"
)

// TestOpenErrorsKeepSecrets: the blob drivers quote the URL they were
// given in their errors ("open bucket s3://b?...&awssecret=..."), so every
// secret the URL carries must be scrubbed from what Open returns, not just
// the parameters RedactText knows by name.
func TestOpenErrorsKeepSecrets(t *testing.T) {
	const secret = "SECRETVALUE123"
	urls := []string{
		"s3://b?region=x&awssecret=" + secret,
		"s3://b?region=x&my_token=" + secret + "%2F" + secret,
		"azblob://c?sas_token=" + secret,
		"azblob://c?sig=" + secret + "&sv=1",
		"azblob://acct:" + secret + "@c",
		"gs://b?access_id=a&private_key=" + secret,
		// An escape that does not parse: url.Query drops the pair.
		"azblob://c?sas=" + secret + "%zz",
	}
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			red := RedactURL(u)
			if strings.Contains(red, secret) {
				t.Errorf("RedactURL(%q) = %q", u, red)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*1e9)
			defer cancel()
			_, err := Open(ctx, u, "r")
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("Open error shows the secret: %v", err)
			}
		})
	}
	// Order and harmless parameters are kept.
	if got := RedactURL("s3://b?region=x&awssecret=" + secret + "&endpoint=e"); got != "s3://b?region=x&awssecret=REDACTED&endpoint=e" {
		t.Errorf("RedactURL = %q", got)
	}
	if got := RedactSecrets("a SECRETVALUE123 and abc", URLSecrets("s3://b?token=abc&key="+secret)); got != "a REDACTED and abc" {
		t.Errorf("RedactSecrets = %q (short values are left alone)", got)
	}
}
