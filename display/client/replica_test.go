package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

const reg = "lane-1"

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func snapMsg(tb testing.TB, p protocol.Position, c cart.Cart) []byte {
	return mustJSON(tb, protocol.Snapshot{Type: protocol.TypeSnapshot, Position: p, Cart: c})
}

func deltaMsg(tb testing.TB, p protocol.Position, ops []cart.Op) []byte {
	return mustJSON(tb, protocol.Delta{Type: protocol.TypeDelta, Position: p, Ops: ops})
}

// synced returns a replica holding c at e1/seq after a snapshot.
func synced(tb testing.TB, c cart.Cart, seq uint64) *replica {
	tb.Helper()
	r := &replica{register: reg}
	if v, err := r.handleData(snapMsg(tb, protocol.Position{Epoch: "e1", Seq: seq}, c), time.Now()); v != wentLive || err != nil {
		tb.Fatalf("snapshot: got %v, %v, want wentLive, nil", v, err)
	}
	return r
}

func posE1(seq uint64) protocol.Position { return protocol.Position{Epoch: "e1", Seq: seq} }

func TestReplicaOps(t *testing.T) {
	base := clienttest.Cart(reg, 3) // l0 l1 l2
	withLine := func(c cart.Cart, f func(*cart.Cart)) cart.Cart {
		c = c.Clone()
		f(&c)
		return clienttest.Totalled(c)
	}
	added := withLine(base, func(c *cart.Cart) {
		c.Lines = slices.Insert(c.Lines, 1, clienttest.Line("n1", "New", 2, 250))
	})
	updated := withLine(base, func(c *cart.Cart) { c.Lines[2] = clienttest.Line("l2", "Item 2", 3, 102) })
	removed := withLine(base, func(c *cart.Cart) { c.Lines = slices.Delete(c.Lines, 0, 1) })
	moved := withLine(base, func(c *cart.Cart) { c.Lines = []cart.Line{c.Lines[2], c.Lines[0], c.Lines[1]} })
	discounted := withLine(base, func(c *cart.Cart) {
		c.Discount = 10
		c.Taxes = []cart.TaxLine{{Label: "VAT 7%", Amount: 21}}
	})
	paying := withLine(base, func(c *cart.Cart) {
		c.State = cart.StatePayment
		c.Message = "Thank you"
	})
	paying.Payment = &cart.Payment{Due: paying.Total, Tendered: 1000, Change: 1000 - paying.Total, Method: "cash"}

	tests := []struct {
		name        string
		to          cart.Cart
		wantKind    cart.OpKind
		wantChanged []string
	}{
		{"add", added, cart.OpAdd, []string{"n1"}},
		{"update", updated, cart.OpUpdate, []string{"l2"}},
		{"remove", removed, cart.OpRemove, nil},
		{"move", moved, cart.OpMove, nil},
		{"totals", discounted, cart.OpTotals, nil},
		{"header", paying, cart.OpHeader, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := synced(t, base, 7)
			ops := cart.Diff(base, tt.to)
			if !slices.ContainsFunc(ops, func(o cart.Op) bool { return o.Op == tt.wantKind }) {
				t.Fatalf("Diff gave %+v, want a %s op", ops, tt.wantKind)
			}
			v, err := r.handleData(deltaMsg(t, protocol.Position{Epoch: "e1", Seq: 8}, ops), time.Now())
			if v != changed || err != nil {
				t.Fatalf("delta: got %v, %v, want changed, nil", v, err)
			}
			if !cart.Equal(r.cart, tt.to) {
				t.Errorf("cart: got %+v, want %+v", r.cart, tt.to)
			}
			if r.pos.Seq != 8 {
				t.Errorf("seq: got %d, want 8", r.pos.Seq)
			}
			if !slices.Equal(r.changed, tt.wantChanged) {
				t.Errorf("changed: got %q, want %q", r.changed, tt.wantChanged)
			}
		})
	}
}

func TestReplicaStream(t *testing.T) {
	base := clienttest.Cart(reg, 2)
	next := clienttest.Totalled(func() cart.Cart {
		c := base.Clone()
		c.Lines = append(c.Lines, clienttest.Line("l9", "Milk", 1, 99))
		return c
	}())
	ops := cart.Diff(base, next)
	p := func(e string, s uint64) protocol.Position { return protocol.Position{Epoch: e, Seq: s} }
	tests := []struct {
		name     string
		msg      []byte
		want     verdict
		wantSeq  uint64
		wantCart cart.Cart
		wantErr  error
	}{
		{"next delta", deltaMsg(t, p("e1", 6), ops), changed, 6, next, nil},
		{"duplicate", deltaMsg(t, p("e1", 5), ops), ignored, 5, base, nil},
		{"old", deltaMsg(t, p("e1", 2), ops), ignored, 5, base, nil},
		{"gap", deltaMsg(t, p("e1", 7), ops), outOfStep, 5, base, ErrOutOfStep},
		{"other epoch", deltaMsg(t, p("e2", 6), ops), outOfStep, 5, base, ErrOutOfStep},
		{"snapshot other epoch", snapMsg(t, p("e2", 1), next), wentLive, 1, next, nil},
		{"older snapshot", snapMsg(t, p("e1", 3), next), wentLive, 3, next, nil},
		{"snapshot other register", snapMsg(t, p("e1", 9), clienttest.Cart("lane-2", 1)), outOfStep, 5, base, ErrOutOfStep},
		{"resumed here", mustJSON(t, protocol.Resumed{Type: "resumed", Position: p("e1", 5)}), wentLive, 5, base, nil},
		{"resumed elsewhere", mustJSON(t, protocol.Resumed{Type: "resumed", Position: p("e1", 4)}), outOfStep, 5, base, ErrOutOfStep},
		{"unknown type", []byte(`{"type":"promo","url":"x"}`), ignored, 5, base, nil},
		{"not json", []byte(`{"type":"delta",`), outOfStep, 5, base, ErrOutOfStep},
		{"not an object", []byte(`[1,2]`), outOfStep, 5, base, ErrOutOfStep},
		{"invalid snapshot", []byte(`{"type":"snapshot","epoch":"e1","seq":9,"cart":{"register":"lane-1"}}`), outOfStep, 5, base, ErrOutOfStep},
		{"error", mustJSON(t, protocol.NewError(nil, protocol.CodeUnauthorized, "", "bad token")), ignored, 5, base, &protocol.Error{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := synced(t, base, 5)
			v, err := r.handleData(tt.msg, time.Now())
			if v != tt.want {
				t.Errorf("verdict: got %v (%v), want %v", v, err, tt.want)
			}
			var pe *protocol.Error
			switch want := tt.wantErr.(type) {
			case nil:
				if err != nil {
					t.Errorf("err: got %v, want nil", err)
				}
			case *protocol.Error:
				if !errors.As(err, &pe) {
					t.Errorf("err: got %v, want a *protocol.Error", err)
				}
			default:
				if !errors.Is(err, want) {
					t.Errorf("err: got %v, want %v", err, want)
				}
			}
			if r.pos.Seq != tt.wantSeq {
				t.Errorf("seq: got %d, want %d", r.pos.Seq, tt.wantSeq)
			}
			if !cart.Equal(r.cart, tt.wantCart) {
				t.Errorf("cart: got %+v, want %+v", r.cart, tt.wantCart)
			}
			if err := r.cart.Validate(); err != nil {
				t.Errorf("replica holds an invalid cart: %v", err)
			}
		})
	}
}

func TestReplicaRejectsHostileDeltas(t *testing.T) {
	base := clienttest.Cart(reg, 3)
	good := clienttest.Line("l1", "Item 1", 1, 101)
	line := func(f func(*cart.Line)) *cart.Line { l := good; f(&l); return &l }
	tests := []struct {
		name string
		ops  string // JSON array
	}{
		{"unknown op", `[{"op":"explode","index":0}]`},
		{"index past end", fmt.Sprintf(`[{"op":"update","index":3,"line":%s}]`, mustJSON(t, good))},
		{"negative index", fmt.Sprintf(`[{"op":"add","index":-1,"line":%s}]`, mustJSON(t, good))},
		{"id mismatch", `[{"op":"remove","index":0,"id":"l9"}]`},
		{"move without from", `[{"op":"move","index":0,"id":"l1"}]`},
		{"negative quantity", fmt.Sprintf(`[{"op":"update","index":1,"line":%s}]`, mustJSON(t, line(func(l *cart.Line) { l.Quantity = -1000 })))},
		{"negative price", fmt.Sprintf(`[{"op":"update","index":1,"line":%s}]`, mustJSON(t, line(func(l *cart.Line) { l.UnitPrice, l.Total = -101, -101 })))},
		{"total does not add up", fmt.Sprintf(`[{"op":"update","index":1,"line":%s}]`, mustJSON(t, line(func(l *cart.Line) { l.Total = 1 })))},
		{"huge title", fmt.Sprintf(`[{"op":"update","index":1,"line":%s}]`, mustJSON(t, line(func(l *cart.Line) { l.Title = strings.Repeat("A", 100_000) })))},
		{"control characters", fmt.Sprintf(`[{"op":"update","index":1,"line":%s}]`, mustJSON(t, line(func(l *cart.Line) { l.Title = "Item\u202e1" })))},
		{"float money", `[{"op":"totals","totals":{"subtotal":1.5,"discount":0,"taxes":[],"total":1.5}}]`},
		{"header without payload", `[{"op":"header"}]`},
		{"bad state", `[{"op":"header","header":{"currency":"USD","state":"hacked"}}]`},
		{"too many ops", "[" + strings.Repeat(`{"op":"totals"},`, cart.MaxOps) + `{"op":"totals"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := synced(t, base, 5)
			msg := []byte(`{"type":"delta","epoch":"e1","seq":6,"ops":` + tt.ops + `}`)
			v, err := r.handleData(msg, time.Now())
			if v != outOfStep || !errors.Is(err, ErrOutOfStep) {
				t.Errorf("got %v, %v, want outOfStep, ErrOutOfStep", v, err)
			}
			if !cart.Equal(r.cart, base) || r.pos.Seq != 5 {
				t.Errorf("replica changed: got seq %d cart %+v, want seq 5 and the snapshot", r.pos.Seq, r.cart)
			}
			if r.resume() != nil {
				t.Errorf("resume: got %+v, want nil (snapshot) after a failed delta", r.resume())
			}
		})
	}
}

func TestReplicaCue(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		msg     string
		wantCue string
		want    verdict
	}{
		{`{"type":"cue","register":"lane-1","cue":"scanning"}`, "scanning", changed},
		{`{"type":"cue","register":"lane-1","cue":""}`, "", ignored},
		{`{"type":"cue","register":"lane-1","cue":"` + strings.Repeat("x", 100) + `"}`, "", ignored},
		{`{"type":"cue","register":"lane-1","cue":"a\u0007b"}`, "", ignored},
	}
	for _, tt := range tests {
		r := synced(t, clienttest.Cart(reg, 1), 1)
		v, err := r.handleData([]byte(tt.msg), now)
		if v != tt.want || err != nil || r.cue != tt.wantCue {
			t.Errorf("%s: got %v, %v, cue %q, want %v, nil, cue %q", tt.msg, v, err, r.cue, tt.want, tt.wantCue)
		}
	}
}

func TestReplicaWelcome(t *testing.T) {
	tests := []struct {
		name     string
		welcome  protocol.Welcome
		wantCode string
	}{
		{"ours", protocol.Welcome{Type: "welcome", Protocol: protocol.Version, Register: reg}, ""},
		{"other register", protocol.Welcome{Type: "welcome", Protocol: protocol.Version, Register: "lane-2"}, protocol.CodeUnknownRegister},
		{"other version", protocol.Welcome{Type: "welcome", Protocol: protocol.Version + 1, Register: reg}, codeProtocol},
	}
	for _, tt := range tests {
		r := &replica{register: reg}
		_, err := r.handleData(mustJSON(t, tt.welcome), time.Now())
		var pe *protocol.Error
		got := ""
		if errors.As(err, &pe) {
			got = pe.Code
		}
		if got != tt.wantCode {
			t.Errorf("%s: got code %q (%v), want %q", tt.name, got, err, tt.wantCode)
		}
	}
}

// BenchmarkApplyDelta measures one delta (a quantity update of one line)
// applied to a 200-line replica: decode excluded, as the network read loop
// does it once per message anyway.
func BenchmarkApplyDelta(b *testing.B) {
	base := clienttest.Cart(reg, 200)
	next := base.Clone()
	next.Lines[100] = clienttest.Line("l100", "Item 100", 2, 200)
	next = clienttest.Totalled(next)
	ops := cart.Diff(base, next)
	r := synced(b, base, 1)
	d := &protocol.Delta{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: "e1"}, Ops: ops}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.cart, r.pos.Seq = base, 1
		d.Seq = 2
		if v, err := r.delta(d); v != changed {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkHandleDelta is the same delta including JSON decoding, the whole
// cost per message on the client goroutine.
func BenchmarkHandleDelta(b *testing.B) {
	base := clienttest.Cart(reg, 200)
	next := base.Clone()
	next.Lines[100] = clienttest.Line("l100", "Item 100", 2, 200)
	next = clienttest.Totalled(next)
	msg := deltaMsg(b, protocol.Position{Epoch: "e1", Seq: 2}, cart.Diff(base, next))
	r := synced(b, base, 1)
	b.ReportAllocs()
	b.SetBytes(int64(len(msg)))
	for b.Loop() {
		r.cart, r.pos.Seq = base, 1
		if v, err := r.handleData(msg, time.Now()); v != changed {
			b.Fatal(v, err)
		}
	}
}

// A restored snapshot stays marked until a delta arrives (the POS confirmed
// it with an empty delta, or sent a newer cart); its clock runs from the
// first time it was seen in the epoch, not from each resync.
func TestReplicaRestored(t *testing.T) {
	c := clienttest.Cart(reg, 2)
	t0 := time.Unix(1000, 0)
	restoredSnap := func(seq uint64) []byte {
		return mustJSON(t, protocol.Snapshot{Type: protocol.TypeSnapshot, Position: posE1(seq), Cart: c, Restored: true})
	}
	r := &replica{register: reg}
	if v, err := r.handleData(restoredSnap(0), t0); v != wentLive || err != nil || !r.restored || !r.restoredAt.Equal(t0) {
		t.Fatalf("restored snapshot: got %v, %v, restored=%v at %v", v, err, r.restored, r.restoredAt)
	}
	if _, err := r.handleData(restoredSnap(0), t0.Add(3*time.Second)); err != nil || !r.restoredAt.Equal(t0) {
		t.Fatalf("resync of the same restored cart: got at %v (%v), want the clock kept at %v", r.restoredAt, err, t0)
	}
	if v, err := r.handleData(deltaMsg(t, posE1(1), []cart.Op{}), t0.Add(4*time.Second)); v != changed || err != nil || r.restored {
		t.Fatalf("confirming empty delta: got %v, %v, restored=%v; want changed, unmarked", v, err, r.restored)
	}
	if !cart.Equal(r.cart, c) || r.pos.Seq != 1 {
		t.Fatalf("after confirmation: got seq %d %+v", r.pos.Seq, r.cart)
	}
	if _, err := r.handleData(snapMsg(t, posE1(1), c), t0.Add(5*time.Second)); err != nil || r.restored {
		t.Fatalf("plain snapshot: restored=%v, %v", r.restored, err)
	}
}
