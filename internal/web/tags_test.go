package web

import (
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The start form's tags and exclude_tags reach the engine as the test's
// task selection, from a form or JSON, and are the test's until it stops.
func TestSwarmTags(t *testing.T) {
	f := newFixture(t, "", false)
	var in info
	f.getJSON("/api/info", &in)
	if !slices.Equal(in.TaskTags, []string{"read", "write"}) {
		t.Errorf("info task_tags = %v", in.TaskTags)
	}
	f.start(url.Values{"user_count": {"4"}, "spawn_rate": {"2"}, "tags": {" read , write"}, "exclude_tags": {"write"}})
	f.drv.mu.Lock()
	p := f.drv.applied[0]
	f.drv.mu.Unlock()
	if !slices.Equal(p.Tags, []string{"read", "write"}) || !slices.Equal(p.ExcludeTags, []string{"write"}) {
		t.Fatalf("applied tags %v exclude %v", p.Tags, p.ExcludeTags)
	}
	// An edit may not change them.
	res := f.do("POST", "/swarm", "", "", "application/json", `{"user_count": 6, "tags": "write"}`)
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"tags"`) {
		t.Fatalf("edit changing tags: %d %s", res.StatusCode, b)
	}
	res = f.do("POST", "/swarm", "", "", "application/json", `{"user_count": 6}`)
	res.Body.Close()
	f.drv.mu.Lock()
	p = f.drv.applied[len(f.drv.applied)-1]
	f.drv.mu.Unlock()
	if res.StatusCode != 200 || p.Users != 6 || !slices.Equal(p.Tags, []string{"read", "write"}) {
		t.Fatalf("edit without tags: %d, applied %+v", res.StatusCode, p)
	}
	if err := f.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	// A JSON start takes a list.
	res = f.do("POST", "/swarm", "", "", "application/json", `{"user_count": 2, "spawn_rate": 1, "exclude_tags": ["read"]}`)
	res.Body.Close()
	f.drv.mu.Lock()
	p = f.drv.applied[len(f.drv.applied)-1]
	f.drv.mu.Unlock()
	if res.StatusCode != 200 || len(p.Tags) != 0 || !slices.Equal(p.ExcludeTags, []string{"read"}) {
		t.Fatalf("JSON start: %d, applied tags %v exclude %v", res.StatusCode, p.Tags, p.ExcludeTags)
	}
}

// /tasks nests a task set's tasks under it, as Locust does, and follows
// the running test's tag selection.
func TestTasksNested(t *testing.T) {
	f := newFixture(t, "", false)
	type node struct {
		Ratio float64         `json:"ratio"`
		Tasks map[string]node `json:"tasks"`
	}
	var got map[string]map[string]node
	f.getJSON("/tasks", &got)
	near := func(what string, x, want float64) {
		t.Helper()
		if x < want-1e-9 || x > want+1e-9 {
			t.Errorf("%s = %v, want %v", what, x, want)
		}
	}
	w := got["per_class"]["writer"]
	near("per_class writer", w.Ratio, 0.25)
	near("per_class writer.inner", w.Tasks["inner"].Ratio, 0.75)
	near("per_class writer.inner.a", w.Tasks["inner"].Tasks["a"].Ratio, 0.5)
	w = got["total"]["writer"]
	near("total writer.b", w.Tasks["b"].Ratio, 0.25*0.25)
	near("total writer.inner.a", w.Tasks["inner"].Tasks["a"].Ratio, 0.25*0.75*0.5)

	f.start(url.Values{"user_count": {"2"}, "spawn_rate": {"2"}, "tags": {"write"}})
	got = nil
	f.getJSON("/tasks", &got)
	if _, ok := got["per_class"]["reader"]; ok || len(got["per_class"]["writer"].Tasks) != 1 {
		t.Errorf("with -T write: /tasks = %+v, want writer with its task b only", got["per_class"])
	}
	near("per_class writer.b with -T write", got["per_class"]["writer"].Tasks["b"].Ratio, 1)
}
