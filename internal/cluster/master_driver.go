package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/stampede-load/stampede/internal/engine"
	"github.com/stampede-load/stampede/internal/runner"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// Apply starts a test on the workers or changes its targets.
func (m *Master) Apply(_ context.Context, p engine.Params) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	// The tag selection and the script are the test's from its start:
	// an edit keeps them.
	s := m.cfg.Script
	switch {
	case m.test.active:
		p.Tags, p.ExcludeTags = m.test.tags, m.test.excludeTags
		s = m.test.script
	case p.Script != nil:
		s = p.Script
	}
	sel, err := s.SelectTags(p.Tags, p.ExcludeTags)
	if err != nil {
		return &engine.FieldError{Field: "tags", Msg: err.Error()}
	}
	classes := runner.Classes(sel)
	if len(p.Classes) > 0 {
		classes = runner.FilterClasses(classes, p.Classes)
		if len(classes) == 0 {
			return &engine.FieldError{Field: "user_classes", Msg: fmt.Sprintf("none of %v is a user class of the script", p.Classes)}
		}
	}
	if !m.test.active {
		if m.connectedLocked() == 0 {
			return errors.New("no workers are connected")
		}
		vars := m.cfg.Vars
		if p.Script != nil {
			vars = p.Vars
		}
		m.test = testState{id: m.test.id + 1, active: true, params: p, classes: classes, origin: time.Now(),
			tags: p.Tags, excludeTags: p.ExcludeTags, script: s, vars: vars, open: m.open}
		if len(sel.Excluded) > 0 {
			m.cfg.Log.Warn("user classes left with no task by the tag selection get no users",
				"classes", sel.Excluded, "selection", script.DescribeTags(p.Tags, p.ExcludeTags))
		}
		m.pending, m.pendingCost, m.lost, m.lostOmitted = nil, 0, nil, 0
		for _, w := range m.workers {
			w.assigned, w.assignedGen = nil, 0
		}
		m.shareOutLocked()
		for _, w := range m.workers {
			if w.conn != nil && !w.missing {
				w.conn.send(m.prepareMsg(w))
			}
		}
	}
	// An edit keeps what was fixed at the start (the engine carries the
	// setup data; the iterations were shared out).
	p.Iterations = m.test.params.Iterations
	m.test.params, m.test.classes = p, classes
	m.rebalanceLocked("apply")
	return nil
}

// SetOpen sets the workload of the tests that start from now on: the
// open model o, or the closed model when nil. A running test keeps its
// own.
func (m *Master) SetOpen(o *OpenModel) {
	m.mu.Lock()
	m.open = o
	m.mu.Unlock()
}

// Stop stops the test on every worker and waits (until ctx ends) for each
// connected worker to confirm that its final report was sent. Workers
// that go missing meanwhile are not waited for.
func (m *Master) Stop(ctx context.Context) {
	m.mu.Lock()
	if !m.test.active {
		m.mu.Unlock()
		return
	}
	m.test.stopping = true
	id := m.test.id
	for _, w := range m.workers {
		if w.conn != nil && !w.missing {
			w.conn.send(stopMsg(id))
		}
	}
	m.mu.Unlock()
	for {
		m.mu.Lock()
		var waiting []string
		for _, w := range m.workers {
			if !w.missing && w.stoppedTest < id && (w.conn != nil || w.assigned != nil) && w.failedTest != id {
				waiting = append(waiting, w.id)
			}
		}
		ch := m.changed
		m.mu.Unlock()
		if len(waiting) == 0 {
			break
		}
		select {
		case <-ch:
			continue
		case <-time.After(m.cfg.MissingAfter / 6): // re-check: workers go missing by time
			continue
		case <-ctx.Done():
			sort.Strings(waiting)
			m.cfg.Log.Warn("workers did not confirm their final statistics in time", "workers", strings.Join(waiting, ","))
		}
		break
	}
	m.mu.Lock()
	m.test.active, m.test.stopping = false, false
	for _, w := range m.workers {
		w.assigned = nil
	}
	m.mu.Unlock()
}

// Users is the number of users the workers run.
func (m *Master) Users() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, w := range m.workers {
		if !w.missing && w.hb != nil && w.hb.TestId == m.test.id {
			n += int(w.hb.Users)
		}
	}
	return n
}

// UsersByClass is the number of users per class over every worker, as
// their last heartbeats said.
func (m *Master) UsersByClass() map[string]int {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]int{}
	for _, w := range m.workers {
		if !w.missing && w.hb != nil && w.hb.TestId == m.test.id {
			for c, n := range w.hb.UsersByClass {
				out[c] += int(n)
			}
		}
	}
	return out
}

// Spawning reports whether some worker has not reached its targets yet.
func (m *Master) Spawning() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.test.active {
		return false
	}
	for _, w := range m.workers {
		if w.missing || w.conn == nil || w.assignedGen == 0 {
			continue
		}
		if w.hb == nil || w.hb.TargetsGeneration < w.assignedGen || w.hb.Spawning {
			return true
		}
	}
	return false
}

// Collect hands over the deltas received since the last call.
func (m *Master) Collect(_ time.Time, add func(stats.Origin, *stats.Delta)) {
	m.mu.Lock()
	p := m.pending
	m.pending = nil
	if m.pendingCost > m.pendingLimit {
		m.notifyLocked() // reports held back by waitPending may go on
	}
	m.pendingCost = 0
	m.mu.Unlock()
	for _, x := range p {
		add(x.o, x.d)
	}
}
