package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/redact"
	"github.com/stampede-load/stampede/internal/workload"
)

// swarmRequest is POST /swarm's input, from a form or a JSON body.
type swarmRequest struct {
	UserCount   json.RawMessage `json:"user_count"`
	SpawnRate   json.RawMessage `json:"spawn_rate"`
	Host        *string         `json:"host"`
	RunTime     json.RawMessage `json:"run_time"`
	UserClasses []string        `json:"user_classes"`
	// Tags and ExcludeTags are a list of strings or one comma-separated
	// string, as the form sends them.
	Tags        json.RawMessage `json:"tags"`
	ExcludeTags json.RawMessage `json:"exclude_tags"`
	// The workload model (api_workload.go) and the custom parameters
	// (api_vars.go; the form's var.KEY fields).
	Iterations    json.RawMessage   `json:"iterations"`
	Stages        *string           `json:"stages"`
	ArrivalRate   *string           `json:"arrival_rate"`
	ArrivalStages *string           `json:"arrival_stages"`
	MaxUsers      json.RawMessage   `json:"max_users"`
	Vars          map[string]string `json:"vars"`
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
		raw("iterations", req.Iterations)
		raw("max_users", req.MaxUsers)
		for k, v := range map[string]*string{"host": req.Host, "stages": req.Stages, "arrival_rate": req.ArrivalRate, "arrival_stages": req.ArrivalStages} {
			if v != nil {
				f[k] = []string{*v}
			}
		}
		for k, v := range req.Vars {
			f[varField+k] = []string{v}
		}
		if req.UserClasses != nil {
			f["user_classes"] = req.UserClasses
		}
		for k, m := range map[string]json.RawMessage{"tags": req.Tags, "exclude_tags": req.ExcludeTags} {
			var list []string
			if json.Unmarshal(m, &list) == nil && list != nil {
				f[k] = list
			} else {
				raw(k, m)
			}
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
	if err := s.swarmWorkload(f, running, &p); err != nil {
		return p, err
	}
	if v, ok := f.get("user_count"); ok && (v != "" || !p.Workload.Shaped()) {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, &engine.FieldError{Field: "user_count", Msg: fmt.Sprintf("%q is not a whole number", v)}
		}
		p.Users = n
	} else if !running && len(f["class_users"]) == 0 && !p.Workload.Shaped() {
		// class_users counts the users otherwise; stages and an arrival
		// rate set them over time.
		return p, &engine.FieldError{Field: "user_count", Msg: "required"}
	}
	if v, ok := f.get("spawn_rate"); ok {
		// NaN, infinities and absurd rates parse; p.Validate refuses them.
		x, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return p, &engine.FieldError{Field: "spawn_rate", Msg: fmt.Sprintf("%q is not a number", v)}
		}
		p.SpawnRate = x
	}
	if v, ok := f.get("host"); ok && v != "" {
		if err := checkURL(v); err != nil {
			return p, &engine.FieldError{Field: "host", Msg: err.Error()}
		}
		p.Host = s.unredactHost(v)
	}
	if v, ok := f.get("run_time"); ok && v != "" {
		d, err := workload.ParseDuration(v)
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
	if err := s.swarmClassUsers(f, &p); err != nil {
		return p, err
	}
	if err := s.swarmTags(f, running, &p); err != nil {
		return p, err
	}
	if err := s.swarmVars(f, running, &p); err != nil {
		return p, err
	}
	if p.Host == "" {
		return p, &engine.FieldError{Field: "host", Msg: "required: the script sets no host"}
	}
	return p, p.Validate()
}

// swarmClassUsers reads class_users, exact user counts per class
// ("reader=3,writer=1", or the field repeated; as a load shape's
// per-class targets): the test's user count is then their sum, and a
// user_count sent along must agree. A new user_count without them goes
// back to sharing the users by the classes' weights.
func (s *Server) swarmClassUsers(f fieldValues, p *engine.Params) error {
	var pairs []string
	for _, v := range f["class_users"] {
		for _, part := range strings.Split(v, ",") {
			if part = strings.TrimSpace(part); part != "" {
				pairs = append(pairs, part)
			}
		}
	}
	if len(pairs) == 0 {
		if _, ok := f.get("user_count"); ok {
			p.ClassUsers = nil
		}
		return nil
	}
	counts := make(map[string]int, len(pairs))
	total := 0
	for _, pair := range pairs {
		name, v, ok := strings.Cut(pair, "=")
		name = strings.TrimSpace(name)
		n, err := strconv.Atoi(strings.TrimSpace(v))
		switch {
		case !ok || err != nil || n < 0:
			return &engine.FieldError{Field: "class_users", Msg: fmt.Sprintf("%q is not CLASS=COUNT with a whole number of users", pair)}
		case !s.hasClass(name):
			return &engine.FieldError{Field: "class_users", Msg: fmt.Sprintf("%q is not a user class of the script (have %s)", name, strings.Join(s.classes, ", "))}
		}
		counts[name] = n
		total += n
		if total > 1<<30 {
			return &engine.FieldError{Field: "class_users", Msg: "too many users"}
		}
	}
	if v, ok := f.get("user_count"); ok && v != strconv.Itoa(total) {
		return &engine.FieldError{Field: "class_users", Msg: fmt.Sprintf("the classes' users add up to %d, but user_count is %s", total, v)}
	}
	p.ClassUsers, p.Users = counts, total
	return nil
}

// swarmTags reads the tags and exclude_tags fields (the start form's
// advanced options): comma-separated, as -T/-E. Like the user classes,
// they are chosen when a test starts; a selection that leaves no task
// is refused on the tags field.
func (s *Server) swarmTags(f fieldValues, running bool, p *engine.Params) error {
	for _, fld := range []struct {
		name string
		dst  *[]string
	}{{"tags", &p.Tags}, {"exclude_tags", &p.ExcludeTags}} {
		values, ok := f[fld.name]
		if !ok {
			continue
		}
		var list []string
		for _, v := range values {
			for _, part := range strings.Split(v, ",") {
				if part = strings.TrimSpace(part); part != "" {
					list = append(list, part)
				}
			}
		}
		if running {
			if !sameClasses(list, *fld.dst) {
				return &engine.FieldError{Field: fld.name, Msg: "cannot change the tags of a running test; stop it first"}
			}
			continue
		}
		*fld.dst = list
	}
	if running || s.cfg.Script == nil {
		return nil
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if _, err := s.cfg.Script.SelectTags(p.Tags, p.ExcludeTags); err != nil {
		return &engine.FieldError{Field: "tags", Msg: err.Error()}
	}
	return nil
}

// unredactHost maps a host the page got with its password hidden (from
// /api/info or the event stream) back to the real one, so that starting
// again from the prefilled form keeps the password.
func (s *Server) unredactHost(v string) string {
	for _, h := range []string{s.cfg.Defaults.Host, s.cfg.Engine.Params().Host} {
		if h != v && redact.Host(h) == v {
			return h
		}
	}
	return v
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
	host := redact.Host(p.Host)
	s.cfg.Log.Info("web: "+strings.ToLower(msg), "users", p.Users, "spawn_rate", p.SpawnRate, "host", host, "run_time", p.RunTime, "remote", r.RemoteAddr)
	resp := map[string]any{"success": true, "message": msg, "host": host, "user_count": p.Users, "spawn_rate": p.SpawnRate}
	if p.RunTime > 0 {
		resp["run_time"] = p.RunTime.Seconds()
	}
	if len(p.Classes) > 0 {
		resp["user_classes"] = p.Classes
	}
	if p.Iterations > 0 {
		resp["iterations"] = p.Iterations
	}
	if wl := p.Workload; wl != nil {
		resp["stages"], resp["arrival_rate"], resp["arrival_stages"], resp["max_users"] = wl.Stages, wl.ArrivalRate, wl.ArrivalStages, wl.MaxUsers
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
