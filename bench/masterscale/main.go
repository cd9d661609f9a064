// Command masterscale measures how many workers one master holds: it
// starts a master (pinned to one core) and simulates N workers from this
// one process, each its own gRPC connection speaking the worker protocol
// (hello, prepared, heartbeats, a report every second with 20 request
// names and log-normal latency histograms, the final report and stopped).
// Over a window of the steady state it prints the master's CPU (% of one
// core, from /proc/PID/stat) and RSS, and checks that the master's total
// equals the requests the simulated workers reported.
//
//	go build -o /tmp/masterscale ./bench/masterscale
//	taskset -c 1 /tmp/masterscale -workers 100,1000,2000 -master-cpu 0
//
// The master is built with `go build` unless -bin names one. Not run in
// CI (about a minute and a half per worker count).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/stampede-load/stampede/bench/internal/procstat"
	"github.com/stampede-load/stampede/bench/internal/stampedebin"
	"github.com/stampede-load/stampede/internal/cluster"
	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

type options struct {
	bin       string
	masterCPU string
	warmup    time.Duration
	window    time.Duration
	names     int
	rate      int // requests per simulated worker per second
	extra     string
}

func main() {
	counts := flag.String("workers", "100,1000,2000", "simulated worker counts, one run each")
	var o options
	flag.StringVar(&o.bin, "bin", "", "stampede binary (default: build one)")
	flag.StringVar(&o.masterCPU, "master-cpu", "0", "taskset CPU list for the master (empty: not pinned)")
	flag.DurationVar(&o.warmup, "warmup", 15*time.Second, "time after the test starts before measuring")
	flag.DurationVar(&o.window, "window", 30*time.Second, "measurement window")
	flag.IntVar(&o.names, "names", 20, "request names per report")
	flag.IntVar(&o.rate, "rate", 200, "requests per worker per second in the reports")
	flag.StringVar(&o.extra, "master-args", "", "more arguments for the master, space-separated (e.g. --cpuprofile /tmp/m.prof)")
	flag.Parse()
	dir, err := os.MkdirTemp("", "stampede-masterscale-")
	if err == nil {
		err = runAll(dir, *counts, o)
		os.RemoveAll(dir) // not deferred: os.Exit below skips deferred calls
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/masterscale:", err)
		os.Exit(1)
	}
}

func runAll(dir, counts string, o options) error {
	var err error
	if o.bin, err = stampedebin.Build(o.bin, dir); err != nil {
		return err
	}
	fmt.Println("| workers | master CPU (% of one core) | master RSS end / peak | reports applied | requests master = reported | load average (1 min) start / end |")
	fmt.Println("|---:|---:|---:|---:|---|---|")
	for _, f := range strings.Split(counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-workers: %q is not a positive count", f)
		}
		if err := runOne(dir, n, o); err != nil {
			return fmt.Errorf("%d workers: %w", n, err)
		}
	}
	return nil
}

func runOne(dir string, n int, o options) error {
	script := filepath.Join(dir, "bench.star")
	if err := os.WriteFile(script, []byte("def t(u):\n    pass\n\nvisitor = user(tasks=[t], wait_time=constant(1))\n"), 0o644); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := ln.Addr().String()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	runTime := o.warmup + o.window + 5*time.Second
	jsonOut := filepath.Join(dir, fmt.Sprintf("run-%d.json", n))
	logPath := filepath.Join(dir, fmt.Sprintf("master-%d.log", n))
	masterLog, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer masterLog.Close()
	args := []string{o.bin, "master", "-f", script, "--headless", "-u", strconv.Itoa(n), "-r", strconv.Itoa(n),
		"-t", runTime.String(), "--host", "http://127.0.0.1:9", "--master-bind-host", "127.0.0.1", "--master-bind-port", port,
		"--expect-workers", strconv.Itoa(n), "--expect-workers-max-wait", "300s", "--max-workers", strconv.Itoa(max(n, cluster.DefaultMaxWorkers)),
		"--json", jsonOut, "--exit-code-on-error", "0"}
	args = append(args, strings.Fields(o.extra)...)
	if o.masterCPU != "" {
		args = append([]string{"taskset", "-c", o.masterCPU}, args...)
	}
	master := exec.Command(args[0], args[1:]...)
	master.Stdout, master.Stderr = io.Discard, masterLog
	if err := master.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	var masterErr error
	go func() { masterErr = master.Wait(); close(exited) }()
	defer func() {
		_ = master.Process.Kill()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), runTime+6*time.Minute)
	defer cancel()
	if err := waitListen(ctx, addr); err != nil {
		return err
	}
	templates, err := deltaTemplates(o.names, o.rate)
	if err != nil {
		return err
	}
	var tally tally
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sw := &simWorker{id: fmt.Sprintf("sim%04d", i), region: []string{"eu", "us", "ap", "au"}[i%4], addr: addr, templates: templates, tally: &tally, phase: time.Duration(i) * time.Second / time.Duration(n)}
			if err := sw.run(ctx); err != nil && ctx.Err() == nil {
				tally.fail(fmt.Errorf("%s: %w", sw.id, err))
			}
		}()
		if i%50 == 49 {
			time.Sleep(20 * time.Millisecond) // connect in waves, not all in one instant
		}
	}

	if err := stampedebin.WaitLog(ctx, exited, logPath, "test started"); err != nil {
		return fmt.Errorf("waiting for the test to start (log %s): %w", logPath, err)
	}
	time.Sleep(o.warmup)
	pid := master.Process.Pid
	load0 := loadAvg()
	cpu0, err := procstat.CPU(pid)
	if err != nil {
		return err
	}
	reports0 := tally.reports.Load()
	t0 := time.Now()
	var peak int64
	for time.Since(t0) < o.window {
		time.Sleep(time.Second)
		if rss, err := procstat.RSS(pid); err == nil {
			peak = max(peak, rss)
		}
	}
	cpu1, err := procstat.CPU(pid)
	if err != nil {
		return err
	}
	wall := time.Since(t0)
	reports := tally.reports.Load() - reports0
	endRSS, _ := procstat.RSS(pid)
	load1 := loadAvg()

	select {
	case <-exited:
		if masterErr != nil {
			return fmt.Errorf("master: %v; its log ends:\n%s", masterErr, stampedebin.LogTail(logPath))
		}
	case <-ctx.Done():
		return errors.New("the master did not finish")
	}
	cancel()
	wg.Wait()
	if err := tally.err(); err != nil {
		return err
	}
	doc, err := output.ReadJSON(jsonOut)
	if err != nil {
		return err
	}
	got, want := doc.Stats.Total.Requests, tally.requests.Load()
	cpuPct := 100 * float64(cpu1-cpu0) / float64(wall)
	fmt.Printf("| %d | %.1f %% | %.0f / %.0f MiB | %.0f/s | %d = %d %s | %s / %s |\n", n, cpuPct,
		float64(endRSS)/(1<<20), float64(peak)/(1<<20), float64(reports)/wall.Seconds(), got, want, okMark(got == want), load0, load1)
	if got != want {
		return fmt.Errorf("the master counted %d requests, the simulated workers reported %d", got, want)
	}
	return nil
}

func okMark(ok bool) string {
	if ok {
		return "(exact)"
	}
	return "(MISMATCH)"
}

// tally is what every simulated worker reported for the test.
type tally struct {
	requests atomic.Int64
	reports  atomic.Int64
	mu       sync.Mutex
	errs     []error
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	t.errs = append(t.errs, err)
	t.mu.Unlock()
}

func (t *tally) err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.errs) > 3 {
		return fmt.Errorf("%d simulated workers failed, first: %w", len(t.errs), errors.Join(t.errs[:3]...))
	}
	return errors.Join(t.errs...)
}

// template is one report's delta on the wire, and its request count.
type template struct {
	d        *pb.Delta
	requests int64
}

// deltaTemplates makes 16 different deltas of names request names: rate
// requests a second spread over them, latencies log-normal around 20 ms
// (one in five names ten times slower), 1% failures, as a worker running a
// web shop's script reports. A simulated worker sends them in turn.
func deltaTemplates(names, rate int) ([]template, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var out []template
	for range 16 {
		d := stats.NewDelta(time.Now())
		var total int64
		for i := range names {
			e := stats.NewEntry()
			mu := math.Log(20)
			if i%5 == 0 {
				mu = math.Log(200)
			}
			n := max(1, rate/names+rng.IntN(5)-2)
			for range n {
				e.Latency.Record(time.Duration(math.Exp(mu+0.6*rng.NormFloat64()) * float64(time.Millisecond)))
			}
			e.Requests = int64(n)
			if rng.IntN(100) < 25 {
				e.Failures = 1
			}
			e.ContentBytes = int64(n) * 2048
			method := "GET"
			if i%4 == 3 {
				method = "POST"
			}
			d.Entries[stats.Key{Method: method, Name: fmt.Sprintf("/api/v1/resource-%02d/{id}", i)}] = e
			total += int64(n)
		}
		p, err := cluster.EncodeDelta(d)
		if err != nil {
			return nil, err
		}
		out = append(out, template{p, total})
	}
	return out, nil
}

// simWorker is one simulated worker: one connection, one stream.
type simWorker struct {
	id, addr  string
	region    string
	templates []template
	tally     *tally
	// phase spreads the workers' report ticks over the second, as real
	// workers that started at different times are.
	phase time.Duration
}

func (s *simWorker) run(ctx context.Context) error {
	cc, err := grpc.NewClient(s.addr, cluster.WorkerDialOptions(insecure.NewCredentials())...)
	if err != nil {
		return err
	}
	defer cc.Close()
	stream, err := pb.NewClusterClient(cc).Connect(ctx)
	if err != nil {
		return err
	}
	hello := &pb.Hello{WorkerId: s.id, Incarnation: s.id + "-1", Region: s.region,
		Hostname: "sim", Version: "dev", CpuCount: 4}
	if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Hello{Hello: hello}}); err != nil {
		return err
	}
	in := make(chan *pb.MasterMessage, 16)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			in <- m
		}
	}()

	// Only this goroutine sends (a stream's Send is not safe for
	// concurrent use).
	var (
		testID, gen uint64
		users       int32
		seq         uint64
		next        int
		hbInt       = 3 * time.Second
		stopped     bool // sent Stopped: the master may now go away
	)
	status := func() *pb.Heartbeat {
		h := &pb.Heartbeat{CpuPercent: 12.5, MemoryBytes: 64 << 20}
		if testID != 0 {
			h.TestId, h.TargetsGeneration, h.Users = testID, gen, users
			h.UsersByClass = map[string]int32{"visitor": users}
		}
		return h
	}
	report := func(final bool) error {
		t := s.templates[next%len(s.templates)]
		next++
		seq++
		now := time.Now()
		d := &pb.Delta{StartUnixNano: now.Add(-time.Second).UnixNano(), EndUnixNano: now.UnixNano(), Entries: t.d.Entries}
		if err := stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Report{Report: &pb.Report{Seq: seq, TestId: testID, Delta: d, Final: final, Status: status()}}}); err != nil {
			return err
		}
		s.tally.requests.Add(t.requests)
		s.tally.reports.Add(1)
		return nil
	}
	time.Sleep(s.phase)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	lastSent := time.Now()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-recvErr:
			if stopped {
				return nil
			}
			return err
		case m := <-in:
			switch x := m.Msg.(type) {
			case *pb.MasterMessage_Welcome:
				if x.Welcome.HeartbeatIntervalMs > 0 {
					hbInt = time.Duration(x.Welcome.HeartbeatIntervalMs) * time.Millisecond
				}
			case *pb.MasterMessage_Prepare:
				err = stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Prepared{Prepared: &pb.Prepared{TestId: x.Prepare.TestId, ScriptSha256: x.Prepare.ScriptSha256}}})
			case *pb.MasterMessage_Targets:
				testID, gen = x.Targets.TestId, x.Targets.Generation
				users = 0
				for _, u := range x.Targets.GetClosed().GetUsers() {
					users += u
				}
				err = stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: status()}})
			case *pb.MasterMessage_Stop:
				if testID == x.Stop.TestId {
					if err = report(true); err == nil {
						err = stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Stopped{Stopped: &pb.Stopped{TestId: testID, LastSeq: seq}}})
					}
					testID, users, stopped = 0, 0, true
				}
			case *pb.MasterMessage_Quit:
				return nil
			case *pb.MasterMessage_Reject:
				return fmt.Errorf("rejected: %s", x.Reject.Reason)
			}
			if err != nil {
				return err
			}
			lastSent = time.Now()
		case <-tick.C:
			if testID != 0 && users > 0 {
				err = report(false)
			} else if time.Since(lastSent) >= hbInt-time.Second {
				err = stream.Send(&pb.WorkerMessage{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: status()}})
			}
			if err != nil {
				return err
			}
			lastSent = time.Now()
		}
	}
}

func waitListen(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the master does not listen on %s: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}
