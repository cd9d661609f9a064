package web

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// LogRing keeps the last log lines of the process for the UI's Logs tab:
// its Handler passes every record on and remembers a bounded copy.
type LogRing struct {
	mu    sync.Mutex
	lines []LogLine // a ring of at most max lines
	start int       // index of the oldest line
	next  uint64    // sequence number of the next line
	max   int
}

// LogLine is one remembered record.
type LogLine struct {
	Seq   uint64
	Time  time.Time
	Level slog.Level
	Msg   string
	// Attrs are the record's attributes as key=value text.
	Attrs string
}

// maxLogLine bounds one remembered line: a log line quoting a large
// response must not fill the event stream.
const maxLogLine = 2000

// NewLogRing keeps the last n lines (at least 1).
func NewLogRing(n int) *LogRing {
	return &LogRing{max: max(n, 1)}
}

func (r *LogRing) add(l LogLine) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l.Seq = r.next
	r.next++
	if len(r.lines) < r.max {
		r.lines = append(r.lines, l)
		return
	}
	r.lines[r.start] = l
	r.start = (r.start + 1) % r.max
}

// Since returns the remembered lines from sequence number seq on (the
// older ones are gone), at most limit of the newest, and the sequence
// number to ask for next.
func (r *LogRing) Since(seq uint64, limit int) ([]LogLine, uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []LogLine
	for i := range r.lines {
		l := r.lines[(r.start+i)%len(r.lines)]
		if l.Seq >= seq {
			out = append(out, l)
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, r.next
}

// Handler wraps next: records go to next and into the ring, for the
// levels next handles.
func (r *LogRing) Handler(next slog.Handler) slog.Handler {
	return &ringHandler{next: next, ring: r}
}

type ringHandler struct {
	next   slog.Handler
	ring   *LogRing
	prefix string // the attributes of WithAttrs, as text
	group  string
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(h.prefix)
	rec.Attrs(func(a slog.Attr) bool {
		writeAttr(&b, h.group, a)
		return true
	})
	msg, attrs := stats.Cut(rec.Message, maxLogLine), stats.Cut(strings.TrimSpace(b.String()), maxLogLine)
	h.ring.add(LogLine{Time: rec.Time, Level: rec.Level, Msg: msg, Attrs: attrs})
	return h.next.Handle(ctx, rec)
}

func writeAttr(b *strings.Builder, group string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		g := a.Key
		if group != "" {
			g = group + "." + g
		}
		for _, x := range a.Value.Group() {
			writeAttr(b, g, x)
		}
		return
	}
	key := a.Key
	if group != "" {
		key = group + "." + key
	}
	v := a.Value.String()
	if strings.ContainsAny(v, " \t\n\"=") || v == "" {
		v = fmt.Sprintf("%q", v)
	}
	b.WriteString(" " + key + "=" + v)
}

func (h *ringHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.prefix)
	for _, a := range attrs {
		writeAttr(&b, h.group, a)
	}
	return &ringHandler{next: h.next.WithAttrs(attrs), ring: h.ring, prefix: b.String(), group: h.group}
}

func (h *ringHandler) WithGroup(name string) slog.Handler {
	g := name
	if h.group != "" {
		g = h.group + "." + name
	}
	return &ringHandler{next: h.next.WithGroup(name), ring: h.ring, prefix: h.prefix, group: g}
}
