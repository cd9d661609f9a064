package web

import (
	"fmt"
	"strconv"

	"github.com/stampede-load/stampede/internal/engine"
)

// workloadFields are the start form's workload model: stages (closed
// model) or an arrival rate (open model), as --stages, --arrival-rate,
// --arrival-stages and --max-users spell them. Any of them in a request,
// even empty, makes the request choose the test's model; none keeps the
// command line's (Locust's clients send none).
var workloadFields = []string{"stages", "arrival_rate", "arrival_stages", "max_users"}

// swarmWorkload reads the workload model and the iterations (-i). Both
// are chosen when a test starts: a running test refuses a change.
func (s *Server) swarmWorkload(f fieldValues, running bool, p *engine.Params) error {
	if v, ok := f.get("iterations"); ok {
		n := int64(0)
		if v != "" {
			var err error
			if n, err = strconv.ParseInt(v, 10, 64); err != nil {
				return &engine.FieldError{Field: "iterations", Msg: fmt.Sprintf("%q is not a whole number", v)}
			}
		}
		if running && n != p.Iterations {
			return &engine.FieldError{Field: "iterations", Msg: "cannot change the iterations of a running test; stop it first"}
		}
		p.Iterations = n
	}
	given := false
	for _, k := range workloadFields {
		_, ok := f[k]
		given = given || ok
	}
	if !given {
		return nil
	}
	var w engine.Workload
	w.Stages, _ = f.get("stages")
	w.ArrivalRate, _ = f.get("arrival_rate")
	w.ArrivalStages, _ = f.get("arrival_stages")
	if v, _ := f.get("max_users"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return &engine.FieldError{Field: "max_users", Msg: fmt.Sprintf("%q is not a whole number", v)}
		}
		w.MaxUsers = n
	}
	if running {
		cur := p.Workload
		if cur == nil {
			cur = s.cfg.Defaults.Workload
		}
		if cur == nil || *cur != w {
			return &engine.FieldError{Field: changedWorkloadField(cur, w), Msg: "cannot change the workload model of a running test; stop it first"}
		}
		return nil
	}
	p.Workload = &w
	return nil
}

// changedWorkloadField names the first field of w that differs from cur.
func changedWorkloadField(cur *engine.Workload, w engine.Workload) string {
	var c engine.Workload
	if cur != nil {
		c = *cur
	}
	switch {
	case c.Stages != w.Stages:
		return "stages"
	case c.ArrivalRate != w.ArrivalRate:
		return "arrival_rate"
	case c.ArrivalStages != w.ArrivalStages:
		return "arrival_stages"
	}
	return "max_users"
}
