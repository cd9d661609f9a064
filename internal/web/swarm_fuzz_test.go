package web

import (
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
)

// FuzzSwarmForm: whatever body POST /swarm gets (JSON, urlencoded or
// multipart), the fields are either refused or give parameters the engine
// accepts: users and spawn rate in range and finite, a run time >= 0, an
// http(s) host, classes of the script and tags that leave a task.
func FuzzSwarmForm(f *testing.F) {
	sc, err := script.LoadFiles("test.star", map[string][]byte{"test.star": []byte(testScript)}, script.Options{})
	if err != nil {
		f.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	eng := engine.New(engine.Config{Driver: &fakeDriver{}, Log: log})
	srv, err := New(Config{Engine: eng, Script: sc, Defaults: engine.Params{Host: sc.Host, Users: 5, SpawnRate: 2}, Log: log,
		Vars:       map[string]string{"env": "staging", "api_token": "t"},
		LoadScript: func(map[string]string) (*script.Script, error) { return sc, nil }})
	if err != nil {
		f.Fatal(err)
	}
	const (
		kindJSON = iota
		kindForm
		kindMultipart
	)
	for _, s := range []struct {
		kind uint8
		body string
	}{
		{kindForm, "user_count=10&spawn_rate=2&host=http%3A%2F%2F127.0.0.1%3A9&run_time=1m30s&user_classes=reader&tags=read"},
		{kindForm, "user_count=1e3&spawn_rate=inf&run_time=1e300"},
		{kindForm, "user_count=-1&spawn_rate=NaN&host=ftp://x"},
		{kindForm, "user_count=5&spawn_rate=1&exclude_tags=read,write"},
		{kindJSON, `{"user_count": 10, "spawn_rate": 2.5, "host": "https://example.test", "run_time": "90", "user_classes": ["writer"]}`},
		{kindJSON, `{"user_count": "10", "spawn_rate": 1e309, "tags": ["read"], "exclude_tags": "write"}`},
		{kindJSON, `{"user_count": 99999999999999999999}`},
		{kindForm, "arrival_rate=50%2Fs&arrival_stages=10s:100/s&max_users=20&iterations=9&var.env=prod&var.api_token="},
		{kindForm, "stages=1s:2:1,1s:0:5&var.nope=1"},
		{kindJSON, `{"arrival_rate": "0/s", "arrival_stages": "1s:5/s", "max_users": "7", "vars": {"env": "x", "api_token": "y"}}`},
		{kindJSON, `{"stages": "", "user_count": 2, "iterations": -3}`},
		{kindMultipart, "--B\r\nContent-Disposition: form-data; name=\"user_count\"\r\n\r\n3\r\n--B\r\nContent-Disposition: form-data; name=\"spawn_rate\"\r\n\r\n1\r\n--B--\r\n"},
	} {
		f.Add(s.kind, s.body)
	}
	f.Fuzz(func(t *testing.T, kind uint8, body string) {
		r := httptest.NewRequest(http.MethodPost, "/swarm", strings.NewReader(body))
		switch kind % 3 {
		case kindJSON:
			r.Header.Set("Content-Type", "application/json")
		case kindForm:
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		default:
			r.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		}
		fields, err := readSwarmFields(httptest.NewRecorder(), r)
		if err != nil {
			return
		}
		p, err := srv.swarmParams(fields)
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted parameters the engine refuses: %v (%+v)", err, p)
		}
		if p.Users < 0 || !(p.SpawnRate > 0) || math.IsInf(p.SpawnRate, 0) || p.RunTime < 0 {
			t.Fatalf("accepted %+v", p)
		}
		if u, err := url.Parse(p.Host); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			t.Fatalf("accepted host %q", p.Host)
		}
		for _, c := range p.Classes {
			if !slices.Contains([]string{"reader", "writer"}, c) {
				t.Fatalf("accepted class %q", c)
			}
		}
		if _, err := sc.SelectTags(p.Tags, p.ExcludeTags); err != nil {
			t.Fatalf("accepted tags that leave no task: %v", err)
		}
		for k, v := range p.Vars {
			if _, ok := srv.cfg.Vars[k]; !ok || len(v) > maxVarValue {
				t.Fatalf("accepted var %q of %d bytes", k, len(v))
			}
		}
	})
}
