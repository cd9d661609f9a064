package web

import (
	"bufio"
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"testing"
	"time"
)

// The failure rows of /stats/requests and of an event are the 500 most
// frequent, at that bound's edge: with 500 distinct failures of /e plus
// the driver's one other, the least frequent of /e is left out of both,
// and the failures CSV still has every row.
func TestFailureRowsCapped(t *testing.T) {
	f := newFixture(t, "", false)
	f.drv.errors = maxErrorRows
	f.start(url.Values{"user_count": {"1"}, "spawn_rate": {"1"}})
	f.waitRequests()

	var st struct {
		Errors []struct {
			Error       string
			Occurrences int64
		}
	}
	f.getJSON("/stats/requests", &st)
	if len(st.Errors) != maxErrorRows {
		t.Fatalf("/stats/requests: %d failure rows, want %d", len(st.Errors), maxErrorRows)
	}
	for _, e := range st.Errors {
		if e.Error == "HTTP 500" {
			t.Errorf("/stats/requests kept the least frequent failure (%d occurrences)", e.Occurrences)
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
	ev := readEvent(t, bufio.NewReader(res.Body))
	if n := len(ev["errors"].([]any)); n != maxEventErrors {
		t.Errorf("event: %d failure rows, want %d", n, maxEventErrors)
	}

	res = f.do("GET", "/stats/failures/csv", "", "", "", "")
	defer res.Body.Close()
	rows, err := csv.NewReader(res.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+maxErrorRows+1 {
		t.Errorf("failures CSV: %d rows, want a header and %d", len(rows), maxErrorRows+1)
	}
}
