package output

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// openSummary is an open-model summary: corrected latencies of 100 ms
// (a stall's queue wait) over service times of 2 ms.
func openSummary() *stats.Summary {
	start := time.Unix(1700000000, 0)
	agg := stats.NewAggregate(start)
	rec := stats.NewRecorder(1, start, true)
	for i := 0; i < 10; i++ {
		rec.Shard(0).Record(stats.Sample{Method: "GET", Name: "/a", Latency: 100 * time.Millisecond, Service: 2 * time.Millisecond})
	}
	rec.Shard(0).Dropped(3)
	agg.Add(stats.Origin{}, rec.Flush(start.Add(time.Second)))
	return agg.Snapshot(start.Add(time.Second), false)
}

func TestServiceStatsCSV(t *testing.T) {
	s := openSummary()
	if !HasServiceTimes(s) {
		t.Fatal("no service times in an open-model summary")
	}
	var b bytes.Buffer
	if err := WriteServiceStatsCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\r\n"), "\r\n")
	if lines[0] != strings.Join(StatsHeader(), ",") {
		t.Errorf("header %q", lines[0])
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "GET,/a,10,0,2,2,2,2,") || !strings.HasPrefix(lines[2], ",Aggregated,10,0,2,2,2,2,") {
		t.Errorf("rows:\n%s", b.String())
	}
	// _stats.csv keeps the corrected times under Locust's headers
	b.Reset()
	if err := WriteStatsCSV(&b, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "GET,/a,10,0,100,100,100,100,") {
		t.Errorf("_stats.csv:\n%s", b.String())
	}
	// the closed model writes no service file
	closed := *s
	closed.Total.Service = nil
	if HasServiceTimes(&closed) {
		t.Error("closed summary has service times")
	}
}

func TestServiceStatsFileAndConsole(t *testing.T) {
	s := openSummary()
	prefix := filepath.Join(t.TempDir(), "run")
	c, err := OpenCSV(prefix, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Finish(s); err != nil {
		t.Fatal(err)
	}
	paths := c.Paths(s)
	if paths[len(paths)-1] != prefix+SuffixServiceStats {
		t.Errorf("paths %v", paths)
	}
	if _, err := os.Stat(prefix + SuffixServiceStats); err != nil {
		t.Error(err)
	}
	var out bytes.Buffer
	if err := PrintSummary(&out, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"intended start", "Service time percentiles (ms)", "Dropped iterations: 3"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("console summary lacks %q:\n%s", want, out.String())
		}
	}
}

func TestProgressExtra(t *testing.T) {
	l := ProgressLine{Elapsed: 42 * time.Second, Users: 10, State: "running", Extra: "rate 500/s DROPPED 3"}
	if s := l.String(); !strings.HasSuffix(s, "0 reqs | rate 500/s DROPPED 3") {
		t.Errorf("progress line %q", s)
	}
}
