package stats

import (
	"encoding/json"
	"strconv"
)

// PercentileSet is Locust's list of reported percentiles, in the order of
// its CSV columns.
var PercentileSet = [...]float64{50, 66, 75, 80, 90, 95, 98, 99, 99.9, 99.99, 100}

// NumPercentiles is len(PercentileSet).
const NumPercentiles = len(PercentileSet)

// PercentileLabel formats p as Locust's CSV headers do: "50%", "99.9%".
func PercentileLabel(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// Percentiles holds one value (ms) per entry of PercentileSet.
type Percentiles [NumPercentiles]float64

// At returns the value for percentile p, which must be in PercentileSet.
func (ps Percentiles) At(p float64) float64 {
	for i, q := range PercentileSet {
		if q == p {
			return ps[i]
		}
	}
	return 0
}

// MarshalJSON writes {"50": v, "66": v, ...}, keys in PercentileSet order.
func (ps Percentiles) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, p := range PercentileSet {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, strconv.FormatFloat(p, 'f', -1, 64))
		b = append(b, ':')
		b = strconv.AppendFloat(b, round3(ps[i]), 'f', -1, 64)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (ps *Percentiles) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	for i, p := range PercentileSet {
		ps[i] = m[strconv.FormatFloat(p, 'f', -1, 64)]
	}
	return nil
}

// percentilesOf computes the whole set from a timing.
func percentilesOf(t *Timing) Percentiles {
	var ps Percentiles
	for i, p := range PercentileSet {
		ps[i] = round3(t.Percentile(p))
	}
	return ps
}

func round3(v float64) float64 {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	r, _ := strconv.ParseFloat(s, 64)
	return r
}
