package runner

import (
	"sort"
)

// Class is what placement needs to know of a user class.
type Class struct {
	Name       string
	Weight     int
	FixedCount int
}

// Distribute splits n users over classes with Locust's semantics: classes
// with a fixed_count get exactly that many first (in order, while users
// last), and the rest is shared by weight among the other classes, with
// the largest-remainder method so the counts add up to n exactly.
func Distribute(classes []Class, n int) map[string]int {
	out := make(map[string]int, len(classes))
	left := n
	var weighted []Class
	for _, c := range classes {
		out[c.Name] = 0
		if c.FixedCount > 0 {
			k := min(c.FixedCount, left)
			out[c.Name] = k
			left -= k
			continue
		}
		if c.Weight > 0 {
			weighted = append(weighted, c)
		}
	}
	total := 0
	for _, c := range weighted {
		total += c.Weight
	}
	if left <= 0 || total == 0 {
		return out
	}
	type rem struct {
		i    int
		frac int // remainder numerator over total
	}
	rems := make([]rem, len(weighted))
	given := 0
	for i, c := range weighted {
		q := left * c.Weight / total
		out[c.Name] = q
		given += q
		rems[i] = rem{i, left * c.Weight % total}
	}
	sort.SliceStable(rems, func(a, b int) bool { return rems[a].frac > rems[b].frac })
	for k := 0; given < left; k++ {
		out[weighted[rems[k%len(rems)].i].Name]++
		given++
	}
	return out
}

// FilterClasses keeps the classes named in names (a test restricted to
// some user classes), in the script's order.
func FilterClasses(all []Class, names []string) []Class {
	var out []Class
	for _, c := range all {
		for _, n := range names {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

// pickSpawn chooses the class to start a user of next: the one furthest
// below its target in proportion, so during a ramp the mix of classes
// stays close to the final mix (Locust interleaves classes the same way).
func pickSpawn(order []string, target, alive map[string]int) string {
	best, bestScore := "", 2.0
	for _, c := range order {
		t := target[c]
		if alive[c] >= t {
			continue
		}
		score := float64(alive[c]) / float64(t)
		if score < bestScore {
			best, bestScore = c, score
		}
	}
	return best
}

// pickStop chooses the class to stop a user of next: the one furthest
// above its target in proportion.
func pickStop(order []string, target, alive map[string]int) string {
	best, bestScore := "", -1.0
	for _, c := range order {
		a := alive[c]
		if a <= target[c] {
			continue
		}
		score := float64(a-target[c]) / float64(a)
		if score > bestScore {
			best, bestScore = c, score
		}
	}
	return best
}
