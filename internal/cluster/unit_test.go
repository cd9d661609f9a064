package cluster

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// quietLog discards the log, unless STAMPEDE_TEST_LOG is set: then
// warnings and errors go to stderr.
func quietLog() *slog.Logger {
	if os.Getenv("STAMPEDE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewTextHandler(discard{}, &slog.HandlerOptions{Level: slog.LevelError + 10}))
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func wire(t *testing.T, d *stats.Delta) *stats.Delta {
	t.Helper()
	p, err := EncodeDelta(d)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proto.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	var q pb.Delta
	if err := proto.Unmarshal(b, &q); err != nil {
		t.Fatal(err)
	}
	out, err := DecodeDelta(&q)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeltaRoundTrip(t *testing.T) {
	start := time.Unix(1700000000, 123456789)
	d := stats.NewDelta(start)
	d.End = start.Add(time.Second)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, k := range []stats.Key{{Method: "GET", Name: "/a"}, {Method: "POST", Name: "/b"}} {
		e := stats.NewEntry()
		e.Service = stats.NewTiming()
		for i := 0; i < 500; i++ {
			ms := rng.ExpFloat64() * 40
			e.Latency.Record(time.Duration(ms * float64(time.Millisecond)))
			e.Service.Record(time.Duration(ms * 0.8 * float64(time.Millisecond)))
			e.Requests++
			e.ContentBytes += 100
		}
		e.Failures = 7
		d.Entries[k] = e
	}
	d.Entries[stats.Key{Method: "GET", Name: "/empty"}] = stats.NewEntry()
	d.Errors[stats.ErrorKey{Method: "GET", Name: "/a", Error: "HTTP 500"}] = 7
	d.Exceptions[stats.ExceptionKey{Message: "boom", Traceback: "x.star:1"}] = 2
	d.Dropped = 3

	got := wire(t, d)
	if !got.Start.Equal(d.Start) || !got.End.Equal(d.End) || got.Dropped != 3 {
		t.Errorf("interval/dropped: %v %v %d", got.Start, got.End, got.Dropped)
	}
	if len(got.Entries) != 3 || got.Errors[stats.ErrorKey{Method: "GET", Name: "/a", Error: "HTTP 500"}] != 7 ||
		got.Exceptions[stats.ExceptionKey{Message: "boom", Traceback: "x.star:1"}] != 2 {
		t.Fatalf("entries/errors/exceptions: %+v", got)
	}
	for k, want := range d.Entries {
		e := got.Entries[k]
		if e.Requests != want.Requests || e.Failures != want.Failures || e.ContentBytes != want.ContentBytes {
			t.Errorf("%v: counts %+v want %+v", k, e, want)
		}
		for _, pair := range [][2]*stats.Timing{{e.Latency, want.Latency}, {e.Service, want.Service}} {
			g, w := pair[0], pair[1]
			if w == nil {
				if g != nil {
					t.Errorf("%v: unexpected service timing", k)
				}
				continue
			}
			if g.Count != w.Count || g.Sum != w.Sum || g.MinOrZero() != w.MinOrZero() || g.Max != w.Max {
				t.Errorf("%v: timing %+v want %+v", k, g, w)
			}
			for _, p := range stats.PercentileSet {
				if g.Percentile(p) != w.Percentile(p) {
					t.Errorf("%v: p%v %v want %v", k, p, g.Percentile(p), w.Percentile(p))
				}
			}
		}
	}
	// An empty entry keeps an empty timing (min +Inf, so merging works).
	e := got.Entries[stats.Key{Method: "GET", Name: "/empty"}]
	e.Merge(d.Entries[stats.Key{Method: "GET", Name: "/a"}])
	if e.Latency.MinOrZero() != d.Entries[stats.Key{Method: "GET", Name: "/a"}].Latency.MinOrZero() {
		t.Error("an empty timing's min did not survive as +Inf")
	}
}

// The percentiles the master computes from 100 workers' reports equal
// those of one histogram fed every sample.
func TestMergedPercentilesEqualOneHistogram(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Now()
	agg := stats.NewAggregate(now)
	all := stats.NewTiming()
	key := stats.Key{Method: "GET", Name: "/"}
	for w := 0; w < 100; w++ {
		d := stats.NewDelta(now)
		d.End = now.Add(time.Second)
		e := stats.NewEntry()
		for i := 0; i < 200+w; i++ {
			v := time.Duration(math.Exp(3+rng.NormFloat64()) * float64(time.Millisecond))
			e.Latency.Record(v)
			all.Record(v)
			e.Requests++
		}
		d.Entries[key] = e
		agg.Add(stats.Origin{Region: []string{"eu", "us", "ap"}[w%3], Worker: "w" + string(rune('a'+w%26)) + string(rune('a'+w/26))}, wire(t, d))
	}
	merged := agg.TotalEntry().Latency
	if merged.Count != all.Count {
		t.Fatalf("count %d want %d", merged.Count, all.Count)
	}
	for _, p := range stats.PercentileSet {
		if merged.Percentile(p) != all.Percentile(p) {
			t.Errorf("p%v: merged %v, one histogram %v", p, merged.Percentile(p), all.Percentile(p))
		}
	}
}

func TestPlace(t *testing.T) {
	classes := []runner.Class{{Name: "admin", FixedCount: 1}, {Name: "buyer", Weight: 3}, {Name: "browser", Weight: 1}}
	ws := func(hosts ...string) []placeWorker {
		var out []placeWorker
		for i, h := range hosts {
			out = append(out, placeWorker{ID: "w" + string(rune('0'+i)), Host: h})
		}
		return out
	}
	tests := []struct {
		name    string
		users   int
		workers []placeWorker
		// perHost, when set, is the users expected on each host.
		perHost map[string]int
	}{
		{"even", 9, ws("a", "a", "a"), nil},
		{"uneven", 10, ws("a", "a", "a"), nil},
		{"fewer users than workers spread over hosts", 2, ws("a", "a", "b", "b"), map[string]int{"a": 1, "b": 1}},
		{"hosts interleaved", 3, ws("a", "a", "a", "b", "c"), map[string]int{"a": 1, "b": 1, "c": 1}},
		{"zero", 0, ws("a", "b"), nil},
		{"many", 1001, ws("a", "b", "c", "d", "e", "f", "g"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			plan := place(classes, tc.users, tc.workers)
			want := runner.Distribute(classes, tc.users)
			perClass := map[string]int{}
			lo, hi := 1<<30, -1
			hostUsers := map[string]int{}
			for _, w := range tc.workers {
				n := 0
				for c, k := range plan[w.ID] {
					perClass[c] += k
					n += k
				}
				lo, hi = min(lo, n), max(hi, n)
				hostUsers[w.Host] += n
			}
			for c, n := range want {
				if perClass[c] != n {
					t.Errorf("class %s: %d placed, want %d", c, perClass[c], n)
				}
			}
			if hi-lo > 1 {
				t.Errorf("worker totals range %d..%d: not even", lo, hi)
			}
			for h, n := range tc.perHost {
				if hostUsers[h] != n {
					t.Errorf("host %s: %d users, want %d", h, hostUsers[h], n)
				}
			}
		})
	}
}

func testScript(t *testing.T) *script.Script {
	t.Helper()
	s, err := script.LoadFiles("t.star", map[string][]byte{"t.star": []byte(`
def hit(u):
    u.http.get("/")

visitor = user(tasks=[hit], wait_time=constant(1))
`)}, script.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func startMaster(t *testing.T, cfg MasterConfig) (*Master, string) {
	t.Helper()
	cfg.Log = quietLog()
	if cfg.Version == "" {
		cfg.Version = "v1"
	}
	m := NewMaster(cfg)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = m.Serve(ln) }()
	t.Cleanup(func() { m.Close("test over") })
	return m, ln.Addr().String()
}

func runWorker(t *testing.T, cfg WorkerConfig) error {
	t.Helper()
	cfg.Log = quietLog()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return NewWorker(cfg).Run(ctx)
}

func TestWorkerRefused(t *testing.T) {
	t.Parallel()
	_, addr := startMaster(t, MasterConfig{Script: testScript(t), Token: "secret"})
	tests := []struct {
		name, version, token, want string
	}{
		{"version mismatch", "v2", "secret", "version mismatch: worker w runs stampede v2, the master runs v1"},
		{"wrong token", "v1", "nope", "cluster token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := runWorker(t, WorkerConfig{MasterAddr: addr, ID: "w", Region: "eu", Version: tc.version, Token: tc.token})
			var rej *RejectedError
			if !errors.As(err, &rej) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want a refusal containing %q", err, tc.want)
			}
		})
	}
}

func TestDuplicateWorkerID(t *testing.T) {
	t.Parallel()
	m, addr := startMaster(t, MasterConfig{Script: testScript(t)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := NewWorker(WorkerConfig{MasterAddr: addr, ID: "same", Region: "eu", Version: "v1", Log: quietLog()})
	go func() { _ = first.Run(ctx) }()
	if err := m.WaitWorkers(ctx, 1); err != nil {
		t.Fatal(err)
	}
	err := runWorker(t, WorkerConfig{MasterAddr: addr, ID: "same", Region: "us", Version: "v1"})
	if err == nil || !strings.Contains(err.Error(), `a worker with id "same" is already connected`) {
		t.Fatalf("got %v", err)
	}
}

func TestScriptHashMismatch(t *testing.T) {
	s := testScript(t)
	w := NewWorker(WorkerConfig{MasterAddr: "127.0.0.1:1", Version: "v1", Log: quietLog()})
	files := map[string][]byte{"t.star": append([]byte("# changed on the way\n"), s.Files["t.star"]...)}
	got := w.prepare(&pb.Prepare{TestId: 1, Main: "t.star", Files: files, ScriptSha256: s.Hash})
	if !strings.Contains(got.Error, "script hash mismatch: the master announced "+s.Hash[:12]) {
		t.Fatalf("error %q", got.Error)
	}
	ok := w.prepare(&pb.Prepare{TestId: 2, Main: "t.star", Files: s.Files, ScriptSha256: s.Hash, Host: "http://127.0.0.1:1"})
	if ok.Error != "" {
		t.Fatalf("a good script failed: %s", ok.Error)
	}
	w.stopTest("test over")
}
