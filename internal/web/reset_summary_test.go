package web

import (
	"encoding/json"
	"io"
	"net/url"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/output"
)

// TestSummaryAfterReset: after "Reset stats" the downloaded summary (what
// the HTML report is made from) says when the statistics were reset, and
// its start is that moment, so its rates cover the time since.
func TestSummaryAfterReset(t *testing.T) {
	f := newFixture(t, "", false)
	f.start(url.Values{"user_count": {"2"}, "spawn_rate": {"2"}})
	f.waitRequests()
	time.Sleep(100 * time.Millisecond)
	before := time.Now()
	res := f.do("POST", "/stats/reset", "", "", "", "")
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("reset: %d", res.StatusCode)
	}
	f.waitRequests()
	res = f.do("GET", "/stats/summary.json", "", "", "", "")
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var doc output.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("summary: %v\n%s", err, b)
	}
	at := doc.Stats.ResetAt
	if at == nil || at.Before(before) || at.After(time.Now()) {
		t.Fatalf("reset_at = %v, want the reset's time (after %v)", at, before)
	}
	if !doc.Stats.Start.Equal(*at) || !doc.Run.Start.Before(*at) {
		t.Errorf("stats start %v, run start %v, reset %v: want the statistics to start at the reset, the run before it", doc.Stats.Start, doc.Run.Start, *at)
	}
}
