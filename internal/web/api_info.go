package web

import (
	"net/http"

	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/stats"
)

// handleTasks answers Locust's /tasks: each class's share of the users and
// each task's share of its class ("per_class") or of all tasks ("total");
// a task set's tasks are nested under it, as in Locust, with their share
// of the set (per_class) or of everything (total). Before any user runs,
// the shares come from the classes' weights. A running test's tag
// selection applies.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	out := &output.TaskRatios{PerClass: map[string]output.Ratio{}, Total: map[string]output.Ratio{}}
	if sc := s.cfg.Script; sc != nil {
		if p := s.cfg.Engine.Params(); isActive(s.cfg.Engine.State()) {
			if sel, err := sc.SelectTags(p.Tags, p.ExcludeTags); err == nil {
				sc = sel
			}
		}
		var counts map[string]int
		if s.cfg.UsersByClass != nil {
			counts = s.cfg.UsersByClass()
		}
		out = runner.TaskRatios(sc, counts)
	}
	writeJSON(w, http.StatusOK, out)
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
	// Tags and ExcludeTags are the -T/-E defaults of the start form;
	// TaskTags are the tags the script's tasks have, as a hint.
	Tags        []string `json:"tags"`
	ExcludeTags []string `json:"exclude_tags"`
	TaskTags    []string `json:"task_tags"`
	// Iterations is -i (0: none); the workload fields are the command
	// line's model as --stages, --arrival-rate, --arrival-stages and
	// --max-users spell it; Vars the custom parameters (api_vars.go).
	Iterations    int64     `json:"iterations"`
	Stages        string    `json:"stages"`
	ArrivalRate   string    `json:"arrival_rate"`
	ArrivalStages string    `json:"arrival_stages"`
	MaxUsers      int       `json:"max_users"`
	Vars          []varInfo `json:"vars"`
	// VarsEditable is false when the custom parameters can only be read.
	VarsEditable bool `json:"vars_editable"`
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	d := s.cfg.Defaults
	in := info{Title: s.cfg.Title, Version: s.cfg.Version, Classes: s.classes, Host: redact.Host(d.Host), Users: d.Users,
		SpawnRate: d.SpawnRate, Report: s.cfg.Report != nil, FullHistory: s.cfg.History != nil}
	in.Tags, in.ExcludeTags, in.TaskTags = nonNil(d.Tags), nonNil(d.ExcludeTags), []string{}
	in.Iterations, in.Vars, in.VarsEditable = d.Iterations, s.varInfos(), s.cfg.LoadScript != nil
	if wl := d.Workload; wl != nil {
		in.Stages, in.ArrivalRate, in.ArrivalStages, in.MaxUsers = wl.Stages, wl.ArrivalRate, wl.ArrivalStages, wl.MaxUsers
	}
	if s.cfg.Script != nil {
		in.Script = s.cfg.Script.Main
		in.TaskTags = s.cfg.Script.TaskTags()
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

func nonNil(list []string) []string {
	if list == nil {
		return []string{}
	}
	return list
}
