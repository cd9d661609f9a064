package script

import (
	"regexp"
	"testing"

	"go.starlark.net/starlark"
)

// The expected values are what CPython gives (with bytes shown as strings).
func TestBase64AndURLLib(t *testing.T) {
	runExprCases(t, []exprCase{
		{`[base64.b64encode("hi?>"), base64.b64encode(b"hi?>"), base64.urlsafe_b64encode("hi?>"), base64.b64decode("aGk/Pg=="), base64.urlsafe_b64decode("aGk_Pg")]`,
			`["aGk/Pg==", "aGk/Pg==", "aGk_Pg==", "hi?>", "hi?>"]`},
		{`json.decode(base64.urlsafe_b64decode("eyJzdWIiOiJ1MSJ9"))`, `{"sub": "u1"}`}, // a JWT payload, unpadded
		{`base64.b64decode("aGk/\nPg==")`, `"hi?>"`},
		{`base64.b64decode("a$b")`, "error: base64.b64decode: invalid base64"},
		{`base64.b64encode(1)`, "error: base64.b64encode: the argument must be a string or bytes, got int"},
		{`[urllib.quote("a b/c&d=é~"), urllib.quote_plus("a b/c&d"), urllib.quote("a/b", safe=""), urllib.parse.quote("x y")]`,
			`["a%20b/c%26d%3D%C3%A9~", "a+b%2Fc%26d", "a%2Fb", "x%20y"]`},
		{`[urllib.unquote("a%20b%2"), urllib.unquote_plus("a+b%21"), urllib.unquote("%C3%A9+")]`, `["a b%2", "a b!", "é+"]`},
		{`[urllib.urlencode({"a": "1 2", "b": ["x", "y"]}, doseq=True), urllib.urlencode([("a", 1), ("b", True)]), urllib.urlencode({"q": "é&"})]`,
			`["a=1+2&b=x&b=y", "a=1&b=True", "q=%C3%A9%26"]`},
		{`[urllib.parse_qs("a=1&a=2&b=&c=x+y%21"), urllib.parse_qs("a=1&b=", keep_blank_values=True), urllib.parse_qsl("a=1&b=&a=x%20y")]`,
			`[{"a": ["1", "2"], "c": ["x y!"]}, {"a": ["1"], "b": [""]}, [("a", "1"), ("a", "x y")]]`},
		{"p = urllib.urlparse(\"https://us:pw@Ex.com:8443/p/a;x?q=1#frag\")\nout = [p.scheme, p.netloc, p.path, p.params, p.query, p.fragment, p.hostname, p.port, p.username, p.password]",
			`["https", "us:pw@Ex.com:8443", "/p/a", "x", "q=1", "frag", "ex.com", 8443, "us", "pw"]`},
		{"p = urllib.parse.urlparse(\"/only/path\")\nout = [p.scheme, p.netloc, p.path, p.hostname, p.port]", `["", "", "/only/path", None, None]`},
		{`[urllib.urljoin("https://x.com/a/b?q", "../c"), urllib.urljoin("https://x.com/a/b", "/d?e=1")]`, `["https://x.com/c", "https://x.com/d?e=1"]`},
		{`urllib.urlencode("a=1")`, "error: urllib.urlencode: query must be a dict or a list of (name, value) pairs, got string"},
		{`urllib.urlencode([("a", 1, 2)])`, "error: urllib.urlencode: query[0] must be a (name, value) pair"},
		{`urllib.urlparse("http://[::1")`, "error: urllib.urlparse: parse"},
		{`urllib.quote(None)`, "error: urllib.quote: string must be a string or bytes, got NoneType"},
	})
}

func TestHashlibHmacUUID(t *testing.T) {
	runExprCases(t, []exprCase{
		{`[hashlib.md5("abc").hexdigest(), hashlib.sha1(b"abc").hexdigest()[:16], hashlib.sha256("abc").hexdigest()[:16], hashlib.sha512("abc").hexdigest()[:16], hashlib.new("SHA256", "abc").hexdigest()[:16]]`,
			`["900150983cd24fb0d6963f7d28e17f72", "a9993e364706816a", "ba7816bf8f01cfea", "ddaf35a193617aba", "ba7816bf8f01cfea"]`},
		{"h = hashlib.sha256()\nh.update(\"a\")\nc = h.copy()\nh.update(b\"bc\")\nout = [h.hexdigest()[:16], h.digest_size, h.name, len(h.digest()), type(h.digest()), c.hexdigest() == hashlib.sha256(\"a\").hexdigest()]",
			`["ba7816bf8f01cfea", 32, "sha256", 32, "bytes", True]`},
		{`[hmac.new("key", "msg", "sha256").hexdigest(), hmac.new(b"key", b"msg", digestmod=hashlib.sha1).hexdigest()[:16], hmac.new("key", "msg").hexdigest()[:8]]`,
			`["2d93cbc1be167bcb1637a4a23cbff01a7878f0c50ee833954ea5221bb1b8c628", "102900b72b7bf103", "2d93cbc1"]`},
		{"h = hmac.new(\"key\", digestmod=\"md5\")\nh.update(\"msg\")\nout = [h.hexdigest(), h.name, hmac.digest(\"key\", \"msg\", \"md5\") == h.digest()]", `["18e3548c59ad40dd03907b7aeee71d67", "hmac-md5", True]`},
		{`[hmac.compare_digest("abc", "abc"), hmac.compare_digest("abc", b"abd"), hmac.compare_digest("a", "ab")]`, `[True, False, False]`},
		{`hashlib.new("crc32")`, `error: hashlib.new: unknown hash "crc32" (have md5, sha1, sha224, sha256, sha384, sha512)`},
		{`hashlib.sha256(5)`, "error: hashlib.sha256: data must be a string or bytes, got int"},
		{`hmac.new("k", "m", "blake")`, `error: hmac.new: unknown digestmod "blake"`},
		{`hmac.new("k", "m", 5)`, "error: hmac.new: digestmod must be a hash name"},
		{`hmac.new(None, "m")`, "error: hmac.new: key must be a string or bytes, got NoneType"},
	})
	// a hash held in a frozen global cannot be updated from a task
	h := newHarness(t, "H = hashlib.md5()\ndef t(u):\n    H.update(\"x\")\nc = user(tasks=[t])\n", Options{})
	v := h.vu(1, "c", "http://x.test", 0)
	v.RunTask(t.Context())
	if k, _ := onlyException(t, h.flush()); !regexp.MustCompile(`cannot update a frozen md5 hash`).MatchString(k.Message) {
		t.Errorf("exception %q", k.Message)
	}
	// uuid4: the canonical form of a version-4 UUID, different every call
	out, err := evalOut(t, "[uuid.uuid4() for _ in range(50)]")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"$`)
	seen := map[string]bool{}
	for i := range 50 {
		s := out.(*starlark.List).Index(i).String()
		if !re.MatchString(s) || seen[s] {
			t.Fatalf("uuid4 %d = %s (repeated: %v)", i, s, seen[s])
		}
		seen[s] = true
	}
}
