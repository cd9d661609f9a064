package web

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/stats"
)

// DefaultHistoryLimit bounds the full-history file (2,000 request names
// write about 400 KB a second; an hour of that fits).
const DefaultHistoryLimit = 2 << 30

// History keeps the rows of /stats/requests_full_history/csv (Locust's
// _stats_history.csv with a row per entry each second) for the current
// test, in a temporary file so long tests do not grow the heap.
type History struct {
	mu      sync.Mutex
	f       *os.File
	bw      *bufio.Writer
	size    int64
	limit   int64
	full    bool // limit reached: no more rows
	started time.Time
	log     *slog.Logger
}

// NewHistory creates the temporary file in dir (the system's default when
// empty). limit <= 0 means DefaultHistoryLimit.
func NewHistory(dir string, limit int64, log *slog.Logger) (*History, error) {
	if limit <= 0 {
		limit = DefaultHistoryLimit
	}
	if log == nil {
		log = slog.Default()
	}
	f, err := os.CreateTemp(dir, "stampede-history-*.csv")
	if err != nil {
		return nil, fmt.Errorf("full history: %w", err)
	}
	h := &History{f: f, bw: bufio.NewWriter(f), limit: limit, log: log}
	if err := h.truncate(); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *History) truncate() error {
	if err := h.f.Truncate(0); err != nil {
		return fmt.Errorf("full history: %w", err)
	}
	if _, err := h.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("full history: %w", err)
	}
	h.bw.Reset(h.f)
	h.size, h.full = 0, false
	cw := &countingWriter{w: h.bw}
	if err := output.WriteHistoryHeader(cw); err != nil {
		return fmt.Errorf("full history: %w", err)
	}
	h.size += cw.n
	return h.bw.Flush()
}

// Tick is an engine.TickFunc: it appends this second's rows. A new test
// (the engine's start time changed) starts a new file.
func (h *History) Tick(now time.Time, p stats.Point, e *engine.Engine) {
	start, _, _ := e.Times()
	sum := e.Snapshot(false)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return
	}
	if !start.Equal(h.started) {
		h.started = start
		if err := h.truncate(); err != nil {
			h.log.Error("web: full history", "err", err)
			return
		}
	}
	if h.full {
		return
	}
	cw := &countingWriter{w: h.bw}
	if err := output.WriteHistoryRows(cw, now, p.Users, sum, true); err != nil {
		h.log.Error("web: full history", "err", err)
		return
	}
	h.size += cw.n
	if err := h.bw.Flush(); err != nil {
		h.log.Error("web: full history", "err", err)
	}
	if h.size >= h.limit {
		h.full = true
		h.log.Warn("web: the full history reached its size limit; later seconds are not kept", "bytes", h.size)
	}
}

// CopyTo copies the rows so far to w.
func (h *History) CopyTo(w io.Writer) error {
	h.mu.Lock()
	if h.f == nil {
		h.mu.Unlock()
		return errors.New("full history: closed")
	}
	size := h.size
	// A second handle reads while ticks go on appending after size.
	r, err := os.Open(h.f.Name())
	h.mu.Unlock()
	if err != nil {
		return fmt.Errorf("full history: %w", err)
	}
	defer r.Close()
	_, err = io.Copy(w, io.LimitReader(r, size))
	return err
}

// Close removes the temporary file.
func (h *History) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.f == nil {
		return nil
	}
	name := h.f.Name()
	err := h.f.Close()
	h.f = nil
	return errors.Join(err, os.Remove(name))
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
