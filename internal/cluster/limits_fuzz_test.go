package cluster

import (
	"encoding/json"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/output"
)

// FuzzCheckWorkerMessage: whatever a worker sends as a hello, heartbeat
// or report, the checks either refuse it or let through only what every
// output can hold: the worker list (with its CPU use and users) encodes
// with plain encoding/json, and labels are short and printable.
func FuzzCheckWorkerMessage(f *testing.F) {
	for _, m := range []*pb.WorkerMessage{
		{Msg: &pb.WorkerMessage_Hello{Hello: &pb.Hello{WorkerId: "w1", Incarnation: "abc", Region: "eu", Hostname: "h", Version: "v1", CpuCount: 4}}},
		{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: &pb.Heartbeat{Users: 3, CpuPercent: 12.5, MemoryBytes: 1 << 20, UsersByClass: map[string]int32{"a": 2, "b": 1}}}},
		{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: &pb.Heartbeat{CpuPercent: math.NaN()}}},
		{Msg: &pb.WorkerMessage_Heartbeat{Heartbeat: &pb.Heartbeat{Users: -1_000_000}}},
		{Msg: &pb.WorkerMessage_Report{Report: &pb.Report{Seq: 1, Status: &pb.Heartbeat{CpuPercent: math.Inf(1)},
			Delta: &pb.Delta{Entries: []*pb.Entry{{Method: "GET", Name: "/", Requests: 1, Failures: 1000}}}}}},
	} {
		b, err := proto.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m pb.WorkerMessage
		if proto.Unmarshal(b, &m) != nil {
			return
		}
		if h := m.GetHello(); h != nil && checkHello(h) == nil {
			if len(h.WorkerId) > maxIDLen || len(h.Region) > maxRegionLen {
				t.Fatalf("hello with a %d-byte id and a %d-byte region accepted", len(h.WorkerId), len(h.Region))
			}
		}
		hb := m.GetHeartbeat()
		if r := m.GetReport(); r != nil {
			if checkReport(r.Delta, DefaultMaxNames) == nil && r.Delta != nil {
				for _, e := range r.Delta.Entries {
					if e.Failures > e.Requests || e.Requests < 0 {
						t.Fatalf("entry with %d failures of %d requests accepted", e.Failures, e.Requests)
					}
				}
			}
			hb = r.Status
		}
		if hb == nil || checkHeartbeat(hb, 4, nil) != nil {
			return
		}
		wi := output.WorkerInfo{ID: "w", Users: int(hb.Users), CPUPercent: hb.CpuPercent, MemoryBytes: hb.MemoryBytes}
		if _, err := json.Marshal(wi); err != nil {
			t.Fatalf("an accepted heartbeat breaks the worker list: %v", err)
		}
		if wi.Users < 0 || wi.CPUPercent < 0 || wi.CPUPercent > 400 {
			t.Fatalf("accepted: users %d, cpu %v", wi.Users, wi.CPUPercent)
		}
	})
}
