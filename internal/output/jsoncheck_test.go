package output

import (
	"bytes"
	"strings"
	"testing"
)

// A summary given to `stampede report` is refused when its statistics
// hold a negative number, naming the field: before, a total of -5
// requests or a negative percentile was rendered as given.
func TestDecodeJSONRefusesNegativeStats(t *testing.T) {
	var honest bytes.Buffer
	if err := EncodeJSON(&honest, &Document{Stats: fixtureSummary(t)}); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeJSON(bytes.NewReader(honest.Bytes())); err != nil {
		t.Fatalf("an honest summary: %v", err)
	}
	tests := []struct{ name, json, want string }{
		{"total requests", `{"stats":{"total":{"num_requests":-5}}}`, "stats.total.num_requests: -5 is negative"},
		{"an entry's failures", `{"stats":{"entries":[{"name":"/a"},{"name":"/b","num_failures":-1}]}}`, "stats.entries[1].num_failures: -1 is negative"},
		{"a percentile", `{"stats":{"total":{"percentiles":{"95":-3}}}}`, "stats.total.percentiles[5]: -3 is negative"},
		{"a service time", `{"stats":{"entries":[{"service_time":{"max":-0.5}}]}}`, "stats.entries[0].service_time.max: -0.5 is negative"},
		{"failure occurrences", `{"stats":{"failures":[{"occurrences":-9}]}}`, "stats.failures[0].occurrences: -9 is negative"},
		{"a history point's users", `{"stats":{"history":[{"users":-1000000}]}}`, "stats.history[0].users: -1000000 is negative"},
		{"a region's history", `{"stats":{"history":[{"regions":{"eu":{"rps":-1}}}]}}`, `stats.history[0].regions["eu"].rps: -1 is negative`},
		{"dropped iterations", `{"stats":{"dropped_iterations":-1}}`, "stats.dropped_iterations: -1 is negative"},
		{"a distribution bucket", `{"stats":{"distribution":[{"le_ms":1,"count":-2}]}}`, "stats.distribution[0].count: -2 is negative"},
		{"a worker's total", `{"stats":{"worker_totals":[{"worker":"w","total":{"total_rps":-1}}]}}`, "stats.worker_totals[0].total.total_rps: -1 is negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJSON(strings.NewReader(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("%v, want an error containing %q", err, tc.want)
			}
		})
	}
}
