package clienttest

import (
	"fmt"

	"github.com/posdisplay/posdisplay/register/cart"
)

// Cart returns a valid open cart for register with n lines (ids "l0",
// "l1", ...), each one unit at 100+i minor units of USD, with totals that
// add up.
func Cart(register string, n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.Order = "order-1"
	if n > 0 {
		c.State = cart.StateOpen
	}
	for i := range n {
		c.Lines = append(c.Lines, Line(fmt.Sprintf("l%d", i), fmt.Sprintf("Item %d", i), 1, cart.Money(100+i)))
	}
	return Totalled(c)
}

// Line returns a valid line of qty whole units at price.
func Line(id, title string, qty int64, price cart.Money) cart.Line {
	q := cart.Quantity(qty * cart.QuantityScale)
	total, _ := cart.Extend(q, price)
	return cart.Line{ID: id, Title: title, Quantity: q, UnitPrice: price, Total: total}
}

// Totalled returns c with subtotal, taxes (none) and total recomputed from
// its lines and discount, so that it validates.
func Totalled(c cart.Cart) cart.Cart {
	c = c.Clone()
	var sum cart.Money
	for _, l := range c.Lines {
		sum += l.Total
	}
	c.Subtotal = sum
	if c.Discount > sum {
		c.Discount = sum
	}
	c.Total = sum - c.Discount
	for _, t := range c.Taxes {
		if !t.Included {
			c.Total += t.Amount
		}
	}
	return c
}
