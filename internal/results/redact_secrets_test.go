package results

import (
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
			// The drivers quote the URL in their errors. Open is not called
			// here: opening a cloud URL would look up credentials and reach
			// for the cloud (metadata servers, public endpoints), and tests
			// send nothing beyond loopback. Open scrubs its driver errors
			// exactly this way.
			driverErr := "open bucket " + u + ": blob (code=Unknown): " + u
			if got := RedactSecrets(driverErr, URLSecrets(u)); strings.Contains(got, secret) {
				t.Errorf("scrubbed driver error shows the secret: %s", got)
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
