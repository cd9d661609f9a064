package results

import (
	"net/url"
	"os"
	"regexp"
	"strings"
)

// secretParam reports whether a URL query parameter may carry a secret.
func secretParam(name string) bool {
	n := strings.ToLower(name)
	for _, w := range []string{"sig", "key", "secret", "token", "password", "passwd", "credential", "auth", "sas"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// RedactURL returns rawURL with its password and every query value that
// may be a secret replaced by REDACTED, for logs and outputs.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return RedactText(rawURL)
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		}
	}
	q := u.Query()
	changed := false
	for k := range q {
		if secretParam(k) {
			q[k] = []string{"REDACTED"}
			changed = true
		}
	}
	if changed {
		u.RawQuery = q.Encode()
	}
	return RedactText(u.String())
}

// secretPatterns match secrets as they appear inside error messages:
// SAS signatures in URLs, account keys in connection strings.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential)=)[^&;\s"']+`),
	regexp.MustCompile(`(?i)((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;\s"']+`),
}

// secretEnv are the environment variables whose values are secrets for
// the blob drivers; their values are scrubbed from any text we print.
var secretEnv = []string{
	"AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGEBLOB_CONNECTIONSTRING",
	"AZURE_CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
}

// RedactText scrubs secrets from a message: signature and key parameters,
// and the values of the storage credentials' environment variables.
func RedactText(s string) string {
	for _, name := range secretEnv {
		if v := os.Getenv(name); len(v) >= 8 {
			s = strings.ReplaceAll(s, v, "REDACTED")
			s = strings.ReplaceAll(s, url.QueryEscape(v), "REDACTED")
		}
	}
	for _, re := range secretPatterns {
		s = re.ReplaceAllString(s, "${1}REDACTED")
	}
	return s
}
