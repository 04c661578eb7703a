package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// commerceSite plays the Drupal site: it serves the fixture harness and the
// product autocomplete endpoint of the Commerce POS form.
func commerceSite(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/fixtures/", http.StripPrefix("/fixtures/", http.FileServer(http.Dir("testdata/commerce"))))
	// PosOrderItemAutoComplete answers [{value: variation id, label: rendered variation}].
	products := map[string][]map[string]string{
		"4006381333931": {{"value": "3", "label": `<div class="commerce-pos-autocomplete-results">Coffee beans 250 g $8.99 COF-1 4006381333931</div>`}},
		"5012345678900": {{"value": "7", "label": `<div class="commerce-pos-autocomplete-results">Oat milk 1 l $2.49 MLK-1 5012345678900</div>`}},
	}
	mux.HandleFunc("/admin/commerce/pos/autocomplete/commerce_product_variation/commerce_pos_product_select/10", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		res := products[r.URL.Query().Get("q")]
		if res == nil {
			res = []map[string]string{}
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func line(id, sku, title string, qty cart.Quantity, price cart.Money) cart.Line {
	total, _ := cart.Extend(qty, price)
	return cart.Line{ID: id, SKU: sku, Title: title, Quantity: qty, UnitPrice: price, Total: total}
}

var (
	coffee = line("oi-11", "COF-1", "Coffee beans 250 g", 1000, 899)
	oat1   = line("oi-12", "MLK-1", "Oat milk 1 l", 1000, 249)
	oat3   = line("oi-12", "MLK-1", "Oat milk 1 l", 3000, 249)
)

func commerceCart(state cart.State, lines []cart.Line, discount cart.Money, tax cart.Money, pay *cart.Payment) cart.Cart {
	c := cart.Cart{Register: register, Currency: "USD", State: state, Lines: lines, Discount: discount, Taxes: []cart.TaxLine{}, Payment: pay}
	if c.Lines == nil {
		c.Lines = []cart.Line{}
	}
	for _, l := range lines {
		c.Subtotal += l.Total
	}
	if tax > 0 {
		c.Taxes = []cart.TaxLine{{Label: "Sales tax", Amount: tax}}
	}
	c.Total = c.Subtotal - discount + tax
	return c
}

// commerceSteps are the fixtures of one sale and the cart the adapter must
// send for each: the fixtures reproduce POSForm's markup at every step.
var commerceSteps = []struct {
	fixture string
	want    cart.Cart
}{
	{"01-empty", commerceCart(cart.StateIdle, nil, 0, 0, nil)},
	{"02-item-added", commerceCart(cart.StateOpen, []cart.Line{coffee}, 0, 72, nil)},
	{"03-second-item", commerceCart(cart.StateOpen, []cart.Line{coffee, oat1}, 0, 92, nil)},
	{"04-quantity-changed", commerceCart(cart.StateOpen, []cart.Line{coffee, oat3}, 0, 132, nil)},
	{"05-item-removed", commerceCart(cart.StateOpen, []cart.Line{oat3}, 0, 60, nil)},
	{"06-discount", commerceCart(cart.StateOpen, []cart.Line{oat3}, 75, 54, nil)},
	// The payment step does not render the order items: lines are kept.
	{"07-payment", commerceCart(cart.StatePayment, []cart.Line{oat3}, 75, 54, &cart.Payment{Due: 726})},
	{"08-paid", commerceCart(cart.StateComplete, []cart.Line{oat3}, 75, 54, &cart.Payment{Due: 726, Tendered: 1000, Change: 274, Method: "Cash"})},
}

func TestCommerceFixtureCarts(t *testing.T) {
	for _, s := range commerceSteps {
		if err := s.want.Validate(); err != nil {
			t.Fatalf("%s: expected cart invalid: %v", s.fixture, err)
		}
	}
	site := commerceSite(t)
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t), site.URL))
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(site.URL+"/fixtures/harness.html?agent="+a.posAddr))
	waitJS(t, browser, `window.harnessReady === true`)
	for i, s := range commerceSteps {
		if i > 0 {
			// Drupal's Ajax replaces the form and re-attaches behaviors.
			run(t, browser, chromedp.Evaluate(`fixture.load(`+jsString(s.fixture)+`)`, nil, awaitPromise))
		}
		// The empty cart equals the agent's initial one: wait for the
		// adapter's cart to be in (its order id is empty too).
		got := waitCart(t, a, s.fixture, func(c cart.Cart) bool { return cart.Equal(c, s.want) })
		if !cart.Equal(got, s.want) {
			t.Errorf("%s: got %+v, want %+v", s.fixture, got, s.want)
		}
	}
}

// TestCommerceScans: two scans arrive at once while the product field is
// busy for each Ajax round trip; the adapter submits them one at a time,
// acks each only after the order shows it, and none is lost.
func TestCommerceScans(t *testing.T) {
	site := commerceSite(t)
	var mu sync.Mutex
	var acks []string
	linesAtAck := map[string]int{}
	ackCh := make(chan string, 8)
	a := startAgent(t, agentConfig(t, freeAddr(t), freeAddr(t), site.URL), func(ag *agent.Agent) {
		ag.Ingest().ScanAcks = func(reg, id string) {
			st, _ := ag.Stream(register)
			mu.Lock()
			acks = append(acks, id)
			linesAtAck[id] = len(st.Cart().Lines)
			mu.Unlock()
			ackCh <- id
		}
	})

	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(site.URL+"/fixtures/harness.html?agent="+a.posAddr))
	waitJS(t, browser, `window.harnessReady === true`)
	run(t, browser, chromedp.Evaluate(`fixture.delayMs = 150; fixture.queue = ["02-item-added", "03-second-item"]`, nil))
	waitJS(t, browser, `window.__posdisplayCommercePos && window.__posdisplayCommercePos.bridge.state === "open"`)

	for _, s := range []protocol.Scan{
		{Type: protocol.TypeScan, ID: "s1", Code: "4006381333931", Symbology: "ean13", Source: "test", At: time.Now()},
		{Type: protocol.TypeScan, ID: "s2", Code: "5012345678900", Symbology: "ean13", Source: "test", At: time.Now()},
		{Type: protocol.TypeScan, ID: "s3", Code: "0000000000000", Symbology: "ean13", Source: "test", At: time.Now()},
	} {
		if err := a.Ingest().SendToPage(register, s); err != nil {
			t.Fatalf("SendToPage: %v", err)
		}
	}
	for i := 0; i < 3; i++ {
		select {
		case <-ackCh:
		case <-time.After(waitLong):
			mu.Lock()
			t.Fatalf("acks: got %v, want [s1 s2 s3]", acks)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if got, want := strings.Join(acks, " "), "s1 s2 s3"; got != want {
		t.Errorf("acks: got %s, want %s", got, want)
	}
	// Acked only once the order had the item: the cart message precedes
	// the ack on the socket.
	for id, want := range map[string]int{"s1": 1, "s2": 2, "s3": 2} {
		if linesAtAck[id] != want {
			t.Errorf("lines in the agent's cart when %s was acked: got %d, want %d", id, linesAtAck[id], want)
		}
	}
	if log := evalJS[[]string](t, browser, `fixture.log`); strings.Join(log, " ") != "submit:3 submit:7" {
		t.Errorf("product field submissions: got %v, want [submit:3 submit:7] (no lost scans, unknown code not submitted)", log)
	}
	if want := commerceSteps[2].want; !cart.Equal(a.cartOf(), want) {
		t.Errorf("cart after scans: got %+v, want %+v", a.cartOf(), want)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }
