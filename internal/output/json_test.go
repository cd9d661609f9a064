package output

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func fixtureDocument(t testing.TB) *Document {
	s := fixtureSummary(t)
	lost := fixtureStart.Add(7 * time.Second)
	return &Document{
		Run: RunInfo{
			ID:             "20260314-150926-brave-otter",
			Version:        "0.1.0",
			Script:         "examples/shop.star",
			ScriptSHA256:   "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
			Host:           "https://shop.example.com",
			Model:          ModelClosed,
			Users:          30,
			SpawnRate:      10,
			RunTimeSeconds: 10,
			Start:          fixtureStart,
			End:            fixtureStart.Add(10 * time.Second),
			Seed:           9007199254740993, // 2^53+1: not a safe JavaScript number
			Regions:        []string{"eu-west", "us-east"},
			WorkerCount:    3,
			StopReason:     "run time reached",
		},
		Stats: s,
		Thresholds: []ThresholdResult{
			{Expr: "p95<500ms", Metric: "p95", Value: s.Total.Percentiles.At(95), Passed: true},
			{Expr: "error_rate<1%", Metric: "error_rate", Value: s.FailRatio(), Passed: false, Message: "error_rate 3.49% is not below 1%"},
		},
		ThresholdsPassed: false,
		Workers: []WorkerInfo{
			{ID: "eu-1", Region: "eu-west", Host: "10.0.1.4", State: WorkerStopped, Users: 10, CPUPercent: 23.5, MemoryBytes: 52428800, LastHeartbeat: fixtureStart.Add(10 * time.Second)},
			{ID: "eu-2", Region: "eu-west", Host: "10.0.1.5", State: WorkerStopped, Users: 10, CPUPercent: 21, MemoryBytes: 50331648, LastHeartbeat: fixtureStart.Add(10 * time.Second)},
			{ID: "us-1", Region: "us-east", Host: "10.1.0.7", State: WorkerMissing, Users: 10, CPUPercent: 30.25, MemoryBytes: 61865984, LastHeartbeat: fixtureStart.Add(4 * time.Second), LostAt: &lost},
		},
		Lost: []LostWorker{
			{ID: "us-1", Region: "us-east", Host: "10.1.0.7", Users: 10, LastHeartbeat: fixtureStart.Add(4 * time.Second), LostAt: lost, Reason: "no heartbeat for 3s"},
		},
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeJSON(&b, fixtureDocument(t)); err != nil {
		t.Fatal(err)
	}
	golden(t, "summary.json.golden", b.Bytes())
}

func TestWriteReadJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out", "summary.json")
	d := fixtureDocument(t)
	if err := WriteJSON(path, d); err != nil {
		t.Fatal(err)
	}
	if d.Format != "" {
		t.Error("WriteJSON changed the document")
	}
	got, err := ReadJSON(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Format != Format || got.Run.Seed != d.Run.Seed || got.Run.DurationSeconds != 10 ||
		got.Stats.Total.Requests != d.Stats.Total.Requests || len(got.Workers) != 3 || got.Workers[2].LostAt == nil ||
		!got.Run.Start.Equal(d.Run.Start) || len(got.Stats.Regions) != 2 {
		t.Errorf("read back %+v", got.Run)
	}
	// Encoding what was read gives the same bytes: nothing is lost.
	var a, b bytes.Buffer
	if err := EncodeJSON(&a, d); err != nil {
		t.Fatal(err)
	}
	if err := EncodeJSON(&b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("a read document does not encode as it was written")
	}
	// Writing again replaces the file whole, leaving no temporary file.
	d.Run.StopReason = "interrupt"
	if err := WriteJSON(path, d); err != nil {
		t.Fatal(err)
	}
	if got, _ := ReadJSON(path); got.Run.StopReason != "interrupt" {
		t.Error("second write not visible")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files left beside the summary: %v", entries)
	}
}

func TestJSONFieldNames(t *testing.T) {
	var b bytes.Buffer
	if err := EncodeJSON(&b, &Document{}); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"format", "run", "stats", "thresholds", "thresholds_passed"} {
		if _, ok := m[k]; !ok {
			t.Errorf("no %q in %s", k, b.String())
		}
	}
	if th, ok := m["thresholds"].([]any); !ok || len(th) != 0 {
		t.Errorf("thresholds = %v, want []", m["thresholds"])
	}
	run := m["run"].(map[string]any)
	for _, k := range []string{"version", "script", "script_sha256", "host", "users", "spawn_rate", "run_time_seconds", "model", "start", "end", "duration_seconds", "seed", "worker_count", "interrupted", "stop_reason"} {
		if _, ok := run[k]; !ok {
			t.Errorf("no run.%s", k)
		}
	}
	if _, ok := run["seed"].(string); !ok {
		t.Errorf("run.seed = %#v, want a string", run["seed"])
	}
}

func TestReadJSONErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, wantErr string
	}{
		{"garbage", "{", "unexpected EOF"},
		{"other format", `{"format":"something-else/1"}`, "not a Stampede summary"},
		{"future major", `{"format":"stampede-summary/2"}`, "unsupported"},
		{"missing", "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".json")
			if tt.content != "" {
				if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := ReadJSON(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
	for _, ok := range []string{`{}`, `{"format":"stampede-summary/1"}`, `{"format":"stampede-summary/1.3"}`} {
		path := filepath.Join(dir, "ok.json")
		if err := os.WriteFile(path, []byte(ok), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadJSON(path); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}
