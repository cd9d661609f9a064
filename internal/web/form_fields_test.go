package web

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
)

// The start form's workload model, iterations and custom parameters
// reach the engine from a JSON body; a script that does not load with
// the values is named without quoting a secret; a Locust client that
// sends none of them keeps the command line's model and vars.
func TestSwarmWorkloadAndVars(t *testing.T) {
	f := newFixture(t, "", false)
	f.srv.cfg.Vars = map[string]string{"env": "staging", "API_KEY": "cli-key"}
	var loaded []map[string]string
	f.srv.cfg.LoadScript = func(vars map[string]string) (*script.Script, error) {
		if vars["env"] == "broken" {
			return nil, errors.New("test.star:2: bad key " + vars["API_KEY"])
		}
		loaded = append(loaded, vars)
		return f.srv.cfg.Script, nil
	}
	f.srv.cfg.Defaults.Workload = &engine.Workload{}
	post := func(body string) (int, string) {
		res := f.do("POST", "/swarm", "", "", "application/json", body)
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	last := func() engine.Params {
		f.drv.mu.Lock()
		defer f.drv.mu.Unlock()
		return f.drv.applied[len(f.drv.applied)-1]
	}

	var in info
	f.getJSON("/api/info", &in)
	if len(in.Vars) != 2 || in.Vars[0] != (varInfo{Name: "API_KEY", Secret: true}) || in.Vars[1] != (varInfo{Name: "env", Value: "staging"}) || !in.VarsEditable {
		t.Fatalf("info vars %+v editable %v", in.Vars, in.VarsEditable)
	}

	code, body := post(`{"vars": {"env": "broken", "API_KEY": "form-key"}, "user_count": 1}`)
	if code != http.StatusBadRequest || !strings.Contains(body, `"field":"var.API_KEY"`) || strings.Contains(body, "form-key") || !strings.Contains(body, "***") {
		t.Fatalf("a script that does not load: %d %s", code, body)
	}
	code, body = post(`{"arrival_rate": "40/s", "arrival_stages": "10s:80/s", "max_users": 30, "iterations": 500, "vars": {"env": "prod", "API_KEY": ""}}`)
	if code != http.StatusOK {
		t.Fatalf("open-model start: %d %s", code, body)
	}
	p := last()
	if p.Workload == nil || *p.Workload != (engine.Workload{ArrivalRate: "40/s", ArrivalStages: "10s:80/s", MaxUsers: 30}) || p.Iterations != 500 {
		t.Fatalf("applied workload %+v, iterations %d", p.Workload, p.Iterations)
	}
	if p.Vars["env"] != "prod" || p.Vars["API_KEY"] != "cli-key" || p.Script == nil || len(loaded) != 1 {
		t.Fatalf("applied vars %v (script %v), loaded %v", p.Vars, p.Script != nil, loaded)
	}
	if strings.Contains(body, "cli-key") || strings.Contains(body, "prod") {
		t.Fatalf("the answer echoes the vars: %s", body)
	}
	f.getJSON("/api/info", &in) // the page's defaults stay the command line's
	if in.Vars[1].Value != "staging" {
		t.Fatalf("info after a start: %+v", in.Vars)
	}
	if a := f.srv.buildEvent(&eventStream{}).Arrival; a != "40/s then 10s:80/s" {
		t.Errorf("event arrival %q", a)
	}
	if err := f.eng.Stop(); err != nil {
		t.Fatal(err)
	}

	// Locust's fields only: the command line's model and vars
	if code, body = post(`{"user_count": 2, "spawn_rate": 1}`); code != http.StatusOK {
		t.Fatalf("plain start: %d %s", code, body)
	}
	if p = last(); p.Script != nil || p.Vars != nil || p.Workload == nil || *p.Workload != (engine.Workload{}) || p.Iterations != 0 {
		t.Fatalf("plain start applied %+v", p)
	}
}
