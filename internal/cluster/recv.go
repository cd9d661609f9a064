package cluster

import "time"

// recvWithin returns the first message recv gives, or late after d: the
// first message of a session (the worker's hello, the master's answer to
// it) must not wait forever on a peer that never sends. A recv still
// running when d is over returns when its stream ends, which ending the
// session does.
func recvWithin[T any](recv func() (T, error), d time.Duration) (msg T, late bool, err error) {
	type result struct {
		msg T
		err error
	}
	c := make(chan result, 1)
	go func() {
		m, err := recv()
		c <- result{m, err}
	}()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-c:
		return r.msg, false, r.err
	case <-t.C:
		return msg, true, nil
	}
}
