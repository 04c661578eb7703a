package pole

import (
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

func TestEventFor(t *testing.T) {
	l1 := cart.Line{ID: "a", Title: "A", Quantity: 1000, UnitPrice: 100, Total: 100}
	l2 := cart.Line{ID: "b", Title: "B", Quantity: 1000, UnitPrice: 200, Total: 200}
	l2x := l2
	l2x.Quantity, l2x.Total = 2000, 400
	ret := cart.Line{ID: "r", Title: "R", Quantity: 1000, UnitPrice: 50, Total: 50, Return: true}
	open := func(ls ...cart.Line) *cart.Cart {
		return &cart.Cart{Order: "o", Currency: "USD", State: cart.StateOpen, Lines: ls}
	}
	withPay := func(st cart.State, tendered, change cart.Money) *cart.Cart {
		c := open(l1)
		c.State = st
		c.Payment = &cart.Payment{Due: 100, Tendered: tendered, Change: change}
		return c
	}
	tests := []struct {
		name      string
		prev, cur *cart.Cart
		ev        Event
		line      int
	}{
		{"idle", nil, &cart.Cart{State: cart.StateIdle}, EventWelcome, -1},
		{"open, no lines", nil, open(), EventWelcome, -1},
		{"first look at a sale", nil, open(l1, l2), EventItem, 1},
		{"added", open(l1), open(l1, l2), EventItem, 1},
		{"earlier line changed", open(l2, l1), open(l2x, l1), EventItem, 0},
		{"removed", open(l1, l2), open(l1), EventTotal, -1},
		{"return added", open(l1), open(l1, ret), EventReturn, 1},
		{"new order", &cart.Cart{Order: "x", Lines: []cart.Line{l1, l2}}, open(l1, l2), EventItem, 1},
		{"pay", nil, withPay(cart.StatePayment, 0, 0), EventPay, -1},
		{"paid exactly", nil, withPay(cart.StatePayment, 100, 0), EventPaid, -1},
		{"paid with change", nil, withPay(cart.StatePayment, 500, 400), EventPaidChange, -1},
		{"complete with change", nil, withPay(cart.StateComplete, 500, 400), EventChange, -1},
		{"complete", nil, withPay(cart.StateComplete, 100, 0), EventThanks, -1},
	}
	for _, tc := range tests {
		ev, i := EventFor(tc.prev, tc.cur)
		if ev != tc.ev || i != tc.line {
			t.Errorf("%s: got %s line %d, want %s line %d", tc.name, ev, i, tc.ev, tc.line)
		}
	}
}

// TestDefaultTemplates checks every built-in template: known placeholders,
// and literal text that fits a row whole (only titles and amounts may be
// cut or push the text aside).
func TestDefaultTemplates(t *testing.T) {
	for lang, tmpl := range defaultTemplates {
		for _, ev := range Events {
			rows, ok := tmpl[ev]
			if !ok {
				t.Errorf("%s: no template for %s", lang, ev)
			}
			for _, row := range rows {
				if err := checkRow(row); err != nil {
					t.Errorf("%s %s: %v", lang, ev, err)
				}
				lit := strings.NewReplacer("|", " ").Replace(expand(row, func(string) string { return "" }))
				if n := len([]rune(strings.TrimSpace(lit))); n > Width {
					t.Errorf("%s %s: literal text %q is %d characters, a row has %d", lang, ev, lit, n, Width)
				}
			}
		}
	}
}

func TestMergeOverrides(t *testing.T) {
	tmpl, err := Merge("de-AT", map[string][]string{"welcome": {"Grüß Gott!", "Filiale {total}"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl[EventWelcome]; got != (Template{"Grüß Gott!", "Filiale {total}"}) {
		t.Errorf("welcome: got %q", got)
	}
	if got := tmpl[EventPay][0]; got != "Zu zahlen|{due}" {
		t.Errorf("pay (German default kept): got %q", got)
	}
	if got := DefaultTemplates("ja-JP")[EventWelcome][0]; got != "Welcome!" {
		t.Errorf("a language without templates: got %q, want the English default", got)
	}
}
