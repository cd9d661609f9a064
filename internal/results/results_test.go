package results

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"gocloud.dev/blob"

	"github.com/stampede-load/stampede/internal/results/azuritetest"
)

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 15, 0, 0, time.FixedZone("CET", 3600))
	re := regexp.MustCompile(`^20261127-091500-[a-z]+-[a-z]+$`)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		id := NewRunID(now)
		if !re.MatchString(id) {
			t.Fatalf("run id %q does not match %s", id, re)
		}
		if err := CheckRunID(id); err != nil {
			t.Fatal(err)
		}
		seen[id] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct ids in 50", len(seen))
	}
}

func TestCheckRunID(t *testing.T) {
	for id, ok := range map[string]bool{
		"nightly-42": true, "v1.2_rc": true, "": false, "../up": false, "a/b": false, ".hidden": false,
		"with space": false, strings.Repeat("x", 129): false,
	} {
		if err := CheckRunID(id); (err == nil) != ok {
			t.Errorf("CheckRunID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}

func TestRedact(t *testing.T) {
	t.Setenv("AZURE_STORAGE_KEY", "c2VjcmV0LWtleS12YWx1ZQ==")
	tests := []struct{ in, want string }{
		{"azblob://c?prefix=x/&protocol=http", "azblob://c?prefix=x/&protocol=http"},
		{"azblob://c?sig=abc123&sp=rw", "azblob://c?sig=REDACTED&sp=rw"},
		{"s3://b?region=eu-west-1&secret_access_key=AKIA", "s3://b?region=eu-west-1&secret_access_key=REDACTED"},
		{"https://user:hunter2@host/x", "https://user:REDACTED@host/x"},
	}
	for _, tc := range tests {
		got := RedactURL(tc.in)
		// Query order is not kept: compare parsed forms.
		g, _ := url.Parse(got)
		w, _ := url.Parse(tc.want)
		if g.Scheme != w.Scheme || g.Host != w.Host || g.Query().Encode() != w.Query().Encode() || g.User.String() != w.User.String() {
			t.Errorf("RedactURL(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	msg := "PUT https://a.blob.core.windows.net/c/k?se=2026&sig=Zm9vYmFy%3D&sp=w: 403; DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9vYmFyYmF6;EndpointSuffix=x key c2VjcmV0LWtleS12YWx1ZQ=="
	got := RedactText(msg)
	for _, secret := range []string{"Zm9vYmFy%3D", "Zm9vYmFyYmF6", "c2VjcmV0LWtleS12YWx1ZQ=="} {
		if strings.Contains(got, secret) {
			t.Errorf("RedactText left %q in %q", secret, got)
		}
	}
	if !strings.Contains(got, "AccountName=a") || !strings.Contains(got, "sig=REDACTED") {
		t.Errorf("RedactText removed too much: %q", got)
	}
}

func writeFiles(t *testing.T, names ...string) []string {
	t.Helper()
	dir := t.TempDir()
	var out []string
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.WriteFile(p, []byte("content of "+n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func TestFileUpload(t *testing.T) {
	dest := t.TempDir()
	ctx := context.Background()
	bk, err := Open(ctx, "file://"+dest+"?prefix=results/", "run-1")
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	files := writeFiles(t, "run_stats.csv", "run.json", "run.html", "run-1.log")
	files = append(files, filepath.Join(t.TempDir(), "missing.csv"))
	keys, err := bk.Upload(ctx, files)
	if err == nil || !strings.Contains(err.Error(), "missing.csv") {
		t.Errorf("missing file: err = %v", err)
	}
	if len(keys) != 4 {
		t.Errorf("keys = %v", keys)
	}
	var got []string
	filepath.Walk(dest, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			rel, _ := filepath.Rel(dest, p)
			got = append(got, rel)
		}
		return nil
	})
	sort.Strings(got)
	want := []string{"results/run-1/run-1.log", "results/run-1/run.html", "results/run-1/run.json", "results/run-1/run_stats.csv"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("bucket holds %v, want %v (no probe, no .attrs)", got, want)
	}
	b, _ := os.ReadFile(filepath.Join(dest, "results/run-1/run.json"))
	if string(b) != "content of run.json\n" {
		t.Errorf("content = %q", b)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct{ url, id, want string }{
		{"file:///nonexistent/stampede-dir", "r", "--results-url file:///nonexistent/stampede-dir"},
		{"ftp://host/x", "r", `unsupported scheme "ftp"`},
		{"not a url", "r", "not a URL"},
		{"file://" + t.TempDir(), "bad/id", "--run-id"},
	}
	for _, tc := range tests {
		_, err := Open(ctx, tc.url, tc.id)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q) = %v, want an error with %q", tc.url, err, tc.want)
		}
	}
}

func TestAzuriteUpload(t *testing.T) {
	base, _ := azuritetest.URL(t, "")
	ctx := context.Background()

	// A container that does not exist fails at Open, with no secret in the message.
	_, err := Open(ctx, base+"&prefix=ci/", "r1")
	if err == nil || !strings.Contains(err.Error(), "cannot write") {
		t.Fatalf("missing container: err = %v", err)
	}
	if strings.Contains(err.Error(), azuritetest.Key) {
		t.Fatal("error message holds the account key")
	}

	azuritetest.CreateContainer(t, base)
	bk, err := Open(ctx, base+"&prefix=ci/", "r1")
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	files := writeFiles(t, "r1_stats.csv", "r1_stats_history.csv", "r1.json", "r1.html", "r1.log")
	keys, err := bk.Upload(ctx, files)
	if err != nil || len(keys) != len(files) {
		t.Fatalf("Upload = %v, %v", keys, err)
	}
	// Read back through a bucket without the prefix: every file is under ci/r1/.
	raw, err := blob.OpenBucket(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var got []string
	it := raw.List(nil)
	for {
		obj, err := it.Next(ctx)
		if err != nil {
			break
		}
		got = append(got, obj.Key)
	}
	sort.Strings(got)
	want := []string{"ci/r1/r1.html", "ci/r1/r1.json", "ci/r1/r1.log", "ci/r1/r1_stats.csv", "ci/r1/r1_stats_history.csv"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("container holds %v, want %v", got, want)
	}
	b, err := raw.ReadAll(ctx, "ci/r1/r1.json")
	if err != nil || string(b) != "content of r1.json\n" {
		t.Errorf("read back %q, %v", b, err)
	}
	attrs, err := raw.Attributes(ctx, "ci/r1/r1.html")
	if err != nil || !strings.HasPrefix(attrs.ContentType, "text/html") {
		t.Errorf("content type %q, %v", attrs.ContentType, err)
	}
}

func TestUploadRetries(t *testing.T) {
	dest := t.TempDir()
	ctx := context.Background()
	bk, err := Open(ctx, "file://"+dest, "retry")
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	bk.Backoff = 10 * time.Millisecond
	bk.Attempts = 4
	calls := map[string]int{}
	var waits []time.Time
	real := bk.put
	bk.put = func(ctx context.Context, file, key string) error {
		calls[filepath.Base(file)]++
		waits = append(waits, time.Now())
		switch filepath.Base(file) {
		case "flaky.csv":
			if calls["flaky.csv"] < 3 {
				return fmt.Errorf("503 server busy")
			}
		case "down.json":
			return fmt.Errorf("connection refused")
		}
		return real(ctx, file, key)
	}
	files := writeFiles(t, "flaky.csv", "down.json", "fine.html")
	keys, err := bk.Upload(ctx, files)
	if calls["flaky.csv"] != 3 || calls["down.json"] != 4 || calls["fine.html"] != 1 {
		t.Errorf("attempts = %v, want flaky 3, down 4 (all), fine 1", calls)
	}
	if err == nil || !strings.Contains(err.Error(), "down.json: connection refused") || strings.Contains(err.Error(), "flaky") {
		t.Errorf("err = %v", err)
	}
	if strings.Join(keys, " ") != "retry/flaky.csv retry/fine.html" {
		t.Errorf("keys = %v", keys)
	}
	// Backoff doubles: the waits before down.json's attempts 2, 3, 4 are ~10, 20, 40 ms.
	d := waits[3:7]
	if d[3].Sub(d[2]) < 35*time.Millisecond || d[1].Sub(d[0]) < 8*time.Millisecond {
		t.Errorf("no exponential backoff: %v %v %v", d[1].Sub(d[0]), d[2].Sub(d[1]), d[3].Sub(d[2]))
	}
	if _, err := os.Stat(filepath.Join(dest, "retry", "flaky.csv")); err != nil {
		t.Errorf("flaky.csv not uploaded in the end: %v", err)
	}
}

// While the storage refuses permission (a role assignment not yet in
// force), the write check is tried again with backoff until it passes or
// the wait is over; other errors fail at once.
func TestProbeWaitsForPermission(t *testing.T) {
	ctx := context.Background()
	bk, err := Open(ctx, "file://"+t.TempDir(), "probe")
	if err != nil {
		t.Fatal(err)
	}
	defer bk.Close()
	denied := &probeError{msg: "403 AuthorizationPermissionMismatch", denied: true}
	tests := []struct {
		name      string
		refusals  int
		other     bool
		max       time.Duration
		wantCalls int
		wantErr   string
	}{
		{name: "propagates after 3 refusals", refusals: 3, max: time.Second, wantCalls: 4},
		{name: "no wait: one attempt", refusals: 3, max: 0, wantCalls: 1, wantErr: "AuthorizationPermissionMismatch"},
		{name: "never propagates: gives up", refusals: 1000, max: 200 * time.Millisecond, wantErr: "AuthorizationPermissionMismatch"},
		{name: "not found is not retried", refusals: 3, other: true, max: time.Second, wantCalls: 1, wantErr: "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			calls := 0
			bk.probeOnce = func(context.Context) error {
				calls++
				if calls > tc.refusals {
					return bk.probe(ctx)
				}
				if tc.other {
					return &probeError{msg: "not found (does the container exist?)"}
				}
				return denied
			}
			start := time.Now()
			err := bk.waitWritable(ctx, ProbeWait{Max: tc.max, first: 10 * time.Millisecond})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantCalls > 0 && calls != tc.wantCalls {
				t.Errorf("%d attempts, want %d", calls, tc.wantCalls)
			}
			if el := time.Since(start); el > tc.max+100*time.Millisecond {
				t.Errorf("took %v, over the wait %v", el, tc.max)
			}
		})
	}
}
