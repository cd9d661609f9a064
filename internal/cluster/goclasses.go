package cluster

import (
	"fmt"
	"slices"
	"strings"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/script"
)

// A program built on package load carries user classes written in Go,
// which a master cannot ship to its workers as it ships a script: every
// worker must be built from the same program. The worker's hello names
// its Go classes and hashes their definitions; the master compares them
// with its own and refuses a worker that differs, with a message that
// says which classes each side has.

// maxGoClasses bounds the Go class names in a hello.
const maxGoClasses = 1000

// checkGoClasses bounds the Go classes of a hello.
func checkGoClasses(h *pb.Hello) error {
	if len(h.GoClasses) > maxGoClasses {
		return invalid("%d Go user classes: at most %d", len(h.GoClasses), maxGoClasses)
	}
	for _, n := range h.GoClasses {
		if n == "" {
			return invalid("a Go user class without a name")
		}
		if err := checkLabel("Go user class", n, maxIDLen); err != nil {
			return err
		}
	}
	if len(h.GoClassesSha256) > 64 {
		return invalid("the Go classes' hash is %d bytes long: at most 64", len(h.GoClassesSha256))
	}
	return nil
}

// goClassesDiffer is why a worker whose hello is h cannot join a master
// carrying classes, or "" when it can.
func goClassesDiffer(classes []*script.UserClass, h *pb.Hello) string {
	names, hash := script.GoSignature(classes)
	if hash == h.GoClassesSha256 && slices.Equal(names, h.GoClasses) {
		return ""
	}
	describe := func(names []string, hash string) string {
		if len(names) == 0 {
			return "no Go user classes"
		}
		return fmt.Sprintf("Go user classes %s (sha256 %s)", strings.Join(names, ", "), short(hash))
	}
	same := ""
	if slices.Equal(names, h.GoClasses) {
		same = " (same names, other definitions: tasks, weights, tags or wait times)"
	}
	return fmt.Sprintf("Go user classes mismatch: worker %s carries %s, the master carries %s%s; build the workers from the same Go program as the master",
		h.WorkerId, describe(h.GoClasses, h.GoClassesSha256), describe(names, hash), same)
}
