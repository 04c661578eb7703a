package store

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
)

// A write starts CommitDelay after the Save that woke the writer, and covers
// every cart saved meanwhile: a second save while the writer waits joins
// the write, which holds the newer cart, and both learn its outcome then,
// not before. In the bubble, time moves only when every goroutine waits,
// so the outcome's arrival time is the delay the writer chose.
func TestCommitDelayGroupsSaves(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, t.TempDir())
		writes := recordWrites(t, s, nil)
		start := time.Now()
		first := s.Save(cart.Empty("1", "EUR"), 1)
		synctest.Wait() // the writer is woken and waits out the delay
		second := s.Save(sample("1"), 2)
		synctest.Wait()
		select {
		case err := <-first:
			t.Fatalf("written (%v) at once, want after CommitDelay (%v)", err, CommitDelay)
		default:
		}
		for _, ch := range []<-chan error{first, second} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		if took := time.Since(start); took != CommitDelay {
			t.Errorf("outcome %v after the first save, want CommitDelay (%v)", took, CommitDelay)
		}
		if len(*writes) != 1 || !cart.Equal((*writes)[0].Cart, sample("1")) {
			t.Errorf("writes: got %+v, want one, of the newer cart", *writes)
		}
	})
}

// Close does not wait out the delay: the queued cart is written at once.
func TestCloseCutsCommitDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := open(t, t.TempDir())
		writes := recordWrites(t, s, nil)
		start := time.Now()
		saved := s.Save(sample("1"), 1)
		synctest.Wait() // the writer waits out the delay
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-saved; err != nil {
			t.Fatalf("cart queued at Close: %v, want written", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("Close took %v of the commit delay, want none", took)
		}
		if len(*writes) != 1 {
			t.Errorf("writes: got %d, want 1", len(*writes))
		}
	})
}
