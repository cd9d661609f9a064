package cluster

import (
	"sort"

	"github.com/stampede-load/stampede/internal/runner"
)

// placeWorker is what placement needs to know of a worker.
type placeWorker struct {
	ID   string
	Host string
}

// place splits users over classes and workers. The class totals follow
// runner.Distribute (fixed counts first, then weights, across the whole
// cluster); the users of every class are then dealt round-robin over the
// workers, continuing from class to class, so every worker's total differs
// from any other's by at most one and each class is spread as evenly as
// its count allows. Workers are ordered host by host in turn (the first
// worker of every host, then the second, ...), so a small test lands on as
// many machines as it can.
func place(classes []runner.Class, users int, workers []placeWorker) map[string]map[string]int {
	return placeTotals(classes, runner.Distribute(classes, users), workers)
}

// placeTotals deals given per-class totals (a load shape's per-class
// targets) over the workers as place does.
func placeTotals(classes []runner.Class, totals map[string]int, workers []placeWorker) map[string]map[string]int {
	out := make(map[string]map[string]int, len(workers))
	for _, w := range workers {
		out[w.ID] = make(map[string]int, len(classes))
		for _, c := range classes {
			out[w.ID][c.Name] = 0
		}
	}
	if len(workers) == 0 {
		return out
	}
	order := interleaveHosts(workers)
	i := 0
	for _, c := range classes {
		for k := 0; k < totals[c.Name]; k++ {
			out[order[i%len(order)]][c.Name]++
			i++
		}
	}
	return out
}

func interleaveHosts(workers []placeWorker) []string {
	byHost := map[string][]string{}
	var hosts []string
	for _, w := range workers {
		if _, ok := byHost[w.Host]; !ok {
			hosts = append(hosts, w.Host)
		}
		byHost[w.Host] = append(byHost[w.Host], w.ID)
	}
	sort.Strings(hosts)
	longest := 0
	for _, h := range hosts {
		sort.Strings(byHost[h])
		longest = max(longest, len(byHost[h]))
	}
	order := make([]string, 0, len(workers))
	for k := 0; k < longest; k++ {
		for _, h := range hosts {
			if k < len(byHost[h]) {
				order = append(order, byHost[h][k])
			}
		}
	}
	return order
}
