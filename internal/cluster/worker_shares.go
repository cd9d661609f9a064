package cluster

import (
	"fmt"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/workload"
)

// testEnv is what the users of a prepared test share besides the script:
// the setup's data, this worker's part of the iterations, and the way a
// script ends the test (master_shares.go has the master's side).
type testEnv struct {
	setup      *script.SetupData
	iterations *workload.Iterations
	stopTest   func(reason string)
}

// newTestEnv reads the worker's share from p and gives s its partition
// of the shared queues.
func (w *Worker) newTestEnv(p *pb.Prepare, s *script.Script) (testEnv, error) {
	var env testEnv
	if len(p.SetupData) > 0 {
		d, err := script.DecodeSetupData(p.SetupData)
		if err != nil {
			return env, err
		}
		env.setup = d
	}
	part := script.Partition{Index: int(p.PartitionIndex), Count: int(p.PartitionCount)}
	if part.Count < 0 || part.Index >= part.Count && part.Count > 0 {
		return env, fmt.Errorf("bad queue partition %d of %d", part.Index, part.Count)
	}
	s.StartTest(part)
	id := p.TestId
	if p.Iterations != nil {
		env.iterations = workload.NewIterations(*p.Iterations, func() {
			w.cfg.Log.Info("this worker's part of the iterations is done", "test", id, "iterations", *p.Iterations)
			w.ends.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_TestEnd{TestEnd: &pb.TestEnd{TestId: id, IterationsDone: true}}})
		})
	}
	env.stopTest = func(reason string) {
		w.ends.push(&pb.WorkerMessage{Msg: &pb.WorkerMessage_TestEnd{TestEnd: &pb.TestEnd{TestId: id, StopTestReason: reason}}})
	}
	return env, nil
}
