package report

import (
	"strings"
	"testing"
	"time"
)

func TestDownsample(t *testing.T) {
	start := time.Unix(0, 0)
	var ts []time.Time
	vals := make([]float64, 10)
	ok := make([]bool, 10)
	for i := range vals {
		ts = append(ts, start.Add(time.Duration(i)*time.Second))
		vals[i], ok[i] = float64(i%4), i != 5 && i != 4
	}
	vals[2] = 100 // a spike survives
	gotT, gotS := downsample(ts, []series{{name: "x", values: vals, ok: ok}}, 4)
	// 10 points into buckets of 3: [0 1 2] [3 4 5] [6 7 8] [9]
	if len(gotT) != 4 || !gotT[1].Equal(ts[3]) {
		t.Fatalf("times = %v", gotT)
	}
	want := []float64{100, 3, 3, 1}
	for i, v := range want {
		if gotS[0].values[i] != v || !gotS[0].ok[i] {
			t.Errorf("bucket %d = %v (ok %v), want %v", i, gotS[0].values[i], gotS[0].ok[i], v)
		}
	}
	same, _ := downsample(ts, nil, 100)
	if len(same) != 10 {
		t.Error("short series changed")
	}
}

func TestLineChartLongRun(t *testing.T) {
	start := time.Unix(0, 0)
	n := 86400
	ts := make([]time.Time, n)
	v := make([]float64, n)
	for i := range ts {
		ts[i] = start.Add(time.Duration(i) * time.Second)
		v[i] = float64(i % 100)
	}
	svg := string(lineChart("day", "rps", ts, []series{{name: "rps", colour: "#000", values: v}}))
	if len(svg) > 100_000 {
		t.Errorf("a day-long chart is %d bytes", len(svg))
	}
	for _, tick := range []string{">0:00<", ">3:00:00<", ">21:00:00<"} {
		if !strings.Contains(svg, tick) {
			t.Errorf("no %s tick", tick)
		}
	}
}
