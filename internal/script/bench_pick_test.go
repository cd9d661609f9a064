package script

import (
	"context"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// BenchmarkPickTask is the task loop without HTTP: picking one of four
// weighted tasks and calling it, the cost task sets and tags must not
// raise for a plain single-level class.
func BenchmarkPickTask(b *testing.B) {
	s, err := LoadFiles("bench.star", map[string][]byte{"bench.star": []byte(
		"def a(u):\n    pass\ndef b(u):\n    pass\ndef c(u):\n    pass\ndef d(u):\n    pass\n" +
			"looper = user(tasks={a: 1, b: 2, c: 3, d: 4})\n")}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	rec := stats.NewRecorder(1, time.Now(), false)
	v := s.NewVU(1, s.Class("looper"), VUConfig{Client: httpclient.New(httpclient.Options{}), Shard: rec.Shard(1), Host: "http://127.0.0.1:1"})
	defer v.Close()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		v.RunTask(ctx)
	}
}
