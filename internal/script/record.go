package script

import (
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/stampede-load/stampede/internal/stats"
	"go.starlark.net/starlark"
)

// maxRecordTime bounds u.record's response time (one day, in ms).
const maxRecordTime = 24 * 3600 * 1000

// record is u.record(name, response_time_ms, kind="custom", length=0,
// error=None): a sample that is not an HTTP request (Locust's
// events.request.fire), recorded at once under (kind, name) like a
// request, so it shows in every table and thresholds can name it.
func (v *VU) record(_ *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	var (
		name, ms, errV starlark.Value
		kind           = "custom"
		length         int64
	)
	if err := starlark.UnpackArgs(b.Name(), args, kwargs, "name", &name, "response_time_ms", &ms,
		"kind?", &kind, "length?", &length, "error?", &errV); err != nil {
		return nil, err
	}
	n, err := statNameArg("record: name", name)
	if err != nil {
		return nil, err
	}
	f, ok := starlark.AsFloat(ms)
	if !ok || math.IsNaN(f) || f < 0 || f > maxRecordTime {
		return nil, fmt.Errorf("record: response_time_ms must be a number of milliseconds from 0 to %d, got %s", maxRecordTime, ms)
	}
	if kind == "" || len(kind) > 32 || !utf8.ValidString(kind) {
		return nil, fmt.Errorf("record: kind must be 1 to 32 bytes long, got %q", kind)
	}
	if length < 0 {
		return nil, fmt.Errorf("record: length must be >= 0, got %d", length)
	}
	s := stats.Sample{Method: kind, Name: n, Latency: time.Duration(f * float64(time.Millisecond)), Bytes: length}
	if errV != nil && errV != starlark.None {
		msg, ok := starlark.AsString(errV)
		if !ok || msg == "" || len(msg) > maxStatName {
			return nil, fmt.Errorf("record: error must be None or a message of 1 to %d bytes", maxStatName)
		}
		s.Error = msg
	}
	v.shard.Record(s)
	return starlark.None, nil
}
