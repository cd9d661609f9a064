package bounds

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestChecks(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // "" when the value passes
	}{
		{"float in range", Float(0.5, 0, 1), ""},
		{"float at the edges", Float(1, 0, 1), ""},
		{"float NaN", Float(math.NaN(), 0, 1), "got NaN"},
		{"float +Inf", Float(math.Inf(1), 0, math.MaxFloat64), "got +Inf"},
		{"float -Inf", Float(math.Inf(-1), -math.MaxFloat64, 0), "got -Inf"},
		{"float above", Float(1.5, 0, 1), "from 0 to 1, got 1.5"},
		{"float below", Float(-0.1, 0, 1), "got -0.1"},
		{"positive", Positive(MaxSpawnRate, MaxSpawnRate), ""},
		{"positive zero", Positive(0, 10), "above 0 and at most 10, got 0"},
		{"positive inf", Positive(math.Inf(1), 10), "got +Inf"},
		{"positive NaN", Positive(math.NaN(), 10), "got NaN"},
		{"positive huge", Positive(1e300, MaxSpawnRate), "at most 10000000, got 1e+300"},
		{"int", Int(MaxUsers, 0, MaxUsers), ""},
		{"int above", Int(MaxUsers+1, 0, MaxUsers), "from 0 to 10000000, got 10000001"},
		{"int negative", Int(-1, 0, MaxUsers), "got -1"},
		{"duration", Duration(MaxRunTime, 0, MaxRunTime), ""},
		{"duration above", Duration(MaxRunTime+1, 0, MaxRunTime), "to 8760h0m0s"},
		{"duration negative", Duration(-time.Second, 0, MaxRunTime), "got -1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			switch {
			case tt.want == "" && tt.err != nil:
				t.Fatalf("refused: %v", tt.err)
			case tt.want != "" && tt.err == nil:
				t.Fatalf("accepted, want an error with %q", tt.want)
			case tt.want != "" && !strings.Contains(tt.err.Error(), tt.want):
				t.Fatalf("error %q, want it to contain %q", tt.err, tt.want)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 1e300, MaxRunTime.Seconds() + 1} {
		if d, err := Seconds(bad); err == nil {
			t.Errorf("Seconds(%v) = %v, want an error", bad, d)
		}
	}
	if d, err := Seconds(1.5); err != nil || d != 1500*time.Millisecond {
		t.Errorf("Seconds(1.5) = %v, %v", d, err)
	}
	if d, err := Seconds(MaxRunTime.Seconds()); err != nil || d != MaxRunTime {
		t.Errorf("Seconds(max) = %v, %v", d, err)
	}
}
