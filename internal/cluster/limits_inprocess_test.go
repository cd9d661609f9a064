package cluster

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/stats"
)

// The master's --max-names and --max-body reach its workers: a worker
// records at most the master's names (so its reports are not refused as
// too wide) and cuts bodies at the master's cap, and the cut bodies are
// counted in the master's statistics.
func TestWorkersFollowMasterLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("b", 5000)))
	}))
	defer srv.Close()
	c := newTestCluster(t, MasterConfig{
		Script: loadScript(t, `
def t(u):
    r = u.http.get("/item?id=%d" % random.randint(0, 1000000000))
    if len(r.content) != 1000:
        fail("saw %d bytes" % len(r.content))
c = user(tasks=[t], wait_time=constant(0.005))
`),
		MaxNames: 5, HTTP: httpclient.Options{MaxBody: 1000},
	})
	c.startWorker("w0", "eu", "")
	waitUntil(t, 5*time.Second, "w0 to connect", func() bool { return c.m.Connected() == 1 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 2, SpawnRate: 100, Host: srv.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "requests", func() bool { return c.eng.Snapshot(false).Total.Requests > 100 })
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	s := c.eng.Snapshot(false)
	if len(s.Exceptions) > 0 {
		t.Fatalf("the script saw bodies of other than 1000 bytes: %+v", s.Exceptions[0])
	}
	if len(s.Entries) != 6 || s.Entries[0].Name != stats.OtherName && s.Entries[5].Name != stats.OtherName {
		t.Errorf("%d entries, want the worker's 5 names and its overflow entry", len(s.Entries))
	}
	if s.TruncatedBodies != s.Total.Requests {
		t.Errorf("truncated_bodies %d of %d requests", s.TruncatedBodies, s.Total.Requests)
	}
	if lost := c.m.Lost(); len(lost) > 0 {
		t.Errorf("the worker was disconnected: %+v", lost)
	}
}
