package demo

import (
	"encoding/json"
	"fmt"
	"strings"
)

// The catalogue is fixed (it does not depend on Options.Seed) so that scripts
// can rely on ids 1..NumProducts existing.

// NumProducts is the number of products in the demo catalogue; their ids are
// 1..NumProducts.
const NumProducts = 100

const (
	defaultPerPage = 10
	maxPerPage     = 50
)

type product struct {
	ID          int     `json:"id"`
	Name        string  `json:"name"`
	Category    string  `json:"category"`
	Price       float64 `json:"price"`
	PriceCents  int     `json:"price_cents"`
	Currency    string  `json:"currency"`
	Stock       int     `json:"stock"`
	Description string  `json:"description,omitempty"`
	URL         string  `json:"url"`

	lowerName string
}

// productSummary is what the list endpoint shows of a product.
type productSummary struct {
	ID       int     `json:"id"`
	Name     string  `json:"name"`
	Category string  `json:"category"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
	URL      string  `json:"url"`
}

type productPage struct {
	Items   []productSummary `json:"items"`
	Page    int              `json:"page"`
	PerPage int              `json:"per_page"`
	Total   int              `json:"total"`
	Pages   int              `json:"pages"`
	Query   string           `json:"q,omitempty"`
}

type catalog struct {
	products []product // index = id-1
	// detailJSON[id-1] is the pre-encoded body of GET /api/products/{id}.
	detailJSON [][]byte
	// pageJSON[p-1] is the pre-encoded body of GET /api/products?page=p with
	// the default page size and no query; the slice holds one page past the
	// end too (an empty one).
	pageJSON [][]byte
}

var (
	adjectives = [...]string{"Classic", "Sturdy", "Compact", "Deluxe", "Rustic", "Modern", "Vintage", "Ultra-light", "Eco", "Pro"}
	materials  = [...]string{"Copper", "Bamboo", "Steel", "Oak", "Ceramic", "Wool", "Leather", "Glass", "Cotton", "Carbon"}
	goods      = [...]struct{ noun, category string }{
		{"Kettle", "kitchen"}, {"Backpack", "outdoor"}, {"Lamp", "home"}, {"Notebook", "office"},
		{"Mug", "kitchen"}, {"Tent", "outdoor"}, {"Chair", "home"}, {"Pen", "office"},
		{"Skillet", "kitchen"}, {"Lantern", "outdoor"}, {"Blanket", "home"},
	}
)

func newCatalog() *catalog {
	c := &catalog{
		products:   make([]product, NumProducts),
		detailJSON: make([][]byte, NumProducts),
	}
	for i := range c.products {
		id := i + 1
		g := goods[i%len(goods)]
		name := fmt.Sprintf("%s %s %s", adjectives[(i/len(goods))%len(adjectives)], materials[(i*7)%len(materials)], g.noun)
		cents := 499 + (id*7919)%19500 // 4.99 .. 199.98, fixed
		cents = cents - cents%100 + 99
		c.products[i] = product{
			ID:          id,
			Name:        name,
			Category:    g.category,
			Price:       float64(cents) / 100,
			PriceCents:  cents,
			Currency:    "EUR",
			Stock:       5 + (id*31)%200,
			Description: fmt.Sprintf("The %s: a fine %s product from the Stampede demo shop.", strings.ToLower(name), g.category),
			URL:         fmt.Sprintf("/api/products/%d", id),
			lowerName:   strings.ToLower(name),
		}
		c.detailJSON[i] = mustJSON(c.products[i])
	}
	pages := (NumProducts + defaultPerPage - 1) / defaultPerPage
	for p := 1; p <= pages+1; p++ {
		c.pageJSON = append(c.pageJSON, mustJSON(c.list("", p, defaultPerPage)))
	}
	return c
}

func (c *catalog) get(id int) *product {
	if id < 1 || id > len(c.products) {
		return nil
	}
	return &c.products[id-1]
}

// list returns one page of the products whose name or category contains q
// (case-insensitively). A page past the end has no items.
func (c *catalog) list(q string, page, perPage int) productPage {
	lq := strings.ToLower(strings.TrimSpace(q))
	out := productPage{Items: []productSummary{}, Page: page, PerPage: perPage, Query: q}
	skip := (page - 1) * perPage
	for i := range c.products {
		p := &c.products[i]
		if lq != "" && !strings.Contains(p.lowerName, lq) && !strings.Contains(p.Category, lq) {
			continue
		}
		out.Total++
		if out.Total > skip && len(out.Items) < perPage {
			out.Items = append(out.Items, productSummary{ID: p.ID, Name: p.Name, Category: p.Category, Price: p.Price, Currency: p.Currency, URL: p.URL})
		}
	}
	out.Pages = (out.Total + perPage - 1) / perPage
	return out
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}
