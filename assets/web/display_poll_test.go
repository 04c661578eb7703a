package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/cart"
)

// noWebSocket runs before any script of every page the tab loads: the
// browser has no WebSocket at all, as an old tablet browser.
const noWebSocket = `delete window.WebSocket; window.WebSocket = undefined;`

// brokenUpgrade leaves WebSocket in place but sends every socket to a path
// that does not upgrade, as behind a proxy that strips Upgrade: each one
// closes before its welcome.
const brokenUpgrade = `(() => {
  const WS = window.WebSocket;
  window.WebSocket = function (url, protocols) { return new WS(url.replace("/v1/display", "/v1/no-upgrade"), protocols); };
})();`

// beforeLoad makes script run in every document the tab loads from now on,
// before the page's own scripts (DevTools Page.addScriptToEvaluateOnNewDocument).
func beforeLoad(script string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(script).Do(ctx)
		return err
	})
}

// cartOfLines is a valid open cart with n lines.
func cartOfLines(n int) cart.Cart {
	c := cart.Empty(register, "USD")
	c.State = cart.StateOpen
	for i := range n {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: fmt.Sprintf("Item %d", i), Quantity: 1000, UnitPrice: 100, Total: 100})
		c.Subtotal += 100
	}
	c.Total = c.Subtotal
	return c
}

// waitPolls waits until the agent holds at least n polls.
func waitPolls(t *testing.T, a *testAgent, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitLong)
	defer cancel()
	if err := a.Hub().WaitPolls(ctx, n); err != nil {
		t.Fatal(err)
	}
}

// TestWebDisplayPollsWithoutWebSocket: a browser without WebSocket goes
// live by polling and follows 100 changes, in a burst and one by one, with
// no gap (no second snapshot); the agent holds its poll between changes.
func TestWebDisplayPollsWithoutWebSocket(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	display := newBrowser(t)
	run(t, display, beforeLoad(noWebSocket), chromedp.Navigate(displayURL(a)))
	waitJS(t, display, `typeof window.WebSocket === "undefined" && document.body.dataset.status === "live" && document.body.dataset.snapshots === "1"`)
	if got := evalJS[string](t, display, `document.documentElement.dataset.transport`); got != "poll" {
		t.Fatalf("transport: got %q, want poll", got)
	}
	waitPolls(t, a, 1)
	st, _ := a.Stream(register)
	publish := func(i int) {
		t.Helper()
		if _, err := st.Publish(cartOfLines(i%7+1), time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 50; i++ { // a burst: several deltas per answer
		publish(i)
	}
	waitJS(t, display, `document.body.dataset.seq === "50"`)
	for i := 51; i <= 100; i++ { // one at a time: each answers a held poll
		publish(i)
		waitJS(t, display, fmt.Sprintf(`document.body.dataset.seq === "%d"`, i))
	}
	want := len(cartOfLines(100%7 + 1).Lines)
	waitJS(t, display, fmt.Sprintf(`document.body.dataset.status === "live" && document.querySelectorAll("#lines .line").length === %d`, want))
	if got := evalJS[string](t, display, `document.body.dataset.snapshots`); got != "1" {
		t.Errorf("snapshots after 100 changes: got %s, want 1 (every delta applied in order, no resync)", got)
	}
}

// TestWebDisplayFallsBackToPolling: WebSockets exist but never reach their
// welcome; after a few the page polls and goes live.
func TestWebDisplayFallsBackToPolling(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	display := newBrowser(t)
	st, _ := a.Stream(register)
	if _, err := st.Publish(cartOfLines(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	run(t, display, beforeLoad(brokenUpgrade), chromedp.Navigate(displayURL(a)))
	waitJS(t, display, `document.documentElement.dataset.transport === "poll" && document.body.dataset.status === "live" &&
		document.querySelectorAll("#lines .line").length === 2`)
	if _, err := st.Publish(cartOfLines(3), time.Now()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, display, `document.querySelectorAll("#lines .line").length === 3`)
}

// TestWebDisplayPollAcrossRestart: the agent stops while it holds the
// page's poll and comes back with a new epoch; the page resyncs by snapshot.
func TestWebDisplayPollAcrossRestart(t *testing.T) {
	posAddr, dispAddr := freeAddr(t), freeAddr(t)
	a := startAgent(t, agentConfig(t, posAddr, dispAddr))
	st, _ := a.Stream(register)
	if _, err := st.Publish(cartOfLines(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	display := newBrowser(t)
	run(t, display, beforeLoad(noWebSocket), chromedp.Navigate(displayURL(a)))
	waitJS(t, display, `document.body.dataset.status === "live" && document.querySelectorAll("#lines .line").length === 2`)
	waitPolls(t, a, 1)
	a.stop()
	waitJS(t, display, `document.body.dataset.status === "reconnecting"`)

	b := startAgent(t, agentConfig(t, posAddr, dispAddr))
	st, _ = b.Stream(register)
	if _, err := st.Publish(cartOfLines(3), time.Now()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, display, `document.body.dataset.status === "live" && document.body.dataset.epoch === `+fmt.Sprintf("%q", b.Epoch())+
		` && document.body.dataset.snapshots === "2" && document.querySelectorAll("#lines .line").length === 3`)
	if _, err := st.Publish(cartOfLines(4), time.Now()); err != nil {
		t.Fatal(err)
	}
	waitJS(t, display, `document.querySelectorAll("#lines .line").length === 4 && document.body.dataset.snapshots === "2"`)
}

// TestWebDisplayPollBadToken: a polling page with a wrong token shows the
// agent's reason and no cart.
func TestWebDisplayPollBadToken(t *testing.T) {
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t)))
	st, _ := a.Stream(register)
	if _, err := st.Publish(cartOfLines(2), time.Now()); err != nil {
		t.Fatal(err)
	}
	display := newBrowser(t)
	run(t, display, beforeLoad(noWebSocket), chromedp.Navigate(fmt.Sprintf("http://%s/display#register=%s&token=wrong", a.dispAddr, register)))
	waitJS(t, display, `document.body.dataset.status === "rejected" &&
		document.getElementById("connecting-text").textContent.includes("display token missing, wrong or revoked")`)
	if got := evalJS[string](t, display, `String(document.body.dataset.snapshots) + " " + document.querySelectorAll("#lines .line").length`); got != "undefined 0" {
		t.Errorf("rejected page: got snapshots and lines %q, want none", got)
	}
}
