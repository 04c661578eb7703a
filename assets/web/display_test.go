package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestWebDisplayResumesAndCues: after its socket is cut the web display
// reconnects with its position and resumes (no second snapshot), keeps
// following changes, and shows the agent's "scanning" cue.
func TestWebDisplayResumesAndCues(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	cashier := newBrowser(t)
	display := newTab(t, cashier)
	run(t, cashier, chromedp.Navigate(demoURL(a)))
	run(t, display, chromedp.Navigate(displayURL(a)))
	waitJS(t, display, `document.body.dataset.status === "live" && document.body.dataset.snapshots === "1"`)
	run(t, cashier, chromedp.Click(`button.product[data-sku="COF-1"]`, chromedp.ByQuery))
	waitJS(t, display, `document.querySelectorAll("#lines .line").length === 1`)

	if n := a.Hub().Disconnect("static-1"); n != 1 {
		t.Fatalf("Disconnect: got %d connections, want 1", n)
	}
	waitJS(t, display, `document.body.dataset.status === "reconnecting"`)
	run(t, cashier, chromedp.Click(`button.product[data-sku="MLK-1"]`, chromedp.ByQuery))
	waitJS(t, display, `document.body.dataset.status === "live" && document.querySelectorAll("#lines .line").length === 2`)
	if got := evalJS[string](t, display, `document.body.dataset.snapshots`); got != "1" {
		t.Errorf("snapshots after reconnect: got %s, want 1 (the display should resume)", got)
	}

	st, _ := a.Stream(register)
	if err := st.Cue(protocol.CueScanning); err != nil {
		t.Fatal(err)
	}
	waitJS(t, display, `!document.getElementById("cue").hidden`)
	waitJS(t, display, `document.getElementById("cue").hidden`) // brief
}

// TestCommerceParsing checks the adapter's price and quantity readers on
// the formats Drupal Commerce prints.
func TestCommerceParsing(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(demoURL(a)))
	run(t, browser, chromedp.Evaluate(`import("/bridge/commerce-pos.js").then((m) => { window.cp = m; return true; })`, nil, awaitPromise))
	money := []struct {
		in       string
		digits   int
		decimal  string
		want     int64
		wantNull bool
	}{
		{"$1,234.50", 2, ".", 123450, false},
		{"-$0.75", 2, ".", -75, false},
		{"($3.00)", 2, ".", -300, false},
		{"12.00", 2, ".", 1200, false},
		{"8.99", 2, ".", 899, false},
		{"1.234,50 €", 2, ",", 123450, false},
		{"¥1,500", 0, ".", 1500, false},
		{"BHD 1.234", 3, ".", 1234, false},
		{"7", 2, ".", 700, false},
		{"free", 2, ".", 0, true},
		{"", 2, ".", 0, true},
	}
	for _, tt := range money {
		var got *int64
		run(t, browser, chromedp.Evaluate(fmt.Sprintf(`cp.parseMoney(%q, %d, %q)`, tt.in, tt.digits, tt.decimal), &got))
		switch {
		case tt.wantNull && got != nil:
			t.Errorf("parseMoney(%q): got %d, want null", tt.in, *got)
		case !tt.wantNull && (got == nil || *got != tt.want):
			t.Errorf("parseMoney(%q): got %v, want %d", tt.in, got, tt.want)
		}
	}
	qty := []struct {
		in   string
		want int64 // thousandths; -1 for null
	}{
		{"1", 1000}, {"1.00", 1000}, {"3.00", 3000}, {"0.250", 250}, {"2,5", 2500}, {"1.2345", -1}, {"-1", -1}, {"x", -1},
	}
	for _, tt := range qty {
		var got *int64
		run(t, browser, chromedp.Evaluate(fmt.Sprintf(`cp.parseQty(%q)`, tt.in), &got))
		if (tt.want == -1) != (got == nil) || (got != nil && *got != tt.want) {
			t.Errorf("parseQty(%q): got %v, want %d", tt.in, got, tt.want)
		}
	}
}

// TestWebDisplayRestoredCart: after an agent restart the persisted cart is
// shown marked "Updating…", figures visible, hidden after restored_hide;
// the POS re-sending the same cart makes it live and shown again.
func TestWebDisplayRestoredCart(t *testing.T) {
	cfg := agentConfig(t, freeAddr(t), freeAddr(t))
	a := startAgent(t, cfg)
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	c.Lines = []cart.Line{{ID: "l1", Title: "Coffee", Quantity: 1000, UnitPrice: 350, Total: 350}}
	c.Subtotal, c.Total = 350, 350
	if _, err := a.Submit(c); err != nil {
		t.Fatal(err)
	}
	a.stop()
	a = startAgent(t, cfg)

	browser := newBrowser(t)
	patient, hasty := browser, newTab(t, browser)
	run(t, patient, chromedp.Navigate(displayURL(a)+"&restored_hide=600"))
	run(t, hasty, chromedp.Navigate(displayURL(a)+"&restored_hide=0.2"))
	for _, tab := range []context.Context{patient, hasty} {
		waitJS(t, tab, `document.body.dataset.status === "live" && document.body.dataset.restored === "true"`)
	}
	if got := evalJS[string](t, patient, `document.getElementById("status").hidden ? "" : document.getElementById("status").textContent`); got != "Updating…" {
		t.Errorf("restored cart's bar: got %q, want %q", got, "Updating…")
	}
	if evalJS[bool](t, patient, `document.body.classList.contains("money-hidden")`) {
		t.Error("figures hidden before restored_hide")
	}
	waitJS(t, hasty, `document.body.classList.contains("money-hidden")`)

	if _, err := a.Submit(c); err != nil { // the POS confirms the same cart
		t.Fatal(err)
	}
	for _, tab := range []context.Context{patient, hasty} {
		waitJS(t, tab, `document.body.dataset.restored === "false" && !document.body.classList.contains("money-hidden") && document.getElementById("status").hidden`)
	}
}
