//go:build unix

// Command openmodel measures how closely the open model's pacer follows
// its schedule: at a constant 10,000/s and 50,000/s, and on a ramp from 0
// to the highest rate, on one core (GOMAXPROCS=1 by default), it reports
// the iterations sent against the schedule, the achieved rate per 100 ms
// window against the target, the start lag (actual start − intended
// start) and the CPU spent per iteration.
//
//	go run ./bench/openmodel                  # no-op iterations: the pacer and pool alone
//	go run ./bench/openmodel -http            # one GET each to a loopback server (in a child process)
//	go run ./bench/openmodel -rates 1000,10000,50000 -duration 10s -procs 1
//
// Load goes only to 127.0.0.1, and every run is bounded by -duration.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/stampede-load/stampede/bench/internal/childserver"
	"github.com/stampede-load/stampede/internal/openmodel"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/workload"
)

func main() {
	rates := flag.String("rates", "10000,50000", "constant rates to measure, iterations per second")
	duration := flag.Duration("duration", 5*time.Second, "length of each run")
	procs := flag.Int("procs", 1, "GOMAXPROCS of the load generator")
	useHTTP := flag.Bool("http", false, "each iteration sends one GET to a loopback server in a child process (default: a no-op task)")
	maxUsers := flag.Int("max-users", 1000, "pool size")
	ramp := flag.Bool("ramp", true, "also measure a ramp from 0 to the highest rate over -duration")
	serve := flag.String("serve", "", "internal: serve HTTP on this address (the child process)")
	flag.Parse()
	if *serve != "" {
		runServer(*serve)
		return
	}
	runtime.GOMAXPROCS(*procs)

	host := "http://127.0.0.1:1" // never dialled by the no-op task
	src := "def t(u):\n    pass\nv = user(tasks=[t])\n"
	if *useHTTP {
		// the server runs in a child process, so that it does not share
		// the load generator's core
		addr, stop, err := childserver.Start(func(exe, addr string) []string { return []string{exe, "-serve", addr} })
		if err != nil {
			fmt.Fprintln(os.Stderr, "server:", err)
			os.Exit(1)
		}
		defer stop()
		host = "http://" + addr
		src = "def t(u):\n    u.http.get(\"/\")\nv = user(tasks=[t])\n"
	}
	sc, err := script.LoadFiles("bench.star", map[string][]byte{"bench.star": []byte(src)}, script.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	mode := "no-op iterations"
	if *useHTTP {
		mode = "one loopback GET per iteration (server in a child process)"
	}
	fmt.Printf("open model pacer accuracy: %s, GOMAXPROCS=%d, %s per run, pool %d, %s/%s\n\n", mode, *procs, *duration, *maxUsers, runtime.GOOS, runtime.GOARCH)
	fmt.Printf("%-22s %9s %9s %8s %8s | %8s %8s | %8s %8s %8s %8s | %7s\n",
		"schedule", "due", "started", "dropped", "sent %", "win MAE%", "win max%", "lag p50", "lag p90", "lag p99", "lag max", "µs CPU")
	var peak float64
	for _, f := range strings.Split(*rates, ",") {
		r, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || r <= 0 {
			fmt.Fprintf(os.Stderr, "-rates: %q is not a rate\n", f)
			os.Exit(2)
		}
		peak = math.Max(peak, r)
		measure(sc, host, fmt.Sprintf("constant %g/s", r), workload.Constant(r), *duration, *maxUsers)
	}
	if *ramp {
		measure(sc, host, fmt.Sprintf("ramp 0→%g/s", peak),
			workload.Ramping(0, []workload.ArrivalStage{{Duration: *duration, Rate: peak}}), *duration, *maxUsers)
	}
	fmt.Println(`
due: iterations the schedule asks for; started: iterations started;
sent %: started / due. win MAE% / win max%: mean and worst absolute
difference between the iterations started in each 100 ms window and the
schedule's count for that window, in % of the latter (windows after the
first). lag: actual start − intended start of each iteration (what the
corrected latency adds to the service time). µs CPU: user+system CPU time
of this process per started iteration.`)
}

func measure(sc *script.Script, host, name string, sched *workload.Schedule, d time.Duration, maxUsers int) {
	n := int(math.Ceil(sched.Count(d.Seconds()))) + 16
	lags := make([]int64, n)
	starts := make([]int64, n)
	var idx atomic.Int64
	done := make(chan struct{})
	s, err := openmodel.New(openmodel.Config{
		Script: sc, Host: host, Schedule: sched, End: d, MaxUsers: maxUsers, QueueSize: 100000,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnFinish: func() { close(done) },
		OnIteration: func(intended, started time.Time) {
			if i := idx.Add(1) - 1; i < int64(n) {
				lags[i] = started.Sub(intended).Nanoseconds()
				starts[i] = started.UnixNano()
			}
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	runtime.GC()
	cpu0 := cpuTime()
	s.Start(context.Background())
	select {
	case <-done:
	case <-time.After(d + 30*time.Second):
		fmt.Fprintln(os.Stderr, name, ": did not finish")
	}
	cpu := cpuTime() - cpu0
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	s.Stop(ctx)
	cancel()
	st := s.Status()
	m := int(min(idx.Load(), int64(n)))
	due := sched.Count(d.Seconds())

	// windows of 100 ms by actual start, against the schedule's count
	origin := s.Origin().UnixNano()
	const win = 100 * time.Millisecond
	nw := int(d / win)
	got := make([]float64, nw)
	for _, t := range starts[:m] {
		if w := int((t - origin) / int64(win)); w >= 0 && w < nw {
			got[w]++
		}
	}
	var mae, worst float64
	cnt := 0
	for w := 1; w < nw; w++ {
		a, b := float64(w)*win.Seconds(), float64(w+1)*win.Seconds()
		want := sched.Count(b) - sched.Count(a)
		if want < 1 {
			continue
		}
		e := math.Abs(got[w]-want) / want * 100
		mae += e
		worst = math.Max(worst, e)
		cnt++
	}
	if cnt > 0 {
		mae /= float64(cnt)
	}
	l := append([]int64(nil), lags[:m]...)
	sort.Slice(l, func(i, j int) bool { return l[i] < l[j] })
	q := func(p float64) time.Duration {
		if len(l) == 0 {
			return 0
		}
		return time.Duration(l[min(len(l)-1, int(p*float64(len(l))))])
	}
	perIter := 0.0
	if st.Started > 0 {
		perIter = float64(cpu.Microseconds()) / float64(st.Started)
	}
	fmt.Printf("%-22s %9.0f %9d %8d %8.2f | %8.2f %8.2f | %8s %8s %8s %8s | %7.2f\n",
		name, due, st.Started, st.Dropped, 100*float64(st.Started)/due, mae, worst,
		fmtDur(q(0.5)), fmtDur(q(0.9)), fmtDur(q(0.99)), fmtDur(q(1)), perIter)
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%dns", d.Nanoseconds())
	case d < time.Millisecond:
		return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1e3)
	default:
		return fmt.Sprintf("%.2fms", float64(d.Nanoseconds())/1e6)
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runServer(addr string) {
	if !strings.HasPrefix(addr, "127.") {
		fmt.Fprintln(os.Stderr, "-serve: loopback addresses only")
		os.Exit(2)
	}
	srv := &http.Server{Addr: addr, Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Write([]byte("ok"))
	})}
	go func() {
		time.Sleep(10 * time.Minute) // bounded: never outlive a benchmark
		os.Exit(0)
	}()
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
