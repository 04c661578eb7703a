package stream

import (
	"bytes"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// withReturn is withLines(n) plus a returned item of 25, which makes the
// subtotal n*10-25 (negative for n < 3).
func withReturn(n int) cart.Cart {
	c := withLines(n)
	c.Lines = append(c.Lines, cart.Line{ID: "ret", Title: "back", Quantity: 1000, UnitPrice: 25, Total: 25, Return: true})
	c.Subtotal -= 25
	c.Total = c.Subtotal
	return c
}

// replica applies frames as a display does: snapshots replace, deltas apply.
func applyFrame(t *testing.T, c cart.Cart, data []byte) cart.Cart {
	t.Helper()
	m, err := protocol.DecodeServer(data)
	if err != nil {
		t.Fatalf("DecodeServer(%s): %v", data, err)
	}
	switch {
	case m.Snapshot != nil:
		return m.Snapshot.Cart
	case m.Delta != nil:
		got, err := cart.Apply(c, m.Delta.Ops)
		if err != nil {
			t.Fatalf("Apply(%s): %v", data, err)
		}
		return got
	}
	t.Fatalf("frame %s is neither a snapshot nor a delta", data)
	return c
}

// TestV1ViewFrames: through a sale that gains and loses a return line, a
// display that announced returns follows the carts themselves, and one that
// did not follows cart.V1View of them, on the same seqs, and is never sent a
// return line.
func TestV1ViewFrames(t *testing.T) {
	s := New("r", "e1", cart.Empty("r", "USD"), 16)
	sub := NewSub(16)
	if _, err := s.Subscribe(nil, sub); err != nil {
		t.Fatal(err)
	}
	steps := []cart.Cart{withLines(1), withReturn(1), withReturn(2), withReturn(4), withLines(4), cart.Empty("r", "USD")}
	withRet, v1 := cart.Empty("r", "USD"), cart.Empty("r", "USD")
	for i, c := range steps {
		if _, err := s.Publish(c, time.Now()); err != nil {
			t.Fatal(err)
		}
		f := <-sub.C
		if (f.V1 != nil) != (c.HasReturns() || (i > 0 && steps[i-1].HasReturns())) {
			t.Fatalf("step %d: V1 encoding present = %v, want it exactly when a cart has returns", i, f.V1 != nil)
		}
		if bytes.Contains(f.For(false), []byte(`"return"`)) {
			t.Fatalf("step %d: a version 1 display was sent a return line: %s", i, f.For(false))
		}
		withRet = applyFrame(t, withRet, f.For(true))
		v1 = applyFrame(t, v1, f.For(false))
		if !cart.Equal(withRet, c) {
			t.Fatalf("step %d: returns-aware replica %+v, want %+v", i, withRet, c)
		}
		if !cart.Equal(v1, cart.V1View(c)) {
			t.Fatalf("step %d: version 1 replica %+v, want %+v", i, v1, cart.V1View(c))
		}
		snap := s.Snapshot()
		if got := applyFrame(t, cart.Cart{}, snap.For(false)); !cart.Equal(got, cart.V1View(c)) {
			t.Fatalf("step %d: version 1 snapshot %+v, want %+v", i, got, cart.V1View(c))
		}
		if got := applyFrame(t, cart.Cart{}, snap.For(true)); !cart.Equal(got, c) {
			t.Fatalf("step %d: snapshot %+v, want %+v", i, got, c)
		}
	}
}

// TestV1ViewEmptyDeltaKeepsSeq: a change inside a cart with returns leaves
// the version 1 view as it was; the version 1 delta has no ops but still
// carries the next seq, with "ops" an array.
func TestV1ViewEmptyDeltaKeepsSeq(t *testing.T) {
	s := New("r", "e1", withReturn(1), 16)
	res, err := s.Publish(withReturn(2), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	f := s.hist[len(s.hist)-1]
	if !bytes.Contains(f.V1, []byte(`"ops":[]`)) || !bytes.Contains(f.V1, []byte(`"seq":1`)) || res.Seq != 1 {
		t.Fatalf("version 1 delta %s at seq %d, want seq 1 with an empty ops array", f.V1, res.Seq)
	}
}

// BenchmarkPublish200LinesWithReturn is BenchmarkPublish200Lines on carts
// with a return line: each change is also encoded in the version 1 view.
func BenchmarkPublish200LinesWithReturn(b *testing.B) {
	s := New("r", "e1", withReturn(200), 256)
	subs := make([]*Sub, 100)
	for i := range subs {
		subs[i] = NewSub(64)
		s.Subscribe(nil, subs[i])
	}
	carts := [2]cart.Cart{withReturn(200), withReturn(200)}
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
