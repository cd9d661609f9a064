package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/stats"
)

// maxErrorRows bounds the failures of /stats/requests, as Locust does.
const maxErrorRows = 500

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// apiError is the body of every 4xx/5xx answer of the API. success and
// message keep Locust's clients working; field names the bad input.
type apiError struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, code int, field, msg string) {
	writeJSON(w, code, apiError{Error: msg, Message: msg, Field: field})
}

// swarmRequest is POST /swarm's input, from a form or a JSON body.
type swarmRequest struct {
	UserCount   json.RawMessage `json:"user_count"`
	SpawnRate   json.RawMessage `json:"spawn_rate"`
	Host        *string         `json:"host"`
	RunTime     json.RawMessage `json:"run_time"`
	UserClasses []string        `json:"user_classes"`
}

// fieldValues reads the request's fields as strings: value, present.
type fieldValues map[string][]string

func (f fieldValues) get(k string) (string, bool) {
	v, ok := f[k]
	if !ok || len(v) == 0 {
		return "", false
	}
	return strings.TrimSpace(v[0]), true
}

// readSwarmFields accepts application/json, urlencoded and multipart forms.
func readSwarmFields(w http.ResponseWriter, r *http.Request) (fieldValues, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if ct == "application/json" {
		var req swarmRequest
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&req); err != nil {
			return nil, fmt.Errorf("body is not a JSON object of the fields: %v", err)
		}
		f := fieldValues{}
		raw := func(k string, m json.RawMessage) {
			if len(m) == 0 || string(m) == "null" {
				return
			}
			var s string
			if json.Unmarshal(m, &s) == nil {
				f[k] = []string{s}
			} else {
				f[k] = []string{string(m)}
			}
		}
		raw("user_count", req.UserCount)
		raw("spawn_rate", req.SpawnRate)
		raw("run_time", req.RunTime)
		if req.Host != nil {
			f["host"] = []string{*req.Host}
		}
		if req.UserClasses != nil {
			f["user_classes"] = req.UserClasses
		}
		return f, nil
	}
	// ParseForm first: ParseMultipartForm drops its error (a body over the
	// limit) for a urlencoded form and answers ErrNotMultipart, which
	// made an oversized form a "user_count: required".
	if err := r.ParseForm(); err != nil {
		return nil, fmt.Errorf("bad form: %v", err)
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		return nil, fmt.Errorf("bad form: %v", err)
	}
	return fieldValues(r.PostForm), nil
}

// swarmParams turns the fields into engine parameters. Fields left out
// keep the running test's values (an edit) or take the defaults.
func (s *Server) swarmParams(f fieldValues) (engine.Params, error) {
	running := isActive(s.cfg.Engine.State())
	p := s.cfg.Defaults
	p.RunTime = 0
	if running {
		p = s.cfg.Engine.Params()
		// An edit without a run time keeps the current deadline, as in
		// Locust, where the stop scheduled at start still fires.
		p.RunTime = max(s.remaining(), 0)
	}
	if v, ok := f.get("user_count"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, &engine.FieldError{Field: "user_count", Msg: fmt.Sprintf("%q is not a whole number", v)}
		}
		p.Users = n
	} else if !running {
		return p, &engine.FieldError{Field: "user_count", Msg: "required"}
	}
	if v, ok := f.get("spawn_rate"); ok {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x != x {
			return p, &engine.FieldError{Field: "spawn_rate", Msg: fmt.Sprintf("%q is not a number", v)}
		}
		p.SpawnRate = x
	}
	if v, ok := f.get("host"); ok && v != "" {
		if err := checkURL(v); err != nil {
			return p, &engine.FieldError{Field: "host", Msg: err.Error()}
		}
		p.Host = v
	}
	if v, ok := f.get("run_time"); ok && v != "" {
		d, err := parseRunTime(v)
		if err != nil {
			return p, &engine.FieldError{Field: "run_time", Msg: err.Error()}
		}
		p.RunTime = d
	}
	if classes, ok := f["user_classes"]; ok {
		var picked []string
		for _, c := range classes {
			for _, part := range strings.Split(c, ",") {
				if part = strings.TrimSpace(part); part != "" {
					picked = append(picked, part)
				}
			}
		}
		for _, c := range picked {
			if !s.hasClass(c) {
				return p, &engine.FieldError{Field: "user_classes", Msg: fmt.Sprintf("%q is not a user class of the script (have %s)", c, strings.Join(s.classes, ", "))}
			}
		}
		if running && !sameClasses(picked, p.Classes) && len(picked) > 0 {
			return p, &engine.FieldError{Field: "user_classes", Msg: "cannot change the user classes of a running test; stop it first"}
		}
		if !running {
			p.Classes = picked
		}
	}
	if p.Host == "" {
		return p, &engine.FieldError{Field: "host", Msg: "required: the script sets no host"}
	}
	return p, p.Validate()
}

func (s *Server) hasClass(name string) bool {
	if s.cfg.Script == nil {
		return true
	}
	for _, c := range s.classes {
		if c == name {
			return true
		}
	}
	return false
}

func sameClasses(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func isActive(st engine.State) bool {
	return st == engine.StateSpawning || st == engine.StateRunning
}

// checkURL accepts http:// and https:// URLs with a host.
func checkURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http:// or https:// URL", v)
	}
	return nil
}

// parseRunTime reads Locust's run times: "90", "90s", "5m", "1h30m",
// "3h30m10s".
func parseRunTime(v string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 || n != n {
			return 0, fmt.Errorf("%q is negative", v)
		}
		return time.Duration(n * float64(time.Second)), nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, fmt.Errorf("%q is not a run time (e.g. 90, 30s, 5m, 1h30m)", v)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative", v)
	}
	return d, nil
}

func (s *Server) handleSwarm(w http.ResponseWriter, r *http.Request) {
	f, err := readSwarmFields(w, r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "", err.Error())
		return
	}
	editing := isActive(s.cfg.Engine.State())
	p, err := s.swarmParams(f)
	if err == nil {
		err = s.Start(context.WithoutCancel(r.Context()), p)
	}
	var fe *engine.FieldError
	switch {
	case errors.As(err, &fe):
		writeError(w, http.StatusBadRequest, fe.Field, fe.Error())
		return
	case err != nil:
		writeError(w, http.StatusConflict, "", err.Error())
		return
	}
	msg := "Swarming started"
	if editing {
		msg = "Test edited"
	}
	s.cfg.Log.Info("web: "+strings.ToLower(msg), "users", p.Users, "spawn_rate", p.SpawnRate, "host", p.Host, "run_time", p.RunTime, "remote", r.RemoteAddr)
	resp := map[string]any{"success": true, "message": msg, "host": p.Host, "user_count": p.Users, "spawn_rate": p.SpawnRate}
	if p.RunTime > 0 {
		resp["run_time"] = p.RunTime.Seconds()
	}
	if len(p.Classes) > 0 {
		resp["user_classes"] = p.Classes
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleStop(w http.ResponseWriter, r *http.Request) {
	if !isActive(s.cfg.Engine.State()) {
		writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "No test is running", "state": s.cfg.Engine.State()})
		return
	}
	done := make(chan error, 1)
	go func() { done <- s.cfg.Engine.StopWith("stopped from the web UI") }()
	// Users may take a while to finish their tasks: answer once they have,
	// or after a few seconds with the state still "stopping".
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, engine.ErrNotRunning) {
			writeError(w, http.StatusInternalServerError, "", err.Error())
			return
		}
	case <-time.After(5 * time.Second):
	case <-r.Context().Done():
		return
	}
	s.invalidate()
	s.cfg.Log.Info("web: test stopped", "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Test stopped", "state": s.cfg.Engine.State()})
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	s.cfg.Engine.Reset()
	s.invalidate()
	s.cfg.Log.Info("web: statistics reset", "remote", r.RemoteAddr)
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "message": "Statistics reset"})
}

// locustEntry is one row of /stats/requests, with Locust's field names
// (StatsEntry.to_dict). Method is null for the Aggregated row, as in
// Locust.
type locustEntry map[string]any

// percentileKey is Locust's response_time_percentile_<fraction> key, the
// fraction printed as Python prints a float (0.5, 0.95, 0.999, 1.0).
func percentileKey(p float64) string {
	s := strconv.FormatFloat(math.Round(p*1e4)/1e6, 'f', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return "response_time_percentile_" + s
}

func toLocustEntry(e *stats.EntryStats, total bool) locustEntry {
	m := locustEntry{
		"name":                 e.Name,
		"safe_name":            htmlEscape(e.Name),
		"num_requests":         e.Requests,
		"num_failures":         e.Failures,
		"min_response_time":    e.MinMs,
		"max_response_time":    e.MaxMs,
		"current_rps":          e.CurrentRPS,
		"current_fail_per_sec": e.CurrentFailPerSec,
		"avg_response_time":    e.AvgMs,
		"median_response_time": e.MedianMs,
		"total_rps":            e.RPS,
		"total_fail_per_sec":   e.FailPerSec,
		"avg_content_length":   e.AvgContentSize,
	}
	if total {
		m["method"] = nil
		m["name"] = "Aggregated"
		m["safe_name"] = "Aggregated"
	} else {
		m["method"] = e.Method
	}
	for i, p := range stats.PercentileSet {
		m[percentileKey(p)] = e.Percentiles[i]
	}
	return m
}

func htmlEscape(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

type workerJSON struct {
	ID            string    `json:"id"`
	Region        string    `json:"region"`
	Host          string    `json:"host,omitempty"`
	State         string    `json:"state"`
	UserCount     int       `json:"user_count"`
	CPUUsage      float64   `json:"cpu_usage"`
	MemoryUsage   int64     `json:"memory_usage"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
}

func workersJSON(ws []output.WorkerInfo) (out []workerJSON, active int) {
	out = make([]workerJSON, 0, len(ws))
	for _, w := range ws {
		out = append(out, workerJSON{ID: w.ID, Region: w.Region, Host: w.Host, State: w.State, UserCount: w.Users,
			CPUUsage: w.CPUPercent, MemoryUsage: w.MemoryBytes, LastHeartbeat: w.LastHeartbeat})
		if w.State != output.WorkerMissing && w.LostAt == nil {
			active++
		}
	}
	return out, active
}

func (s *Server) handleRequests(w http.ResponseWriter, r *http.Request) {
	sum := s.snapshot()
	e := s.cfg.Engine
	rows := make([]locustEntry, 0, len(sum.Entries)+1)
	for i := range sum.Entries {
		rows = append(rows, toLocustEntry(&sum.Entries[i], false))
	}
	rows = append(rows, toLocustEntry(&sum.Total, true))
	errs := make([]map[string]any, 0, min(len(sum.Errors), maxErrorRows))
	for i, x := range sum.Errors {
		if i == maxErrorRows {
			break
		}
		errs = append(errs, map[string]any{"method": x.Method, "name": x.Name, "error": x.Error, "occurrences": x.Occurrences})
	}
	workers, active := workersJSON(e.Workers())
	regions := make([]map[string]any, 0, len(sum.Regions))
	for i := range sum.Regions {
		rg := &sum.Regions[i]
		rs := make([]locustEntry, 0, len(rg.Entries)+1)
		for j := range rg.Entries {
			rs = append(rs, toLocustEntry(&rg.Entries[j], false))
		}
		rs = append(rs, toLocustEntry(&rg.Total, true))
		regions = append(regions, map[string]any{"region": rg.Region, "stats": rs,
			"total_rps": rg.Total.CurrentRPS, "fail_ratio": failRatio(&rg.Total)})
	}
	report := map[string]any{
		"stats":              rows,
		"errors":             errs,
		"total_rps":          sum.Total.CurrentRPS,
		"total_fail_per_sec": sum.Total.CurrentFailPerSec,
		"fail_ratio":         sum.FailRatio(),
		"current_response_time_percentiles": map[string]any{
			percentileKey(50): sum.CurrentP50,
			percentileKey(95): sum.CurrentP95,
		},
		"state":        e.State(),
		"user_count":   e.Users(),
		"workers":      workers,
		"worker_count": active,
		"regions":      regions,
	}
	writeJSON(w, http.StatusOK, report)
}

func failRatio(e *stats.EntryStats) float64 {
	if e.Requests == 0 {
		return 0
	}
	return float64(e.Failures) / float64(e.Requests)
}

// csvHandler serves one of the CSV writers as a download, named as Locust
// names them (requests_<unix time>.csv).
func (s *Server) csvHandler(name string, write func(io.Writer, *stats.Summary) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		if err := write(&buf, s.snapshot()); err != nil {
			writeError(w, http.StatusInternalServerError, "", err.Error())
			return
		}
		serveDownload(w, "text/csv; charset=utf-8", fmt.Sprintf("%s_%d.csv", name, time.Now().Unix()), buf.Bytes())
	}
}

func serveDownload(w http.ResponseWriter, ctype, filename string, b []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+filename+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	_, _ = w.Write(b)
}

func (s *Server) handleFullHistory(w http.ResponseWriter, r *http.Request) {
	if s.cfg.History == nil {
		http.Error(w, "the full history is not kept by this server", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="requests_full_history_%d.csv"`, time.Now().Unix()))
	w.Header().Set("Cache-Control", "no-store")
	if err := s.cfg.History.CopyTo(w); err != nil {
		s.cfg.Log.Warn("web: serving the full history", "err", err)
	}
}

func (s *Server) document() *output.Document {
	sum := s.cfg.Engine.Snapshot(true)
	if s.cfg.Document != nil {
		return s.cfg.Document(sum)
	}
	start, end, reason := s.cfg.Engine.Times()
	p := s.cfg.Engine.Params()
	return &output.Document{
		Run: output.RunInfo{Host: p.Host, Model: output.ModelClosed, Users: p.Users, SpawnRate: p.SpawnRate,
			RunTimeSeconds: p.RunTime.Seconds(), Start: start, End: end, StopReason: reason},
		Stats: sum, Workers: s.cfg.Engine.Workers(), ThresholdsPassed: true,
	}
}

func (s *Server) handleSummaryJSON(w http.ResponseWriter, r *http.Request) {
	var buf bytes.Buffer
	if err := output.EncodeJSON(&buf, s.document()); err != nil {
		writeError(w, http.StatusInternalServerError, "", err.Error())
		return
	}
	serveDownload(w, "application/json", fmt.Sprintf("summary_%d.json", time.Now().Unix()), buf.Bytes())
}

func (s *Server) handleReport(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Report == nil {
		http.Error(w, "the HTML report is not available in this build", http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	if err := s.cfg.Report(&buf, s.cfg.Engine.Snapshot(true)); err != nil {
		writeError(w, http.StatusInternalServerError, "", "writing the report: "+err.Error())
		return
	}
	if r.URL.Query().Get("download") != "" {
		serveDownload(w, "text/html; charset=utf-8", fmt.Sprintf("report_%d.html", time.Now().Unix()), buf.Bytes())
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

func (s *Server) handleExceptions(w http.ResponseWriter, r *http.Request) {
	sum := s.snapshot()
	rows := make([]map[string]any, 0, len(sum.Exceptions))
	for _, x := range sum.Exceptions {
		rows = append(rows, map[string]any{"count": x.Count, "msg": x.Message, "traceback": x.Traceback, "nodes": strings.Join(x.Nodes, ", ")})
	}
	writeJSON(w, http.StatusOK, map[string]any{"exceptions": rows})
}

type ratio struct {
	Ratio float64          `json:"ratio"`
	Tasks map[string]ratio `json:"tasks,omitempty"`
}

// handleTasks answers Locust's /tasks: each class's share of the users and
// each task's share of its class ("per_class") or of all tasks ("total").
// Before any user runs, the shares come from the classes' weights.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	perClass, total := map[string]ratio{}, map[string]ratio{}
	if s.cfg.Script != nil {
		var counts map[string]int
		if s.cfg.UsersByClass != nil {
			counts = s.cfg.UsersByClass()
		}
		n := 0
		for _, c := range counts {
			n += c
		}
		if n == 0 {
			classes := runner.Classes(s.cfg.Script)
			counts = runner.Distribute(classes, 1000*len(classes))
			n = 0
			for _, c := range counts {
				n += c
			}
		}
		for _, c := range s.cfg.Script.Classes {
			share := 0.0
			if n > 0 {
				share = float64(counts[c.Name]) / float64(n)
			}
			sumW := 0
			for _, t := range c.Tasks {
				sumW += max(t.Weight, 1)
			}
			pc, tc := map[string]ratio{}, map[string]ratio{}
			for _, t := range c.Tasks {
				tr := float64(max(t.Weight, 1)) / float64(max(sumW, 1))
				pc[t.Name] = ratio{Ratio: pc[t.Name].Ratio + tr}
				tc[t.Name] = ratio{Ratio: tc[t.Name].Ratio + tr*share}
			}
			perClass[c.Name] = ratio{Ratio: share, Tasks: pc}
			total[c.Name] = ratio{Ratio: share, Tasks: tc}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"per_class": perClass, "total": total})
}

// info is what the page needs once: names, defaults, what is offered.
type info struct {
	Title       string   `json:"title"`
	Version     string   `json:"version"`
	Script      string   `json:"script"`
	Classes     []string `json:"user_classes"`
	Host        string   `json:"host"`
	Users       int      `json:"user_count"`
	SpawnRate   float64  `json:"spawn_rate"`
	RunTime     string   `json:"run_time"`
	Report      bool     `json:"report"`
	FullHistory bool     `json:"full_history"`
	Percentiles []string `json:"percentiles"`
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	d := s.cfg.Defaults
	in := info{Title: s.cfg.Title, Version: s.cfg.Version, Classes: s.classes, Host: d.Host, Users: d.Users,
		SpawnRate: d.SpawnRate, Report: s.cfg.Report != nil, FullHistory: s.cfg.History != nil}
	if s.cfg.Script != nil {
		in.Script = s.cfg.Script.Main
	}
	if in.Classes == nil {
		in.Classes = []string{}
	}
	if d.RunTime > 0 {
		in.RunTime = d.RunTime.String()
	}
	for _, p := range stats.PercentileSet {
		in.Percentiles = append(in.Percentiles, stats.PercentileLabel(p))
	}
	writeJSON(w, http.StatusOK, in)
}
