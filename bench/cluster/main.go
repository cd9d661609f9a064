// Command cluster measures the master of a distributed test: one master
// and 100 worker processes on this machine (a few users each) against a
// counting target on loopback. It prints the master's CPU (% of one core)
// and memory while it merges the workers' 1 s reports, checks that the
// master's total equals the target's count, and checks that percentiles
// merged from 100 workers' wire-encoded reports equal those of one
// histogram fed every sample.
//
//	go run ./bench/cluster [-workers 100] [-users 2] [-time 30s]
//
// Not run in CI (it takes about a minute and most of the machine).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/stampede-load/stampede/bench/internal/procstat"
	"github.com/stampede-load/stampede/bench/internal/stampedebin"
	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

func main() {
	workers := flag.Int("workers", 100, "worker processes")
	users := flag.Int("users", 2, "users per worker")
	runTime := flag.Duration("time", 30*time.Second, "run time of the test")
	bin := flag.String("bin", "", "stampede binary (default: build one)")
	flag.Parse()
	if err := run(*workers, *users, *runTime, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func run(nWorkers, users int, runTime time.Duration, bin string) error {
	dir, err := os.MkdirTemp("", "stampede-bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if err := mergeCheck(nWorkers); err != nil {
		return err
	}

	if bin, err = stampedebin.Build(bin, dir); err != nil {
		return err
	}

	// The counting target.
	var count atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		count.Add(1)
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	script := filepath.Join(dir, "bench.star")
	if err := os.WriteFile(script, []byte(`
def a(u):
    u.http.get("/a")

def b(u):
    u.http.get("/b")

def c(u):
    u.http.post("/c", json={"x": 1})

visitor = user(tasks=[a, b, c], wait_time=constant(0.5))
`), 0o644); err != nil {
		return err
	}
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	port := strconv.Itoa(pl.Addr().(*net.TCPAddr).Port)
	pl.Close()

	jsonOut := filepath.Join(dir, "run.json")
	masterLog, _ := os.Create(filepath.Join(dir, "master.log"))
	defer masterLog.Close()
	master := exec.Command(bin, "master", "-f", script, "--headless", "-u", strconv.Itoa(users*nWorkers),
		"-r", strconv.Itoa(max(10, users*nWorkers/5)), "-t", runTime.String(), "--host", "http://"+ln.Addr().String(),
		"--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--expect-workers", strconv.Itoa(nWorkers),
		"--expect-workers-max-wait", "120s", "--json", jsonOut)
	master.Stdout, master.Stderr = io.Discard, masterLog
	if err := master.Start(); err != nil {
		return err
	}
	var procs []*exec.Cmd
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_ = p.Wait()
		}
	}()
	started := time.Now()
	for i := 0; i < nWorkers; i++ {
		w := exec.Command(bin, "worker", "--master-host", "127.0.0.1", "--master-port", port,
			"--region", []string{"eu", "us", "ap", "au"}[i%4], "--name", fmt.Sprintf("w%03d", i), "--loglevel", "warn")
		w.Stdout, w.Stderr = io.Discard, io.Discard
		if err := w.Start(); err != nil {
			return err
		}
		procs = append(procs, w)
	}
	fmt.Printf("started 1 master and %d workers (%d users each) in %s\n", nWorkers, users, time.Since(started).Round(time.Millisecond))

	// Sample the master from the test's start (found in its log) to its end.
	ctx, cancel := context.WithTimeout(context.Background(), runTime+3*time.Minute)
	defer cancel()
	if err := stampedebin.WaitLog(ctx, nil, masterLog.Name(), "test started"); err != nil {
		return fmt.Errorf("waiting for the test to start: %w", err)
	}
	// Skip the ramp-up; measure the steady state of merging reports.
	time.Sleep(min(runTime/4, 10*time.Second))
	cpu0, _ := procstat.CPU(master.Process.Pid)
	t0 := time.Now()
	var peakRSS int64
	steady := runTime - min(runTime/4, 10*time.Second) - 3*time.Second
	for time.Since(t0) < steady {
		time.Sleep(time.Second)
		if rss, err := procstat.RSS(master.Process.Pid); err == nil {
			peakRSS = max(peakRSS, rss)
		}
	}
	cpu1, _ := procstat.CPU(master.Process.Pid)
	wall := time.Since(t0)
	if err := master.Wait(); err != nil {
		return fmt.Errorf("master: %v (log %s)", err, masterLog.Name())
	}
	doc, err := output.ReadJSON(jsonOut)
	if err != nil {
		return err
	}
	cpuPct := 100 * float64(cpu1-cpu0) / float64(wall)
	fmt.Printf("master while merging %d workers' 1 s reports: CPU %.1f%% of one core (target < 10%%), peak RSS %.1f MiB\n",
		nWorkers, cpuPct, float64(peakRSS)/(1<<20))
	fmt.Printf("requests: master %d, target %d, workers in summary %d, lost %d\n",
		doc.Stats.Total.Requests, count.Load(), len(doc.Workers), len(doc.Lost))
	if doc.Stats.Total.Requests != count.Load() {
		return fmt.Errorf("the master counted %d requests, the target saw %d", doc.Stats.Total.Requests, count.Load())
	}
	if cpuPct >= 10 {
		fmt.Println("WARNING: the master used more than 10% of one core")
	}
	return nil
}

// mergeCheck feeds n workers' samples through the wire format into an
// aggregate, and compares every percentile with one histogram that saw
// every sample.
func mergeCheck(n int) error {
	rng := rand.New(rand.NewPCG(7, 11))
	now := time.Now()
	agg := stats.NewAggregate(now)
	all := stats.NewTiming()
	key := stats.Key{Method: "GET", Name: "/"}
	for w := 0; w < n; w++ {
		for sec := 0; sec < 30; sec++ {
			d := stats.NewDelta(now.Add(time.Duration(sec) * time.Second))
			d.End = d.Start.Add(time.Second)
			e := stats.NewEntry()
			for i := 0; i < 20; i++ {
				v := time.Duration(math.Exp(3+rng.NormFloat64()) * float64(time.Millisecond))
				e.Latency.Record(v)
				all.Record(v)
				e.Requests++
			}
			d.Entries[key] = e
			p, err := cluster.EncodeDelta(d)
			if err != nil {
				return err
			}
			back, err := cluster.DecodeDelta(p)
			if err != nil {
				return err
			}
			agg.Add(stats.Origin{Region: fmt.Sprint("r", w%4), Worker: fmt.Sprint("w", w)}, back)
		}
	}
	merged := agg.TotalEntry().Latency
	var diffs []string
	for _, p := range stats.PercentileSet {
		if merged.Percentile(p) != all.Percentile(p) {
			diffs = append(diffs, fmt.Sprintf("p%v %v != %v", p, merged.Percentile(p), all.Percentile(p)))
		}
	}
	if len(diffs) > 0 || merged.Count != all.Count {
		return fmt.Errorf("merged percentiles differ from one histogram: %s", strings.Join(diffs, "; "))
	}
	fmt.Printf("merge check: %d samples from %d workers x 30 reports: all %d percentiles equal one histogram's (p50 %.3f ms, p99 %.3f ms)\n",
		all.Count, n, len(stats.PercentileSet), merged.Percentile(50), merged.Percentile(99))
	return nil
}
