package output

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/stats"
)

func TestMarshalJSONNonFinite(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	type inner struct {
		F float64
		p float64 // unexported: not encoded, not touched
	}
	tests := []struct {
		name     string
		v        any
		want     string
		replaced int
	}{
		{"finite values are untouched", map[string]float64{"a": 1.5}, `{"a":1.5}`, 0},
		{"struct by value", inner{F: nan, p: nan}, `{"F":0}`, 1},
		{"pointer", &inner{F: inf}, `{"F":0}`, 1},
		{"map of structs", map[string]inner{"x": {F: -inf}, "y": {F: 2}}, `{"x":{"F":0},"y":{"F":2}}`, 1},
		{"slice of any", []any{1.0, nan, "s", []any{inf}}, `[1,0,"s",[0]]`, 2},
		{"float32", []float32{float32(inf)}, `[0]`, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, n, err := MarshalJSON(tt.v, "", true)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(b)); got != tt.want || n != tt.replaced {
				t.Fatalf("got %s (%d replaced), want %s (%d)", got, n, tt.want, tt.replaced)
			}
		})
	}
}

// TestEncodeJSONWithNaN: one NaN anywhere in the document (a worker's CPU
// use, a spawn rate, a history point) no longer loses the whole summary.
func TestEncodeJSONWithNaN(t *testing.T) {
	doc := &Document{
		Run:     RunInfo{SpawnRate: math.NaN(), Users: 3},
		Stats:   &stats.Summary{Total: stats.EntryStats{Requests: 7, AvgMs: math.Inf(1)}, History: []stats.Point{{RPS: math.NaN(), Regions: map[string]stats.Point{"eu": {P95: math.NaN()}}}}},
		Workers: []WorkerInfo{{ID: "w", CPUPercent: math.NaN()}},
	}
	var buf bytes.Buffer
	if err := EncodeJSON(&buf, doc); err != nil {
		t.Fatal(err)
	}
	back, err := DecodeJSON(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if back.Run.Users != 3 || back.Stats.Total.Requests != 7 || back.Workers[0].ID != "w" || back.Stats.History[0].Regions["eu"].P95 != 0 {
		t.Fatalf("decoded %+v", back)
	}
}
