package report

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzFromJSON: whatever JSON summary `stampede report --json` is given,
// it either refuses it with an error or reads statistics that are finite
// and not negative, and the HTML report renders.
func FuzzFromJSON(f *testing.F) {
	f.Add(`{"format":"stampede-summary/1","run":{"id":"r","users":2,"spawn_rate":1,"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:10Z"},` +
		`"stats":{"start":"2026-01-01T00:00:00Z","end":"2026-01-01T00:00:10Z","entries":[{"method":"GET","name":"/a","num_requests":10,"num_failures":1,"percentiles":{"50":3,"95":9}}],` +
		`"total":{"name":"Aggregated","num_requests":10,"num_failures":1},"failures":[{"method":"GET","name":"/a","error":"HTTP 500","occurrences":1}],` +
		`"exceptions":[{"count":1,"msg":"boom","traceback":"t.star:1"}],"history":[{"time":"2026-01-01T00:00:01Z","users":2,"rps":5,"p95_ms":9,"regions":{"eu":{"rps":5}}}],` +
		`"distribution":[{"le_ms":1,"count":3},{"le_ms":10,"count":7}]}}`)
	f.Add(`{"stats":{"total":{"num_requests":-5}}}`)
	f.Add(`{"stats":{"entries":[{"service_time":{"max":1e308,"percentiles":{"99":-1}}}],"history":[{"users":-1000000}]}}`)
	f.Add(`{"format":"locust/2","stats":{}}`)
	f.Add(`{"stats":{"distribution":[{"le_ms":1e308,"count":9223372036854775807},{"le_ms":0,"count":1}]}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		path := filepath.Join(t.TempDir(), "run.json")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := FromJSON(path)
		if err != nil {
			return
		}
		sum := d.Doc.Stats
		for _, e := range append(sum.Entries, sum.Total) {
			checkEntry(t, e)
		}
		for _, p := range sum.History {
			if p.Users < 0 || p.Requests < 0 || p.Failures < 0 || !okNum(p.RPS) || !okNum(p.P95) {
				t.Fatalf("history point out of range: %+v", p)
			}
		}
		if _, err := json.Marshal(d.Doc); err != nil {
			t.Fatalf("the document does not encode: %v", err)
		}
		if err := Render(io.Discard, d); err != nil {
			t.Fatalf("the report does not render: %v", err)
		}
	})
}
