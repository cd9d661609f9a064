package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/stats"
)

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
		Run: output.RunInfo{Host: redact.Host(p.Host), Model: output.ModelClosed, Users: p.Users, SpawnRate: p.SpawnRate,
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
	w.Header().Set("Content-Security-Policy", reportCSP(buf.Bytes()))
	_, _ = w.Write(buf.Bytes())
}

// reportCSP is the policy of the report page: it loads nothing, and runs
// exactly its own inline scripts (the chart library and the code that
// makes the charts interactive), allowed by their hashes. The UI's policy
// allows no inline script, which left the report's charts static.
func reportCSP(page []byte) string {
	var b strings.Builder
	b.WriteString("default-src 'none'; script-src")
	const open, end = "<script>", "</script>"
	hashes := 0
	for rest := page; ; {
		i := bytes.Index(rest, []byte(open))
		if i < 0 {
			break
		}
		rest = rest[i+len(open):]
		j := bytes.Index(rest, []byte(end))
		if j < 0 {
			break
		}
		sum := sha256.Sum256(rest[:j])
		b.WriteString(" 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'")
		hashes++
		rest = rest[j+len(end):]
	}
	if hashes == 0 {
		b.WriteString(" 'none'")
	}
	b.WriteString("; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'")
	return b.String()
}
