package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examples/data-driven.star runs against the demo: 25 users for 20
// accounts, so every account logs in once and five users stop; setup and
// teardown run once; --var orders stops the test with stop_test.
func TestDataDrivenExample(t *testing.T) {
	addr := startDemo(t)
	out := filepath.Join(t.TempDir(), "dd")
	res := run(t, nil, "run", "-f", "../../examples/data-driven.star", "--headless", "-u", "25", "-r", "100", "-t", "20s",
		"--host", "http://"+addr, "--csv", out, "--json", out+".json", "--exit-code-on-error", "0", "--var", "orders=10")
	if res.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if rows := readCSV(t, out+"_exceptions.csv"); len(rows) > 1 {
		t.Errorf("the example raised script errors: %q", rows[1:])
	}
	counts := map[string]int64{}
	for _, r := range readCSV(t, out+"_stats.csv")[1:] {
		var n int64
		json.Unmarshal([]byte(r[2]), &n)
		counts[r[0]+" "+r[1]] = n
	}
	if counts["POST /api/login"] != 20 || counts["GET setup: catalogue"] != 1 || counts["GET teardown: health"] != 1 || counts["POST /api/checkout"] < 10 {
		t.Errorf("requests %v: want 20 logins (one per account), one setup and one teardown request, 10+ checkouts", counts)
	}
	if n := strings.Count(res.stderr, "no account left for user"); n != 5 {
		t.Errorf("%d users without an account, want 5", n)
	}
	b, _ := os.ReadFile(out + ".json")
	var doc struct {
		Run struct {
			StopTestReason string `json:"stop_test_reason"`
		} `json:"run"`
	}
	json.Unmarshal(b, &doc)
	if !strings.HasSuffix(doc.Run.StopTestReason, "orders placed") {
		t.Errorf("stop_test_reason %q", doc.Run.StopTestReason)
	}
}
