package results

import (
	"net/url"
	"os"
	"regexp"
	"strings"

	"github.com/stampede-load/stampede/internal/redact"
)

// RedactURL returns rawURL with its password and every query value that
// may be a secret replaced by REDACTED (redact.Host), and then any secret
// RedactText recognises, for logs and outputs.
func RedactURL(rawURL string) string {
	return RedactText(redact.Host(rawURL))
}

// URLSecrets returns the secrets rawURL carries, as they may appear in
// text: its password and the values of query parameters that may be
// secrets, raw and unescaped. Blob drivers echo the URL they were given
// in their errors; RedactSecrets scrubs these from such messages.
func URLSecrets(rawURL string) []string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil
	}
	var out []string
	add := func(v string) {
		if len(v) >= 4 { // shorter values are no secrets, and would garble every message
			out = append(out, v)
		}
	}
	if u.User != nil {
		if p, has := u.User.Password(); has {
			add(p)
			add(url.PathEscape(p))
			add(url.QueryEscape(p))
		}
	}
	for _, part := range strings.Split(u.RawQuery, "&") {
		k, v, ok := strings.Cut(part, "=")
		if ok && redact.SecretParam(redact.Unescape(k)) {
			add(v)
			add(redact.Unescape(v))
		}
	}
	return out
}

// RedactSecrets scrubs the given secret values (from URLSecrets) and what
// RedactText scrubs from a message.
func RedactSecrets(s string, secrets []string) string {
	for _, v := range secrets {
		s = strings.ReplaceAll(s, v, "REDACTED")
	}
	return RedactText(s)
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
