package cart_test

import (
	"errors"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// returnCart is an exchange: two sale lines and one returned item, with a
// cart discount and a tax that is added.
func returnCart() cart.Cart {
	return cart.Cart{
		Register: "lane-1", Order: "A-1002", Currency: "USD", State: cart.StateOpen,
		Lines: []cart.Line{
			{ID: "l1", Title: "Apples", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374},
			{ID: "l2", Title: "Kettle", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Return: true},
			{ID: "l3", Title: "Bread", Quantity: 1000, UnitPrice: 350, Total: 350},
		},
		Subtotal: 374 - 2699 + 350, // -1975
		Taxes:    []cart.TaxLine{{Label: "Sales tax 8%", Amount: 58}},
		Total:    -1975 + 58,
	}
}

func TestValidateReturns(t *testing.T) {
	tests := []struct {
		name      string
		mutate    func(*cart.Cart)
		wantField string
	}{
		{"exchange owing the customer", func(*cart.Cart) {}, ""},
		{"refund in payment", func(c *cart.Cart) {
			c.State = cart.StatePayment
			c.Payment = &cart.Payment{Due: c.Total, Tendered: 0, Change: -c.Total, Method: "cash"}
		}, ""},
		{"positive despite a return", func(c *cart.Cart) {
			c.Lines[1].Quantity, c.Lines[1].UnitPrice, c.Lines[1].Discount, c.Lines[1].Total = 1000, 100, 0, 100
			c.Subtotal = 374 - 100 + 350
			c.Discount = 24
			c.Total = c.Subtotal - 24 + 58
		}, ""},
		{"subtotal counts the return as a sale", func(c *cart.Cart) {
			c.Subtotal = 374 + 2699 + 350
			c.Total = c.Subtotal + 58
		}, "subtotal"},
		{"negative return amounts", func(c *cart.Cart) {
			c.Lines[1].UnitPrice, c.Lines[1].Discount, c.Lines[1].Total = -2999, 0, -2999
		}, "lines[1].unit_price"},
		{"negative return total", func(c *cart.Cart) {
			c.Lines[1].Discount, c.Lines[1].Total = 0, -2999
		}, "lines[1].total"},
		{"discount on a negative subtotal", func(c *cart.Cart) {
			c.Discount = 1
			c.Total--
		}, "discount"},
		{"negative tax", func(c *cart.Cart) {
			c.Taxes[0].Amount = -58
			c.Total = c.Subtotal - 58
		}, "taxes[0].amount"},
		{"total does not add up", func(c *cart.Cart) { c.Total++ }, "total"},
		{"change is tendered minus a negative due", func(c *cart.Cart) {
			c.State = cart.StatePayment
			c.Payment = &cart.Payment{Due: c.Total, Tendered: 0, Change: 0}
		}, "payment.change"},
		{"subtotal below -MaxMoney", func(c *cart.Cart) {
			big := cart.Line{ID: "big", Title: "Car", Quantity: 1000, UnitPrice: cart.MaxMoney, Total: cart.MaxMoney, Return: true}
			c.Lines = append(c.Lines, big)
			c.Subtotal -= cart.MaxMoney
			c.Total -= cart.MaxMoney
		}, "subtotal"},
		{"negative subtotal without a return", func(c *cart.Cart) {
			c.Lines[1].Return = false
			c.Lines = c.Lines[:1]
			c.Subtotal, c.Total = -1, -1
			c.Lines[0].Total = -1
		}, "lines[0].total"},
		{"negative total without a return", func(c *cart.Cart) {
			*c = withLines(*c, c.Lines[0])
			c.Discount = 374
			c.Total = -1
			c.Taxes = nil
		}, "total"},
		{"negative due without a return", func(c *cart.Cart) {
			*c = withLines(*c, c.Lines[0])
			c.State = cart.StatePayment
			c.Payment = &cart.Payment{Due: -1, Tendered: 0, Change: 1}
		}, "payment.due"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := returnCart()
			tt.mutate(&c)
			err := c.Validate()
			var fe *cart.FieldError
			switch {
			case tt.wantField == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.wantField != "" && (!errors.As(err, &fe) || fe.Field != tt.wantField):
				t.Fatalf("Validate() = %v, want an error on %s", err, tt.wantField)
			}
		})
	}
}

func TestV1View(t *testing.T) {
	c := mustValid(t, returnCart())
	v := cart.V1View(c)
	if v.HasReturns() || len(v.Lines) != 0 || v.State != cart.StateIdle || v.Total != 0 || v.Payment != nil {
		t.Fatalf("V1View(cart with a return) = %+v, want the idle cart", v)
	}
	if v.Register != c.Register || v.Currency != c.Currency {
		t.Fatalf("V1View kept register %q currency %q, want %q %q", v.Register, v.Currency, c.Register, c.Currency)
	}
	if err := v.Validate(); err != nil {
		t.Fatalf("V1View is invalid: %v", err)
	}
	s := sampleCart()
	if got := cart.V1View(s); !cart.Equal(got, s) {
		t.Fatalf("V1View(cart without returns) = %+v, want it unchanged", got)
	}
}

// TestDiffApplyReturns: a return flag set or cleared on a kept line is an
// update, and the replica ends equal to the new cart.
func TestDiffApplyReturns(t *testing.T) {
	old := sampleCart()
	next := returnCart()
	for _, step := range [][2]cart.Cart{{old, next}, {next, old}} {
		ops := cart.Diff(step[0], step[1])
		got, err := cart.Apply(step[0], ops)
		if err != nil {
			t.Fatalf("Apply(Diff) = %v", err)
		}
		if !cart.Equal(got, step[1]) {
			t.Fatalf("Apply(Diff) = %+v, want %+v", got, step[1])
		}
	}
}
