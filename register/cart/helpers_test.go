package cart_test

import (
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// sampleCart is a valid open sale with three lines, a cart discount and a tax.
func sampleCart() cart.Cart {
	return cart.Cart{
		Register: "lane-1",
		Order:    "A-1001",
		Currency: "USD",
		State:    cart.StateOpen,
		Lines: []cart.Line{
			{ID: "l1", SKU: "sku-1", Barcode: "4006381333931", Title: "Apples", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374},
			{ID: "l2", Title: "Milk 1 L", Quantity: 2000, UnitPrice: 129, Discount: 20, Total: 238},
			{ID: "l3", Title: "Bread", Quantity: 1000, UnitPrice: 350, Total: 350, Note: "day old"},
		},
		Subtotal: 962,
		Discount: 50,
		Taxes:    []cart.TaxLine{{Label: "Sales tax 8%", Amount: 73}},
		Total:    985,
	}
}

// line returns a valid line with its total computed from quantity and price.
func line(t testing.TB, id string, q cart.Quantity, price cart.Money) cart.Line {
	t.Helper()
	total, ok := cart.Extend(q, price)
	if !ok {
		t.Fatalf("Extend(%d, %d) overflows", q, price)
	}
	return cart.Line{ID: id, Title: "Item " + id, Quantity: q, UnitPrice: price, Total: total}
}

// withLines returns base with lines replaced and totals recomputed: no cart
// discount, base's taxes kept as included taxes so the total is the subtotal.
func withLines(base cart.Cart, lines ...cart.Line) cart.Cart {
	c := base.Clone()
	c.Lines = append([]cart.Line{}, lines...)
	c.Discount = 0
	c.Subtotal = 0
	for _, l := range lines {
		c.Subtotal += l.Total
	}
	for i := range c.Taxes {
		c.Taxes[i].Included = true
	}
	c.Total = c.Subtotal
	return c
}

func mustValid(t testing.TB, c cart.Cart) cart.Cart {
	t.Helper()
	if err := c.Validate(); err != nil {
		t.Fatalf("test cart is invalid: %v", err)
	}
	return c
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
