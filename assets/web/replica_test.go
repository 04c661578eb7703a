package web_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/posdisplay/posdisplay/assets/web"
	"github.com/posdisplay/posdisplay/register/cart"
)

// randomCart builds a valid cart from a small pool of line ids so that
// successive carts share lines (updates, moves) and differ (adds, removes).
func randomCart(r *rand.Rand) cart.Cart {
	c := cart.Empty(register, "EUR")
	c.State = []cart.State{cart.StateIdle, cart.StateOpen, cart.StatePayment, cart.StateComplete}[r.IntN(4)]
	for _, i := range r.Perm(8)[:r.IntN(8)] {
		q := cart.Quantity(1+r.IntN(5000)) * []cart.Quantity{1, 1000}[r.IntN(2)]
		p := cart.Money(r.IntN(5000))
		l := cart.Line{ID: fmt.Sprintf("l%d", i), Title: fmt.Sprintf("Item %d <b>%d</b>", i, r.IntN(3)), Quantity: q, UnitPrice: p}
		gross, _ := cart.Extend(q, p)
		l.Discount = cart.Money(r.IntN(int(gross)/10 + 1))
		l.Total = gross - l.Discount
		// About one line in four is a returned item (revision 1.1): its
		// total is subtracted, and the cart may go negative.
		l.Return = r.IntN(4) == 0
		c.Lines = append(c.Lines, l)
		if l.Return {
			c.Subtotal -= l.Total
		} else {
			c.Subtotal += l.Total
		}
	}
	c.Discount = cart.Money(r.IntN(int(max(c.Subtotal, 0))/5 + 1))
	if c.Subtotal <= 0 {
		c.Discount = 0
	}
	c.Total = c.Subtotal - c.Discount
	if r.IntN(2) == 0 {
		t := cart.TaxLine{Label: "VAT", Amount: cart.Money(r.IntN(500)), Included: r.IntN(2) == 0}
		c.Taxes = append(c.Taxes, t)
		if !t.Included {
			c.Total += t.Amount
		}
	}
	if c.State == cart.StatePayment || c.State == cart.StateComplete {
		tend := cart.Money(r.IntN(int(max(c.Total, 0)) + 2000))
		c.Payment = &cart.Payment{Due: c.Total, Tendered: tend, Change: max(0, tend-c.Total), Method: "cash"}
	}
	c.Order = fmt.Sprintf("o%d", r.IntN(3))
	return c
}

// corrupt changes one op so that it may no longer fit the cart.
func corrupt(r *rand.Rand, ops []cart.Op) []cart.Op {
	out := append([]cart.Op(nil), ops...)
	i := r.IntN(len(out))
	switch r.IntN(3) {
	case 0:
		out[i].Index += 1 + r.IntN(3)
	case 1:
		out[i].ID = "nope"
		if out[i].Line != nil {
			l := *out[i].Line
			l.ID = "nope"
			out[i].Line = &l
		}
	case 2:
		out[i].Index = -1
	}
	// Now and then also flip a line's return flag: the replica must then
	// find that the subtotal no longer adds up, as cart.Apply does.
	if r.IntN(4) == 0 {
		for j := range out {
			if out[j].Line != nil {
				l := *out[j].Line
				l.Return = !l.Return
				out[j].Line = &l
				break
			}
		}
	}
	return out
}

// TestReplicaMatchesCartApply runs the web display's replica (replica.js)
// in Chromium on the ops cart.Diff produces, and on corrupted ops, and
// checks it agrees with cart.Apply: same cart, or an error when Apply says
// the replica is out of step.
func TestReplicaMatchesCartApply(t *testing.T) {
	srv := httptest.NewServer(web.DisplayHandler())
	defer srv.Close()
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(srv.URL+"/display"))
	run(t, browser, chromedp.Evaluate(`import("/display/replica.js").then((m) => { window.replica = m; return true; })`, nil, awaitPromise))

	type tcase struct {
		From cart.Cart `json:"from"`
		Ops  []cart.Op `json:"ops"`
	}
	r := rand.New(rand.NewPCG(1, 2))
	var cases []tcase
	var want []*cart.Cart // nil: Apply reports out of step
	prev := randomCart(r)
	for len(cases) < 400 {
		next := randomCart(r)
		ops := cart.Diff(prev, next)
		if len(ops) == 0 {
			continue
		}
		if len(cases)%4 == 3 {
			ops = corrupt(r, ops)
		}
		got, err := cart.Apply(prev, ops)
		switch {
		case err == nil:
			g := got
			want = append(want, &g)
		case errors.Is(err, cart.ErrOutOfStep):
			want = append(want, nil)
		case errors.As(err, new(*cart.FieldError)) && arithmetic(err):
			want = append(want, nil) // the replica's checkCart rejects these too
		default:
			continue // a validation error of the result: not the replica's business
		}
		cases = append(cases, tcase{From: prev, Ops: ops})
		prev = next
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	var out []struct {
		OK   bool            `json:"ok"`
		Cart json.RawMessage `json:"cart"`
		Err  string          `json:"err"`
	}
	var res string
	run(t, browser, chromedp.Evaluate(`JSON.stringify(`+string(in)+`.map((c) => {
		try { return { ok: true, cart: replica.applyOps(c.from, c.ops) }; }
		catch (e) { return { ok: false, err: String(e.message) }; }
	}))`, &res))
	if err := json.Unmarshal([]byte(res), &out); err != nil {
		t.Fatal(err)
	}
	for i, o := range out {
		switch {
		case want[i] == nil && o.OK:
			t.Errorf("case %d: replica.js applied ops that cart.Apply rejects as out of step: %s", i, mustJSON(cases[i].Ops))
		case want[i] != nil && !o.OK:
			t.Errorf("case %d: replica.js rejected ops cart.Apply accepts: %s", i, o.Err)
		case want[i] != nil:
			var got cart.Cart
			if err := json.Unmarshal(o.Cart, &got); err != nil {
				t.Fatalf("case %d: replica.js cart does not decode: %v", i, err)
			}
			if !cart.Equal(got, *want[i]) {
				t.Errorf("case %d: got %+v, want %+v", i, got, *want[i])
			}
		}
	}
}

// TestFormatMoney checks exact formatting of minor units in the browser.
func TestFormatMoney(t *testing.T) {
	srv := httptest.NewServer(web.DisplayHandler())
	defer srv.Close()
	browser := newBrowser(t)
	run(t, browser, chromedp.Navigate(srv.URL+"/display"))
	run(t, browser, chromedp.Evaluate(`import("/display/replica.js").then((m) => { window.replica = m; return true; })`, nil, awaitPromise))
	tests := []struct {
		minor    int64
		currency string
		want     string
	}{
		{0, "USD", "$0.00"},
		{5, "USD", "$0.05"},
		{123456, "USD", "$1,234.56"},
		{-250, "USD", "-$2.50"},
		{1500, "JPY", "¥1,500"},
		{1234, "BHD", "BHD 1.234"},
		{9_999_999_999_999, "USD", "$99,999,999,999.99"}, // cart.MaxMoney-1: exact, no float rounding
	}
	for _, tt := range tests {
		var got string
		run(t, browser, chromedp.Evaluate(fmt.Sprintf(`replica.formatMoney(%d, %q)`, tt.minor, tt.currency), &got))
		if got != tt.want && !(tt.currency == "BHD" && got == "BHD\u00a01.234") {
			t.Errorf("formatMoney(%d, %s): got %q, want %q", tt.minor, tt.currency, got, tt.want)
		}
	}
}

// arithmetic reports whether a validation error is one of the sums the
// replica's checkCart repeats (subtotal, discount, total, and negative
// amounts in a cart without a return line).
func arithmetic(err error) bool {
	var fe *cart.FieldError
	if !errors.As(err, &fe) {
		return false
	}
	switch fe.Field {
	case "subtotal", "discount", "total", "payment.due":
		return true
	}
	return false
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
