package scanroute

import (
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/scanner"
)

// lastMsg returns the last scan message sent to any page.
func (p *fakePages) lastMsg(t *testing.T) (m struct{ ID, Order, GTIN, Code string }) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.msgs) == 0 {
		t.Fatal("no scan was sent")
	}
	s := p.msgs[len(p.msgs)-1]
	m.ID, m.Order, m.GTIN, m.Code = s.ID, s.Order, s.GTIN, s.Code
	return m
}

func TestScanCarriesOrderAndGTIN(t *testing.T) {
	tests := []struct {
		name      string
		order     string
		state     cart.State
		raw       string // as the scanner sent it
		wantOrder string
		wantGTIN  string
	}{
		{"ean-13 in an open order", "A-17", cart.StateOpen, "]E04006381333931", "A-17", "4006381333931"},
		{"upc-a padded", "A-17", cart.StatePayment, "036000291452", "A-17", "0036000291452"},
		{"gs1-128 (01)", "A-17", cart.StateOpen, "]C1010950110153000310ABC123\x1d17101231", "A-17", "9501101530003"},
		{"idle: no order", "", cart.StateIdle, "]E04006381333931", "", "4006381333931"},
		{"code128: no gtin", "A-17", cart.StateOpen, "]C0ABC-123", "A-17", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.pages.set("1", true)
			f.r.SaleChanged("1", 1, tt.order, tt.state)
			s := scanner.Decode(tt.raw)
			s.Source, s.At = "test", f.clock.Now()
			id := f.r.Submit("1", s)
			got := f.pages.lastMsg(t)
			if got.ID != id || got.Order != tt.wantOrder || got.GTIN != tt.wantGTIN {
				t.Fatalf("sent %+v, want id %s order %q gtin %q", got, id, tt.wantOrder, tt.wantGTIN)
			}
		})
	}
}

// saleAt is one SaleChanged call.
type saleAt struct {
	seq   uint64
	order string
	state cart.State
}

func TestScanBoundToSale(t *testing.T) {
	tests := []struct {
		name     string
		before   saleAt   // the sale the scans are read in
		after    []saleAt // what the register does while they wait
		wantKept bool
	}{
		{"same order, more items", saleAt{1, "A-17", cart.StateOpen}, []saleAt{{2, "A-17", cart.StateOpen}}, true},
		{"same order, to payment", saleAt{1, "A-17", cart.StateOpen}, []saleAt{{2, "A-17", cart.StatePayment}}, true},
		{"the scan starts the sale", saleAt{1, "", cart.StateIdle}, []saleAt{{2, "A-18", cart.StateOpen}}, true},
		{"a sale without order ids goes on", saleAt{1, "", cart.StateOpen}, []saleAt{{2, "", cart.StatePayment}}, true},
		{"another order", saleAt{1, "A-17", cart.StateOpen}, []saleAt{{2, "A-18", cart.StateOpen}}, false},
		{"paid, then the next draft order", saleAt{1, "A-17", cart.StatePayment}, []saleAt{{2, "A-17", cart.StateComplete}, {3, "A-18", cart.StateOpen}}, false},
		{"paid", saleAt{1, "A-17", cart.StatePayment}, []saleAt{{2, "A-17", cart.StateComplete}}, false},
		{"cleared", saleAt{1, "A-17", cart.StateOpen}, []saleAt{{2, "", cart.StateIdle}}, false},
		{"read on the thank-you screen, then cleared", saleAt{1, "A-17", cart.StateComplete}, []saleAt{{2, "", cart.StateIdle}}, false},
		{"a sale without order ids is paid", saleAt{1, "", cart.StatePayment}, []saleAt{{2, "", cart.StateComplete}}, false},
		{"the order id is lost", saleAt{1, "A-17", cart.StateOpen}, []saleAt{{2, "", cart.StateOpen}}, false},
		{"a stale report is ignored", saleAt{5, "A-17", cart.StateOpen}, []saleAt{{4, "A-16", cart.StateComplete}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.pages.set("1", true)
			f.r.SaleChanged("1", tt.before.seq, tt.before.order, tt.before.state)
			a, b := f.scan("1", "A"), f.scan("1", "B") // a is sent and unacked, b queued
			if got := f.pages.take("1"); !eq(got, []string{a}) {
				t.Fatalf("sent %q, want %q", got, a)
			}
			for _, s := range tt.after {
				f.r.SaleChanged("1", s.seq, s.order, s.state)
			}
			if tt.wantKept {
				if got := f.r.Pending("1"); got != 2 {
					t.Fatalf("pending %d, want both scans kept", got)
				}
				f.r.Ack("1", a)
				if got := f.pages.take("1"); !eq(got, []string{b}) {
					t.Fatalf("after the ack: sent %q, want %q", got, b)
				}
				return
			}
			if got := f.r.Pending("1"); got != 0 {
				t.Fatalf("pending %d, want both scans dropped", got)
			}
			if got := f.countReason(t, "dropped", "sale_changed"); got != 2 {
				t.Fatalf("dropped{sale_changed} = %v, want 2", got)
			}
			// Nothing of the old sale reaches a page: not now, not after
			// a reconnect, not after a late ack of the one it had.
			f.connect("1")
			f.r.Ack("1", a)
			if got := f.pages.take("1"); len(got) != 0 {
				t.Fatalf("sent %q after the sale changed, want nothing", got)
			}
			if got := f.count(t, "acked"); got != 0 {
				t.Fatalf("acked = %v after a late ack of a dropped scan, want 0", got)
			}
			// A scan read in the new sale goes out at once, with its order.
			last := tt.after[len(tt.after)-1]
			c := f.scan("1", "C")
			if got := f.pages.take("1"); !eq(got, []string{c}) {
				t.Fatalf("new sale: sent %q, want %q", got, c)
			}
			if got := f.pages.lastMsg(t); got.Order != last.order {
				t.Fatalf("new scan's order %q, want %q", got.Order, last.order)
			}
		})
	}
}

// TestSaleChangeOnlyDropsItsRegister: register 2's scans stay when register
// 1 moves on.
func TestSaleChangeOnlyDropsItsRegister(t *testing.T) {
	f := newFixture(t, Options{})
	f.r.SaleChanged("1", 1, "A-1", cart.StateOpen)
	f.r.SaleChanged("2", 1, "B-1", cart.StateOpen)
	f.scan("1", "A")
	f.scan("2", "B")
	f.r.SaleChanged("1", 2, "A-2", cart.StateOpen)
	if got := [2]int{f.r.Pending("1"), f.r.Pending("2")}; got != [2]int{0, 1} {
		t.Fatalf("pending per register %v, want [0 1]", got)
	}
}

// TestScanBoundToPublishedSale: the publisher of a new sale reports it
// (SaleChanged) after the cart is already live on the displays; a scan read
// in between belongs to the new sale. Bound through Options.Sale (the
// stream's current cart), it carries the new order and survives the late
// report; bound to the last report, it was dropped as sale_changed (seen
// under load in the Commerce end-to-end test: the next customer's first
// scan never arrived).
func TestScanBoundToPublishedSale(t *testing.T) {
	var cur saleAt
	f := newFixture(t, Options{Sale: func(string) (uint64, string, cart.State) { return cur.seq, cur.order, cur.state }})
	f.pages.set("1", false) // the page is loading: scans wait
	cur = saleAt{1, "101", cart.StateOpen}
	f.r.SaleChanged("1", 1, "101", cart.StateOpen)
	old := f.scan("1", "4006381333931")

	// Order 102 is published (and shown); its report is late.
	cur = saleAt{2, "102", cart.StateIdle}
	next := f.scan("1", "0012345678905")
	f.r.SaleChanged("1", 2, "102", cart.StateIdle) // the late report: already seen

	if got := f.r.Pending("1"); got != 1 {
		t.Fatalf("pending %d, want 1 (the new sale's scan %s; %s dropped)", got, next, old)
	}
	if got := f.countReason(t, "dropped", "sale_changed"); got != 1 {
		t.Fatalf("dropped{sale_changed} = %v, want 1 (only %s)", got, old)
	}
	f.connect("1")
	if got := f.pages.lastMsg(t); got.ID != next || got.Order != "102" {
		t.Fatalf("sent %+v, want %s with order 102", got, next)
	}
}
