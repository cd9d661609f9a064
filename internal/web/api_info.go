package web

import (
	"net/http"

	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

type ratio struct {
	Ratio float64          `json:"ratio"`
	Tasks map[string]ratio `json:"tasks,omitempty"`
}

// handleTasks answers Locust's /tasks: each class's share of the users and
// each task's share of its class ("per_class") or of all tasks ("total");
// a task set's tasks are nested under it, as in Locust, with their share
// of the set (per_class) or of everything (total). Before any user runs,
// the shares come from the classes' weights. A running test's tag
// selection applies.
func (s *Server) handleTasks(w http.ResponseWriter, r *http.Request) {
	perClass, total := map[string]ratio{}, map[string]ratio{}
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
		n := 0
		for _, c := range counts {
			n += c
		}
		if n == 0 {
			classes := runner.Classes(sc)
			counts = runner.Distribute(classes, 1000*len(classes))
			n = 0
			for _, c := range counts {
				n += c
			}
		}
		for _, c := range sc.Classes {
			share := 0.0
			if n > 0 {
				share = float64(counts[c.Name]) / float64(n)
			}
			perClass[c.Name] = ratio{Ratio: share, Tasks: taskRatios(&c.TaskSet, 1, false)}
			total[c.Name] = ratio{Ratio: share, Tasks: taskRatios(&c.TaskSet, share, true)}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"per_class": perClass, "total": total})
}

// taskRatios are the shares of set's tasks, times scale; with nested,
// a set's own tasks are scaled by the set's share too (Locust's total),
// else they are shares of the set.
func taskRatios(set *script.TaskSet, scale float64, nested bool) map[string]ratio {
	sum := float64(set.TotalTaskWeight())
	out := make(map[string]ratio, len(set.Tasks))
	for _, t := range set.Tasks {
		r := float64(t.Weight) / sum * scale
		e := out[t.Name]
		e.Ratio += r
		if t.Set != nil {
			inner := 1.0
			if nested {
				inner = r
			}
			e.Tasks = taskRatios(t.Set, inner, nested)
		}
		out[t.Name] = e
	}
	return out
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
}

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	d := s.cfg.Defaults
	in := info{Title: s.cfg.Title, Version: s.cfg.Version, Classes: s.classes, Host: redact.URL(d.Host), Users: d.Users,
		SpawnRate: d.SpawnRate, Report: s.cfg.Report != nil, FullHistory: s.cfg.History != nil}
	in.Tags, in.ExcludeTags, in.TaskTags = nonNil(d.Tags), nonNil(d.ExcludeTags), []string{}
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
