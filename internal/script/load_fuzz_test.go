package script

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzLoad: loading any source (with a small step budget, as a hostile
// or broken script gets) never panics and never hangs: it either fails
// with a *LoadError or gives a script with user classes whose shape, if
// any, answers at t=0 within the budget too.
func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"def t(u):\n    u.http.get('/')\nc = user(tasks=[t])\n",
		"host = 'http://127.0.0.1:1'\ndef a(u):\n    r = u.http.post('/x', json={'a': 1}, name='x')\n    if not r.ok:\n        r.failure('no')\ndef b(u):\n    pass\nc = user(tasks={a: 3, b: 1}, wait_time=between(0.5, 1), on_start=b)\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\ndef shape(t):\n    if t > 60:\n        return None\n    return (int(t) + 1, 10)\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\nstages = [stage(duration='1m', users=10, spawn_rate=2)]\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\narrival_rate = '10/s'\nmax_users = 5\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\nthresholds = ['p95<1s']\n",
		"def t(u):\n    time.sleep(1)\nc = user(tasks=[t])\n",
		"def t(u):\n    u.http.get('/', parms={})\nc = user(tasks=[t])\n",
		"from locust import HttpUser\n",
		"x = 0\nwhile True:\n    x += 1\n",
		"def f(n):\n    return f(n + 1)\nf(0)\n",
		"load('lib.star', 'x')\n",
		"n = shared.counter()\ndef t(u):\n    n.add()\nc = user(tasks=[t])\n",
		"def t(u):\n    pass\ns = taskset(tasks=[t], sequential=True)\nc = user(tasks=[s], tags=['a'])\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\ndef setup(ctx):\n    return {}\n",
		"def t(u):\n    pass\nc = user(tasks=[t])\ndef shape(t, users):\n    return (1, 1, {'c': 1})\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		start := time.Now()
		s, err := LoadFiles("test.star", map[string][]byte{"test.star": []byte(src), "lib.star": []byte("x = 1\n")}, Options{MaxSteps: 10_000})
		if err != nil {
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("error %T is not a *LoadError: %v", err, err)
			}
			if strings.TrimSpace(le.Msg) == "" {
				t.Fatal("an empty load error")
			}
		} else {
			if len(s.Classes) == 0 {
				t.Fatal("a script without user classes loaded")
			}
			if sh := s.Workload.Shape; sh != nil {
				_, _, _ = sh.Tick(0, 0)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("loading took %v", d)
		}
	})
}
