package engine

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// events records the order of what the engine asked of a driver and of
// the hooks.
type events struct {
	mu  sync.Mutex
	log []string
}

func (ev *events) add(s string) {
	ev.mu.Lock()
	ev.log = append(ev.log, s)
	ev.mu.Unlock()
}

func (ev *events) String() string {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return strings.Join(ev.log, " ")
}

type fakeDriver struct{ ev *events }

func (d fakeDriver) Apply(_ context.Context, p Params) error {
	d.ev.add("apply:" + string(p.SetupData.JSON))
	return nil
}
func (d fakeDriver) Stop(context.Context) { d.ev.add("stop") }
func (d fakeDriver) Users() int           { return 0 }
func (d fakeDriver) Spawning() bool       { return false }
func (d fakeDriver) Collect(time.Time, func(stats.Origin, *stats.Delta)) {
}

type fakeHooks struct {
	ev  *events
	err error
}

func (h fakeHooks) Setup(context.Context, Params) (*script.SetupData, error) {
	h.ev.add("setup")
	if h.err != nil {
		return nil, h.err
	}
	return script.DecodeSetupData([]byte(`{"t":1}`))
}
func (h fakeHooks) Teardown(_ context.Context, p Params) {
	h.ev.add("teardown:" + string(p.SetupData.JSON))
}
func (h fakeHooks) Flush(time.Time) *stats.Delta { return nil }

func TestHooksOrder(t *testing.T) {
	ev := &events{}
	e := New(Config{Driver: fakeDriver{ev}, Hooks: fakeHooks{ev: ev}, Interval: 10 * time.Millisecond})
	p := Params{Users: 1, SpawnRate: 1}
	if err := e.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	p.Users = 2 // an edit: no second setup, the same data
	if err := e.Start(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if err := e.Stop(); err != nil {
		t.Fatal(err)
	}
	if got := ev.String(); got != `setup apply:{"t":1} apply:{"t":1} stop teardown:{"t":1}` {
		t.Errorf("events %s", got)
	}

	ev2 := &events{}
	e = New(Config{Driver: fakeDriver{ev2}, Hooks: fakeHooks{ev: ev2, err: errors.New("setup failed: test.star:2:5: no")}})
	err := e.Start(context.Background(), p)
	var se *SetupError
	if !errors.As(err, &se) || ev2.String() != "setup" {
		t.Fatalf("start: %v, events %s", err, ev2)
	}
	select {
	case <-e.Done():
	default:
		t.Fatal("a test whose setup failed is not done")
	}
	if _, _, reason := e.Times(); e.State() != StateStopped || reason != "setup failed: test.star:2:5: no" {
		t.Errorf("state %s, reason %q", e.State(), reason)
	}
}
