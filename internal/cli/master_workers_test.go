package cli

import (
	"slices"
	"testing"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// TestTestWorkers: a test's results list the workers that took part in it,
// not every worker the master has known.
func TestTestWorkers(t *testing.T) {
	all := []output.WorkerInfo{
		{ID: "counted", State: output.WorkerStopped},
		{ID: "lost", State: output.WorkerMissing},
		{ID: "running", State: output.WorkerRunning, Users: 3},
		{ID: "earlier-test", State: output.WorkerReady},
		{ID: "gone-earlier", State: output.WorkerMissing},
	}
	doc := &output.Document{
		Stats: &stats.Summary{WorkerTotals: []stats.WorkerTotal{{Worker: "counted"}}},
		Lost:  []output.LostWorker{{ID: "lost"}},
	}
	var got []string
	for _, w := range testWorkers(all, doc) {
		got = append(got, w.ID)
	}
	if want := []string{"counted", "lost", "running"}; !slices.Equal(got, want) {
		t.Errorf("workers of the test = %v, want %v", got, want)
	}
}
