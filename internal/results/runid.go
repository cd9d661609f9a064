// Package results names runs and uploads their outputs (CSV files, JSON
// summary, HTML report, log) to a bucket through gocloud.dev/blob:
// azblob://, s3://, gs:// or file://.
package results

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// adjectives and animals make run ids people can say: 20261127-101500-brave-otter.
func adjectives() []string {
	return []string{
		"amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "dapper", "eager",
		"fancy", "fast", "fearless", "gentle", "glad", "golden", "grand", "happy", "hardy", "jolly",
		"keen", "kind", "lively", "lucky", "mellow", "merry", "mighty", "nimble", "noble", "plucky",
		"proud", "quick", "quiet", "rapid", "rosy", "rustic", "shiny", "silent", "sleek", "snappy",
		"sturdy", "sunny", "swift", "tidy", "vivid", "warm", "wild", "witty", "zesty", "zippy",
	}
}

func animals() []string {
	return []string{
		"badger", "beaver", "bison", "camel", "cheetah", "condor", "coyote", "crane", "dingo", "dolphin",
		"eagle", "falcon", "ferret", "gazelle", "gecko", "heron", "hippo", "ibex", "jackal", "jaguar",
		"koala", "lemur", "lynx", "marmot", "moose", "narwhal", "ocelot", "orca", "osprey", "otter",
		"panda", "panther", "pelican", "puffin", "quokka", "raven", "rhino", "salmon", "seal", "sparrow",
		"stork", "tapir", "tiger", "toucan", "walrus", "weasel", "wombat", "yak", "zebra", "wildebeest",
	}
}

// NewRunID returns "YYYYMMDD-HHMMSS-adjective-animal" for now (in UTC):
// sortable by time, and the pet name tells apart runs started in the same
// second.
func NewRunID(now time.Time) string {
	a, n := adjectives(), animals()
	return now.UTC().Format("20060102-150405") + "-" + a[rand.IntN(len(a))] + "-" + n[rand.IntN(len(n))]
}

// CheckRunID validates a run id given with --run-id: it becomes a folder
// name in a bucket, so only letters, digits, '-', '_' and '.' are allowed.
func CheckRunID(id string) error {
	if id == "" {
		return fmt.Errorf("--run-id: empty")
	}
	if len(id) > 128 {
		return fmt.Errorf("--run-id: longer than 128 characters")
	}
	if id == "." || id == ".." || strings.HasPrefix(id, ".") {
		return fmt.Errorf("--run-id %q: must not start with a dot", id)
	}
	for _, c := range id {
		ok := c == '-' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !ok {
			return fmt.Errorf("--run-id %q: only letters, digits, '-', '_' and '.' are allowed", id)
		}
	}
	return nil
}
