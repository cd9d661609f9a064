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

func TestHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://shop.example", "http://shop.example"},
		{"http://u:p@shop.example/x", "http://u:REDACTED@shop.example/x"},
		{"https://shop.example/?api_key=s3cret&lang=en", "https://shop.example/?api_key=REDACTED&lang=en"},
		{"https://shop.example/?a=1&Token=x%zz&sig=q", "https://shop.example/?a=1&Token=REDACTED&sig=REDACTED"},
		{"http://u:p@[::1", "http://u:REDACTED@[::1"}, // does not parse: the password still goes
	} {
		if got := Host(tc.in); got != tc.want {
			t.Errorf("Host(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
