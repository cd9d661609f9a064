package load_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/stampede-load/stampede/load"
)

// printEntries prints the statistics rows of a --json summary.
func printEntries(file string) {
	b, err := os.ReadFile(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	var s summary
	if err := json.Unmarshal(b, &s); err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range s.Stats.Entries {
		fmt.Printf("%s %s: %d requests, %d failures\n", e.Method, e.Name, e.Requests, e.Failures)
	}
	for _, f := range s.Stats.Failures {
		fmt.Println("failure:", f.Error)
	}
}

// Work that is not an HTTP request (a database query, a message on a
// queue, a call through a client SDK) is timed and recorded with Record:
// it gets its own statistics row, and its error makes it a failure.
func ExampleUser_Record() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	calls := 0
	lookup := func() error { // stands for the real work
		calls++
		if calls%5 == 0 {
			return errors.New("deadlock")
		}
		return nil
	}
	db := load.Class[struct{}]{
		Name: "Reporting",
		Tasks: []load.Task[struct{}]{{Name: "query", Fn: func(_ struct{}, u *load.User) error {
			start := time.Now()
			err := lookup()
			return u.Record("SQL", "select orders", time.Since(start), 0, err)
		}}},
	}
	load.Run([]string{"run", "--headless", "-u", "1", "-i", "10", "--json", filepath.Join(dir, "run.json")},
		io.Discard, io.Discard, db)
	printEntries(filepath.Join(dir, "run.json"))
	// Output:
	// SQL select orders: 10 requests, 2 failures
	// failure: deadlock
}

// A task decides the verdict itself, as Locust's catch_response: a 404 it
// expects is a success, a 200 without what it needs a failure.
func ExampleResponse_Failure() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/cart/gone" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprint(w, `{"items": []}`)
	}))
	defer srv.Close()
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)

	check := func(_ struct{}, u *load.User) error {
		if r := u.Get("/cart/gone"); r.StatusCode() == http.StatusNotFound {
			r.Success() // deleted carts are expected to be gone
		}
		r := u.Get("/cart")
		var cart struct{ Items []string }
		if err := json.Unmarshal(r.Body(), &cart); err != nil || len(cart.Items) == 0 {
			r.Failure("empty cart")
		}
		return nil
	}
	shopper := load.Class[struct{}]{Name: "Shopper", Tasks: []load.Task[struct{}]{{Name: "check", Fn: check}}}
	load.Run([]string{"run", "--headless", "-u", "1", "-i", "3", "--host", srv.URL, "--json", filepath.Join(dir, "run.json")},
		io.Discard, io.Discard, shopper)
	printEntries(filepath.Join(dir, "run.json"))
	// Output:
	// GET /cart: 3 requests, 3 failures
	// GET /cart/gone: 3 requests, 0 failures
	// failure: empty cart
}
