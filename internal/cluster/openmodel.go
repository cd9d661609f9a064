package cluster

import (
	"fmt"
	"math"
	"time"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/openmodel"
	"github.com/stampede-load/stampede/internal/workload"
)

// OpenModel is an open-model (arrival-rate) test run by the workers:
// the master splits the rate into equal shares, one per worker, and
// sends every worker the whole schedule with its share; when a worker
// joins or is lost the shares are recomputed and sent again, so the
// cluster-wide rate stays on the schedule.
type OpenModel struct {
	Schedule workload.ScheduleSpec
	// MaxUsers and MaxQueue are the cluster's pool and queue; each worker
	// gets its share of them (rounded up).
	MaxUsers, MaxQueue int
}

// openShares splits the rate over n workers: equal shares, and phases
// that interleave their iterations (worker i starts i/n of an interval
// later than worker 0).
func openShares(n int) (shares, phases []float64) {
	for i := 0; i < n; i++ {
		shares = append(shares, 1/float64(n))
		phases = append(phases, float64(i)/float64(n))
	}
	return shares, phases
}

// openTargets is the OpenModel message for one worker.
func (o *OpenModel) targets(share, phase float64, origin time.Time, end time.Duration, catchUp bool) *pb.OpenModel {
	m := &pb.OpenModel{
		Constant: o.Schedule.Constant, StartRate: o.Schedule.Start,
		Share: share, Phase: phase, OriginUnixNano: origin.UnixNano(), EndMs: end.Milliseconds(), CatchUp: catchUp,
		MaxUsers: int32(max(1, int(math.Ceil(float64(o.MaxUsers)*share)))),
		MaxQueue: int32(max(1, int(math.Ceil(float64(o.MaxQueue)*share)))),
	}
	for _, st := range o.Schedule.Stages {
		m.Stages = append(m.Stages, &pb.ArrivalStage{DurationMs: st.Duration.Milliseconds(), Rate: st.Rate})
	}
	return m
}

// rebalanceOpenLocked sends every eligible worker its share of the rate.
// Workers placed when the test starts catch up from its origin; workers
// placed later start from the schedule's current point.
func (m *Master) rebalanceOpenLocked(ws []*workerState, why string) {
	shares, phases := openShares(len(ws))
	catchUp := !m.test.openPlaced
	m.test.openPlaced = true
	m.gen++
	for i, w := range ws {
		w.assigned = map[string]int{} // marks the worker as placed
		if w.conn == nil {
			continue // sent again when it reconnects
		}
		w.assignedGen = m.gen
		w.conn.send(&pb.MasterMessage{Msg: &pb.MasterMessage_Targets{Targets: &pb.Targets{
			TestId: m.test.id, Generation: m.gen, Host: m.test.params.Host,
			Model: &pb.Targets_Open{Open: m.test.open.targets(shares[i], phases[i], m.test.origin, m.test.params.RunTime, catchUp)},
		}}})
	}
	m.cfg.Log.Debug("open-model placement", "why", why, "workers", len(ws))
}

// applyOpenLocked starts the worker's arrival scheduler, or changes its
// share.
func (w *Worker) applyOpenLocked(cur *workerTest, o *pb.OpenModel) error {
	if cur.om != nil {
		// The pool and queue are shares too: a worker that takes over a
		// lost one's rate needs its part of --max-users as well.
		if err := cur.om.SetLimits(int(o.MaxUsers), int(o.MaxQueue)); err != nil {
			return err
		}
		return cur.om.SetShare(o.Share)
	}
	if cur.sc == nil {
		return fmt.Errorf("open model: the test %d was not prepared", cur.id)
	}
	spec := workload.ScheduleSpec{Constant: o.Constant, Start: o.StartRate}
	for _, st := range o.Stages {
		spec.Stages = append(spec.Stages, workload.ArrivalStage{Duration: time.Duration(st.DurationMs) * time.Millisecond, Rate: st.Rate})
	}
	s, err := openmodel.New(openmodel.Config{
		Script: cur.sc, Host: cur.host, HTTP: cur.http, Seed: cur.seed, StopTimeout: cur.stopTimeout,
		Log: w.cfg.Log, IDOffset: cur.idOffset, Recorder: cur.r.Recorder(),
		Schedule: workload.NewSchedule(spec), Share: o.Share, Phase: o.Phase,
		Origin: time.Unix(0, o.OriginUnixNano), End: time.Duration(o.EndMs) * time.Millisecond, CatchUp: o.CatchUp,
		MaxUsers: int(o.MaxUsers), QueueSize: int(o.MaxQueue),
		Iterations: cur.env.iterations, SetupData: cur.env.setup, StopTest: cur.env.stopTest,
	})
	if err != nil {
		return err
	}
	s.Start(cur.ctx)
	cur.om = s
	w.cfg.Log.Info("open model started", "test", cur.id, "schedule", workload.NewSchedule(spec).String(), "share", o.Share, "max_users", o.MaxUsers)
	return nil
}
