package output

import (
	"fmt"
	"io"

	"github.com/stampede-load/stampede/internal/stats"
)

// SuffixServiceStats is the open model's extra CSV: the columns of
// _stats.csv with the service times (actual send to response) in place
// of the response times, which in the open model are measured from each
// iteration's intended start. Locust's own files keep their exact
// headers; this file only exists for open-model runs.
const SuffixServiceStats = "_service_stats.csv"

// HasServiceTimes reports whether s is an open-model run's summary,
// whose entries carry service times beside the corrected latencies.
func HasServiceTimes(s *stats.Summary) bool {
	return s != nil && s.Total.Service != nil
}

// serviceView returns e with its times replaced by its service times.
func serviceView(e stats.EntryStats) stats.EntryStats {
	if e.Service == nil {
		return e
	}
	e.AvgMs, e.MinMs, e.MaxMs = e.Service.AvgMs, e.Service.MinMs, e.Service.MaxMs
	e.Percentiles = e.Service.Percentiles
	e.MedianMs = e.Service.Percentiles.At(50)
	return e
}

// WriteServiceStatsCSV writes _service_stats.csv: _stats.csv's header
// and rows, with service times.
func WriteServiceStatsCSV(w io.Writer, s *stats.Summary) error {
	cw := newCSVWriter(w)
	cw.row(StatsHeader())
	for _, e := range sortedEntries(s.Entries) {
		v := serviceView(e)
		cw.row(statsRow(nil, &v))
	}
	total := serviceView(aggregated(s.Total))
	cw.row(statsRow(nil, &total))
	return cw.err
}

// printServiceTimes prints the open model's note and service-time
// percentiles after the default (corrected) tables.
func printServiceTimes(w io.Writer, s *stats.Summary) {
	if !HasServiceTimes(s) {
		return
	}
	var entries []stats.EntryStats
	for _, e := range sortedEntries(s.Entries) {
		entries = append(entries, serviceView(e))
	}
	total := serviceView(aggregated(s.Total))
	fmt.Fprintln(w, "Service time percentiles (ms): from the actual send, without the wait for a free user or a late start")
	percentileTable(entries, &total).render(w)
	fmt.Fprintln(w)
}

// openModelNote heads the tables of an open-model run.
const openModelNote = "Open model: response times are measured from each iteration's intended start (corrected for coordinated omission); service times follow.\n"
