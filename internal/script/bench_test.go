package script

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// BenchmarkTaskGet is one task that does u.http.get("/") against a local
// server: the per-request cost of the script, the HTTP client and the
// stats recorder together (bench/engine measures the whole binary).
func BenchmarkTaskGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<!doctype html><title>bench</title><p>Hello from the benchmark target.</p>\n")
	}))
	defer srv.Close()
	s, err := LoadFiles("bench.star", map[string][]byte{"bench.star": []byte(
		"def home(u):\n    u.http.get(\"/\")\nlooper = user(tasks=[home], wait_time=constant(0))\n")}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	for _, im := range []struct {
		name string
		opts httpclient.Options
	}{{"fasthttp", httpclient.Options{}}, {"net-http", httpclient.Options{HTTP2: true}}} {
		b.Run(im.name, func(b *testing.B) {
			rec := stats.NewRecorder(1, time.Now(), false)
			v := s.NewVU(1, s.Class("looper"), VUConfig{Client: httpclient.New(im.opts), Shard: rec.Shard(1), Host: srv.URL})
			defer v.Close()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				v.RunTask(ctx)
			}
			b.StopTimer()
			d := rec.Flush(time.Now())
			if d.Entries[stats.Key{Method: "GET", Name: "/"}] == nil || len(d.Errors) > 0 || len(d.Exceptions) > 0 {
				b.Fatalf("requests not recorded cleanly: errors %v exceptions %v", d.Errors, d.Exceptions)
			}
		})
	}
}

// cannedClient answers every request from memory, as the fast client
// does for nginx's `return 200 "hello world\n"`: one Response and one
// body allocation per request.
type cannedClient struct{ jar httpclient.Jar }

func (c *cannedClient) Do(_ context.Context, r *httpclient.Request) (*httpclient.Response, error) {
	return &httpclient.Response{Status: 200, Proto: "HTTP/1.1", URL: r.URL, Body: append([]byte(nil), "hello world\n"...), Elapsed: time.Millisecond}, nil
}
func (c *cannedClient) CloseIdle()           {}
func (c *cannedClient) Jar() *httpclient.Jar { return &c.jar }

// BenchmarkTaskNoNetwork is the script's and the recorder's own CPU per
// u.http.get("/"): the client answers from memory.
func BenchmarkTaskNoNetwork(b *testing.B) {
	s, err := LoadFiles("bench.star", map[string][]byte{"bench.star": []byte(
		"def home(u):\n    u.http.get(\"/\")\nlooper = user(tasks=[home], wait_time=constant(0))\n")}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rec := stats.NewRecorder(1, time.Now(), false)
	v := s.NewVU(1, s.Class("looper"), VUConfig{Client: &cannedClient{}, Shard: rec.Shard(1), Host: "http://127.0.0.1:8080"})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v.NextWait(ctx, v.RunTask(ctx))
	}
	b.StopTimer()
	d := rec.Flush(time.Now())
	if e := d.Entries[stats.Key{Method: "GET", Name: "/"}]; e == nil || e.Requests != int64(b.N) || len(d.Errors) > 0 || len(d.Exceptions) > 0 {
		b.Fatalf("requests not recorded cleanly: %+v errors %v exceptions %v", e, d.Errors, d.Exceptions)
	}
}
