package client_test

import (
	"testing"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/cart"
)

// TestEndToEndReturns: a client announces returns, so a cart with a return
// line reaches its View as sent, negative total included, and the sale
// after it too.
func TestEndToEndReturns(t *testing.T) {
	noLeaks(t)
	a := startAgent(t, t.TempDir(), "127.0.0.1:0")
	c := start(t, "ws://"+a.DisplayAddr().String()+"/v1/display", func(o *client.Options) { o.Token = e2eToken })
	waitView(t, c, "live", func(v client.View) bool { return v.Status == client.StatusLive })
	page := dialPOS(t, a)
	k := cart.Empty(reg, "USD")
	k.Order, k.State = "A-2", cart.StateOpen
	k.Lines = []cart.Line{
		{ID: "l1", Title: "Bread", Quantity: 1000, UnitPrice: 350, Total: 350},
		{ID: "r1", Title: "Kettle", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Return: true},
	}
	k.Subtotal, k.Total = 350-2699, 350-2699
	seq := page.send(k)
	v := waitView(t, c, "the return", liveAt(seq, k))
	if !v.Cart.Lines[1].Return || v.Cart.Total != -2349 {
		t.Fatalf("View cart %+v, want the return line and total -2349", v.Cart)
	}
	k.Lines = k.Lines[:1]
	k.Subtotal, k.Total = 350, 350
	seq = page.send(k)
	waitView(t, c, "the return taken off", liveAt(seq, k))
}
