package cluster

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/httpclient"
	"github.com/stampede-load/stampede/internal/script"
)

// TestInProcessGoClasses: workers carrying the master's Go user classes
// join, run them from a test without a script, each with its own share
// (VU.Partition), and the master counts what the target saw.
func TestInProcessGoClasses(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.RawQuery]++
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	share, err := script.NewGoClass(script.GoClass{Name: "Share", Weight: 1, Wait: &script.WaitTime{Kind: script.WaitConstant, Min: 20 * time.Millisecond},
		Tasks: []script.GoTask{{Name: "part", Weight: 1, Fn: func(v *script.VU) error {
			p := v.Partition()
			_, err := v.Request(&httpclient.Request{Method: http.MethodGet, FollowRedirects: true}, fmt.Sprintf("/part?i=%d&n=%d", p.Index, p.Count), "/part")
			return err
		}}}})
	if err != nil {
		t.Fatal(err)
	}
	classes := []*script.UserClass{share}
	s, err := script.LoadGo(script.Options{Go: classes})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCluster(t, MasterConfig{Script: s, GoClasses: classes})
	c.startWorker("w0", "eu", "")
	waitUntil(t, 5*time.Second, "w0 to connect", func() bool { return c.m.Connected() == 1 })
	c.startWorker("w1", "eu", "")
	waitUntil(t, 5*time.Second, "w1 to connect", func() bool { return c.m.Connected() == 2 })
	if err := c.eng.Start(t.Context(), engine.Params{Users: 4, SpawnRate: 100, Host: srv.URL}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "4 users", func() bool { return c.m.Users() == 4 && !c.m.Spawning() })
	time.Sleep(300 * time.Millisecond)
	if err := c.eng.Stop(); err != nil {
		t.Fatal(err)
	}
	sum := c.eng.Snapshot(true)
	mu.Lock()
	defer mu.Unlock()
	total := int64(0)
	for _, n := range seen {
		total += int64(n)
	}
	if sum.Total.Requests != total || seen["i=0&n=2"] == 0 || seen["i=1&n=2"] == 0 || len(seen) != 2 {
		t.Fatalf("master counted %d requests; the target saw %v", sum.Total.Requests, seen)
	}
	if len(sum.Entries) != 1 || sum.Entries[0].Name != "/part" || len(sum.Exceptions) != 0 {
		t.Fatalf("entries %+v, exceptions %+v", sum.Entries, sum.Exceptions)
	}
}
