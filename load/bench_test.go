package load

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// BenchmarkTaskGet is internal/script's BenchmarkTaskGet with the task
// written in Go: one task doing u.Get("/") against a local server, the
// per-request cost of the task, the HTTP client and the stats recorder.
func BenchmarkTaskGet(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "<!doctype html><title>bench</title><p>Hello from the benchmark target.</p>\n")
	}))
	defer srv.Close()
	uc, err := Class[struct{}]{Name: "looper", Tasks: []Task[struct{}]{{Name: "home", Fn: func(_ struct{}, u *User) error {
		u.Get("/")
		return nil
	}}}}.class()
	if err != nil {
		b.Fatal(err)
	}
	s, err := script.LoadGo(script.Options{Go: []*script.UserClass{uc}})
	if err != nil {
		b.Fatal(err)
	}
	rec := stats.NewRecorder(1, time.Now(), false)
	v := s.NewVU(1, s.Class("looper"), script.VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: rec.Shard(1), Host: srv.URL})
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
}
