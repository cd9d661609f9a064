package web

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// TestOutputsSurviveNonFiniteValues: a NaN in what the engine reports (a
// worker's CPU use here) once made /stats/requests answer an empty body,
// summary.json a 500 and the event stream go silent, for the rest of the
// run. Each now answers, with the value written as 0.
func TestOutputsSurviveNonFiniteValues(t *testing.T) {
	f := newFixture(t, "", true)
	f.drv.nanCPU = true
	f.start(url.Values{"user_count": {"5"}, "spawn_rate": {"5"}})
	f.waitRequests()
	for _, path := range []string{"/stats/requests", "/stats/summary.json"} {
		var v map[string]any
		f.getJSON(path, &v)
		if len(v) == 0 {
			t.Errorf("GET %s: an empty answer", path)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.ts.URL+"/api/events", nil)
	res, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := bufio.NewReader(res.Body)
	for range 2 {
		ev := readEvent(t, r)
		ws := ev["workers"].([]any)
		if len(ws) != 2 {
			t.Fatalf("workers %v", ws)
		}
	}
}
