package runner

import (
	"github.com/stampede-load/stampede/internal/output"
	"github.com/stampede-load/stampede/internal/script"
)

// TaskRatios are the shares of Locust's /tasks for sc: a class's share is
// its part of counts (the users running per class); when counts holds no
// user, it is the share the classes' weights and fixed counts would give.
func TaskRatios(sc *script.Script, counts map[string]int) *output.TaskRatios {
	n := 0
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		classes := Classes(sc)
		counts = Distribute(classes, 1000*len(classes))
		for _, c := range counts {
			n += c
		}
	}
	out := &output.TaskRatios{PerClass: map[string]output.Ratio{}, Total: map[string]output.Ratio{}}
	for _, c := range sc.Classes {
		share := 0.0
		if n > 0 {
			share = float64(counts[c.Name]) / float64(n)
		}
		out.PerClass[c.Name] = output.Ratio{Ratio: share, Tasks: taskRatios(&c.TaskSet, 1, false)}
		out.Total[c.Name] = output.Ratio{Ratio: share, Tasks: taskRatios(&c.TaskSet, share, true)}
	}
	return out
}

// taskRatios are the shares of set's tasks, times scale; with nested,
// a set's own tasks are scaled by the set's share too (Locust's total),
// else they are shares of the set.
func taskRatios(set *script.TaskSet, scale float64, nested bool) map[string]output.Ratio {
	sum := float64(set.TotalTaskWeight())
	out := make(map[string]output.Ratio, len(set.Tasks))
	for _, t := range set.Tasks {
		r := float64(t.Weight) / sum * scale
		e := out[t.Name]
		e.Ratio += r
		if t.Set != nil {
			inner := 1.0
			if nested {
				inner = r
			}
			e.Tasks = taskRatios(t.Set, inner, nested)
		}
		out[t.Name] = e
	}
	return out
}
