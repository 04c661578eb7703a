package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
)

// Cashier is a simulated cashier for demos: it rings up a basket line by
// line, changes a quantity, voids a line, applies a discount, takes cash,
// gives change, says thank you and starts again, through Submit.
type Cashier struct {
	Register string
	Currency string
	Pace     time.Duration
	Submit   func(cart.Cart) (uint64, error)
}

type product struct {
	sku, barcode, title, unit string
	price                     cart.Money
	qty                       cart.Quantity
}

var demoBasket = []product{
	{"MLK-1L", "4006381333931", "Organic whole milk 1 L", "", 149, 1000},
	{"BRD-SD", "4012345678901", "Sourdough loaf, stone-baked", "", 425, 1000},
	{"APL-GS", "2000000012345", "Granny Smith apples", "kg", 329, 1250},
	{"CFE-EB", "8712345678906", "Espresso beans, dark roast 500 g — fair trade single origin from the Sidamo highlands", "", 1299, 1000},
	{"EGG-12", "5012345678900", "Free-range eggs ×12", "", 389, 1000},
	{"OJ-1L", "4001234567895", "Orange juice, not from concentrate", "", 279, 2000},
}

// Run rings up baskets until ctx is done.
func (c *Cashier) Run(ctx context.Context) error {
	pace := c.Pace
	if pace <= 0 {
		pace = 700 * time.Millisecond
	}
	for order := 1; ; order++ {
		for _, step := range c.sale(order) {
			if _, err := c.Submit(step); err != nil {
				return fmt.Errorf("demo cashier: %w", err)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(pace):
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(3 * pace):
		}
	}
}

// sale returns the successive carts of one sale.
func (c *Cashier) sale(order int) []cart.Cart {
	var steps []cart.Cart
	cur := cart.Empty(c.Register, c.Currency)
	cur.Order = fmt.Sprintf("D-%05d", order)
	cur.State = cart.StateOpen
	push := func() {
		Recompute(&cur, 800) // 8.00 % sales tax
		steps = append(steps, cur.Clone())
	}
	for i, p := range demoBasket {
		cur.Lines = append(cur.Lines, cart.Line{ID: fmt.Sprintf("l%d", i+1), SKU: p.sku, Barcode: p.barcode, Title: p.title, Quantity: p.qty, Unit: p.unit, UnitPrice: p.price})
		push()
	}
	cur.Lines[0].Quantity = 2000 // a second bottle of milk
	push()
	cur.Lines = append(cur.Lines[:4], cur.Lines[5:]...) // void the eggs
	push()
	cur.Lines[1].Discount = 50 // day-old bread
	cur.Lines[1].Note = "Day-old: 0.50 off"
	push()
	cur.State = cart.StatePayment
	cur.Payment = &cart.Payment{Due: cur.Total, Method: "cash"}
	push()
	tendered := (cur.Total/2000 + 1) * 2000 // next 20.00 up
	cur.Payment = &cart.Payment{Due: cur.Total, Tendered: tendered, Change: tendered - cur.Total, Method: "cash"}
	push()
	cur.State = cart.StateComplete
	cur.Message = "Thank you for shopping with us!"
	push()
	steps = append(steps, cart.Empty(c.Register, c.Currency))
	return steps
}

// Recompute sets line totals, subtotal, one sales-tax line at rateBP basis
// points (1/100 of a percent) and the total, in integer minor units.
func Recompute(c *cart.Cart, rateBP int64) {
	var sub cart.Money
	for i := range c.Lines {
		l := &c.Lines[i]
		gross, _ := cart.Extend(l.Quantity, l.UnitPrice)
		l.Total = gross - l.Discount
		sub += l.Total
	}
	c.Subtotal = sub
	base := sub - c.Discount
	tax := (int64(base)*rateBP + 5000) / 10000
	c.Taxes = []cart.TaxLine{{Label: fmt.Sprintf("Sales tax %d.%02d%%", rateBP/100, rateBP%100), Amount: cart.Money(tax)}}
	c.Total = base + cart.Money(tax)
	if c.Payment != nil {
		c.Payment.Due = c.Total
	}
}
