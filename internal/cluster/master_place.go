package cluster

import (
	"sort"

	"github.com/stampede-load/stampede/internal/cluster/pb"
)

// eligibleLocked lists the workers that can take users now.
func (m *Master) eligibleLocked() []*workerState {
	var out []*workerState
	for _, w := range m.workers {
		if w.missing || w.failedTest == m.test.id && m.test.id != 0 {
			continue
		}
		if w.conn == nil && w.assigned == nil {
			continue // gone before it was given users
		}
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// rebalanceLocked computes placement and sends every worker whose share
// changed its new absolute targets.
func (m *Master) rebalanceLocked(why string) {
	ws := m.eligibleLocked()
	if m.test.open != nil {
		m.rebalanceOpenLocked(ws, why)
		return
	}
	p := m.test.params
	plan := m.placeLocked(ws)
	rate := p.SpawnRate
	if len(ws) > 0 {
		rate /= float64(len(ws))
	}
	m.gen++
	for _, w := range ws {
		users := plan[w.id]
		if w.conn == nil {
			w.assigned = users // sent when it reconnects
			continue
		}
		w.assigned, w.assignedGen = users, m.gen
		w.conn.send(m.targetsMsg(users, rate))
	}
	m.cfg.Log.Debug("placement", "why", why, "workers", len(ws), "users", p.Users)
}

// placeLocked is the users per class of each of ws in the closed model.
func (m *Master) placeLocked(ws []*workerState) map[string]map[string]int {
	pws := make([]placeWorker, len(ws))
	for i, w := range ws {
		pws[i] = placeWorker{ID: w.id, Host: w.hostname}
	}
	p := m.test.params
	if len(p.ClassUsers) > 0 {
		return placeTotals(m.test.classes, p.ClassUsers, pws)
	}
	return place(m.test.classes, p.Users, pws)
}

func (m *Master) targetsMsg(users map[string]int, rate float64) *pb.MasterMessage {
	u := make(map[string]int32, len(users))
	for k, v := range users {
		u[k] = int32(v)
	}
	return &pb.MasterMessage{Msg: &pb.MasterMessage_Targets{Targets: &pb.Targets{
		TestId: m.test.id, Generation: m.gen, Host: m.test.params.Host,
		Model: &pb.Targets_Closed{Closed: &pb.ClosedModel{Users: u, SpawnRate: rate}},
	}}}
}
