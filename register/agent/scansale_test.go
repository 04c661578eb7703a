package agent

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/scanner"
)

// readAnswer waits for the agent's answer (ack or error) to message id.
func readAnswer(t *testing.T, p *pageReader, id string) protocol.Ack {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case data, ok := <-p.msgs:
			if !ok {
				t.Fatal("page socket closed")
			}
			var a protocol.Ack
			if json.Unmarshal(data, &a) == nil && a.Type == protocol.TypeAck && string(a.ID) == `"`+id+`"` {
				return a
			}
			if isType(data, protocol.TypeError) {
				t.Fatalf("got %s, want the ack of %s", data, id)
			}
		case <-timeout:
			t.Fatalf("no answer to %s in 10 s", id)
		}
	}
}

// TestScanDuringPaymentNeverReachesTheNextSale is issue 12's item 3 on the
// agent's side: a scan read during payment and not taken is dropped when the
// sale completes and the POS opens the next order; it is never re-sent into
// that order. The next scan carries the new order and can be refused.
func TestScanDuringPaymentNeverReachesTheNextSale(t *testing.T) {
	r := start(t, testConfig(t))
	ws := dialPOS(t, r, "1")
	page := readPage(t, ws)
	sale := func(id, order string, state cart.State) {
		t.Helper()
		c := cart.Empty("1", "USD")
		c.Order, c.State = order, state
		if state == cart.StatePayment || state == cart.StateComplete {
			c.Payment = &cart.Payment{}
		}
		writeJSON(t, ws, protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID(id), Cart: c})
		readAnswer(t, page, id)
	}
	sale("c1", "41", cart.StatePayment)
	s := r.router.Submit("1", scanner.Decode("]E04006381333931"))
	got := readScan(t, page)
	if got.ID != s || got.Order != "41" || got.GTIN != "4006381333931" {
		t.Fatalf("scan during payment: got %+v, want id %s, order 41, gtin 4006381333931", got, s)
	}
	// The page has no product field and does not answer; the cashier
	// completes the sale and Commerce redirects to a new draft order.
	sale("c2", "41", cart.StateComplete)
	sale("c3", "42", cart.StateOpen)
	if n := r.router.Pending("1"); n != 0 {
		t.Fatalf("pending after the sale ended: %d, want 0", n)
	}
	if got := counterValue(t, r, `posdisplay_scans_total{outcome="dropped",reason="sale_changed"}`); got != 1 {
		t.Fatalf("dropped{sale_changed} = %v, want 1", got)
	}
	// A reloaded page (what Commerce's redirect is) gets nothing stale.
	ws.Close()
	ws = dialPOS(t, r, "1")
	page = readPage(t, ws)
	next := r.router.Submit("1", scanner.Decode("]E05901234123457"))
	if got := readScan(t, page); got.ID != next || got.Order != "42" {
		t.Fatalf("first scan on the new page: got %+v, want %s in order 42", got, next)
	}
	writeJSON(t, ws, map[string]any{"type": "refuse", "id": next, "reason": "not_found", "message": "No product has code 5901234123457"})
	// The socket is read in order: once the next message is answered, the
	// refuse has been handled.
	sale("c4", "42", cart.StateOpen)
	if n := r.router.Pending("1"); n != 0 {
		t.Fatalf("pending after the refusal: %d, want 0", n)
	}
	if got := counterValue(t, r, `posdisplay_scans_total{outcome="refused",reason="not_found"}`); got != 1 {
		t.Fatalf("refused{not_found} = %v, want 1", got)
	}
}
