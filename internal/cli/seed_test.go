package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A run without --seed draws one and records it; --seed with the recorded
// value makes the same random choices: the target sees the same requests
// from each user in the same order.
func TestRecordedSeedReplaysTheRun(t *testing.T) {
	script := writeStar(t, `
def pick(u):
    u.http.get("/u" + str(u.id) + "?v=" + str(random.randint(0, 1000000000)))

def other(u):
    u.http.get("/u" + str(u.id) + "?v=other-" + random.choice(["a", "b", "c", "d"]))

v = user(tasks=[pick, other], wait_time=constant(0.01))
`)
	run := func(extra ...string) (seed string, perUser map[string][]string) {
		t.Helper()
		rc := newRecorder(t)
		js := filepath.Join(t.TempDir(), "run.json")
		args := append([]string{"run", "-f", script, "--headless", "--host", rc.url, "-u", "2", "-r", "100", "-i", "60", "--json", js}, extra...)
		if r := runMain(t, args...); r.code != ExitOK {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, err := os.ReadFile(js)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Run struct {
				Seed string `json:"seed"`
			} `json:"run"`
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		perUser = map[string][]string{}
		rc.mu.Lock()
		for u, vs := range rc.got {
			perUser[u] = vs
		}
		rc.mu.Unlock()
		return doc.Run.Seed, perUser
	}
	seed, first := run()
	if n, err := strconv.ParseInt(seed, 10, 64); err != nil || n == 0 {
		t.Fatalf("recorded seed %q: want a drawn, non-zero seed", seed)
	}
	again, replay := run("--seed", seed)
	if again != seed {
		t.Fatalf("replay recorded seed %s, want %s", again, seed)
	}
	_, other := run("--seed", "12345")
	if len(first) != 2 {
		t.Fatalf("requests from %d users, want 2: %v", len(first), first)
	}
	for u := range first {
		a, b := first[u], replay[u]
		// The iteration budget is shared: a user may run a few more or
		// fewer tasks in one run, but its choices are the same.
		n := min(len(a), len(b))
		if n < 10 {
			t.Fatalf("%s: %d and %d requests, too few to compare", u, len(a), len(b))
		}
		if strings.Join(a[:n], " ") != strings.Join(b[:n], " ") {
			t.Errorf("%s: the replay differs\nfirst:  %v\nreplay: %v", u, a[:n], b[:n])
		}
		if m := min(n, len(other[u])); strings.Join(a[:m], " ") == strings.Join(other[u][:m], " ") {
			t.Errorf("%s: another seed made the same choices: %v", u, a[:m])
		}
	}
}
