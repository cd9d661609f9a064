package cluster

import (
	"strings"
	"testing"

	"github.com/stampede-load/stampede/internal/cluster/pb"
	"github.com/stampede-load/stampede/internal/script"
)

func goClass(t *testing.T, name string, weight int) *script.UserClass {
	t.Helper()
	c, err := script.NewGoClass(script.GoClass{Name: name, Weight: 1,
		Tasks: []script.GoTask{{Name: "t", Weight: weight, Fn: func(*script.VU) error { return nil }}}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestGoClassesDiffer(t *testing.T) {
	a, b, a2 := goClass(t, "A", 1), goClass(t, "B", 1), goClass(t, "A", 2)
	hello := func(classes ...*script.UserClass) *pb.Hello {
		h := &pb.Hello{WorkerId: "w1"}
		h.GoClasses, h.GoClassesSha256 = script.GoSignature(classes)
		return h
	}
	for _, tc := range []struct {
		name           string
		master, worker []*script.UserClass
		want           string // "" accepted
	}{
		{"none on either side", nil, nil, ""},
		{"the same", []*script.UserClass{a, b}, []*script.UserClass{b, a}, ""},
		{"none on the worker", []*script.UserClass{a}, nil, "worker w1 carries no Go user classes, the master carries Go user classes A (sha256 "},
		{"none on the master", nil, []*script.UserClass{a, b}, "worker w1 carries Go user classes A, B (sha256 "},
		{"another class", []*script.UserClass{a}, []*script.UserClass{b}, "carries Go user classes B"},
		{"same names, other tasks", []*script.UserClass{a}, []*script.UserClass{a2}, "same names, other definitions"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := goClassesDiffer(tc.master, hello(tc.worker...))
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestCheckHelloBoundsGoClasses(t *testing.T) {
	many := make([]string, maxGoClasses+1)
	for i := range many {
		many[i] = "c"
	}
	for _, h := range []*pb.Hello{
		{WorkerId: "w", GoClasses: many},
		{WorkerId: "w", GoClasses: []string{strings.Repeat("x", maxIDLen+1)}},
		{WorkerId: "w", GoClasses: []string{""}},
		{WorkerId: "w", GoClassesSha256: strings.Repeat("f", 65)},
	} {
		if err := checkHello(h); err == nil {
			t.Errorf("hello with %d classes, hash %d bytes accepted", len(h.GoClasses), len(h.GoClassesSha256))
		}
	}
	if err := checkHello(&pb.Hello{WorkerId: "w", GoClasses: []string{"A", "B"}, GoClassesSha256: strings.Repeat("f", 64)}); err != nil {
		t.Fatal(err)
	}
}
