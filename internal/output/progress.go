package output

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProgressLine is one status update of a running test.
type ProgressLine struct {
	Elapsed time.Duration
	// Remaining is the time left; 0 when unknown (no run time).
	Remaining time.Duration
	Users     int
	RPS       float64
	// P50 and P95 are the current response time percentiles in ms.
	P50, P95 float64
	// FailRatio is failures / requests (0..1).
	FailRatio float64
	Requests  int64
	// State is the runner's state, e.g. "spawning", "running", "stopping".
	State string
	// Extra, when set, ends the line: the workload's own state, e.g. a
	// shape's stage or the open model's rate and dropped iterations.
	Extra string
}

// String formats the line, e.g.
//
//	00:42/05:00 running users 100 | 1234.5 req/s | p50 12.3 ms p95 45.6 ms | fail 0.12% | 51234 reqs
func (p ProgressLine) String() string {
	var b strings.Builder
	b.WriteString(clock(p.Elapsed))
	if p.Remaining > 0 {
		b.WriteByte('/')
		b.WriteString(clock(p.Elapsed + p.Remaining))
	}
	if p.State != "" {
		b.WriteByte(' ')
		b.WriteString(p.State)
	}
	fmt.Fprintf(&b, " users %d | %s req/s | p50 %s ms p95 %s ms | fail %s%% | %d reqs",
		p.Users, strconv.FormatFloat(p.RPS, 'f', 1, 64), ConsoleMs(p.P50), ConsoleMs(p.P95),
		strconv.FormatFloat(p.FailRatio*100, 'f', 2, 64), p.Requests)
	if p.Extra != "" {
		b.WriteString(" | ")
		b.WriteString(p.Extra)
	}
	return b.String()
}

// clock formats d as MM:SS, or H:MM:SS from one hour.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/60, s%60)
}

// Progress reports a running test on a terminal or a log.
//
// On a terminal (tty) every Update rewrites one status line in place and
// Done erases it, so the end-of-run summary starts on a clean line.
// Otherwise every Update prints one line; the caller decides how often.
// It is safe for concurrent use.
type Progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	written bool // a tty line is on screen
}

// NewProgress returns a reporter writing to w.
func NewProgress(w io.Writer, tty bool) *Progress { return &Progress{w: w, tty: tty} }

// Update shows p.
func (pr *Progress) Update(p ProgressLine) {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	line := p.String()
	if pr.tty {
		// Carriage return, the line, then erase whatever a longer previous
		// line left to the right of it.
		fmt.Fprint(pr.w, "\r"+line+"\x1b[K")
		pr.written = true
		return
	}
	fmt.Fprintln(pr.w, line)
}

// Done erases the status line on a terminal, leaving the cursor at the
// start of the empty line. Update may be called again afterwards.
func (pr *Progress) Done() {
	pr.mu.Lock()
	defer pr.mu.Unlock()
	if pr.tty && pr.written {
		fmt.Fprint(pr.w, "\r\x1b[K")
		pr.written = false
	}
}
