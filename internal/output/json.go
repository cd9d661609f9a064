package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/stats"
)

// Format identifies the JSON summary's layout. Fields are only ever added
// within a major version; ReadJSON refuses another major version.
const Format = "stampede-summary/1"

const formatFamily = "stampede-summary/"

// Document is the JSON summary of a run (--json FILE), described in
// docs/json-summary.md.
type Document struct {
	// Format is Format; WriteJSON fills it in when empty.
	Format string         `json:"format"`
	Run    RunInfo        `json:"run"`
	Stats  *stats.Summary `json:"stats"`
	// Thresholds holds one result per --threshold, in the order given.
	Thresholds       []ThresholdResult `json:"thresholds"`
	ThresholdsPassed bool              `json:"thresholds_passed"`
	// Workers is the state of every worker at the end of a distributed run.
	Workers []WorkerInfo `json:"workers,omitempty"`
	// Lost lists the workers that stopped answering during the run.
	Lost []LostWorker `json:"lost_workers,omitempty"`
	// Ratios are the user classes' and tasks' shares (the script's weights
	// and the run's tag selection); absent when read from CSV files.
	Ratios *TaskRatios `json:"task_ratios,omitempty"`
}

// Workload models.
const (
	ModelClosed = "closed"
	ModelOpen   = "open"
)

// RunInfo describes how a run was configured and how it went.
type RunInfo struct {
	// ID is the run's name (--run-id), also its folder under --results-url.
	ID string `json:"id,omitempty"`
	// Version is the Stampede version that ran the test.
	Version      string `json:"version"`
	Script       string `json:"script"`
	ScriptSHA256 string `json:"script_sha256"`
	Host         string `json:"host"`
	// Model is ModelClosed (users, spawn rate, stages) or ModelOpen
	// (arrival rate).
	Model string `json:"model"`
	// Users is the peak number of users (closed) or the pool size (open).
	Users     int     `json:"users"`
	SpawnRate float64 `json:"spawn_rate"`
	// Stages is --stages or --arrival-stages as given, ArrivalRate
	// --arrival-rate as given (e.g. "500/s").
	Stages      string `json:"stages,omitempty"`
	ArrivalRate string `json:"arrival_rate,omitempty"`
	// RunTimeSeconds is the configured run time; 0 means until stopped.
	RunTimeSeconds float64 `json:"run_time_seconds"`
	// Start and End are the wall-clock bounds of the run (RFC 3339, UTC).
	Start           time.Time `json:"start"`
	End             time.Time `json:"end"`
	DurationSeconds float64   `json:"duration_seconds"`
	// Seed seeds the scripts' random module; a string in JSON because it
	// may not fit a JavaScript number.
	Seed int64 `json:"seed,string"`
	// Regions are the regions that took part, sorted.
	Regions     []string `json:"regions,omitempty"`
	WorkerCount int      `json:"worker_count"`
	// Interrupted is set when the run did not end by itself (signal, UI
	// stop, --abort-on-fail); StopReason says why it ended either way,
	// e.g. "run time reached", "shape finished", "interrupt",
	// "threshold failed: p95<500ms".
	Interrupted bool   `json:"interrupted"`
	StopReason  string `json:"stop_reason"`
	// StopTestReason is the reason a script gave u.stop_test(), when that
	// ended the run (StopReason is then "stopped by the script: " and it).
	StopTestReason string `json:"stop_test_reason,omitempty"`
	// Iterations is -i/--iterations (0, omitted: no limit).
	Iterations int64 `json:"iterations,omitempty"`
}

// ThresholdResult is the outcome of one --threshold expression.
type ThresholdResult struct {
	// Expr is the expression as given, e.g. "p95<500ms".
	Expr string `json:"expr"`
	// Metric names what was measured, e.g. "p95" or "GET /api p99".
	Metric string `json:"metric"`
	// Value is the measured value in the metric's unit: milliseconds for
	// times, a ratio (0..1) for rates of errors, per second for rates.
	Value   float64 `json:"value"`
	Passed  bool    `json:"passed"`
	Message string  `json:"message,omitempty"`
	// Skipped is set for a threshold relative to a baseline that was not
	// available (--baseline-optional): it counts as passed.
	Skipped bool `json:"skipped,omitempty"`
	// Baseline is the baseline run's value of the metric, for thresholds
	// relative to it (p95<baseline*1.10).
	Baseline *float64 `json:"baseline,omitempty"`
}

// Worker states as the master sees them.
const (
	WorkerReady    = "ready"
	WorkerSpawning = "spawning"
	WorkerRunning  = "running"
	WorkerStopped  = "stopped"
	WorkerMissing  = "missing"
)

// WorkerInfo is a worker as the master last saw it.
type WorkerInfo struct {
	ID            string     `json:"id"`
	Region        string     `json:"region"`
	Host          string     `json:"host"`
	State         string     `json:"state"`
	Users         int        `json:"users"`
	CPUPercent    float64    `json:"cpu_percent"`
	MemoryBytes   int64      `json:"memory_bytes"`
	LastHeartbeat time.Time  `json:"last_heartbeat"`
	LostAt        *time.Time `json:"lost_at,omitempty"`
	// LeftAt is when the worker said goodbye (a clean shutdown, e.g.
	// SIGTERM); such a worker is "stopped", not lost.
	LeftAt *time.Time `json:"left_at,omitempty"`
}

// LostWorker is a worker that stopped answering during the run. Its
// statistics up to its last report are part of the totals.
type LostWorker struct {
	ID            string    `json:"id"`
	Region        string    `json:"region"`
	Host          string    `json:"host"`
	Users         int       `json:"users"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	LostAt        time.Time `json:"lost_at"`
	Reason        string    `json:"reason,omitempty"`
}

// EncodeJSON writes d as indented JSON followed by a newline. It fills in
// Format when empty, writes Run.Start and Run.End in UTC, and derives
// Run.DurationSeconds from them when it is 0; d itself is not changed.
func EncodeJSON(w io.Writer, d *Document) error {
	doc := *d
	if doc.Format == "" {
		doc.Format = Format
	}
	if doc.Thresholds == nil {
		doc.Thresholds = []ThresholdResult{}
	}
	if !doc.Run.Start.IsZero() {
		doc.Run.Start = doc.Run.Start.UTC()
	}
	if !doc.Run.End.IsZero() {
		doc.Run.End = doc.Run.End.UTC()
	}
	if doc.Run.DurationSeconds == 0 && !doc.Run.Start.IsZero() && doc.Run.End.After(doc.Run.Start) {
		doc.Run.DurationSeconds = doc.Run.End.Sub(doc.Run.Start).Seconds()
	}
	b, replaced, err := MarshalJSON(&doc, "  ", false)
	if err != nil {
		return err
	}
	if replaced > 0 {
		slog.Warn("json summary: numbers that are not finite were written as 0", "count", replaced)
	}
	_, err = w.Write(b)
	return err
}

// WriteJSON writes d to path atomically: a temporary file in the same
// directory is renamed over path, so readers see the old file or the whole
// new one.
func WriteJSON(path string, d *Document) error {
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, d); err != nil {
		return fmt.Errorf("json summary: %w", err)
	}
	err := writeFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(buf.Bytes())
		return err
	})
	if err != nil {
		return fmt.Errorf("json summary: writing %s: %w", path, err)
	}
	return nil
}

// DecodeJSON reads a document written by EncodeJSON.
func DecodeJSON(r io.Reader) (*Document, error) {
	var d Document
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, err
	}
	if d.Format != "" && d.Format != Format {
		if !strings.HasPrefix(d.Format, formatFamily) {
			return nil, fmt.Errorf("not a Stampede summary (format %q)", d.Format)
		}
		if major(d.Format) != major(Format) {
			return nil, fmt.Errorf("unsupported summary format %q (this version reads %q)", d.Format, Format)
		}
	}
	if err := checkStats(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// major returns the major version of a format string "name/MAJOR[.MINOR]".
func major(f string) string {
	v := strings.TrimPrefix(f, formatFamily)
	if i := strings.IndexByte(v, '.'); i >= 0 {
		v = v[:i]
	}
	return v
}

// ReadJSON reads the summary at path.
func ReadJSON(path string) (*Document, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("json summary: %w", err)
	}
	defer f.Close()
	d, err := DecodeJSON(f)
	if err != nil {
		return nil, fmt.Errorf("json summary %s: %w", path, err)
	}
	return d, nil
}

// TaskRatios are each user class's share of the users and each task's
// share, as Locust's /tasks and the "Final ratio" of its report give them:
// PerClass holds a task's share of its class (a task set's tasks, their
// share of the set), Total its share of everything.
type TaskRatios struct {
	PerClass map[string]Ratio `json:"per_class"`
	Total    map[string]Ratio `json:"total"`
}

// Ratio is one class's or task's share (0 to 1), with a class's or a task
// set's tasks nested.
type Ratio struct {
	Ratio float64          `json:"ratio"`
	Tasks map[string]Ratio `json:"tasks,omitempty"`
}
