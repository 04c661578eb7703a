package web_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

var update = flag.Bool("update", false, "rewrite the Commerce POS fixture pages in testdata/commerce")

// allFeatures is what an agent with the issue-12 protocol extensions
// advertises in its POS welcome.
var allFeatures = []string{"returns", "scan_refuse", "scan_order"}

func wl(id, sku, title, qty string, unit int64, ret bool) wireLine {
	q, _ := strconv.ParseFloat(qty, 64)
	return wireLine{ID: id, SKU: sku, Title: title, Quantity: qty, UnitPrice: unit, Total: int64(q*float64(unit) + 0.5), Return: ret}
}

// Fixture products (see newDrupalSite) as the adapter must report them.
// Order item ids are handed out by the site from 102 on, after the order.
func coffeeLine(id int, qty string) wireLine {
	return wl("oi-"+strconv.Itoa(id), "COF-1", "Coffee beans 250 g", qty, 899, false)
}
func oatLine(id int, qty string) wireLine {
	return wl("oi-"+strconv.Itoa(id), "MLK-1", "Oat milk 1 l", qty, 249, false)
}
func breadLine(id int, qty string) wireLine {
	return wl("oi-"+strconv.Itoa(id), "BRD-1", "Sourdough bread", qty, 450, false)
}

const mugTitle = `Mug "Crème <b>brûlée</b>" & Co`

// commerceFixtures are whole cashier pages, one per situation of the
// issue; each names the cart the page shows, field by field. Before is run
// on the site to build the state; payment fixtures first load the order
// step (as the cashier did) and then the payment step by a real POST.
var commerceFixtures = []struct {
	name   string
	before func(s *drupalSite)
	pay    bool // reach the payment step through Pay Now
	after  func(s *drupalSite)
	want   wireCart
	notice string // a notice the cashier must see on the POS page
}{
	{name: "01-empty-order", before: func(s *drupalSite) {},
		want: wireCart{Register: register, Order: "101", Currency: "USD", State: "idle", Lines: []wireLine{}, Taxes: []wireTax{}}},
	{name: "02-lines-promotion-tax", before: func(s *drupalSite) {
		o := s.order()
		s.promoSKU = "COF-1"
		s.addItem(o, "3")
		s.addItem(o, "3")
		s.addItem(o, "5012345678900")
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "open",
		Lines:    []wireLine{coffeeLine(102, "2"), oatLine(103, "1")},
		Subtotal: 2047, Discount: 180, Taxes: []wireTax{{Label: "Sales tax", Amount: 149}}, Total: 2016}},
	{name: "03-autocomplete-open", before: func(s *drupalSite) {
		s.addItem(s.order(), "3")
		s.openMenu = []siteProduct{s.products[2], s.products[1]} // bread, oat milk: listed, not on the order
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "open",
		Lines: []wireLine{coffeeLine(102, "1")}, Subtotal: 899, Taxes: []wireTax{{Label: "Sales tax", Amount: 72}}, Total: 971}},
	{name: "04-html-title", before: func(s *drupalSite) {
		o := s.order()
		s.addItem(o, "12")
		s.addItem(o, "15")
		// Control and bidi-override characters, which the agent refuses in
		// a cart, are dropped from the text.
		o.Items[1].Product.Title = "Green\u202etea\u0007 (20 bags)"
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "open",
		Lines:    []wireLine{wl("oi-102", "MUG-<1>", mugTitle, "1", 1200, false), wl("oi-103", "TEA-1", "Green tea (20 bags)", "1", 375, false)},
		Subtotal: 1575, Taxes: []wireTax{{Label: "Sales tax", Amount: 126}}, Total: 1701}},
	{name: "05-return-line", before: func(s *drupalSite) {
		o := s.order()
		s.addItem(o, "3")
		s.addItem(o, "12")
		o.Items[1].Price = -o.Items[1].Price // "Set as return item"
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "open",
		Lines: []wireLine{coffeeLine(102, "1"), wl("oi-103", "MUG-<1>", mugTitle, "1", 1200, true)}, Subtotal: -301, Taxes: []wireTax{}, Total: -301}},
	{name: "06-payment-voided", before: func(s *drupalSite) {
		o := s.order()
		s.addItem(o, "3")
		s.addItem(o, "7")
		s.addItem(o, "9")
	}, pay: true, after: func(s *drupalSite) {
		o := s.order()
		o.Payments = []*sitePayment{{ID: 150, Gateway: "pos_cash", Amount: 1000, Voided: true}, {ID: 151, Gateway: "pos_credit", Amount: 500}}
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "payment",
		Lines:    []wireLine{coffeeLine(102, "1"), oatLine(103, "1"), breadLine(104, "1")},
		Subtotal: 1598, Taxes: []wireTax{{Label: "Sales tax", Amount: 128}}, Total: 1726,
		Payment: &wirePayment{Due: 1726, Tendered: 500, Method: "Credit"}}},
	{name: "07-paid-with-change", before: func(s *drupalSite) {
		o := s.order()
		s.addItem(o, "3")
		s.addItem(o, "7")
		s.addItem(o, "9")
	}, pay: true, after: func(s *drupalSite) {
		s.order().Payments = []*sitePayment{{ID: 150, Gateway: "pos_cash", Amount: 2000}}
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "complete",
		Lines:    []wireLine{coffeeLine(102, "1"), oatLine(103, "1"), breadLine(104, "1")},
		Subtotal: 1598, Taxes: []wireTax{{Label: "Sales tax", Amount: 128}}, Total: 1726,
		Payment: &wirePayment{Due: 1726, Tendered: 2000, Change: 274, Method: "Cash"}}},
	{name: "08-translated-site", before: func(s *drupalSite) {
		s.lang = german
		s.taxPermil = 190
		o := s.order()
		s.addItem(o, "3")
		s.addItem(o, "3")
		o.Items[0].Product.Title = "Kaffeebohnen 250 g"
	}, pay: true, after: func(s *drupalSite) {
		s.order().Payments = []*sitePayment{{ID: 150, Gateway: "pos_cash", Amount: 5000}}
	}, want: wireCart{Register: register, Order: "101", Currency: "EUR", State: "complete",
		Lines:    []wireLine{wl("oi-102", "COF-1", "Kaffeebohnen 250 g", "2", 899, false)},
		Subtotal: 1798, Taxes: []wireTax{{Label: "MwSt. 19 %", Amount: 342}}, Total: 2140,
		Payment: &wirePayment{Due: 2140, Tendered: 5000, Change: 2860, Method: "Bargeld"}}},
	{name: "09-page-total-wins", before: func(s *drupalSite) {
		s.addItem(s.order(), "3")
		s.subtotalExtra = 150 // e.g. an order item the widget does not list
	}, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "open",
		Lines:    []wireLine{coffeeLine(102, "1"), wl("pos-adjustment", "", "Adjustment", "1", 150, false)},
		Subtotal: 1049, Taxes: []wireTax{{Label: "Sales tax", Amount: 84}}, Total: 1133},
		notice: "do not add up"},
	{name: "10-refund-payment", before: func(s *drupalSite) {
		o := s.order()
		s.addItem(o, "12")
		o.Items[0].Price = -o.Items[0].Price // a return only: the customer is owed money
	}, pay: true, want: wireCart{Register: register, Order: "101", Currency: "USD", State: "complete",
		Lines:    []wireLine{wl("oi-102", "MUG-<1>", mugTitle, "1", 1200, true)},
		Subtotal: -1200, Taxes: []wireTax{}, Total: -1200,
		Payment: &wirePayment{Due: -1200, Tendered: 0, Change: 1200}}},
}

// TestCommerceFixtures loads every fixture page in Chromium, with real
// navigations, and checks the cart the adapter sends field by field.
func TestCommerceFixtures(t *testing.T) {
	for _, f := range commerceFixtures {
		t.Run(f.name, func(t *testing.T) {
			fa := newFakeAgent(t, allFeatures...)
			site := newDrupalSite(t, fa.addr())
			site.set(f.before)
			browser := newBrowser(t)
			run(t, browser, chromedp.Navigate(site.URL()))
			if f.pay {
				fa.waitCart("the order step's lines", func(c wireCart) bool { return len(c.Lines) > 0 })
				clickAndLoad(t, browser, `input[data-drupal-selector="edit-actions-submit"]`)
				if f.after != nil {
					site.set(f.after)
					run(t, browser, chromedp.Navigate(site.URL())) // GET: the step is the session's
				}
			}
			checkGolden(t, site, f.name)
			got := fa.waitCart("order "+f.want.Order+" in state "+f.want.State, func(c wireCart) bool {
				return c.Order == f.want.Order && c.State == f.want.State && (c.Payment == nil) == (f.want.Payment == nil) &&
					(c.Payment == nil || c.Payment.Tendered == f.want.Payment.Tendered)
			})
			compareCarts(t, got, f.want)
			if f.notice != "" {
				waitNotice(t, browser, f.notice)
				// Dismissed, it stays away while the page keeps changing.
				run(t, browser, chromedp.Click(`.posdisplay-notice .posdisplay-notice-dismiss`, chromedp.ByQuery))
				run(t, browser, chromedp.Evaluate(`document.body.append(document.createElement("span")); window.__posdisplayCommercePos.refresh()`, nil))
				if n := noticeText(t, browser); n != "" {
					t.Errorf("dismissed notice came back: %s", n)
				}
			} else if n := noticeText(t, browser); n != "" {
				t.Errorf("unexpected notice on the POS page: %s", n)
			}
		})
	}
}

// clickAndLoad clicks a full-POST button and waits for the next page.
func clickAndLoad(t testing.TB, ctx context.Context, sel string) {
	t.Helper()
	run(t, ctx, chromedp.Evaluate(`window.__leaving = true`, nil))
	run(t, ctx, chromedp.Click(sel, chromedp.ByQuery, chromedp.NodeReady))
	waitAcrossLoads(t, ctx, `window.__leaving !== true && document.readyState === "complete" && !!window.__posdisplayCommercePos`)
}

// waitAcrossLoads is waitJS for a page that is being replaced by another:
// evaluations fail while the navigation runs, and are retried (bounded).
func waitAcrossLoads(t testing.TB, ctx context.Context, expr string) {
	t.Helper()
	deadline := time.Now().Add(waitLong)
	for {
		var ok bool
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		err := chromedp.Run(tctx, chromedp.Evaluate(expr, &ok))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting across page loads for %s: last error %v", expr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func compareCarts(t testing.TB, got, want wireCart) {
	t.Helper()
	if want.Lines == nil {
		want.Lines = []wireLine{}
	}
	if want.Taxes == nil {
		want.Taxes = []wireTax{}
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.MarshalIndent(got, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Errorf("cart:\ngot  %s\nwant %s", g, w)
	}
}

// checkGolden keeps testdata/commerce/<name>.html, the page as the site
// renders it at this step (with the agent address of the docs), for people
// to read next to README.md; -update rewrites them.
func checkGolden(t *testing.T, site *drupalSite, name string) {
	t.Helper()
	var page string
	site.set(func(s *drupalSite) {
		agent := s.agent
		s.agent = "127.0.0.1:7421"
		page, _ = s.render(false)
		s.agent = agent
	})
	path := filepath.Join("testdata", "commerce", name+".html")
	if *update {
		if err := os.WriteFile(path, []byte(page), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestCommerceFixtures -update)", err)
	}
	if string(b) != page {
		t.Errorf("%s differs from the page the site renders; run go test -run TestCommerceFixtures -update and review the diff", path)
	}
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// noticeText returns the text of the cashier notices on the POS page.
func noticeText(t testing.TB, ctx context.Context) string {
	return evalJS[string](t, ctx, `Array.from(document.querySelectorAll(".posdisplay-notice")).map((n) => n.textContent).join(" | ")`)
}

func waitNotice(t testing.TB, ctx context.Context, substr string) {
	t.Helper()
	waitJS(t, ctx, fmt.Sprintf(`Array.from(document.querySelectorAll(".posdisplay-notice")).some((n) => n.textContent.includes(%s) && n.getBoundingClientRect().height > 0)`, jsString(substr)))
}
