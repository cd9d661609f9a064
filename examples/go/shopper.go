package main

import (
	"fmt"

	"github.com/stampede-load/stampede/load"
)

// Shopper is the state of one virtual user.
type Shopper struct {
	token string
	item  int
}

// Login runs once per user, before its first task.
func (s *Shopper) Login(u *load.User) error {
	r := u.Post("/login", nil, load.JSON(map[string]any{"user": fmt.Sprintf("user%d", u.ID())}))
	s.token = r.Header().Get("X-Token")
	return nil
}

// Browse looks at a product page: every product is one statistics row.
func (s *Shopper) Browse(u *load.User) error {
	s.item = 1 + u.Rand().IntN(100)
	u.Get(fmt.Sprintf("/products/%d", s.item), load.Name("/products/[id]"))
	return nil
}

// Buy posts an order. A 200 that does not confirm it is a failure too.
func (s *Shopper) Buy(u *load.User) error {
	r := u.Post("/cart", nil, load.JSON(map[string]int{"item": s.item}),
		load.WithHeader("Authorization", "Bearer "+s.token))
	if r.StatusCode() == 200 && r.Header().Get("X-Order") == "" {
		r.Failure("no order id in the answer")
	}
	return nil
}
