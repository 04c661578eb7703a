package main

import (
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
)

// TestRenderTextReturns: watch announces returns (display/client does), so
// it must print a returned item as one: marked, with negative amounts.
func TestRenderTextReturns(t *testing.T) {
	c := cart.Empty("1", "USD")
	c.State = cart.StateOpen
	c.Lines = []cart.Line{
		{ID: "a", Title: "Bread", Quantity: 1000, UnitPrice: 350, Total: 350},
		{ID: "r", Title: "Kettle", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Return: true},
	}
	c.Subtotal, c.Total = 350-2699, 350-2699
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	out := renderText("1", client.View{Status: client.StatusLive, HasCart: true, Cart: c}, "en-US")
	for _, want := range []string{"RETURN Kettle", "-$29.99", "-$26.99", "$3.00", "-$23.49"} {
		if !strings.Contains(out, want) {
			t.Errorf("renderText lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "-$3.00") {
		t.Errorf("a return's discount printed as money off:\n%s", out)
	}
}
