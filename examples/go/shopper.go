package main

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/stampede-load/stampede/load"
)

// Shopper is the state of one virtual user of the demo shop
// (`stampede demo`): its session token and the product it looked at last.
type Shopper struct {
	token   string
	product int
}

// Login runs once per user, before its first task. A 200 without a token
// is recorded as a failure: the rest of this user's requests would fail.
func (s *Shopper) Login(u *load.User) error {
	r := u.Post("/api/login", nil, load.JSON(map[string]string{"username": fmt.Sprintf("user%d", u.ID()), "password": "secret"}))
	var answer struct{ Token string }
	if r.StatusCode() == 200 && (json.Unmarshal(r.Body(), &answer) != nil || answer.Token == "") {
		r.Failure("no token in the login answer")
	}
	s.token = answer.Token
	return nil
}

// Logout runs when the user stops.
func (s *Shopper) Logout(u *load.User) error {
	u.Post("/api/logout", nil, load.WithHeader("Authorization", "Bearer "+s.token))
	return nil
}

// Browse looks at a product: every product is counted in one statistics
// row, /api/products/[id].
func (s *Shopper) Browse(u *load.User) error {
	s.product = 1 + u.Rand().IntN(100)
	u.Get(fmt.Sprintf("/api/products/%d", s.product), load.Name("/api/products/[id]"))
	return nil
}

// Buy adds the product to the cart. A 200 whose cart does not hold the
// product is a failure too.
func (s *Shopper) Buy(u *load.User) error {
	if s.product == 0 {
		return nil // nothing looked at yet
	}
	r := u.Post("/api/cart", nil, load.JSON(map[string]int{"product_id": s.product, "quantity": 1}),
		load.WithHeader("Authorization", "Bearer "+s.token))
	if r.StatusCode() != 200 {
		return nil // recorded as a failure already
	}
	var cart struct{ Items []cartItem }
	if err := json.Unmarshal(r.Body(), &cart); err != nil {
		r.Failure("the cart is not JSON")
		return nil
	}
	if !slices.ContainsFunc(cart.Items, func(i cartItem) bool { return i.ProductID == s.product }) {
		r.Failure("the product is not in the cart")
	}
	return nil
}

type cartItem struct {
	ProductID int `json:"product_id"`
}
