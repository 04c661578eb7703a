package web_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"
)

// This file plays a Drupal 8.5 site running commerce_pos 8.x-2.x with the
// Seven theme: it renders whole cashier pages from
// testdata/commerce/pos-page.html.tmpl (markup as POSForm,
// PosOrderItemWidget and core's templates render it; see
// testdata/commerce/README.md), answers the widget's Ajax requests the way
// Drupal's form Ajax does (ids re-suffixed by Html::getUniqueId, a settings
// command and an insert command), and takes the full POSTs of Pay Now and
// Complete Order as real page loads.

var posTemplate = template.Must(template.New("pos").Funcs(template.FuncMap{
	"h":  html.EscapeString,
	"id": func(string) string { panic("id is bound per render") },
}).ParseFiles("testdata/commerce/pos-page.html.tmpl"))

// siteProduct is a commerce_product_variation with the POS's field_upc.
type siteProduct struct {
	ID         int
	Title, SKU string
	UPC        string // field_upc: 13 characters in upstream's config
	Price      int64  // minor units
}

type siteItem struct {
	ID      int
	Product siteProduct
	Qty     int64 // hundredths, as Commerce shows quantities ("1.00")
	Price   int64 // signed unit price: negative for a return item
	Initial bool  // on the order when the page was first built (no return box)
}

type sitePayment struct {
	ID      int
	Gateway string // gateway id: pos_cash...
	Amount  int64
	Voided  bool
}

type siteOrder struct {
	ID       int
	Items    []*siteItem
	Payments []*sitePayment
}

// siteLang holds the interface strings of one site language.
type siteLang struct {
	Code, Currency, Symbol string
	Decimal, Group         string
	SymbolAfter            bool
	T                      map[string]string
}

var english = siteLang{Code: "en", Currency: "USD", Symbol: "$", Decimal: ".", Group: ",", T: map[string]string{
	"PointOfSale": "Point of Sale", "Skip": "Skip to main content", "OrderItems": "Order items",
	"Placeholder": "Scan or enter product name or SKU", "Product": "Product", "UnitPrice": "Unit price",
	"Quantity": "Quantity", "Action": "Action", "Return": "Return", "Remove": "Remove",
	"SetAsReturn": "Set as return item", "Customer": "Customer", "Email": "Contact email",
	"PayNow": "Pay Now", "VoidOrder": "Void Order", "Park": "Park Order", "Complete": "Complete Order",
	"Back": "Back To Order", "AddComment": "Add Order Comment", "Void": "void", "VOID": "VOID",
	"Subtotal": "Subtotal", "Total": "Total", "TotalPaid": "Total Paid", "ToPay": "To Pay", "Change": "Change",
	"Price": "Price", "Receipt": "Receipt", "Print": "Print", "EmailR": "Email", "Both": "Both", "None": "No Receipt",
	"Add": "Add %s Payment", "Enter": "Enter %s Amount", "Tax": "Sales tax", "Promo": "10% off coffee",
	"pos_cash": "Cash", "pos_credit": "Credit", "pos_debit": "Debit", "pos_gift_card": "Gift Card",
}}

var german = siteLang{Code: "de", Currency: "EUR", Symbol: "€", Decimal: ",", Group: ".", SymbolAfter: true, T: map[string]string{
	"PointOfSale": "Kasse", "Skip": "Direkt zum Inhalt", "OrderItems": "Bestellpositionen",
	"Placeholder": "Produkt scannen oder Namen oder SKU eingeben", "Product": "Produkt", "UnitPrice": "Stückpreis",
	"Quantity": "Menge", "Action": "Aktion", "Return": "Rückgabe", "Remove": "Entfernen",
	"SetAsReturn": "Als Rückgabe markieren", "Customer": "Kunde", "Email": "Kontakt-E-Mail",
	"PayNow": "Jetzt bezahlen", "VoidOrder": "Bestellung stornieren", "Park": "Bestellung parken", "Complete": "Bestellung abschließen",
	"Back": "Zurück zur Bestellung", "AddComment": "Kommentar hinzufügen", "Void": "stornieren", "VOID": "STORNIERT",
	"Subtotal": "Zwischensumme", "Total": "Gesamtsumme", "TotalPaid": "Bezahlt", "ToPay": "Offen", "Change": "Rückgeld",
	"Price": "Preis", "Receipt": "Beleg", "Print": "Drucken", "EmailR": "E-Mail", "Both": "Beides", "None": "Kein Beleg",
	"Add": "%s-Zahlung hinzufügen", "Enter": "%s-Betrag eingeben", "Tax": "MwSt. 19 %", "Promo": "10 % Rabatt auf Kaffee",
	"pos_cash": "Bargeld", "pos_credit": "Kreditkarte", "pos_debit": "EC-Karte", "pos_gift_card": "Gutschein",
}}

var gatewayIDs = []string{"pos_cash", "pos_credit", "pos_debit", "pos_gift_card"}

// drupalSite is the fake Drupal: one register, one cashier session.
type drupalSite struct {
	t     testing.TB
	srv   *httptest.Server
	agent string // host:port of the posdisplay agent whose adapter the page loads

	mu        sync.Mutex
	products  []siteProduct
	orders    map[int]*siteOrder
	current   int    // current order id (POS::CURRENT_ORDER_KEY); 0: create one
	step      string // order | payment
	nextID    int
	lang      siteLang
	taxPermil int64 // sales tax on the discounted subtotal, per mille
	promoSKU  string
	receipt   bool // commerce_pos_receipt enabled: orderId in drupalSettings
	// subtotalExtra is added to the subtotal the page shows and to no
	// line: the page's own figures disagree with its rows.
	subtotalExtra int64
	// searchFallback turns on the adapter's opt-in autocomplete search.
	searchFallback bool
	// adapter holds more drupalSettings.posdisplay options.
	adapter  map[string]any
	openMenu []siteProduct
	// Ajax behaviour.
	ajaxDelay  time.Duration
	failAjax   int // answer the next N Ajax requests with HTTP 500
	log        []string
	ajaxCount  int
	acResults  map[string][]siteProduct
	acFail     bool
	ajaxSignal chan string // each handled Ajax trigger name, if set
}

func newDrupalSite(t testing.TB, agent string) *drupalSite {
	t.Helper()
	s := &drupalSite{
		t: t, agent: agent, orders: map[int]*siteOrder{}, step: "order", nextID: 100,
		lang: english, taxPermil: 80, receipt: true, acResults: map[string][]siteProduct{},
		products: []siteProduct{
			{ID: 3, Title: "Coffee beans 250 g", SKU: "COF-1", UPC: "4006381333931", Price: 899},
			{ID: 7, Title: "Oat milk 1 l", SKU: "MLK-1", UPC: "5012345678900", Price: 249},
			{ID: 9, Title: "Sourdough bread", SKU: "BRD-1", UPC: "0012345678905", Price: 450},
			{ID: 12, Title: `Mug "Crème <b>brûlée</b>" & Co`, SKU: "MUG-<1>", UPC: "9501101530003", Price: 1200},
			{ID: 15, Title: "Green tea (20 bags)", SKU: "TEA-1", UPC: "0000000000017", Price: 375},
		},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/admin/commerce/pos/main", s.serveMain)
	mux.HandleFunc("/admin/commerce/pos/autocomplete/commerce_product_variation/commerce_pos_product_select/10", s.serveAutocomplete)
	mux.HandleFunc("/core/misc/drupal-ajax-double.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, "testdata/commerce/drupal-ajax-double.js")
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *drupalSite) URL() string { return s.srv.URL + "/admin/commerce/pos/main" }

func (s *drupalSite) product(id int) (siteProduct, bool) {
	for _, p := range s.products {
		if p.ID == id {
			return p, true
		}
	}
	return siteProduct{}, false
}

// order returns the current order, creating a new draft as POS::content does.
func (s *drupalSite) order() *siteOrder {
	if o := s.orders[s.current]; o != nil {
		return o
	}
	s.nextID++
	o := &siteOrder{ID: s.nextID}
	s.orders[o.ID] = o
	s.current = o.ID
	s.step = "order"
	return o
}

func (s *drupalSite) newID() int { s.nextID++; return s.nextID }

// addItem is PosOrderItemWidget::addOrderItem: a variation id, else an
// exact field_upc match; an existing default item's quantity rises by one.
func (s *drupalSite) addItem(o *siteOrder, value string) bool {
	var p siteProduct
	found := false
	if id, err := strconv.Atoi(value); err == nil {
		p, found = s.product(id)
	}
	if !found {
		for _, q := range s.products {
			if q.UPC == value {
				p, found = q, true
				break
			}
		}
	}
	if !found {
		return false
	}
	for _, it := range o.Items {
		if it.Product.ID == p.ID && it.Price >= 0 {
			it.Qty += 100
			return true
		}
	}
	o.Items = append(o.Items, &siteItem{ID: s.newID(), Product: p, Qty: 100, Price: p.Price})
	return true
}

// totals is OrderTotalSummary::buildTotals as POSForm shows it: subtotal,
// adjustments (promotion, tax), total; and the balance after payments.
func (s *drupalSite) totals(o *siteOrder) (subtotal, promo, tax, total, paid int64) {
	for _, it := range o.Items {
		line := it.Price * it.Qty / 100
		subtotal += line
		if it.Product.SKU == s.promoSKU && it.Price > 0 {
			promo -= (line + 5) / 10
		}
	}
	subtotal += s.subtotalExtra
	base := subtotal + promo
	if base > 0 {
		tax = (base*s.taxPermil + 500) / 1000
	}
	total = base + tax
	for _, p := range o.Payments {
		if !p.Voided {
			paid += p.Amount
		}
	}
	return
}

// money is commerce_price's currency formatter for the site's language.
func (s *drupalSite) money(v int64) string {
	l := s.lang
	neg := v < 0
	if neg {
		v = -v
	}
	ip := strconv.FormatInt(v/100, 10)
	for i := len(ip) - 3; i > 0; i -= 3 {
		ip = ip[:i] + l.Group + ip[i:]
	}
	n := fmt.Sprintf("%s%s%02d", ip, l.Decimal, v%100)
	sign := ""
	if neg {
		sign = "-"
	}
	if l.SymbolAfter {
		return sign + n + "\u00a0" + l.Symbol
	}
	return sign + l.Symbol + n
}

func plainNumber(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

type pageRow struct {
	ItemID                 int
	Stripe                 string
	Variation              pageVariation
	PriceNumber, PriceText string
	TotalText, Qty         string
	Return, ReturnBox      bool
	IDs                    struct{ Price, Qty, Remove, Return, Empty string }
}

type pageVariation struct{ Title, SKU, PriceLabel, PriceText string }

type pageCell struct{ Label, Amount, Stripe, Class string }

type pagePayment struct {
	ID                      int
	Gateway, Amount, Stripe string
	Voided                  bool
}

type pageGateway struct {
	ID, Slug, Label, AddLabel, AmountLabel, AddID, AmountID string
	Open                                                    bool // the default gateway's pane (pos_cash)
}

type pageData struct {
	Lang, Agent, Step, Currency, FormBuildID, KeypadAmount string
	OrderID                                                int
	T                                                      map[string]string
	SettingsJSON                                           string
	IDs                                                    struct{ Product string }
	Rows                                                   []pageRow
	Totals                                                 []pageCell
	Payments                                               []pagePayment
	Balance                                                []pageCell
	Gateways                                               []pageGateway
	BalancePaid, Receipt, CanAlterPrice                    bool
	AutocompleteOpen                                       []pageVariation
	ReceiptOptions                                         []struct{ Value, Label string }
}

func stripe(i int) string {
	if i%2 == 0 {
		return "odd"
	}
	return "even"
}

func randomSuffix() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) // 11 characters, as Crypt::randomBytesBase64(8)
}

// render builds the page (or, for Ajax, the step wrapper with every id
// re-suffixed) and the Ajax settings of its elements.
func (s *drupalSite) render(ajax bool) (string, map[string]any) {
	o := s.order()
	ids := map[string]string{}
	id := func(base string) string {
		if v, ok := ids[base]; ok {
			return v
		}
		v := base
		if ajax {
			v = base + "--" + randomSuffix()
		}
		ids[base] = v
		return v
	}
	l := s.lang
	d := pageData{Lang: l.Code, Agent: s.agent, Step: s.step, Currency: l.Currency, OrderID: o.ID, T: l.T,
		FormBuildID: fmt.Sprintf("bld%08d", o.ID*10+len(o.Items)), Receipt: s.receipt}
	wrapper := "commerce-pos-order-form-wrapper"
	ajaxSettings := map[string]any{}
	ajaxFor := func(elemID, name, value, event string) {
		ajaxSettings[elemID] = map[string]any{
			"callback": "::ajaxRefresh", "wrapper": wrapper, "event": event,
			"url": "/admin/commerce/pos/main?ajax_form=1", "dialogType": "ajax",
			"submit": map[string]string{"_triggering_element_name": name, "_triggering_element_value": value},
		}
	}
	sub, promo, tax, total, paid := s.totals(o)
	if s.step == "payment" {
		wrapper = "commerce-pos-pay-form-wrapper"
	} else {
		d.IDs.Product = id("edit-order-items-target-id-product-selector")
		ajaxFor(d.IDs.Product, "order_items[target_id][product_selector]", "", "autocompleteclose")
		// The widget lists the newest item first (array_unshift).
		for i := range o.Items {
			it := o.Items[len(o.Items)-1-i]
			r := pageRow{ItemID: it.ID, Stripe: stripe(i), Qty: plainNumber(it.Qty),
				PriceNumber: plainNumber(it.Price), PriceText: s.money(it.Price), TotalText: s.money(it.Price * it.Qty / 100),
				Return: it.Price < 0, ReturnBox: !it.Initial,
				Variation: pageVariation{Title: it.Product.Title, SKU: it.Product.SKU, PriceLabel: l.T["Price"], PriceText: s.money(it.Product.Price)}}
			pfx := fmt.Sprintf("edit-order-items-target-id-order-items-%d-", i)
			r.IDs.Price = id(pfx + "unit-price-unit-price-number")
			r.IDs.Qty = id(pfx + "quantity-quantity")
			r.IDs.Remove = id(pfx + "remove-order-item")
			r.IDs.Return = id(pfx + "set-order-item-as-return")
			r.IDs.Empty = id(pfx + "empty-row")
			ajaxFor(r.IDs.Qty, fmt.Sprintf("order_items[target_id][order_items][%d][quantity][quantity]", i), "", "change")
			ajaxFor(r.IDs.Remove, fmt.Sprintf("remove_order_item_%d", it.ID), l.T["Remove"], "mousedown")
			if r.ReturnBox {
				ajaxFor(r.IDs.Return, fmt.Sprintf("set_order_item_as_return_%d", it.ID), "1", "change")
			}
			d.Rows = append(d.Rows, r)
		}
	}
	d.Totals = append(d.Totals, pageCell{Label: l.T["Subtotal"], Amount: s.money(sub)})
	if promo != 0 {
		d.Totals = append(d.Totals, pageCell{Label: l.T["Promo"], Amount: s.money(promo)})
	}
	if tax != 0 {
		d.Totals = append(d.Totals, pageCell{Label: l.T["Tax"], Amount: s.money(tax)})
	}
	d.Totals = append(d.Totals, pageCell{Label: l.T["Total"], Amount: s.money(total)})
	for i := range d.Totals {
		d.Totals[i].Stripe = stripe(i)
	}
	for i, p := range o.Payments {
		amt := s.money(p.Amount)
		if p.Voided {
			amt = l.T["VOID"]
		}
		d.Payments = append(d.Payments, pagePayment{ID: p.ID, Gateway: l.T[p.Gateway], Amount: amt, Stripe: stripe(i), Voided: p.Voided})
	}
	balance := total - paid
	d.Balance = []pageCell{
		{Class: "commerce-pos--totals--total-paid", Label: l.T["TotalPaid"], Amount: s.money(paid), Stripe: "odd"},
		{Class: "commerce-pos--totals--to-pay", Label: l.T["ToPay"], Amount: s.money(max(balance, 0)), Stripe: "even"},
		{Class: "commerce-pos--totals--change", Label: l.T["Change"], Amount: s.money(max(-balance, 0)), Stripe: "odd"},
	}
	d.BalancePaid = balance <= 0
	d.KeypadAmount = strings.ReplaceAll(strings.ReplaceAll(s.money(max(balance, 0)), l.Symbol, ""), "\u00a0", "")
	if s.step == "payment" {
		for _, g := range gatewayIDs {
			slug := strings.ReplaceAll(g, "_", "-")
			pg := pageGateway{ID: g, Slug: slug, Label: l.T[g], AddLabel: fmt.Sprintf(l.T["Add"], l.T[g]), AmountLabel: fmt.Sprintf(l.T["Enter"], l.T[g]),
				AddID: id("edit-" + slug + "-keypad-add"), AmountID: id("edit-" + slug + "-keypad-amount"), Open: g == "pos_cash"}
			if !d.BalancePaid {
				ajaxFor(pg.AddID, "commerce-pos-pay-keypad-add-"+g, pg.AddLabel, "mousedown")
			}
			d.Gateways = append(d.Gateways, pg)
		}
		for _, v := range []string{"print", "email", "print_and_email", "none"} {
			lab := map[string]string{"print": l.T["Print"], "email": l.T["EmailR"], "print_and_email": l.T["Both"], "none": l.T["None"]}[v]
			d.ReceiptOptions = append(d.ReceiptOptions, struct{ Value, Label string }{v, lab})
		}
	}
	for _, p := range s.openMenu {
		d.AutocompleteOpen = append(d.AutocompleteOpen, pageVariation{Title: p.Title, SKU: p.SKU, PriceLabel: l.T["Price"], PriceText: s.money(p.Price)})
	}
	posdisplay := map[string]any{"url": "ws://" + s.agent + "/v1/pos", "register": register, "settleMs": 5, "searchFallback": s.searchFallback}
	for k, v := range s.adapter {
		posdisplay[k] = v
	}
	settings := map[string]any{
		"path":           map[string]any{"baseUrl": "/", "currentPath": "admin/commerce/pos/main", "currentLanguage": l.Code},
		"ajaxPageState":  map[string]any{"theme": "seven", "libraries": "commerce_pos/form,commerce_pos/global,core/drupal.ajax,posdisplay/commerce_pos"},
		"ajaxTrustedUrl": map[string]any{"/admin/commerce/pos/main?ajax_form=1": true},
		"ajax":           ajaxSettings,
		"posdisplay":     posdisplay,
	}
	if s.step == "payment" && s.receipt {
		settings["commercePosReceipt"] = map[string]any{"orderId": strconv.Itoa(o.ID)}
	}
	tmpl := "page"
	if ajax {
		tmpl = "wrapper"
	}
	var buf bytes.Buffer
	t := template.Must(posTemplate.Clone())
	t.Funcs(template.FuncMap{"id": id})
	if !ajax {
		js, _ := json.Marshal(settings)
		// As drupal_js_settings: "</" must not close the script element.
		d.SettingsJSON = strings.ReplaceAll(string(js), "</", `<\/`)
	}
	if err := t.ExecuteTemplate(&buf, tmpl, d); err != nil {
		s.t.Errorf("rendering the POS page: %v", err)
	}
	return buf.String(), settings
}

func (s *drupalSite) logf(format string, a ...any) { s.log = append(s.log, fmt.Sprintf(format, a...)) }

// Log returns the requests the site handled ("ajax:<trigger>=<value>",
// "post:<button>", "get").
func (s *drupalSite) Log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

func (s *drupalSite) serveMain(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet:
		s.mu.Lock()
		s.logf("get")
		page, _ := s.render(false)
		s.mu.Unlock()
		writePage(w, page)
	case r.Method == http.MethodPost && r.URL.Query().Get("_wrapper_format") == "drupal_ajax":
		s.serveAjax(w, r)
	case r.Method == http.MethodPost:
		s.serveFullPost(w, r)
	default:
		http.Error(w, "method", http.StatusMethodNotAllowed)
	}
}

func writePage(w http.ResponseWriter, page string) {
	w.Header().Set("Content-Type", "text/html; charset=UTF-8")
	w.Header().Set("Cache-Control", "must-revalidate, no-cache, private")
	_, _ = w.Write([]byte(page))
}

// serveFullPost: the form submitted without Ajax (Pay Now, Complete Order,
// Back To Order). Drupal answers a rebuild with the new page, a redirect
// with 303.
func (s *drupalSite) serveFullPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	o := s.order()
	l := s.lang
	switch {
	case r.PostForm.Get("commerce-pos-finish") != "":
		s.logf("post:finish")
		_, _, _, total, paid := s.totals(o)
		if paid >= total {
			s.current = 0 // clearOrder: the next GET creates a new draft
			s.step = "order"
			s.mu.Unlock()
			http.Redirect(w, r, "/admin/commerce/pos/main", http.StatusSeeOther)
			return
		}
	case r.PostForm.Get("commerce-pos-back-to-order") != "":
		s.logf("post:back")
		s.step = "order"
	case r.PostForm.Get("op") == l.T["PayNow"]:
		s.logf("post:pay-now")
		s.step = "payment"
	default:
		s.logf("post:other")
	}
	page, _ := s.render(false)
	s.mu.Unlock()
	writePage(w, page)
}

// serveAjax answers a Drupal form Ajax request: process the triggering
// element, then [settings, insert(replaceWith wrapper)] as Drupal's
// AjaxResponse does for a #ajax callback returning the form.
func (s *drupalSite) serveAjax(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	trigger := r.PostForm.Get("_triggering_element_name")
	s.mu.Lock()
	delay := s.ajaxDelay
	fail := s.failAjax > 0
	if fail {
		s.failAjax--
	}
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay): // the server's round trip
		case <-r.Context().Done():
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ajaxCount++
	if fail {
		s.logf("ajax-500:%s", trigger)
		http.Error(w, "The website encountered an unexpected error.", http.StatusInternalServerError)
		s.signal(trigger)
		return
	}
	o := s.order()
	switch {
	case trigger == "order_items[target_id][product_selector]" && s.step == "order":
		v := r.PostForm.Get(trigger)
		s.logf("ajax:add=%s", v)
		s.addItem(o, v)
	case strings.HasPrefix(trigger, "remove_order_item_"):
		s.logf("ajax:%s", trigger)
		id, _ := strconv.Atoi(strings.TrimPrefix(trigger, "remove_order_item_"))
		for i, it := range o.Items {
			if it.ID == id {
				o.Items = append(o.Items[:i], o.Items[i+1:]...)
				break
			}
		}
	case strings.HasPrefix(trigger, "set_order_item_as_return_"):
		s.logf("ajax:%s", trigger)
		id, _ := strconv.Atoi(strings.TrimPrefix(trigger, "set_order_item_as_return_"))
		for _, it := range o.Items {
			if it.ID == id {
				it.Price = -it.Price
			}
		}
	case strings.HasSuffix(trigger, "[quantity][quantity]"):
		var row int
		fmt.Sscanf(trigger, "order_items[target_id][order_items][%d]", &row)
		v := r.PostForm.Get(trigger)
		s.logf("ajax:qty[%d]=%s", row, v)
		if row >= 0 && row < len(o.Items) {
			it := o.Items[len(o.Items)-1-row]
			f, err := strconv.ParseFloat(v, 64)
			if err == nil && f > 0 {
				it.Qty = int64(f*100 + 0.5)
			} else if err == nil {
				o.Items = append(o.Items[:len(o.Items)-1-row], o.Items[len(o.Items)-row:]...)
			}
		}
	case strings.HasPrefix(trigger, "commerce-pos-pay-keypad-add-"):
		g := strings.TrimPrefix(trigger, "commerce-pos-pay-keypad-add-")
		v := r.PostForm.Get(g + "[keypad][amount]")
		s.logf("ajax:pay-%s=%s", g, v)
		if f, err := strconv.ParseFloat(strings.ReplaceAll(v, ",", "."), 64); err == nil && f > 0 {
			o.Payments = append(o.Payments, &sitePayment{ID: s.newID(), Gateway: g, Amount: int64(f*100 + 0.5)})
		}
	default:
		s.logf("ajax:other=%s", trigger)
	}
	wrapperHTML, settings := s.render(true)
	wrapper := "#commerce-pos-order-form-wrapper"
	if s.step == "payment" {
		wrapper = "#commerce-pos-pay-form-wrapper"
	}
	cmds := []map[string]any{
		{"command": "settings", "merge": true, "settings": map[string]any{"ajax": settings["ajax"], "commercePosReceipt": settings["commercePosReceipt"]}},
		// The rendered form ends with a newline, as Twig output does.
		{"command": "insert", "method": "replaceWith", "selector": wrapper, "data": wrapperHTML + "\n", "settings": nil},
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Drupal-Ajax-Token", "1")
	_ = json.NewEncoder(w).Encode(cmds)
	s.signal(trigger)
}

func (s *drupalSite) signal(trigger string) {
	if s.ajaxSignal != nil {
		select {
		case s.ajaxSignal <- trigger:
		default:
		}
	}
}

// serveAutocomplete is PosOrderItemAutoComplete: [{value: variation id,
// label: the variation rendered in the commerce_pos_product_select mode}].
func (s *drupalSite) serveAutocomplete(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := r.URL.Query().Get("q")
	s.logf("autocomplete:%s", q)
	if s.acFail {
		http.Error(w, "error", http.StatusInternalServerError)
		return
	}
	res := []map[string]string{}
	for _, p := range s.acResults[q] {
		label := fmt.Sprintf(`<div class="commerce-pos-autocomplete-results"><div class="field field--name-title">%s</div><div class="field__item">%s</div><div class="field__item">%s</div></div>`,
			html.EscapeString(p.Title), s.money(p.Price), html.EscapeString(p.SKU))
		res = append(res, map[string]string{"value": strconv.Itoa(p.ID), "label": label})
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// set runs f on the site's state under its lock.
func (s *drupalSite) set(f func(s *drupalSite)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}
