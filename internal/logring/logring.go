// Package logring keeps a process's last log lines for the web UI's Logs
// tab, and on a master also the lines its workers forward.
package logring

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// Ring keeps the process's own last lines and, apart, the last lines
// forwarded by workers, so a chatty worker cannot push the master's own
// lines out. Both share one sequence, which the event stream follows.
type Ring struct {
	mu   sync.Mutex
	own  buffer
	fwd  buffer
	next uint64 // sequence number of the next line
}

// Line is one remembered record.
type Line struct {
	Seq   uint64
	Time  time.Time
	Level slog.Level
	Msg   string
	// Attrs are the record's attributes as key=value text.
	Attrs string
	// Worker and Region say which worker forwarded the line (empty: the
	// process's own).
	Worker, Region string
}

// MaxLine bounds one remembered message and its attributes each: a log
// line quoting a large response must not fill the event stream.
const MaxLine = 2000

// New keeps the last n lines of the process and the last n forwarded
// ones (at least 1 each).
func New(n int) *Ring {
	n = max(n, 1)
	return &Ring{own: buffer{max: n}, fwd: buffer{max: n}}
}

// buffer is a ring of at most max lines.
type buffer struct {
	lines []Line
	start int // index of the oldest line
	max   int
}

func (b *buffer) add(l Line) {
	if len(b.lines) < b.max {
		b.lines = append(b.lines, l)
		return
	}
	b.lines[b.start] = l
	b.start = (b.start + 1) % b.max
}

// from appends the lines from sequence number seq on, oldest first.
func (b *buffer) from(seq uint64, out []Line) []Line {
	for i := range b.lines {
		if l := b.lines[(b.start+i)%len(b.lines)]; l.Seq >= seq {
			out = append(out, l)
		}
	}
	return out
}

// Add remembers a line; a line with a Worker goes with the forwarded
// ones. Message and attributes are cut at MaxLine.
func (r *Ring) Add(l Line) {
	l.Msg, l.Attrs = stats.Cut(l.Msg, MaxLine), stats.Cut(l.Attrs, MaxLine)
	r.mu.Lock()
	defer r.mu.Unlock()
	l.Seq = r.next
	r.next++
	if l.Worker != "" {
		r.fwd.add(l)
	} else {
		r.own.add(l)
	}
}

// Since returns the remembered lines from sequence number seq on (the
// older ones are gone), at most limit of the newest, oldest first, and
// the sequence number to ask for next.
func (r *Ring) Since(seq uint64, limit int) ([]Line, uint64) {
	r.mu.Lock()
	own := r.own.from(seq, nil)
	fwd := r.fwd.from(seq, nil)
	next := r.next
	r.mu.Unlock()
	out := own
	if len(fwd) > 0 {
		out = make([]Line, 0, len(own)+len(fwd))
		i, j := 0, 0
		for i < len(own) || j < len(fwd) {
			if j == len(fwd) || i < len(own) && own[i].Seq < fwd[j].Seq {
				out = append(out, own[i])
				i++
			} else {
				out = append(out, fwd[j])
				j++
			}
		}
	}
	if len(out) > limit {
		out = out[len(out)-limit:]
	}
	return out, next
}

// notKept marks a record that is already in the ring (a worker's line the
// master also prints): the Handler passes it on without keeping it again.
type notKept struct{}

// Printed returns a context under which the Handler only passes records
// on: for a line already added with Add.
func Printed(ctx context.Context) context.Context {
	return context.WithValue(ctx, notKept{}, true)
}

// Handler wraps next: records go to next and into the ring, for the
// levels next handles.
func (r *Ring) Handler(next slog.Handler) slog.Handler {
	return &ringHandler{next: next, ring: r}
}

type ringHandler struct {
	next   slog.Handler
	ring   *Ring
	prefix string // the attributes of WithAttrs, as text
	group  string
}

func (h *ringHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *ringHandler) Handle(ctx context.Context, rec slog.Record) error {
	if ctx.Value(notKept{}) == nil {
		var b strings.Builder
		b.WriteString(h.prefix)
		rec.Attrs(func(a slog.Attr) bool {
			writeAttr(&b, h.group, a)
			return true
		})
		h.ring.Add(Line{Time: rec.Time, Level: rec.Level, Msg: rec.Message, Attrs: strings.TrimSpace(b.String())})
	}
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

// ParseAttrs reads back the key=value text a Line's Attrs holds (values
// with spaces, quotes or '=' Go-quoted), so a master can print a worker's
// attributes as attributes again. ok is false when s is not in that form
// (a hostile or cut line): the caller then shows it whole.
func ParseAttrs(s string) (attrs []slog.Attr, ok bool) {
	for s != "" {
		s = strings.TrimLeft(s, " ")
		key, rest, found := strings.Cut(s, "=")
		if !found || key == "" || strings.ContainsAny(key, " \t\n\"") {
			return nil, false
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, false
			}
			if val, err = strconv.Unquote(q); err != nil {
				return nil, false
			}
			rest = rest[len(q):]
		} else {
			val, rest, _ = strings.Cut(rest, " ")
			rest = " " + rest
		}
		if rest != "" && rest[0] != ' ' {
			return nil, false
		}
		attrs = append(attrs, slog.String(key, val))
		s = strings.TrimLeft(rest, " ")
	}
	return attrs, true
}
