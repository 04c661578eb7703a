package display

import (
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/clock/clocktest"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/testlog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// t0 is the fake clock's start: a Sunday afternoon.
var t0 = time.Date(2026, 11, 22, 14, 30, 0, 0, time.UTC)

// newTestDisplay builds a Display in a headless test window of the given size.
func newTestDisplay(tb testing.TB, size fyne.Size, cfg Config) (*Display, fyne.Window, *clocktest.Clock) {
	tb.Helper()
	a := test.NewTempApp(tb)
	w := test.NewTempWindow(tb, widget.NewLabel(""))
	w.Resize(size)
	clock := clocktest.New(t0)
	d, err := newDisplay(a, w, cfg, testLogger(tb), clock.Now)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	w.Resize(size)
	return d, w, clock
}

func testConfig() Config {
	c := DefaultConfig()
	c.Store.Name = "Corner Grocery"
	c.Store.Welcome = "Welcome! Fresh bread every morning."
	return c
}

func live(c cart.Cart, changed ...string) client.View {
	return client.View{Status: client.StatusLive, Since: t0.Add(-time.Hour), HasCart: true, Cart: c,
		Position: protocol.Position{Epoch: "e1", Seq: 7}, Changed: changed}
}

// line returns a counted line of qty units.
func line(id, title string, qty int64, unit cart.Money) cart.Line {
	return cart.Line{ID: id, Title: title, Quantity: cart.Quantity(qty * cart.QuantityScale), UnitPrice: unit, Total: cart.Money(qty) * unit}
}

// withTotals fills subtotal, taxes and total from the lines.
func withTotals(c cart.Cart, taxRate int64, included bool) cart.Cart {
	var sub, disc cart.Money
	for _, l := range c.Lines {
		sub += l.Total + l.Discount
		disc += l.Discount
	}
	c.Subtotal, c.Discount = sub, disc
	tax := (sub - disc) * cart.Money(taxRate) / 100
	c.Taxes = []cart.TaxLine{{Label: fmt.Sprintf("Sales tax %d%%", taxRate), Amount: tax, Included: included}}
	c.Total = sub - disc
	if !included {
		c.Total += tax
	}
	return c
}

func sampleCart() cart.Cart {
	bananas := cart.Line{ID: "l2", Title: "Bananas", Quantity: 1250, Unit: "kg", UnitPrice: 199, Total: 249}
	cheese := line("l3", "Organic Aged Cheddar Cheese, Extra Sharp, Family Size Value Pack", 1, 899)
	cheese.Discount, cheese.Total = 150, 749
	c := cart.Cart{Register: "r1", Order: "o-1001", Currency: "USD", State: cart.StateOpen, Lines: []cart.Line{
		line("l1", "Whole Milk 1 gal", 2, 349),
		bananas,
		cheese,
		line("l4", "Sourdough Loaf", 1, 525),
		line("l5", "Sparkling Water 12-pack", 3, 599),
	}}
	return withTotals(c, 8, false)
}

func bigCart(n int) cart.Cart {
	c := cart.Cart{Register: "r1", Order: "o-big", Currency: "USD", State: cart.StateOpen}
	for i := range n {
		c.Lines = append(c.Lines, line(fmt.Sprintf("l%d", i), fmt.Sprintf("Item number %d with a fairly long description", i), int64(i%5+1), cart.Money(100+i)))
	}
	return withTotals(c, 8, false)
}

func paymentCart() cart.Cart {
	c := sampleCart()
	c.State = cart.StatePayment
	c.Payment = &cart.Payment{Due: c.Total, Tendered: 6000, Change: 6000 - c.Total, Method: "Cash"}
	return c
}

func completeCart() cart.Cart {
	c := paymentCart()
	c.State = cart.StateComplete
	c.Message = "Receipt sent by e-mail"
	return c
}

// scene is one screen in one state, for goldens and screenshots.
type scene struct {
	name  string
	cfg   func(*Config)
	view  func() client.View
	after time.Duration // advance the clock and Tick before capturing
}

func scenes() []scene {
	stale := func(c cart.Cart) func() client.View {
		return func() client.View {
			v := live(c)
			v.Status, v.Since = client.StatusReconnecting, t0
			return v
		}
	}
	restored := func() client.View {
		v := live(sampleCart())
		v.Restored, v.RestoredAt = true, t0
		return v
	}
	return []scene{
		{name: "searching", view: func() client.View { return client.View{Status: client.StatusSearching, Since: t0} }},
		{name: "connecting", view: func() client.View { return client.View{Status: client.StatusConnecting, Since: t0} }},
		{name: "reconnecting", view: func() client.View { return client.View{Status: client.StatusReconnecting, Since: t0} }},
		{name: "untrusted", view: func() client.View {
			return client.View{Status: client.StatusUntrusted, Since: t0, Err: "register certificate does not match the pairing"}
		}},
		{name: "rejected", view: func() client.View {
			return client.View{Status: client.StatusRejected, Since: t0, Err: "token revoked"}
		}},
		{name: "pairing", view: func() client.View {
			return client.View{Status: client.StatusPairing, Since: t0, Codes: []client.PairingCode{
				{Register: "Till 1", Code: "3DW2-F7RD", Expires: t0.Add(10 * time.Minute)},
				{Register: "Till 2", Code: "K7QX-2M9P", Expires: t0.Add(10 * time.Minute)},
			}}
		}},
		{name: "pairing-searching", view: func() client.View {
			return client.View{Status: client.StatusPairing, Since: t0, Err: "Looking for registers on the network…"}
		}},
		{name: "idle", view: func() client.View { return live(cart.Empty("r1", "USD")) }},
		{name: "cart", view: func() client.View { return live(sampleCart(), "l5") }},
		{name: "cart-highlight-over", view: func() client.View { return live(sampleCart(), "l5") }, after: 2 * time.Second},
		{name: "cart-stale", view: stale(sampleCart())},
		{name: "cart-stale-hidden", view: stale(sampleCart()), after: 4 * time.Second},
		{name: "cart-restored", view: restored},
		{name: "cart-restored-hidden", view: restored, after: 6 * time.Second},
		{name: "cart-500", view: func() client.View { c := bigCart(500); return live(c, c.Lines[499].ID) }},
		{name: "cart-de-eur", cfg: func(c *Config) { c.Store.Locale = "de-DE" }, view: func() client.View {
			c := sampleCart()
			c.Currency = "EUR"
			c = withTotals(c, 19, true)
			return live(c)
		}},
		{name: "cart-ja-jpy", cfg: func(c *Config) { c.Store.Locale = "ja-JP" }, view: func() client.View {
			c := cart.Cart{Register: "r1", Currency: "JPY", State: cart.StateOpen, Lines: []cart.Line{line("a", "Green tea", 2, 180), line("b", "Onigiri salmon", 3, 165)}}
			return live(withTotals(c, 8, true))
		}},
		{name: "cart-bh-bhd", cfg: func(c *Config) { c.Store.Locale = "ar-BH"; c.Store.CurrencyStyle = "iso" }, view: func() client.View {
			c := cart.Cart{Register: "r1", Currency: "BHD", State: cart.StateOpen, Lines: []cart.Line{line("a", "Dates 1 kg box", 1, 3250), line("b", "Laban", 4, 450)}}
			return live(withTotals(c, 10, false))
		}},
		{name: "cart-hostile", view: func() client.View { return live(hostileCart()) }},
		{name: "payment", view: func() client.View { return live(paymentCart()) }},
		{name: "payment-stale", view: stale(paymentCart())},
		{name: "cart-return", view: func() client.View { return live(mustValid(returnCart()), "r1") }},
		{name: "payment-refund", view: func() client.View { return live(mustValid(refundCart())) }},
		{name: "thanks", view: func() client.View { return live(completeCart()) }},
		{name: "thanks-over", view: func() client.View { return live(completeCart()) }, after: 7 * time.Second},
	}
}

// returnCart is an exchange: the sample sale plus a returned kettle, with
// its receipt number, bought with a discount (revision 1.1).
func returnCart() cart.Cart {
	c := sampleCart()
	kettle := cart.Line{ID: "r1", Title: "Electric Kettle 1.7 L", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Note: "Receipt A-0977", Return: true}
	c.Lines = append(c.Lines, kettle)
	c.Subtotal, c.Discount = 0, 0
	for _, l := range c.Lines {
		if l.Return {
			c.Subtotal -= l.Total
		} else {
			c.Subtotal += l.Total
		}
	}
	tax := c.Subtotal * 8 / 100
	c.Taxes = []cart.TaxLine{{Label: "Sales tax 8%", Amount: tax}}
	c.Total = c.Subtotal + tax
	return c
}

// refundCart: a bread bought, a kettle returned, the store pays back.
func refundCart() cart.Cart {
	c := cart.Cart{Register: "r1", Order: "o-1002", Currency: "USD", State: cart.StatePayment, Lines: []cart.Line{
		line("l4", "Sourdough Loaf", 1, 525),
		{ID: "r1", Title: "Electric Kettle 1.7 L", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Note: "Receipt A-0977", Return: true},
	}, Taxes: []cart.TaxLine{}}
	c.Subtotal = 525 - 2699
	c.Total = c.Subtotal
	c.Payment = &cart.Payment{Due: c.Total, Tendered: 0, Change: -c.Total, Method: "Cash"}
	return c
}

// mustValid panics unless c passes the cart rules: the return scenes show
// what a display can really be sent.
func mustValid(c cart.Cart) cart.Cart {
	if err := c.Validate(); err != nil {
		panic(err)
	}
	return c
}

func hostileCart() cart.Cart {
	huge := strings.Repeat("W", 10000)
	c := cart.Cart{Register: "r1", Currency: "USD", State: cart.StateOpen, Message: "line1\nline2\x00\u202eevil" + huge, Lines: []cart.Line{
		{ID: "a", Title: huge, Quantity: cart.MaxQuantity, Unit: strings.Repeat("kg", 50), UnitPrice: cart.MaxMoney, Total: cart.MaxMoney},
		{ID: "b", Title: "tab\there\nnewline \xff\xfe bad utf8", Quantity: -2000, UnitPrice: -5, Total: 10, Discount: -cart.MaxMoney, Note: huge},
		{ID: "c", Title: "", Quantity: 0, UnitPrice: 0, Total: 0},
	}}
	c.Subtotal, c.Total = cart.MaxMoney, cart.MaxMoney
	for i := range 40 {
		c.Taxes = append(c.Taxes, cart.TaxLine{Label: fmt.Sprintf("Tax %d %s", i, huge), Amount: cart.MaxMoney / 50})
	}
	return c
}

func testLogger(tb testing.TB) *slog.Logger { return testlog.New(tb, slog.LevelWarn) }
