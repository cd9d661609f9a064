package output

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden files")

// fixtureStart is the start of the deterministic test run.
var fixtureStart = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

func ms(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// fixtureAggregate builds a run of 10 s over two regions and three workers
// from samples with fixed times, so every derived number is reproducible.
func fixtureAggregate(t testing.TB) *stats.Aggregate {
	t.Helper()
	agg := stats.NewAggregate(fixtureStart)
	type sample struct {
		method, name string
		latency      float64
		bytes        int64
		err          string
	}
	type worker struct {
		origin stats.Origin
		// per second of the run: the samples recorded in that second
		seconds [][]sample
		exc     []string
	}
	items := func(base float64, n int) []sample {
		var out []sample
		for i := 0; i < n; i++ {
			out = append(out, sample{"GET", "/api/items", base + float64(i)*0.75, 1200 + int64(i%3)*100, ""})
		}
		return out
	}
	workers := []worker{
		{
			origin: stats.Origin{Region: "eu-west", Worker: "eu-1"},
			seconds: [][]sample{
				append(items(8.25, 12), sample{"POST", "/api/orders", 45.5, 310, ""}),
				append(items(9.5, 10), sample{"POST", "/api/orders", 52.125, 0, "HTTP 500: Internal Server Error"}),
				append(items(7.75, 14), sample{"GET", "/static/logo.png", 0.412, 20480, ""}),
			},
			exc: []string{"fail(\"cart is empty\")"},
		},
		{
			origin: stats.Origin{Region: "eu-west", Worker: "eu-2"},
			seconds: [][]sample{
				items(11, 9),
				append(items(10.5, 9), sample{"GET", "/search?q=a,b \"c\"", 130.75, 512, ""}),
			},
		},
		{
			origin: stats.Origin{Region: "us-east", Worker: "us-1"},
			seconds: [][]sample{
				append(items(85, 8), sample{"POST", "/api/orders", 140.25, 0, "HTTP 500: Internal Server Error"}),
				append(items(90.5, 8), sample{"POST", "/api/orders", 2500, 0, "connection reset by peer"}),
				append(items(88, 8), sample{"GET", "/api/a-very-long-endpoint-name/with/many/segments/that/will/not/fit/in/a/console/column", 61.5, 64, ""}),
				{{"POST", "/api/orders", 150, 290, ""}},
			},
			exc: []string{"fail(\"cart is empty\")", "index out of range"},
		},
	}
	for wi, w := range workers {
		rec := stats.NewRecorder(1, fixtureStart, false)
		sh := rec.Shard(0)
		for sec, samples := range w.seconds {
			for _, s := range samples {
				sh.Record(stats.Sample{Method: s.method, Name: s.name, Latency: ms(s.latency), Bytes: s.bytes, Error: s.err})
			}
			if sec == 0 {
				for _, e := range w.exc {
					sh.Exception(e, "Traceback (most recent call last):\n  test.star:12:5: in checkout\nError: "+e)
				}
			}
			d := rec.Flush(fixtureStart.Add(time.Duration(sec+1+wi) * time.Second))
			agg.Add(w.origin, d)
		}
	}
	agg.Tick(fixtureStart.Add(5*time.Second), 30)
	agg.Tick(fixtureStart.Add(10*time.Second), 30)
	return agg
}

// fixtureSummary is the snapshot of fixtureAggregate at the end of the run.
func fixtureSummary(t testing.TB) *stats.Summary {
	return fixtureAggregate(t).Snapshot(fixtureStart.Add(10*time.Second), true)
}

// emptySummary is a run that made no request.
func emptySummary() *stats.Summary {
	return stats.NewAggregate(fixtureStart).Snapshot(fixtureStart.Add(3*time.Second), false)
}

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", name, got, want)
	}
}
