package cluster

import (
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stampede-load/stampede/internal/bounds"
	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/script"
	"github.com/stampede-load/stampede/internal/stats"
)

// A worker holding the cluster token is still not trusted with the
// master's memory or its outputs: everything it sends is checked here.
// Values no honest worker can produce (a NaN, a negative count, more
// failures than requests) disconnect it; strings an honest worker can make
// long (request names are URLs) are cut; what a long-running master keeps
// per worker, per region and per name is bounded. docs/distributed.md
// ("Limits") lists each bound.
const (
	// DefaultMaxWorkers bounds the workers connected at once
	// (--max-workers). The master keeps at most twice as many, counting
	// missing ones, and forgets the oldest missing worker first.
	DefaultMaxWorkers = 1000
	// DefaultForgetAfter is how long the master keeps listing a missing
	// worker before it forgets it (--forget-missing-after). A restarted
	// worker gets a new id, so without this a long-running master would
	// collect every worker it ever saw.
	DefaultForgetAfter = 10 * time.Minute
	// DefaultMaxNames bounds the request names of one worker report
	// (--max-names): a worker caps the names it records at the same
	// number, and folds further names into one "other" entry per method.
	DefaultMaxNames = stats.DefaultMaxNames

	// maxRecvMessage bounds one message from a worker: an honest report at
	// every bound below (names, failures, exceptions at their longest)
	// is about 30 MB.
	maxRecvMessage = maxMessage
	// Strings of the hello: a longer one refuses the worker.
	maxIDLen      = 128
	maxRegionLen  = 64
	maxHostLen    = 255
	maxVersionLen = 64
	// Strings of a report are cut to these lengths (in bytes, on a UTF-8
	// boundary); keys that become equal are merged. A worker bounds an
	// exception's message and traceback at the same lengths itself, so
	// honest ones arrive whole.
	maxNameLen      = 4 << 10
	maxMethodLen    = 32
	maxErrorLen     = 4 << 10
	maxMessageLen   = script.MaxExceptionMsg
	maxTracebackLen = script.MaxTraceback
	// maxMethods allows for a worker's overflow entry per method.
	maxMethods = 64
	// Failures and exceptions one report keeps apart, and one test over
	// every worker; further ones are counted in otherErrorKey and
	// otherExceptionKey (an honest worker has many distinct ones when the
	// target's errors carry ids).
	maxErrorsPerReport     = 1000
	maxExceptionsPerReport = 1000
	maxErrorKeys           = 2000
	maxExceptionKeys       = 1000
	// maxRegions bounds the regions of one test with their own statistics
	// (each keeps a row per request name); further regions count under
	// otherRegion. The per-worker statistics of a test are bounded at
	// twice --max-workers in the same way.
	maxRegions   = 64
	otherRegion  = "(other regions)"
	otherWorkers = "(other workers)"
	// maxLost bounds the lost workers a test lists.
	maxLost = 1000
	// Heartbeats: users per worker (no more than a test may have) and
	// classes per heartbeat.
	maxWorkerUsers  = bounds.MaxUsers
	maxClassesPerHB = 1000
	maxMemoryBytes  = 1 << 50
	maxCPUCount     = 1 << 16
	// maxPendingCost bounds the decoded reports waiting for the next
	// collection (about their bytes, see decodeDelta); a worker whose report
	// would go over waits, which slows its stream, until they are taken.
	maxPendingCost = 128 << 20
	// maxAwaitingHello bounds the streams that are open but have not sent
	// their hello yet (each waits up to helloTimeout): a flood of streams
	// that never say hello is refused beyond it instead of costing a
	// goroutine each. An honest worker sends its hello at once, and one
	// refused here retries with backoff like after any lost connection.
	maxAwaitingHello = 256
	helloTimeout     = 10 * time.Second
	// flowWindow is the HTTP/2 flow-control window of a worker's
	// connection and stream, both ways.
	flowWindow = 1 << 20
)

// The overflow rows of failures and exceptions.
var (
	otherErrorKey     = stats.ErrorKey{Error: "(other errors over the master's limit)"}
	otherExceptionKey = stats.ExceptionKey{Message: "(other exceptions over the master's limit)"}
)

// invalidError is a message no honest worker sends: the master
// disconnects the worker.
type invalidError struct{ msg string }

func (e *invalidError) Error() string { return e.msg }

func invalid(format string, args ...any) error {
	return &invalidError{fmt.Sprintf(format, args...)}
}

// logID shortens a worker-supplied string for a log line.
func logID(s string) string { return stats.Cut(s, 64) }

// checkLabel refuses a hello string that is too long or holds control
// characters: it ends up in logs, every worker list and the reports.
func checkLabel(field, s string, max int) error {
	if len(s) > max {
		return invalid("%s is %d bytes, more than %d", field, len(s), max)
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
		return invalid("%s %q holds control characters or is not UTF-8", field, logID(s))
	}
	return nil
}

// CheckWorkerID and CheckRegion say why the master would refuse a worker
// id or a region, so a worker can refuse to start with it.
func CheckWorkerID(id string) error { return checkLabel("worker id", id, maxIDLen) }

// CheckRegion: see CheckWorkerID.
func CheckRegion(region string) error { return checkLabel("region", region, maxRegionLen) }

func checkHello(h *pb.Hello) error {
	if h == nil || h.WorkerId == "" {
		return invalid("the first message must be a hello with a worker id")
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"worker id", h.WorkerId, maxIDLen}, {"region", h.Region, maxRegionLen}, {"hostname", h.Hostname, maxHostLen},
		{"version", h.Version, maxVersionLen}, {"incarnation", h.Incarnation, maxIDLen}} {
		if err := checkLabel(f.name, f.v, f.max); err != nil {
			return err
		}
	}
	if h.CpuCount < 0 || h.CpuCount > maxCPUCount {
		return invalid("cpu count %d is out of range", h.CpuCount)
	}
	return checkGoClasses(h)
}

// checkHeartbeat refuses numbers a worker cannot measure. cpus is the
// worker's CPU count from its hello: a process uses at most 100% of each.
// isClass, when set, says whether a name is a user class of the script.
func checkHeartbeat(h *pb.Heartbeat, cpus int32, isClass func(string) bool) error {
	if h == nil {
		return nil
	}
	maxCPU := 100 * float64(max(cpus, 1))
	switch {
	case math.IsNaN(h.CpuPercent) || h.CpuPercent < 0 || h.CpuPercent > maxCPU:
		return invalid("cpu_percent %v is not in [0, %v]", h.CpuPercent, maxCPU)
	case h.Users < 0 || h.Users > maxWorkerUsers:
		return invalid("users %d is not in [0, %d]", h.Users, maxWorkerUsers)
	case h.MemoryBytes < 0 || h.MemoryBytes > maxMemoryBytes:
		return invalid("memory_bytes %d is out of range", h.MemoryBytes)
	case len(h.UsersByClass) > maxClassesPerHB:
		return invalid("users_by_class has %d classes, more than %d", len(h.UsersByClass), maxClassesPerHB)
	}
	// The counts by class are not compared with users: a worker reads
	// them a moment apart, while users start and stop.
	for c, n := range h.UsersByClass {
		if len(c) > maxNameLen || isClass != nil && !isClass(c) {
			return invalid("users_by_class: %q is not a user class of the script", logID(c))
		}
		if n < 0 || n > maxWorkerUsers {
			return invalid("users_by_class: %d users of %q is not in [0, %d]", n, logID(c), maxWorkerUsers)
		}
	}
	return nil
}

// checkReport refuses a report whose shape no honest worker makes, before
// it is decoded; DecodeDelta checks the numbers.
func checkReport(d *pb.Delta, maxNames int) error {
	if d == nil {
		return nil
	}
	// A worker records at most the master's --max-names names in a run
	// (Prepare) and folds later ones into one entry per method.
	if limit := maxNames + maxMethods; maxNames > 0 && len(d.Entries) > limit {
		return invalid("a report with %d request names, more than --max-names %d allows", len(d.Entries), maxNames)
	}
	for _, e := range d.Entries {
		if e.Requests < 0 || e.Failures < 0 || e.ContentBytes < 0 {
			return invalid("entry %q: negative count", logID(e.Name))
		}
		if e.Failures > e.Requests {
			return invalid("entry %q: %d failures of %d requests", logID(e.Name), e.Failures, e.Requests)
		}
		if e.Latency != nil && e.Latency.Count > e.Requests {
			return invalid("entry %q: %d timings of %d requests", logID(e.Name), e.Latency.Count, e.Requests)
		}
	}
	return nil
}
