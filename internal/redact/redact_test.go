package redact

import "testing"

func TestURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"http://user:s3cret@example.com/a?b=c", "http://user:REDACTED@example.com/a?b=c"},
		{"https://user:p@ss:w0rd@example.com:8443", "https://user:REDACTED@example.com:8443"},
		{"http://user:pw@127.0.0.1:80/x@y", "http://user:REDACTED@127.0.0.1:80/x@y"},
		{"http://:onlypass@h/", "http://:REDACTED@h/"},
		{"http://user@example.com/", "http://user@example.com/"},
		{"http://example.com/path?email=a@b.c", "http://example.com/path?email=a@b.c"},
		{"http://example.com/a:b@c", "http://example.com/a:b@c"},
		{"/relative/path", "/relative/path"},
		{"", ""},
		{"mailto:a@b", "mailto:a@b"},
	}
	for _, tt := range tests {
		if got := URL(tt.in); got != tt.want {
			t.Errorf("URL(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// The request path calls URL for every absolute URL: nothing to hide must
// cost no allocation.
func TestURLNoPasswordDoesNotAllocate(t *testing.T) {
	s := "http://example.com/products?page=3"
	if n := testing.AllocsPerRun(100, func() { _ = URL(s) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
