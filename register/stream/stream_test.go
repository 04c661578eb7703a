package stream

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

func withLines(n int) cart.Cart {
	c := cart.Empty("r", "USD")
	c.State = cart.StateOpen
	for i := 0; i < n; i++ {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprint(i), Title: "x", Quantity: 1000, UnitPrice: 10, Total: 10})
		c.Subtotal += 10
	}
	c.Total = c.Subtotal
	return c
}

func TestPublishSequencesAndSkipsNoops(t *testing.T) {
	s := New("r", "e1", cart.Empty("r", "USD"), 8)
	now := time.Now()
	for i := 1; i <= 3; i++ {
		res, err := s.Publish(withLines(i), now)
		if err != nil || !res.Changed || res.Seq != uint64(i) {
			t.Fatalf("publish %d: got %+v %v", i, res, err)
		}
	}
	res, err := s.Publish(withLines(3), now)
	if err != nil || res.Changed || res.Seq != 3 {
		t.Fatalf("identical cart: got %+v %v, want unchanged at 3", res, err)
	}
	if _, err := s.Publish(cart.Empty("other", "USD"), now); err == nil {
		t.Fatal("cart of another register: got nil error")
	}
	res, _ = s.Clear(now)
	if c := s.Cart(); res.Seq != 4 || c.State != cart.StateIdle || len(c.Lines) != 0 || c.Currency != "USD" {
		t.Fatalf("clear: got %+v at %d", c, res.Seq)
	}
}

func TestSubscribeCatchUp(t *testing.T) {
	s := New("r", "e1", cart.Empty("r", "USD"), 3)
	for i := 1; i <= 5; i++ {
		s.Publish(withLines(i), time.Now())
	}
	cases := []struct {
		name   string
		resume *protocol.Position
		kinds  []string
		seqs   []uint64
	}{
		{"fresh", nil, []string{"snapshot"}, []uint64{5}},
		{"in history", &protocol.Position{Epoch: "e1", Seq: 3}, []string{"resumed", "delta", "delta"}, []uint64{3, 4, 5}},
		{"oldest resumable", &protocol.Position{Epoch: "e1", Seq: 2}, []string{"resumed", "delta", "delta", "delta"}, []uint64{2, 3, 4, 5}},
		{"current", &protocol.Position{Epoch: "e1", Seq: 5}, []string{"resumed"}, []uint64{5}},
		{"overrun", &protocol.Position{Epoch: "e1", Seq: 1}, []string{"snapshot"}, []uint64{5}},
		{"ahead", &protocol.Position{Epoch: "e1", Seq: 9}, []string{"snapshot"}, []uint64{5}},
		{"other epoch", &protocol.Position{Epoch: "e0", Seq: 3}, []string{"snapshot"}, []uint64{5}},
	}
	for _, tc := range cases {
		sub := NewSub(4)
		frames, err := s.Subscribe(tc.resume, sub)
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) != len(tc.kinds) {
			t.Fatalf("%s: got %d frames, want %d", tc.name, len(frames), len(tc.kinds))
		}
		for i, f := range frames {
			if f.Kind != tc.kinds[i] || f.Seq != tc.seqs[i] {
				t.Fatalf("%s: frame %d got %s@%d, want %s@%d", tc.name, i, f.Kind, f.Seq, tc.kinds[i], tc.seqs[i])
			}
		}
		s.Unsubscribe(sub)
		s.Unsubscribe(sub)
	}
}

func TestSlowSubscriberOverflows(t *testing.T) {
	s := New("r", "e1", cart.Empty("r", "USD"), 100)
	slow, fast := NewSub(2), NewSub(100)
	s.Subscribe(nil, slow)
	s.Subscribe(nil, fast)
	for i := 1; i <= 10; i++ {
		s.Publish(withLines(i), time.Now())
	}
	if len(fast.C) != 10 || fast.TakeOverflow() {
		t.Fatalf("fast subscriber: %d frames queued, want 10 and no overflow", len(fast.C))
	}
	if !slow.TakeOverflow() || slow.TakeOverflow() {
		t.Fatal("slow subscriber: want one overflow mark, cleared after taking it")
	}
	slow.Drain()
	if len(slow.C) != 0 {
		t.Fatal("drain left frames")
	}
	// Every delta frame decodes and applies in order to the initial cart.
	c := cart.Empty("r", "USD")
	for i := 1; i <= 10; i++ {
		f := <-fast.C
		var d protocol.Delta
		if err := json.Unmarshal(f.Data, &d); err != nil || d.Seq != uint64(i) || d.Epoch != "e1" {
			t.Fatalf("frame %d: %+v %v", i, d.Position, err)
		}
		var err error
		if c, err = cart.Apply(c, d.Ops); err != nil {
			t.Fatalf("apply %d: %v", i, err)
		}
	}
	if !cart.Equal(c, s.Cart()) {
		t.Fatal("replayed deltas do not rebuild the current cart")
	}
	snap := s.Snapshot()
	again := s.Snapshot()
	if snap != again {
		t.Fatal("snapshot of an unchanged cart was encoded twice")
	}
}

func BenchmarkPublish200Lines(b *testing.B) {
	s := New("r", "e1", withLines(200), 256)
	subs := make([]*Sub, 100)
	for i := range subs {
		subs[i] = NewSub(64)
		s.Subscribe(nil, subs[i])
	}
	carts := [2]cart.Cart{withLines(200), withLines(200)}
	carts[1].Lines[100].Quantity = 2000
	carts[1].Lines[100].Total = 20
	carts[1].Subtotal += 10
	carts[1].Total += 10
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := s.Publish(carts[i%2], time.Now()); err != nil {
			b.Fatal(err)
		}
		for _, sub := range subs {
			sub.Drain()
		}
	}
}

// A restored cart is marked in snapshots until the POS confirms it (the same
// cart: a delta with no ops) or replaces it; then the mark is gone for good.
func TestRestoredUntilConfirmed(t *testing.T) {
	c := cart.Empty("1", "EUR")
	c.Order = "A-1"
	for _, tc := range []struct {
		name string
		next cart.Cart
		ops  int
	}{
		{"same cart confirms", c, 0},
		{"newer cart replaces", cart.Empty("1", "EUR"), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New("1", "e", c, 8)
			s.MarkRestored()
			snap := func() protocol.Snapshot {
				f := s.Snapshot()
				var m protocol.Snapshot
				if err := json.Unmarshal(f.Data, &m); err != nil {
					t.Fatal(err)
				}
				return m
			}
			if m := snap(); !m.Restored || m.Seq != 0 {
				t.Fatalf("before the POS spoke: got restored=%v seq %d, want true 0", m.Restored, m.Seq)
			}
			sub := NewSub(4)
			if _, err := s.Subscribe(nil, sub); err != nil {
				t.Fatal(err)
			}
			res, err := s.Publish(tc.next, time.Now())
			if err != nil || !res.Changed || res.Seq != 1 || res.Ops != tc.ops {
				t.Fatalf("publish: got %+v, %v; want a change to seq 1 with %d ops", res, err, tc.ops)
			}
			var d protocol.Delta
			if err := json.Unmarshal((<-sub.C).Data, &d); err != nil || d.Seq != 1 || len(d.Ops) != tc.ops || d.Ops == nil {
				t.Fatalf("delta: got %+v, %v", d, err)
			}
			if m := snap(); m.Restored || s.Restored() {
				t.Fatal("after the POS spoke: still restored")
			}
			// From now on an identical cart is no change, as always.
			if res, _ := s.Publish(tc.next, time.Now()); res.Changed {
				t.Fatalf("identical cart after confirmation: got %+v, want no change", res)
			}
		})
	}
}

// A subscriber's queue is bounded by bytes as well as frames: a few huge
// deltas overflow it as many small ones do, and the reader taking frames
// makes room again.
func TestSubBoundedByBytes(t *testing.T) {
	sub := NewSub(64)
	sub.LimitBytes(1 << 20)
	big := &Frame{Kind: protocol.TypeDelta, Seq: 1, Data: make([]byte, 300<<10)}
	for i := range 3 {
		sub.push(big)
		if sub.TakeOverflow() {
			t.Fatalf("overflow after %d deltas of 300 KiB, want room for 3", i+1)
		}
	}
	sub.push(big)
	if !sub.TakeOverflow() {
		t.Fatal("a 4th delta of 300 KiB went over 1 MiB without overflow")
	}
	sub.Taken(<-sub.C)
	sub.push(big)
	if sub.TakeOverflow() {
		t.Fatal("no room after the reader took a delta")
	}
	// One delta above the bound still goes through an empty queue.
	sub.Drain()
	sub.push(&Frame{Kind: protocol.TypeDelta, Data: make([]byte, 2<<20)})
	if sub.TakeOverflow() || len(sub.C) != 1 {
		t.Fatal("a single huge delta into an empty queue overflowed")
	}
}
