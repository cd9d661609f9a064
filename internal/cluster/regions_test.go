package cluster_test

import (
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/netsim"
)

// Three regions with 10, 80 and 250 ms of added round-trip latency, each
// a network namespace whose worker reaches the master and the target
// through a delay line: every region's p50 reflects its latency and the
// total is exact. A fourth region, "base", takes the same path with 1 ms
// of delay: its p50 is what the path itself costs (client, proxy, the
// delay line's wake-up, server, on this busy machine) plus that 1 ms, so
// each region's p50 minus the base's must be its added latency minus 1 ms,
// within ±10% of its latency.
func TestRegionsWithLatency(t *testing.T) {
	if err := netsim.Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the multi-region test must run in CI: %v (run .ci/cluster.sh as root)", err)
		}
		t.Skipf("skipping the multi-region test: %v", err)
	}
	t.Parallel()
	netsim.CleanStale()
	netsim.RaisePriority()
	tg := newTarget(t)
	_, tport, _ := net.SplitHostPort(strings.TrimPrefix(tg.URL, "http://"))
	targetPort, _ := strconv.Atoi(tport)
	port := freePort(t)
	regions := []struct {
		name  string
		delay time.Duration
	}{{"base", time.Millisecond}, {"eu", 10 * time.Millisecond}, {"us", 80 * time.Millisecond}, {"ap", 250 * time.Millisecond}}
	var ws []*proc
	for _, r := range regions {
		reg, err := netsim.NewRegion(r.name, r.delay, port, targetPort)
		if err != nil {
			t.Fatal(err)
		}
		// Registered before the worker starts: cleanups run last-in
		// first-out, so the worker is killed before its namespace goes.
		t.Cleanup(func() {
			if err := reg.Close(); err != nil {
				t.Errorf("cleaning up: %v", err)
			}
		})
		// Latency is what is measured here: the workers run at a higher
		// priority than whatever else keeps the machine busy (other
		// packages' tests in CI), as the delay lines do.
		prefix := append([]string{"nice", "-n", "-10"}, reg.NS.Exec()...)
		ws = append(ws, start(t, "worker-"+r.name, prefix, nil, workerArgs(port, r.name, "w-"+r.name)...))
	}
	script := writeScript(t, `
def hit(u):
    u.http.get("/hit", headers={"X-User": str(u.id)})

visitor = user(tasks=[hit], wait_time=constant(0.1))
`)
	out := filepath.Join(t.TempDir(), "run")
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out, "-u", "8", "-r", "50", "-t", "6s", "--expect-workers", "4")...)
	if code := m.wait(t, 90*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	for _, w := range ws {
		w.wait(t, 20*time.Second)
	}
	doc := readDoc(t, out+".json")
	checkExact(t, doc, tg)
	if len(doc.Stats.Regions) != len(regions) {
		t.Fatalf("regions: %+v", doc.Stats.Regions)
	}
	base := -1.0
	for _, rs := range doc.Stats.Regions {
		if rs.Region == "base" {
			base = rs.Total.MedianMs
		}
	}
	for _, r := range regions[1:] {
		var found bool
		for _, rs := range doc.Stats.Regions {
			if rs.Region != r.name {
				continue
			}
			found = true
			want := float64(r.delay) / float64(time.Millisecond)
			p50 := rs.Total.MedianMs
			t.Logf("region %s: added %v, p50 %.2f ms (base %.2f ms) over %d requests", r.name, r.delay, p50, base, rs.Total.Requests)
			if math.Abs(p50-(base-1)-want) > 0.1*want {
				t.Errorf("region %s: p50 %.2f ms - (base %.2f ms - 1 ms), want %.0f ms ±10%%", r.name, p50, base, want)
			}
			if rs.Total.Requests < 10 {
				t.Errorf("region %s: only %d requests", r.name, rs.Total.Requests)
			}
		}
		if !found {
			t.Errorf("region %s missing from the summary", r.name)
		}
	}
}
