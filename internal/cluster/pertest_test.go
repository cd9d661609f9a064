package cluster

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/workload"
)

const varsScript = `
def hit(u):
    u.http.get("/" + vars["mode"])

visitor = user(tasks=[hit], wait_time=constant(0.05))
`

// Each test of one master chooses its script's vars (the web form's
// custom parameters: engine.Params.Script and Vars) and its workload
// model (SetOpen): the workers run what the test chose, and the next
// test without a choice runs the master's own again.
func TestInProcessPerTestVarsAndModel(t *testing.T) {
	var mu sync.Mutex
	paths := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths[r.URL.Path]++
		mu.Unlock()
	}))
	defer srv.Close()
	count := func(p string) int {
		mu.Lock()
		defer mu.Unlock()
		return paths[p]
	}
	load := func(mode string) *script.Script {
		s, err := script.LoadFiles("t.star", map[string][]byte{"t.star": []byte(varsScript)}, script.Options{Vars: map[string]string{"mode": mode}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	c := newTestCluster(t, MasterConfig{Script: load("one"), Vars: map[string]string{"mode": "one"}})
	c.startWorker("w0", "eu", "")
	waitUntil(t, 5*time.Second, "the worker", func() bool { return c.m.Connected() == 1 })

	// the form's vars, in the open model at 50/s (its one user with a
	// 0.05 s wait would make at most 20/s in the closed model)
	c.m.SetOpen(&OpenModel{Schedule: workload.ScheduleSpec{Constant: true, Start: 50}, MaxUsers: 10, MaxQueue: 10})
	if err := c.eng.Start(t.Context(), engine.Params{Users: 1, SpawnRate: 1, Host: srv.URL, Script: load("two"), Vars: map[string]string{"mode": "two"}}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "requests to /two", func() bool { return count("/two") >= 20 })
	start := time.Now()
	n0 := count("/two")
	time.Sleep(1500 * time.Millisecond)
	rate := float64(count("/two")-n0) / time.Since(start).Seconds()
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	if rate < 35 || rate > 65 {
		t.Errorf("open model at 50/s: the target saw %.1f/s", rate)
	}
	if n := count("/one"); n != 0 {
		t.Fatalf("%d requests with the master's vars in a test that chose others", n)
	}

	// the next test chooses nothing: the master's vars, the closed model
	// (40 users, more than the open model's pool of 10)
	c.m.SetOpen(nil)
	if err := c.eng.Start(t.Context(), engine.Params{Users: 40, SpawnRate: 400, Host: srv.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "40 users", func() bool { return c.m.Users() == 40 })
	waitUntil(t, 10*time.Second, "requests to /one", func() bool { return count("/one") > 0 })
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
}
