package stream

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// bigCart is a cart of n lines with long titles; tag makes its line ids
// differ from another bigCart's, so that switching carts replaces every line.
func bigCart(tag string, n int) cart.Cart {
	c := cart.Empty("1", "USD")
	c.State = cart.StateOpen
	for i := range n {
		c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("%s%03d", tag, i), Title: strings.Repeat("<", cart.MaxTitleLen),
			Quantity: 1000, UnitPrice: 1, Total: 1})
	}
	c.Subtotal, c.Total = cart.Money(n), cart.Money(n)
	return c
}

// History is bounded in bytes as well as in deltas: huge carts alternating
// must not pin hundreds of MiB per register.
func TestHistoryBoundedInBytes(t *testing.T) {
	s := New("1", "e1", cart.Empty("1", "USD"), 256)
	a, b := bigCart("a", 500), bigCart("b", 500)
	const publishes = 48 // each replaces 500 lines: about 1 MiB of delta
	for i := range publishes {
		c := a
		if i%2 == 1 {
			c = b
		}
		if _, err := s.Publish(c, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	s.mu.Lock()
	n, size, sum := len(s.hist), s.histLen, 0
	for _, f := range s.hist {
		sum += len(f.Data)
	}
	first, last := s.hist[0].Seq, s.hist[n-1].Seq
	s.mu.Unlock()
	if size != sum {
		t.Fatalf("histLen: got %d, want %d (the sum of the frames)", size, sum)
	}
	if size > maxHistoryBytes {
		t.Errorf("history holds %d bytes, want at most %d", size, maxHistoryBytes)
	}
	if n >= publishes || last != publishes || first != uint64(publishes-n+1) {
		t.Errorf("history: got %d frames, seq %d..%d; want fewer than %d, contiguous, ending at %d", n, first, last, publishes, publishes)
	}
	// A display resuming before the history gets a snapshot; one resuming
	// inside it gets the missing deltas.
	tests := []struct {
		resume   uint64
		wantKind string
		wantN    int
	}{
		{first - 2, protocol.TypeSnapshot, 1},
		{first - 1, protocol.TypeResumed, n + 1},
		{publishes - 1, protocol.TypeResumed, 2},
	}
	for _, tc := range tests {
		sub := NewSub(4)
		frames, err := s.Subscribe(&protocol.Position{Epoch: "e1", Seq: tc.resume}, sub)
		s.Unsubscribe(sub)
		if err != nil {
			t.Fatal(err)
		}
		if frames[0].Kind != tc.wantKind || len(frames) != tc.wantN {
			t.Errorf("resume at %d: got %s and %d frames, want %s and %d", tc.resume, frames[0].Kind, len(frames), tc.wantKind, tc.wantN)
		}
	}
}
