package load_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/stampede-load/stampede/load"
)

// Shopper is the state of one virtual user.
type Shopper struct{ seen int }

// Browse is a task: a method of the user's state.
func (s *Shopper) Browse(u *load.User) error {
	r := u.Get("/products?page=1", load.Name("/products"))
	if r.OK() {
		s.seen++
	}
	return nil
}

// Buy checks the answer itself: a 200 without an order id is a failure.
func (s *Shopper) Buy(u *load.User) error {
	r := u.Post("/cart", nil, load.JSON(map[string]int{"item": 42}))
	if r.StatusCode() == http.StatusOK && r.Header().Get("X-Order") == "" {
		r.Failure("no order id")
	}
	return nil
}

func Example() {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("X-Order", "1")
	}))
	defer srv.Close()

	shopper := load.Class[*Shopper]{
		Name:  "Shopper",
		New:   func() *Shopper { return &Shopper{} },
		Tasks: []load.Task[*Shopper]{{Name: "browse", Weight: 3, Fn: (*Shopper).Browse}, {Name: "buy", Fn: (*Shopper).Buy}},
	}
	// In a program: load.Main(shopper), and the flags on its command line.
	code := load.Run([]string{"run", "--headless", "-u", "2", "-r", "100", "-i", "20", "--host", srv.URL},
		io.Discard, io.Discard, shopper)
	fmt.Println("exit code", code, "requests", requests.Load())
	// Output: exit code 0 requests 20
}
