package report

import (
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// FuzzFromCSV: whatever CSV files `stampede report` is given, it either
// refuses them with an error or reads numbers that are finite and not
// negative, and the HTML report and the JSON document render.
func FuzzFromCSV(f *testing.F) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "locust", name))
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	statsCSV, history, failures, exceptions := read("locust_stats.csv"), read("locust_full_stats_history.csv"), read("locust_failures.csv"), read("locust_exceptions.csv")
	f.Add(statsCSV, history, failures, exceptions)
	f.Add(statsCSV, read("locust_stats_history.csv"), "", "")
	const hdr = "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%\n"
	f.Add(hdr+"GET,/,-5,-1,1,1,1,1,1e300,1,1,1,1,1,1,1,1,1,1,1,1,1\n,Aggregated,1e300,1e19,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A\n", "", "", "")
	f.Add(hdr, "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,99%,Total Request Count,Total Failure Count\n1e300,-3,,Aggregated,1,1,1,1,1,5,1\n", "Method,Name,Error,Occurrences\nGET,/,x,-2\n", "Count,Message\n9.3e18,boom\n")
	f.Fuzz(func(t *testing.T, statsCSV, history, failures, exceptions string) {
		dir := t.TempDir()
		prefix := filepath.Join(dir, "run")
		for suffix, content := range map[string]string{output.SuffixStats: statsCSV, output.SuffixHistory: history, output.SuffixFailures: failures, output.SuffixExceptions: exceptions} {
			if content == "" && suffix != output.SuffixStats {
				continue
			}
			if err := os.WriteFile(prefix+suffix, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		d, err := FromCSV(prefix)
		if err != nil {
			return
		}
		sum := d.Doc.Stats
		for _, e := range append(append([]stats.EntryStats(nil), sum.Entries...), sum.Total) {
			checkEntry(t, e)
		}
		for _, p := range sum.History {
			if p.Users < 0 || p.Requests < 0 || p.Failures < 0 || !okNum(p.RPS) || !okNum(p.FailPerSec) || !okNum(p.P50) || !okNum(p.P95) || !okNum(p.P99) {
				t.Fatalf("history point out of range: %+v", p)
			}
		}
		for _, e := range sum.Errors {
			if e.Occurrences < 0 {
				t.Fatalf("failure %+v", e)
			}
		}
		for _, x := range sum.Exceptions {
			if x.Count < 0 {
				t.Fatalf("exception %+v", x)
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

func checkEntry(t *testing.T, e stats.EntryStats) {
	t.Helper()
	if e.Requests < 0 || e.Failures < 0 || e.TotalContentBytes < 0 {
		t.Fatalf("negative count: %+v", e)
	}
	for _, v := range append([]float64{e.MedianMs, e.AvgMs, e.MinMs, e.MaxMs, e.AvgContentSize, e.RPS, e.FailPerSec}, e.Percentiles[:]...) {
		if !okNum(v) {
			t.Fatalf("number out of range in %+v", e)
		}
	}
}

func okNum(v float64) bool { return v >= 0 && !math.IsInf(v, 1) }
