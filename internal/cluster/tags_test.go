package cluster_test

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Workers run the tasks the master's -T/-E selected: the tags travel
// with the test, not with each worker's own flags.
func TestTagsReachWorkers(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	script := writeScript(t, `
def browse(u):
    u.http.get("/browse")
def buy(u):
    u.http.get("/buy")
def manage(u):
    u.http.get("/admin")
checkout = taskset(tasks=[buy])
shopper = user(tasks=[task(browse, tags=["read"]), task(checkout, tags=["write"])], wait_time=constant(0.02))
admin = user(tasks=[task(manage, tags=["admin"])], wait_time=constant(0.02))
`)
	port := freePort(t)
	out := filepath.Join(t.TempDir(), "run")
	tg := &target{URL: srv.URL}
	m := start(t, "master", nil, nil, masterArgs(script, port, tg, out,
		"-u", "6", "-r", "50", "-t", "2s", "--expect-workers", "2", "-T", "write,admin", "-E", "admin")...)
	w1 := start(t, "w1", nil, nil, workerArgs(port, "eu", "w1")...)
	w2 := start(t, "w2", nil, nil, workerArgs(port, "us", "w2")...)
	if code := m.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("master exit %d", code)
	}
	w1.wait(t, 15*time.Second)
	w2.wait(t, 15*time.Second)
	mu.Lock()
	defer mu.Unlock()
	if seen["/buy"] == 0 || seen["/browse"] != 0 || seen["/admin"] != 0 {
		t.Errorf("server received %v; want only /buy (the only task tagged write and not admin)", seen)
	}
	doc := readDoc(t, out+".json")
	for _, w := range doc.Workers {
		if workerTotal(doc, w.ID) == 0 {
			t.Errorf("worker %s sent nothing", w.ID)
		}
	}
}
