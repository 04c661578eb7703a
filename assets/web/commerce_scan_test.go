package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/scanner"
)

// openPOS starts a fake agent with features and a site, and opens the
// cashier page on the order step.
func openPOS(t testing.TB, features []string, setup func(s *drupalSite)) (*fakeAgent, *drupalSite, context.Context) {
	t.Helper()
	fa := newFakeAgent(t, features...)
	site := newDrupalSite(t, fa.addr())
	if setup != nil {
		site.set(setup)
	}
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(site.URL()))
	waitJS(t, browser, `!!window.__posdisplayCommercePos && window.__posdisplayCommercePos.bridge.state === "open"`)
	fa.waitCart("the first cart", func(c wireCart) bool { return c.Order != "" })
	return fa, site, browser
}

func (s *drupalSite) itemsOf(order int) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	if o := s.orders[order]; o != nil {
		for _, it := range o.Items {
			out = append(out, fmt.Sprintf("%s×%d", it.Product.SKU, it.Qty/100))
		}
	}
	return out
}

var productIDAfterAjax = regexp.MustCompile(`^edit-order-items-target-id-product-selector--[A-Za-z0-9_-]{11}$`)

// TestCommerceScanOutcomes: each scan is acked only when its item is on the
// order, or refused with the reason the cashier is shown.
func TestCommerceScanOutcomes(t *testing.T) {
	fa, site, page := openPOS(t, allFeatures, nil)

	// A known EAN-13 goes through the POS's exact path (field_upc).
	fa.scan("s1", "4006381333931", "4006381333931", "101")
	if id := fa.nextAck(); id != "s1" {
		t.Fatalf("ack: got %s, want s1", id)
	}
	if got := site.itemsOf(101); !slices.Equal(got, []string{"COF-1×1"}) {
		t.Errorf("order when s1 was acked: got %v, want [COF-1×1]", got)
	}
	// The page now is what core's Ajax leaves: ids re-suffixed, the step
	// wrapper nested in a <div>.
	if id := evalJS[string](t, page, `document.querySelector('input[name="order_items[target_id][product_selector]"]').id`); !productIDAfterAjax.MatchString(id) {
		t.Errorf("product field id after Ajax: %q, want the base id + \"--\" + 11 characters", id)
	}
	if !evalJS[bool](t, page, `document.getElementById("commerce-pos-order-form-wrapper").parentElement.matches("div:not([id])")`) {
		t.Error("the step wrapper was not re-wrapped as core's insert command does")
	}

	// A GS1 element string: the POS gets the GTIN the agent extracted.
	fa.scan("s2", "010950110153000310ABC123\x1d17101231", "9501101530003", "101")
	if id := fa.nextAck(); id != "s2" {
		t.Fatalf("ack: got %s, want s2", id)
	}
	if log := site.Log(); !slices.Contains(log, "ajax:add=9501101530003") {
		t.Errorf("site log %v: the GTIN was not what the POS looked up", log)
	}

	// The same item again: its quantity rises, that is taken too.
	fa.scan("s3", "4006381333931", "4006381333931", "101")
	if id := fa.nextAck(); id != "s3" {
		t.Fatalf("ack: got %s, want s3", id)
	}
	if got := site.itemsOf(101); !slices.Equal(got, []string{"COF-1×2", "MUG-<1>×1"}) {
		t.Errorf("order: got %v, want [COF-1×2 MUG-<1>×1]", got)
	}

	for _, tt := range []struct {
		id, code, gtin, order string
		before                func(s *drupalSite)
		reason, notice        string
	}{
		{id: "n1", code: "2000000000008", reason: "not_found", notice: "no product has this code"},
		{id: "e1", code: "5012345678900", before: func(s *drupalSite) { s.failAjax = 1 }, reason: "lookup_error", notice: "could not look it up"},
		{id: "w1", code: "5012345678900", order: "77", reason: "wrong_sale", notice: "another sale"},
	} {
		if tt.before != nil {
			site.set(tt.before)
		}
		order := tt.order
		if order == "" {
			order = "101"
		}
		fa.scan(tt.id, tt.code, tt.code, order)
		r := fa.nextRefuse()
		if r.ID != tt.id || r.Reason != tt.reason {
			t.Errorf("%s: got refuse %+v, want reason %s", tt.id, r, tt.reason)
		}
		waitNotice(t, page, tt.notice)
	}
	if got := site.itemsOf(101); !slices.Equal(got, []string{"COF-1×2", "MUG-<1>×1"}) {
		t.Errorf("order after the refused scans: got %v, want it unchanged", got)
	}
	if log := site.Log(); slices.Contains(log, "ajax:add=5012345678900") {
		t.Errorf("a wrong-sale or failed scan reached the POS as an addition: %v", log)
	}

	// Notices are dismissable.
	n := evalJS[int](t, page, `document.querySelectorAll(".posdisplay-notice").length`)
	run(t, page, chromedp.Click(`.posdisplay-notice .posdisplay-notice-dismiss`, chromedp.ByQuery))
	if m := evalJS[int](t, page, `document.querySelectorAll(".posdisplay-notice").length`); m != n-1 {
		t.Errorf("notices after one dismiss: got %d, want %d", m, n-1)
	}
}

// TestCommerceScanWaitsForAjax: a scan arriving while a quantity change is
// in flight waits for it instead of firing a second request, and a
// quantity typed but not saved is never shown to the customer.
func TestCommerceScanWaitsForAjax(t *testing.T) {
	fa, site, page := openPOS(t, allFeatures, func(s *drupalSite) {
		s.addItem(s.order(), "3")
		s.ajaxDelay = 300 * time.Millisecond
	})
	fa.waitCart("the coffee line", func(c wireCart) bool { return len(c.Lines) == 1 })

	// Typed, not saved: the customer still sees 1.
	run(t, page, chromedp.Evaluate(`(() => { const q = document.querySelector('input[name$="[quantity][quantity]"]');
		q.value = "7"; q.dispatchEvent(new Event("input", {bubbles: true})); window.__posdisplayCommercePos.refresh(); })()`, nil))
	if q := evalJS[string](t, page, `window.__posdisplayCommercePos.cart().lines[0].quantity`); q != "1" {
		t.Errorf("quantity typed but not saved: customer sees %s, want 1", q)
	}

	// Save it (change fires the widget's Ajax), and scan at once.
	run(t, page, chromedp.Evaluate(`(() => { const q = document.querySelector('input[name$="[quantity][quantity]"]');
		q.value = "3"; q.dispatchEvent(new Event("change", {bubbles: true})); })()`, nil))
	waitJS(t, page, `Drupal.ajax.instances.some((a) => a.ajaxing)`)
	// As core's ajax.js, the double ignores a second event of the same
	// element while its request is in flight.
	run(t, page, chromedp.Evaluate(`document.querySelector('input[name$="[quantity][quantity]"]').dispatchEvent(new Event("change", {bubbles: true}))`, nil))
	if log := evalJS[[]string](t, page, `Drupal.ajaxLog`); !slices.Contains(log, "ignored:order_items[target_id][order_items][0][quantity][quantity]") {
		t.Errorf("Ajax double log %v: a second request in flight was not ignored", log)
	}
	fa.scan("s1", "5012345678900", "5012345678900", "101")
	if id := fa.nextAck(); id != "s1" {
		t.Fatalf("ack: got %s", id)
	}
	log := evalJS[[]string](t, page, `Drupal.ajaxLog`)
	qtyDone := slices.Index(log, "done:order_items[target_id][order_items][0][quantity][quantity]")
	addSent := slices.IndexFunc(log, func(s string) bool { return strings.HasPrefix(s, "send:order_items[target_id][product_selector]") })
	if qtyDone < 0 || addSent < 0 || addSent < qtyDone {
		t.Errorf("Ajax log %v: the scan was submitted while the quantity change was in flight", log)
	}
	if got := site.itemsOf(101); !slices.Equal(got, []string{"COF-1×3", "MLK-1×1"}) {
		t.Errorf("order: got %v, want [COF-1×3 MLK-1×1]", got)
	}
	c := fa.waitCart("both lines", func(c wireCart) bool { return len(c.Lines) == 2 })
	if c.Lines[0].Quantity != "3" {
		t.Errorf("saved quantity: got %s, want 3", c.Lines[0].Quantity)
	}
}

// TestCommerceScanBusy: a request in flight longer than the adapter may
// wait makes the scan refused as busy, never sent alongside it.
func TestCommerceScanBusy(t *testing.T) {
	fa, site, page := openPOS(t, allFeatures, func(s *drupalSite) {
		s.addItem(s.order(), "3")
		s.ajaxDelay = 800 * time.Millisecond
		s.adapter = map[string]any{"busyWaitMs": 100}
	})
	fa.waitCart("the coffee line", func(c wireCart) bool { return len(c.Lines) == 1 })
	run(t, page, chromedp.Evaluate(`(() => { const q = document.querySelector('input[name$="[quantity][quantity]"]');
		q.value = "2"; q.dispatchEvent(new Event("change", {bubbles: true})); })()`, nil))
	waitJS(t, page, `Drupal.ajax.instances.some((a) => a.ajaxing)`)
	fa.scan("b1", "5012345678900", "5012345678900", "101")
	if r := fa.nextRefuse(); r.ID != "b1" || r.Reason != "busy" {
		t.Errorf("scan during a long request: got %+v, want busy", r)
	}
	waitNotice(t, page, "the POS was busy")
	if log := site.Log(); slices.Contains(log, "ajax:add=5012345678900") {
		t.Errorf("site log %v: the busy scan reached the POS", log)
	}
}

// TestCommerceSearchFallback: the autocomplete search is used only when
// the site opts in, and only a single hit is taken.
func TestCommerceSearchFallback(t *testing.T) {
	fa, site, page := openPOS(t, allFeatures, func(s *drupalSite) {
		s.searchFallback = true
		s.acResults["BREAD"] = []siteProduct{s.products[2]}
		s.acResults["MILK"] = []siteProduct{s.products[1], s.products[2]}
	})
	fa.scan("s1", "BREAD", "", "101")
	if id := fa.nextAck(); id != "s1" {
		t.Fatalf("ack: got %s; site log %v; Ajax log %v", id, site.Log(), evalJS[[]string](t, page, `Drupal.ajaxLog`))
	}
	fa.scan("s2", "MILK", "", "101")
	if r := fa.nextRefuse(); r.Reason != "ambiguous" {
		t.Errorf("two hits: got %+v, want ambiguous", r)
	}
	fa.scan("s0", "ZERO", "", "101")
	if r := fa.nextRefuse(); r.Reason != "not_found" {
		t.Errorf("no hit: got %+v, want not_found", r)
	}
	site.set(func(s *drupalSite) { s.acFail = true })
	fa.scan("s3", "NOPE", "", "101")
	if r := fa.nextRefuse(); r.Reason != "lookup_error" {
		t.Errorf("search HTTP 500: got %+v, want lookup_error", r)
	}
	waitNotice(t, page, "several products match")
	if got := site.itemsOf(101); !slices.Equal(got, []string{"BRD-1×1"}) {
		t.Errorf("order: got %v, want [BRD-1×1]", got)
	}
}

// TestCommerceOlderAgent: without the features in the welcome, nothing new
// is sent: no refuse (the scan stays unacked, the cashier is told), and a
// cart with returns is held back (the last good cart stays).
func TestCommerceOlderAgent(t *testing.T) {
	fa, _, page := openPOS(t, nil, func(s *drupalSite) { s.addItem(s.order(), "3") })
	fa.waitCart("the coffee line", func(c wireCart) bool { return len(c.Lines) == 1 })
	fa.scan("n1", "2000000000008", "", "")
	waitNotice(t, page, "no product has this code")
	waitNotice(t, page, "update the posdisplay agent")
	select {
	case id := <-fa.acks:
		t.Errorf("unknown code acked (%s) to an older agent", id)
	default:
	}

	// Set the coffee as a return (the widget's checkbox, by Ajax).
	run(t, page, chromedp.Click(`input[name^="set_order_item_as_return_"]`, chromedp.ByQuery))
	waitNotice(t, page, "cannot show returns")
	c, _ := fa.lastCart()
	if len(c.Lines) != 1 || c.Lines[0].Return || c.Total != 971 {
		t.Errorf("older agent got %+v, want the last good cart (coffee 8.99, total 9.71)", c)
	}
}

// TestCommerceScanDuringPayment: a scan taken on the payment step is
// refused to the cashier; re-sent to the next order it is refused again,
// as a scan of another sale.
func TestCommerceScanDuringPayment(t *testing.T) {
	fa, site, page := openPOS(t, allFeatures, func(s *drupalSite) { s.addItem(s.order(), "3") })
	clickAndLoad(t, page, `input[data-drupal-selector="edit-actions-submit"]`)
	fa.waitCart("the payment step", func(c wireCart) bool { return c.State == "payment" && len(c.Lines) == 1 })
	fa.scan("p1", "5012345678900", "5012345678900", "101")
	if r := fa.nextRefuse(); r.ID != "p1" || r.Reason != "no_product_field" {
		t.Errorf("scan on the payment step: got %+v, want no_product_field", r)
	}
	waitNotice(t, page, "takes no products")
	payCash(t, page, "10.00")
	fa.waitCart("paid", func(c wireCart) bool { return c.State == "complete" })
	clickAndLoad(t, page, `input[data-drupal-selector="edit-actions-finish"]`)
	nextOrder := fa.waitCart("the next order", func(c wireCart) bool { return c.Order != "101" && c.State == "idle" }).Order
	// The same scan re-sent (an agent that lost the refusal): never applied.
	fa.scan("p1", "5012345678900", "5012345678900", "101")
	if r := fa.nextRefuse(); r.ID != "p1" {
		t.Errorf("re-sent refused scan: got %+v", r)
	}
	// A scan of the previous sale that reaches this page is refused too.
	fa.scan("p2", "5012345678900", "5012345678900", "101")
	if r := fa.nextRefuse(); r.ID != "p2" || r.Reason != "wrong_sale" {
		t.Errorf("scan of order 101 on order %s: got %+v, want wrong_sale", nextOrder, r)
	}
	if got := site.itemsOf(atoi(nextOrder)); len(got) != 0 {
		t.Errorf("next order: got %v, want it empty", got)
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

func payCash(t testing.TB, page context.Context, amount string) {
	t.Helper()
	run(t, page, chromedp.SetValue(`input[name="pos_cash[keypad][amount]"]`, amount, chromedp.ByQuery))
	run(t, page, chromedp.Click(`input[name="commerce-pos-pay-keypad-add-pos_cash"]`, chromedp.ByQuery))
}

// TestCommerceSaleEndToEnd runs a whole sale on the real agent, with real
// navigations between the POS steps, and watches the agent's display
// stream: three lines through payment and the change, then idle. A scan
// taken during payment never reaches the next order.
func TestCommerceSaleEndToEnd(t *testing.T) {
	posAddr, dispAddr := freeAddr(t), freeAddr(t)
	site := newDrupalSite(t, posAddr)
	cfg := agentConfig(t, posAddr, dispAddr, site.srv.URL)
	acks := make(chan string, 16)
	refused := make(chan string, 16)
	a := startAgent(t, cfg, func(ag *agent.Agent) {
		prev := ag.Ingest().ScanAcks
		ag.Ingest().ScanAcks = func(reg, id string) {
			if prev != nil {
				prev(reg, id)
			}
			acks <- id
		}
		// Told after the router has dropped and counted the scan.
		prevRefused := ag.Ingest().ScanRefused
		ag.Ingest().ScanRefused = func(reg, id, reason, message string) {
			if prevRefused != nil {
				prevRefused(reg, id, reason, message)
			}
			refused <- id + " " + reason
		}
	})
	view := displayClient(t, dispAddr)
	page := newBrowser(t)
	run(t, page, chromedp.Navigate(site.URL()))
	waitJS(t, page, `!!window.__posdisplayCommercePos && window.__posdisplayCommercePos.bridge.state === "open"`)

	scan := func(code string) string {
		return a.Router().Submit(register, scanner.Scan{Code: code, Symbology: "ean13", Source: "test", At: time.Now()})
	}
	waitAck := func(id string, within time.Duration) {
		t.Helper()
		deadline := time.After(within)
		for {
			select {
			case got := <-acks:
				if got == id {
					return
				}
			case <-deadline:
				t.Fatalf("scan %s never acked", id)
			}
		}
	}
	for _, code := range []string{"4006381333931", "5012345678900", "0012345678905"} {
		waitAck(scan(code), waitLong)
	}
	waitView(t, view, "three lines", func(v client.View) bool { return len(v.Cart.Lines) == 3 && v.Cart.Order == "101" })

	clickAndLoad(t, page, `input[data-drupal-selector="edit-actions-submit"]`)
	waitView(t, view, "the payment step with the three lines", func(v client.View) bool {
		return v.Cart.State == cart.StatePayment && len(v.Cart.Lines) == 3 && v.Cart.Payment != nil && v.Cart.Payment.Due == 1726
	})

	// A scan while the payment step is shown: refused to the cashier.
	late := scan("4006381333931")
	waitNotice(t, page, "takes no products")
	// The agent (features scan_refuse) hears why, drops the scan at once
	// and counts it: it never waits for scan_ttl in the queue.
	select {
	case got := <-refused:
		if want := late + " no_product_field"; got != want {
			t.Fatalf("refused %q, want %q", got, want)
		}
	case <-time.After(waitLong):
		t.Fatalf("the late scan %s was never refused to the agent", late)
	}
	metric := `posdisplay_scans_total{outcome="refused",reason="no_product_field"} 1`
	if n := a.Router().Pending(register); n != 0 || !strings.Contains(string(getMetrics(t, a)), metric) {
		t.Fatalf("after the refusal: pending %d, want 0, and the metric %s", n, metric)
	}

	payCash(t, page, "20.00")
	waitView(t, view, "paid with change", func(v client.View) bool {
		return v.Cart.State == cart.StateComplete && len(v.Cart.Lines) == 3 && v.Cart.Payment != nil &&
			v.Cart.Payment.Tendered == 2000 && v.Cart.Payment.Change == 274 && v.Cart.Payment.Method == "Cash"
	})

	clickAndLoad(t, page, `input[data-drupal-selector="edit-actions-finish"]`)
	waitView(t, view, "idle for the next order", func(v client.View) bool {
		return v.Cart.State == cart.StateIdle && len(v.Cart.Lines) == 0 && v.Cart.Order != "101" && v.Cart.Order != ""
	})
	nextOrder := view().Cart.Order

	// The late scan was refused and dropped: the next customer's first
	// scan goes through at once.
	if n := a.Router().Pending(register); n != 0 {
		t.Fatalf("the late scan %s is still pending (%d)", late, n)
	}
	next := scan("0012345678905")
	waitAck(next, waitLong)
	waitView(t, view, "the next order's bread", func(v client.View) bool { return v.Cart.Order == nextOrder && len(v.Cart.Lines) == 1 })
	if got := site.itemsOf(atoi(nextOrder)); !slices.Equal(got, []string{"BRD-1×1"}) {
		t.Errorf("next order: got %v, want [BRD-1×1] (scan %s of the last sale must not be in it)", got, late)
	}
}

// BenchmarkCommerceScanToOrder: scan sent to the page until its ack, which
// comes only once the item is on the order, with the Drupal-Ajax double's
// round trip at 300 ms. Reports p50/p99/max in ms.
func BenchmarkCommerceScanToOrder(b *testing.B) {
	fa, _, _ := openPOS(b, allFeatures, func(s *drupalSite) { s.ajaxDelay = 300 * time.Millisecond })
	codes := []string{"4006381333931", "5012345678900", "0012345678905"}
	lat := make([]float64, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		code := codes[i%len(codes)]
		id := fmt.Sprintf("b%d", i)
		t0 := time.Now()
		fa.scan(id, code, code, "101")
		if got := fa.nextAck(); got != id {
			b.Fatalf("ack %s, want %s", got, id)
		}
		lat = append(lat, float64(time.Since(t0).Microseconds())/1000)
	}
	b.StopTimer()
	sort.Float64s(lat)
	pct := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1], "max-ms")
	b.ReportMetric(0, "ns/op")
}

// getMetrics reads the agent's Prometheus metrics from its POS listener.
func getMetrics(t *testing.T, a *testAgent) []byte {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + a.posAddr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	return b
}
