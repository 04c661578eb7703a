package web_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/cart"
)

var webScreenshots = flag.String("web-screenshots", "", "write PNGs of the web display's return screens into this directory")

// returnSale is an exchange that leaves the store owing the customer: a
// loaf bought, a kettle returned with its receipt (protocol revision 1.1).
func returnSale(state cart.State) cart.Cart {
	c := cart.Empty(register, "USD")
	c.Order, c.State = "A-1002", state
	c.Lines = []cart.Line{
		{ID: "l1", Title: "Sourdough Loaf", Quantity: 1000, UnitPrice: 525, Total: 525},
		{ID: "r1", Title: "Electric Kettle 1.7 L", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Note: "Receipt A-0977", Return: true},
	}
	c.Subtotal = 525 - 2699
	c.Taxes = []cart.TaxLine{{Label: "VAT 20%", Amount: 0, Included: true}}
	c.Total = c.Subtotal
	if state == cart.StatePayment {
		c.Payment = &cart.Payment{Due: c.Total, Tendered: 0, Change: -c.Total, Method: "Cash"}
	}
	return c
}

// TestWebDisplayShowsReturns: the web display announces returns, and shows
// a returned item marked, with negative amounts, and the POS's totals.
func TestWebDisplayShowsReturns(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(displayURL(a)))
	waitJS(t, browser, `document.body.dataset.status === "live"`)
	if _, err := a.Submit(returnSale(cart.StateOpen)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, browser, `document.querySelectorAll("#lines .line").length === 2`)
	checks := []struct{ expr, want string }{
		{`String(document.querySelector('#lines .line[data-id="r1"]').classList.contains("return"))`, "true"},
		{`String(document.querySelector('#lines .line[data-id="l1"]').classList.contains("return"))`, "false"},
		{`document.querySelector('#lines .line[data-id="r1"] .return-mark').textContent`, "Return"},
		{`document.querySelector('#lines .line[data-id="r1"] .line-total').textContent`, "-$26.99"},
		{`document.querySelector('#lines .line[data-id="r1"] .detail').textContent`, "1 × -$29.99"},
		{`document.querySelector('#lines .line[data-id="r1"] .line-discount').textContent`, "Discount $3.00"},
		{`document.querySelector('#lines .line[data-id="l1"] .line-total').textContent`, "$5.25"},
		{`document.getElementById("subtotal").textContent`, "-$21.74"},
		{`document.getElementById("total").textContent`, "-$21.74"},
	}
	for _, c := range checks {
		if got := evalJS[string](t, browser, c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	shot(t, browser, "web-cart-return-1024x600.png")

	if _, err := a.Submit(returnSale(cart.StatePayment)); err != nil {
		t.Fatal(err)
	}
	waitJS(t, browser, `document.body.classList.contains("screen-payment")`)
	if got := evalJS[string](t, browser, `document.getElementById("pay-due").textContent + " " + document.getElementById("pay-change").textContent`); got != "-$21.74 $21.74" {
		t.Errorf("payment due and change = %q, want %q", got, "-$21.74 $21.74")
	}
}

// shot saves the page when -web-screenshots is set.
func shot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if *webScreenshots == "" {
		return
	}
	// The screen at rest: no arrival flash, the list at its top.
	run(t, ctx, chromedp.EmulateViewport(1024, 600),
		chromedp.Evaluate(`document.querySelectorAll(".line.changed").forEach((e) => e.classList.remove("changed")); document.getElementById("lines").scrollTop = 0; true`, nil))
	var png []byte
	run(t, ctx, chromedp.CaptureScreenshot(&png))
	if err := os.MkdirAll(*webScreenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(*webScreenshots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
