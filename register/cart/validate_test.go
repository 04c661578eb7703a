package cart_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

func TestValidateSample(t *testing.T) {
	c := sampleCart()
	if err := c.Validate(); err != nil {
		t.Fatalf("sampleCart().Validate() = %v, want nil", err)
	}
	e := cart.Empty("lane-1", "EUR")
	if err := e.Validate(); err != nil {
		t.Fatalf("Empty().Validate() = %v, want nil", err)
	}
}

func TestValidate(t *testing.T) {
	manyLines := func(n int) func(*cart.Cart) {
		return func(c *cart.Cart) {
			*c = withLines(*c)
			for i := range n {
				c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: "x", Quantity: 1000, UnitPrice: 1, Total: 1})
			}
			c.Subtotal, c.Total = cart.Money(n), cart.Money(n)
		}
	}
	manyTaxes := func(n int) func(*cart.Cart) {
		return func(c *cart.Cart) {
			c.Taxes = nil
			for range n {
				c.Taxes = append(c.Taxes, cart.TaxLine{Label: "t", Amount: 1, Included: true})
			}
			c.Total = c.Subtotal - c.Discount
		}
	}
	// setLine changes line i and keeps the cart's totals consistent.
	setLine := func(i int, f func(*cart.Line)) func(*cart.Cart) {
		return func(c *cart.Cart) {
			f(&c.Lines[i])
			c.Subtotal = 0
			for _, l := range c.Lines {
				c.Subtotal += l.Total
			}
			c.Total = c.Subtotal - c.Discount + 73
		}
	}
	pay := func(p cart.Payment) func(*cart.Cart) {
		return func(c *cart.Cart) { c.State = cart.StatePayment; c.Payment = &p }
	}
	tests := []struct {
		name      string
		mutate    func(*cart.Cart)
		wantField string // "" means valid
	}{
		{"register empty", func(c *cart.Cart) { c.Register = "" }, "register"},
		{"register too long", func(c *cart.Cart) { c.Register = repeat("r", cart.MaxIDLen+1) }, "register"},
		{"register at limit", func(c *cart.Cart) { c.Register = repeat("r", cart.MaxIDLen) }, ""},
		{"register space", func(c *cart.Cart) { c.Register = "lane 1" }, "register"},
		{"register slash", func(c *cart.Cart) { c.Register = "lane/1" }, "register"},
		{"order empty ok", func(c *cart.Cart) { c.Order = "" }, ""},
		{"order too long", func(c *cart.Cart) { c.Order = repeat("o", cart.MaxIDLen+1) }, "order"},
		{"order control", func(c *cart.Cart) { c.Order = "A\n1" }, "order"},
		{"currency lower", func(c *cart.Cart) { c.Currency = "usd" }, "currency"},
		{"currency unknown", func(c *cart.Cart) { c.Currency = "ABC" }, "currency"},
		{"currency short", func(c *cart.Cart) { c.Currency = "US" }, "currency"},
		{"currency empty", func(c *cart.Cart) { c.Currency = "" }, "currency"},
		{"currency JPY", func(c *cart.Cart) { c.Currency = "JPY" }, ""},
		{"state empty", func(c *cart.Cart) { c.State = "" }, "state"},
		{"state unknown", func(c *cart.Cart) { c.State = "paid" }, "state"},
		{"state idle", func(c *cart.Cart) { c.State = cart.StateIdle }, ""},
		{"state complete", func(c *cart.Cart) { c.State = cart.StateComplete }, ""},
		{"lines at limit", manyLines(cart.MaxLines), ""},
		{"lines over limit", manyLines(cart.MaxLines + 1), "lines"},
		{"lines nil", func(c *cart.Cart) { *c = withLines(*c); c.Lines = nil }, ""},
		{"line id empty", setLine(1, func(l *cart.Line) { l.ID = "" }), "lines[1].id"},
		{"line id too long", setLine(2, func(l *cart.Line) { l.ID = repeat("i", cart.MaxIDLen+1) }), "lines[2].id"},
		{"line id duplicate", setLine(2, func(l *cart.Line) { l.ID = "l1" }), "lines[2].id"},
		// Carts above 32 lines find duplicates through a map, shorter ones
		// by comparing with each earlier line: both paths.
		{"line id duplicate, 32 lines", func(c *cart.Cart) { manyLines(32)(c); c.Lines[31].ID = c.Lines[30].ID }, "lines[31].id"},
		{"line id duplicate, 40 lines", func(c *cart.Cart) { manyLines(40)(c); c.Lines[38].ID = c.Lines[3].ID }, "lines[38].id"},
		{"line ids distinct, 40 lines", manyLines(40), ""},
		{"line sku too long", setLine(0, func(l *cart.Line) { l.SKU = repeat("s", cart.MaxIDLen+1) }), "lines[0].sku"},
		{"line barcode too long", setLine(0, func(l *cart.Line) { l.Barcode = repeat("9", cart.MaxIDLen+1) }), "lines[0].barcode"},
		{"line title empty", setLine(1, func(l *cart.Line) { l.Title = "" }), "lines[1].title"},
		{"line title blank", setLine(1, func(l *cart.Line) { l.Title = " \u00a0 " }), "lines[1].title"},
		{"line title at limit multibyte", setLine(1, func(l *cart.Line) { l.Title = repeat("😀", cart.MaxTitleLen) }), ""},
		{"line title too long", setLine(1, func(l *cart.Line) { l.Title = repeat("é", cart.MaxTitleLen+1) }), "lines[1].title"},
		{"line title control", setLine(1, func(l *cart.Line) { l.Title = "Milk\x1b[2J" }), "lines[1].title"},
		{"line title DEL", setLine(1, func(l *cart.Line) { l.Title = "Milk\x7f" }), "lines[1].title"},
		{"line title C1", setLine(1, func(l *cart.Line) { l.Title = "Milk\u0085" }), "lines[1].title"},
		{"line title bidi override", setLine(1, func(l *cart.Line) { l.Title = "Milk\u202e99.0" }), "lines[1].title"},
		{"line title bidi isolate", setLine(1, func(l *cart.Line) { l.Title = "Milk\u2067x" }), "lines[1].title"},
		{"line title line separator", setLine(1, func(l *cart.Line) { l.Title = "Milk\u2028Free" }), "lines[1].title"},
		{"line title paragraph separator", setLine(1, func(l *cart.Line) { l.Title = "Milk\u2029Free" }), "lines[1].title"},
		{"line title invalid utf8", setLine(1, func(l *cart.Line) { l.Title = "Milk\xff" }), "lines[1].title"},
		{"line title non-latin ok", setLine(1, func(l *cart.Line) { l.Title = "牛乳 ミルク مرحبا" }), ""},
		{"line unit too long", setLine(0, func(l *cart.Line) { l.Unit = repeat("u", cart.MaxUnitLen+1) }), "lines[0].unit"},
		{"line note too long", setLine(2, func(l *cart.Line) { l.Note = repeat("n", cart.MaxNoteLen+1) }), "lines[2].note"},
		{"line note tab", setLine(2, func(l *cart.Line) { l.Note = "a\tb" }), "lines[2].note"},
		{"line quantity zero", setLine(1, func(l *cart.Line) { l.Quantity, l.Total = 0, 0; l.Discount = 0 }), "lines[1].quantity"},
		{"line quantity negative", setLine(1, func(l *cart.Line) { l.Quantity = -1000 }), "lines[1].quantity"},
		{"line quantity at limit", setLine(1, func(l *cart.Line) { l.Quantity, l.UnitPrice, l.Discount, l.Total = cart.MaxQuantity, 0, 0, 0 }), ""},
		{"line quantity over limit", setLine(1, func(l *cart.Line) { l.Quantity, l.UnitPrice, l.Discount, l.Total = cart.MaxQuantity+1, 0, 0, 0 }), "lines[1].quantity"},
		{"line unit_price negative", setLine(2, func(l *cart.Line) { l.UnitPrice = -1 }), "lines[2].unit_price"},
		{"line unit_price over limit", setLine(2, func(l *cart.Line) { l.UnitPrice = cart.MaxMoney + 1 }), "lines[2].unit_price"},
		{"line unit_price at limit", setLine(2, func(l *cart.Line) { l.UnitPrice, l.Total = cart.MaxMoney, cart.MaxMoney }), "subtotal"}, // line ok, cart subtotal too large
		{"line discount negative", setLine(1, func(l *cart.Line) { l.Discount = -1 }), "lines[1].discount"},
		{"line discount over limit", setLine(1, func(l *cart.Line) { l.Discount = cart.MaxMoney + 1 }), "lines[1].discount"},
		{"line discount over gross", setLine(1, func(l *cart.Line) { l.Discount, l.Total = 259, 0 }), "lines[1].discount"},
		{"line discount equals gross", setLine(1, func(l *cart.Line) { l.Discount, l.Total = 258, 0 }), ""},
		{"line extension out of range", setLine(0, func(l *cart.Line) { l.Quantity, l.UnitPrice = cart.MaxQuantity, cart.MaxMoney }), "lines[0]"},
		{"line total negative", setLine(2, func(l *cart.Line) { l.Total = -1 }), "lines[2].total"},
		{"line total one over", setLine(2, func(l *cart.Line) { l.Total = 351 }), ""},
		{"line total one under", setLine(2, func(l *cart.Line) { l.Total = 349 }), ""},
		{"line total two over", setLine(2, func(l *cart.Line) { l.Total = 352 }), "lines[2].total"},
		{"line total two under", setLine(2, func(l *cart.Line) { l.Total = 348 }), "lines[2].total"},
		{"subtotal mismatch", func(c *cart.Cart) { c.Subtotal++; c.Total++ }, "subtotal"},
		{"subtotal negative", func(c *cart.Cart) { *c = withLines(*c); c.Subtotal = -1 }, "subtotal"},
		{"discount negative", func(c *cart.Cart) { c.Discount = -1; c.Total = 962 + 1 + 73 }, "discount"},
		{"discount over subtotal", func(c *cart.Cart) { c.Discount = 963 }, "discount"},
		{"discount equals subtotal", func(c *cart.Cart) { c.Discount = 962; c.Total = 73 }, ""},
		{"taxes at limit", manyTaxes(cart.MaxTaxLines), ""},
		{"taxes over limit", manyTaxes(cart.MaxTaxLines + 1), "taxes"},
		{"tax label empty", func(c *cart.Cart) { c.Taxes[0].Label = "" }, "taxes[0].label"},
		{"tax label too long", func(c *cart.Cart) { c.Taxes[0].Label = repeat("t", cart.MaxLabelLen+1) }, "taxes[0].label"},
		{"tax label control", func(c *cart.Cart) { c.Taxes[0].Label = "VAT\r" }, "taxes[0].label"},
		{"tax amount negative", func(c *cart.Cart) { c.Taxes[0].Amount = -73; c.Total = 962 - 50 - 73 }, "taxes[0].amount"},
		{"tax amount over limit", func(c *cart.Cart) { c.Taxes[0].Amount = cart.MaxMoney + 1 }, "taxes[0].amount"},
		{"tax included not added", func(c *cart.Cart) { c.Taxes[0].Included = true; c.Total = 912 }, ""},
		{"tax included but added", func(c *cart.Cart) { c.Taxes[0].Included = true }, "total"},
		{"second tax", func(c *cart.Cart) {
			c.Taxes = append(c.Taxes, cart.TaxLine{Label: "Bottle deposit", Amount: 25})
			c.Total += 25
		}, ""},
		{"second tax bad", func(c *cart.Cart) { c.Taxes = append(c.Taxes, cart.TaxLine{Label: "x", Amount: -1}) }, "taxes[1].amount"},
		{"total mismatch", func(c *cart.Cart) { c.Total++ }, "total"},
		{"total negative", func(c *cart.Cart) { c.Total = -1 }, "total"},
		{"total over limit", func(c *cart.Cart) { c.Total = cart.MaxMoney + 1 }, "total"},
		{"payment ok", pay(cart.Payment{Due: 985, Tendered: 1000, Change: 15, Method: "cash"}), ""},
		{"payment partial ok", pay(cart.Payment{Due: 985, Tendered: 500, Change: 0, Method: "card"}), ""},
		{"payment due negative", pay(cart.Payment{Due: -1}), "payment.due"},
		{"payment tendered over limit", pay(cart.Payment{Due: 1, Tendered: cart.MaxMoney + 1}), "payment.tendered"},
		{"payment change negative", pay(cart.Payment{Due: 985, Tendered: 985, Change: -1}), "payment.change"},
		{"payment change wrong", pay(cart.Payment{Due: 985, Tendered: 1000, Change: 10}), "payment.change"},
		{"payment change when short", pay(cart.Payment{Due: 985, Tendered: 500, Change: 1}), "payment.change"},
		{"payment method too long", pay(cart.Payment{Due: 985, Tendered: 985, Method: repeat("m", cart.MaxMethodLen+1)}), "payment.method"},
		{"payment method control", pay(cart.Payment{Due: 985, Tendered: 985, Method: "cash\x00"}), "payment.method"},
		{"message at limit", func(c *cart.Cart) { c.Message = repeat("ü", cart.MaxMessageLen) }, ""},
		{"message too long", func(c *cart.Cart) { c.Message = repeat("m", cart.MaxMessageLen+1) }, "message"},
		{"message too many bytes", func(c *cart.Cart) { c.Message = repeat("\xff", 4*cart.MaxMessageLen+1) }, "message"},
		{"message control", func(c *cart.Cart) { c.Message = "Thank you\n" }, "message"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := sampleCart()
			tt.mutate(&c)
			err := c.Validate()
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want an error for %s", tt.wantField)
			}
			if !errors.Is(err, cart.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
			}
			var fe *cart.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %T %v, want *FieldError", err, err)
			}
			if fe.Field != tt.wantField {
				t.Errorf("Field = %q (%v), want %q", fe.Field, err, tt.wantField)
			}
			if fe.Reason == "" || err.Error() != fe.Field+": "+fe.Reason {
				t.Errorf("Error() = %q, want %q", err.Error(), fe.Field+": "+fe.Reason)
			}
		})
	}
}

func TestValidIDAndCurrency(t *testing.T) {
	ids := []struct {
		in   string
		want bool
	}{
		{"lane-1", true}, {"A.b_C-9", true}, {repeat("x", 64), true},
		{"", false}, {repeat("x", 65), false}, {"a b", false}, {"å", false}, {"a/b", false}, {"a\x00", false},
	}
	for _, tt := range ids {
		if got := cart.ValidID(tt.in); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	curs := []struct {
		in   string
		want bool
	}{
		{"USD", true}, {"EUR", true}, {"JPY", true}, {"BHD", true},
		{"usd", false}, {"Usd", false}, {"US", false}, {"USDD", false}, {"ABC", false}, {"", false}, {"U$D", false},
	}
	for _, tt := range curs {
		if got := cart.ValidCurrency(tt.in); got != tt.want {
			t.Errorf("ValidCurrency(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	// ValidCurrency remembers the last code it accepted: a code checked
	// right after it is still checked.
	for _, tt := range curs {
		if !tt.want {
			continue
		}
		for _, bad := range []string{strings.ToLower(tt.in), tt.in[:2], tt.in + "D", "ABC"} {
			cart.ValidCurrency(tt.in)
			if cart.ValidCurrency(bad) {
				t.Errorf("ValidCurrency(%q) after %q = true, want false", bad, tt.in)
			}
		}
	}
}

func TestStateValid(t *testing.T) {
	for _, s := range []cart.State{cart.StateIdle, cart.StateOpen, cart.StatePayment, cart.StateComplete} {
		if !s.Valid() {
			t.Errorf("%q.Valid() = false, want true", s)
		}
	}
	for _, s := range []cart.State{"", "Open", "closed"} {
		if s.Valid() {
			t.Errorf("%q.Valid() = true, want false", s)
		}
	}
}
