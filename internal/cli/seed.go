package cli

import (
	"log/slog"
	"math/rand/v2"
)

// drawSeed picks the seed of the scripts' random module when --seed is
// not given (0), and logs it: the JSON summary records it, and --seed with
// that value replays the run's random choices (tasks, data, random.*).
func (o *testOptions) drawSeed(log *slog.Logger) {
	if o.seed != 0 {
		return
	}
	for o.seed == 0 {
		o.seed = rand.Int64()
	}
	log.Info("random seed drawn: --seed replays this run's random choices", "seed", o.seed)
}
