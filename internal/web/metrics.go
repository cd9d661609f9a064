package web

import (
	"net/http"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/stats"
)

var allStates = []engine.State{engine.StateReady, engine.StateSpawning, engine.StateRunning, engine.StateStopping, engine.StateStopped}

// collector reads the engine's summary at scrape time: nothing is
// recorded twice and the numbers match the UI and the CSV files.
//
// Series with region="" are the whole test; in a distributed test each
// region also has its own series (do not add the two kinds together).
// The row named "Aggregated" (method "") is the total over all requests.
type collector struct {
	s *Server

	requests, failures, responseTime, contentBytes *prometheus.Desc
	currentRPS, currentFPS                         *prometheus.Desc
	users, targetUsers, workers, state, failRatio  *prometheus.Desc
	exceptions, dropped                            *prometheus.Desc
}

func newCollector(s *Server) *collector {
	l := []string{"method", "name", "region"}
	return &collector{
		s:            s,
		requests:     prometheus.NewDesc("stampede_requests_total", "Requests made, per request name and region.", l, nil),
		failures:     prometheus.NewDesc("stampede_failures_total", "Failed requests, per request name and region.", l, nil),
		responseTime: prometheus.NewDesc("stampede_response_time_seconds", "Response times (Locust's percentile set; exact count and sum).", l, nil),
		contentBytes: prometheus.NewDesc("stampede_response_bytes_total", "Response body bytes received.", l, nil),
		currentRPS:   prometheus.NewDesc("stampede_current_rps", "Requests per second over the last seconds.", l, nil),
		currentFPS:   prometheus.NewDesc("stampede_current_fail_per_sec", "Failures per second over the last seconds.", l, nil),
		users:        prometheus.NewDesc("stampede_users", "Running virtual users.", nil, nil),
		targetUsers:  prometheus.NewDesc("stampede_target_users", "Users asked for by the current test.", nil, nil),
		workers:      prometheus.NewDesc("stampede_workers", "Connected workers (0 for a local run).", nil, nil),
		state:        prometheus.NewDesc("stampede_state", "1 for the test's current state.", []string{"state"}, nil),
		failRatio:    prometheus.NewDesc("stampede_fail_ratio", "Failed requests / requests since the test (or the last reset) began.", nil, nil),
		exceptions:   prometheus.NewDesc("stampede_exceptions_total", "Script errors.", nil, nil),
		dropped:      prometheus.NewDesc("stampede_dropped_iterations_total", "Open-model iterations that could not start.", nil, nil),
	}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	e := c.s.cfg.Engine
	sum := c.s.snapshot()
	for i := range sum.Entries {
		c.entry(ch, &sum.Entries[i], "")
	}
	total := sum.Total
	total.Method, total.Name = "", "Aggregated"
	c.entry(ch, &total, "")
	for _, rg := range sum.Regions {
		for i := range rg.Entries {
			c.entry(ch, &rg.Entries[i], rg.Region)
		}
		t := rg.Total
		t.Method, t.Name = "", "Aggregated"
		c.entry(ch, &t, rg.Region)
	}
	ch <- prometheus.MustNewConstMetric(c.users, prometheus.GaugeValue, float64(e.Users()))
	ch <- prometheus.MustNewConstMetric(c.targetUsers, prometheus.GaugeValue, float64(e.Params().Users))
	_, active := workersJSON(e.Workers())
	ch <- prometheus.MustNewConstMetric(c.workers, prometheus.GaugeValue, float64(active))
	cur := e.State()
	for _, st := range allStates {
		v := 0.0
		if st == cur {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, string(st))
	}
	ch <- prometheus.MustNewConstMetric(c.failRatio, prometheus.GaugeValue, sum.FailRatio())
	var exc int64
	for _, x := range sum.Exceptions {
		exc += x.Count
	}
	ch <- prometheus.MustNewConstMetric(c.exceptions, prometheus.CounterValue, float64(exc))
	ch <- prometheus.MustNewConstMetric(c.dropped, prometheus.CounterValue, float64(sum.Dropped))
}

func (c *collector) entry(ch chan<- prometheus.Metric, e *stats.EntryStats, region string) {
	// Label values must be UTF-8 or the whole scrape fails; request names
	// come from scripts and URLs, so repair them.
	lv := []string{strings.ToValidUTF8(e.Method, "\uFFFD"), strings.ToValidUTF8(e.Name, "\uFFFD"), strings.ToValidUTF8(region, "\uFFFD")}
	ch <- prometheus.MustNewConstMetric(c.requests, prometheus.CounterValue, float64(e.Requests), lv...)
	ch <- prometheus.MustNewConstMetric(c.failures, prometheus.CounterValue, float64(e.Failures), lv...)
	ch <- prometheus.MustNewConstMetric(c.contentBytes, prometheus.CounterValue, float64(e.TotalContentBytes), lv...)
	ch <- prometheus.MustNewConstMetric(c.currentRPS, prometheus.GaugeValue, e.CurrentRPS, lv...)
	ch <- prometheus.MustNewConstMetric(c.currentFPS, prometheus.GaugeValue, e.CurrentFailPerSec, lv...)
	q := make(map[float64]float64, stats.NumPercentiles)
	for i, p := range stats.PercentileSet {
		q[p/100] = e.Percentiles[i] / 1000
	}
	sumSeconds := e.AvgMs * float64(e.Requests) / 1000
	ch <- prometheus.MustNewConstSummary(c.responseTime, uint64(max(e.Requests, 0)), sumSeconds, q, lv...)
}

// metricsHandler serves the engine's collector plus Go and process
// metrics, from a registry of this server's own.
func (s *Server) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(newCollector(s), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}
