package stream

import (
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
)

// TestPublishReportsCrowded checks the mark that makes Publish yield to
// the subscribers' readers: set once a queue is half full, not by an
// emptier queue, and not by a queue that has already overflowed (a
// stalled display must not make every later publish yield).
func TestPublishReportsCrowded(t *testing.T) {
	s := New("r", "e1", cart.Empty("r", "USD"), 100)
	small, big := NewSub(4), NewSub(100)
	s.Subscribe(nil, small)
	s.Subscribe(nil, big)
	want := []bool{false, true, true, true, false, false} // small holds 1, 2, 3, 4, then overflows
	for i, w := range want {
		s.mu.Lock()
		_, crowded, err := s.publishLocked(withLines(i+1), time.Now())
		s.mu.Unlock()
		if err != nil {
			t.Fatal(err)
		}
		if crowded != w {
			t.Errorf("publish %d: got crowded %v, want %v", i+1, crowded, w)
		}
	}
	if !small.TakeOverflow() || big.TakeOverflow() {
		t.Error("want the small queue overflowed and the big one not")
	}
	small.Drain()
	if _, err := s.Publish(withLines(1), time.Now()); err != nil { // yields; must not block
		t.Fatal(err)
	}
	if got := len(small.C); got != 1 {
		t.Errorf("after drain: got %d frames queued, want 1", got)
	}
}
