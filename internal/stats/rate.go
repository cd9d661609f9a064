package stats

// rateWindow counts requests and failures per wall-clock second for the
// last few seconds, to give a "current" rate like Locust's: the mean over the
// window of complete seconds before now.
type rateWindow struct {
	sec  [windowSeconds + 2]int64
	req  [windowSeconds + 2]int64
	fail [windowSeconds + 2]int64
}

// windowSeconds is the length of the current-rate window (Locust: 10 s).
const windowSeconds = 10

func (w *rateWindow) add(sec, req, fail int64) {
	i := int(uint64(sec) % uint64(len(w.sec)))
	if w.sec[i] != sec {
		w.sec[i], w.req[i], w.fail[i] = sec, 0, 0
	}
	w.req[i] = AddCounts(w.req[i], req)
	w.fail[i] = AddCounts(w.fail[i], fail)
}

// rates returns requests/s and failures/s over the complete seconds in
// [now-windowSeconds, now), shortened to the seconds since startSec.
func (w *rateWindow) rates(nowSec, startSec int64) (rps, fps float64) {
	from := nowSec - windowSeconds
	if from < startSec {
		from = startSec
	}
	span := nowSec - from
	if span < 1 {
		span = 1
		from = nowSec - 1
	}
	var req, fail int64
	for i, s := range w.sec {
		if s >= from && s < nowSec {
			req = AddCounts(req, w.req[i])
			fail = AddCounts(fail, w.fail[i])
		}
	}
	return float64(req) / float64(span), float64(fail) / float64(span)
}
