package output

import (
	"bytes"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stampede-load/stampede/internal/stats"
)

func TestPrintSummaryGolden(t *testing.T) {
	tests := []struct {
		file    string
		summary func() *stats.Summary
	}{
		{"summary.txt.golden", func() *stats.Summary { return fixtureSummary(t) }},
		{"summary_empty.txt.golden", emptySummary},
		{"summary_local.txt.golden", func() *stats.Summary {
			s := fixtureSummary(t)
			s.Regions, s.Errors, s.Exceptions = nil, nil, nil
			return s
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := PrintSummary(&b, tt.summary()); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.file, b.Bytes())
		})
	}
}

func TestPrintSummarySections(t *testing.T) {
	full := fixtureSummary(t)
	local := fixtureSummary(t)
	local.Regions, local.Errors, local.Exceptions = nil, nil, nil
	tests := []struct {
		name    string
		s       *stats.Summary
		want    []string
		notWant []string
	}{
		{"full", full,
			[]string{"# reqs", "Response time percentiles", "99.99%", "Error report", "POST /api/orders: connection reset by peer", "Script errors", "Per-region statistics", "eu-west", "us-east", "3(3.49%)"},
			nil},
		{"local", local,
			[]string{"Aggregated", "Response time percentiles"},
			[]string{"Error report", "Script errors", "Per-region statistics"}},
		{"empty", emptySummary(),
			[]string{"Aggregated", "0(0.00%)"},
			[]string{"Error report"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := PrintSummary(&b, tt.s); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("missing %q in\n%s", w, out)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(out, w) {
					t.Errorf("unexpected %q in\n%s", w, out)
				}
			}
		})
	}
}

// TestTableAlignment checks every line of a table has the same width and
// long names are cut with an ellipsis.
func TestTableAlignment(t *testing.T) {
	long := strings.Repeat("/segment", 20)
	s := fixtureSummary(t)
	s.Entries = append(s.Entries, stats.EntryStats{Method: "GET", Name: long, Requests: 1, AvgMs: 1, MinMs: 1, MaxMs: 1})
	var b bytes.Buffer
	if err := PrintSummary(&b, s); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, long) {
		t.Error("a name longer than the column was printed whole")
	}
	if !strings.Contains(out, "…") {
		t.Error("no ellipsis for the long name")
	}
	// The first table: its separator lines give the width, and its
	// rows with the last column right-aligned end at the same place.
	block, _, _ := strings.Cut(out, "\n\n")
	lines := strings.Split(block, "\n")
	width := utf8.RuneCountInString(lines[1])
	for _, l := range lines[1:] {
		if n := utf8.RuneCountInString(l); n != width {
			t.Errorf("line width %d, want %d: %q", n, width, l)
		}
	}
	for _, l := range lines {
		if n := utf8.RuneCountInString(l); n > maxNameWidth+120 {
			t.Errorf("line of %d runes: %q", n, l)
		}
	}
}

func TestConsoleMs(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0"}, {0.0421, "0.042"}, {0.5, "0.5"}, {1.234, "1.23"}, {12.34, "12.3"}, {12.0, "12"},
		{123.4, "123"}, {2500, "2500"}, {-1, "0"},
	}
	for _, tt := range tests {
		if got := ConsoleMs(tt.in); got != tt.want {
			t.Errorf("ConsoleMs(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestFailCell(t *testing.T) {
	tests := []struct {
		f, r int64
		want string
	}{
		{0, 0, "0(0.00%)"}, {1, 3, "1(33.33%)"}, {2, 0, "2(100.00%)"}, {5, 5, "5(100.00%)"},
	}
	for _, tt := range tests {
		if got := failCell(tt.f, tt.r); got != tt.want {
			t.Errorf("failCell(%d, %d) = %q, want %q", tt.f, tt.r, got, tt.want)
		}
	}
}

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name string
		p    ProgressLine
		want string
	}{
		{"known end", ProgressLine{Elapsed: 42 * time.Second, Remaining: 258 * time.Second, Users: 100, RPS: 1234.56, P50: 12.34, P95: 45.6, FailRatio: 0.0012, Requests: 51234, State: "running"},
			"00:42/05:00 running users 100 | 1234.6 req/s | p50 12.3 ms p95 45.6 ms | fail 0.12% | 51234 reqs"},
		{"open ended", ProgressLine{Elapsed: 3723 * time.Second, Users: 5, State: "spawning"},
			"1:02:03 spawning users 5 | 0.0 req/s | p50 0 ms p95 0 ms | fail 0.00% | 0 reqs"},
		{"no state", ProgressLine{Elapsed: 1500 * time.Millisecond, Remaining: time.Minute, RPS: 2},
			"00:01/01:01 users 0 | 2.0 req/s | p50 0 ms p95 0 ms | fail 0.00% | 0 reqs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.String(); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestProgress(t *testing.T) {
	a := ProgressLine{Elapsed: time.Second, Remaining: 9 * time.Second, Users: 1, State: "running"}
	b := ProgressLine{Elapsed: 2 * time.Second, Remaining: 8 * time.Second, Users: 2, State: "running"}
	tests := []struct {
		name string
		tty  bool
		want string
	}{
		{"tty", true, "\r" + a.String() + "\x1b[K" + "\r" + b.String() + "\x1b[K" + "\r\x1b[K"},
		{"plain", false, a.String() + "\n" + b.String() + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			p := NewProgress(&out, tt.tty)
			p.Update(a)
			p.Update(b)
			p.Done()
			p.Done() // a second Done writes nothing
			if out.String() != tt.want {
				t.Errorf("got  %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

func TestProgressDoneWithoutUpdate(t *testing.T) {
	var out bytes.Buffer
	NewProgress(&out, true).Done()
	if out.Len() != 0 {
		t.Errorf("Done without Update wrote %q", out.String())
	}
}
