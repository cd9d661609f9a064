package web

import (
	"net/http"

	"github.com/stampede-load/stampede/internal/logring"
)

// logRow is one line of the event stream's logs: unix ms, level, message,
// attributes, source (own: "local" or "master"), and for a worker's line
// the worker's region as a sixth element (the source is then its id).
func logRow(l *logring.Line, own string) []any {
	if l.Worker == "" {
		return []any{l.Time.UnixMilli(), l.Level.String(), l.Msg, l.Attrs, own}
	}
	return []any{l.Time.UnixMilli(), l.Level.String(), l.Msg, l.Attrs, l.Worker, l.Region}
}

// logsJSON is Locust's /logs: the master's lines and each worker's, as
// text, oldest first; regions (Stampede's) gives each worker's region.
type logsJSON struct {
	Master  []string            `json:"master"`
	Workers map[string][]string `json:"workers"`
	Regions map[string]string   `json:"regions"`
}

// handleLogs answers Locust's /logs with every remembered line.
func (s *Server) handleLogs(w http.ResponseWriter, r *http.Request) {
	out := logsJSON{Master: []string{}, Workers: map[string][]string{}, Regions: map[string]string{}}
	if ring := s.cfg.Logs; ring != nil {
		lines, _ := ring.Since(0, 1<<30)
		for i := range lines {
			l := &lines[i]
			text := "[" + l.Time.UTC().Format("2006-01-02 15:04:05,000") + "] " + l.Level.String() + ": " + l.Msg
			if l.Attrs != "" {
				text += " " + l.Attrs
			}
			if l.Worker == "" {
				out.Master = append(out.Master, text)
				continue
			}
			out.Workers[l.Worker] = append(out.Workers[l.Worker], text)
			out.Regions[l.Worker] = l.Region
		}
	}
	writeJSON(w, http.StatusOK, out)
}
