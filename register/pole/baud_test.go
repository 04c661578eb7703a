package pole_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/pole"
	"github.com/posdisplay/posdisplay/register/stream"
)

// wirePort is a serial port at a given baud rate: each write takes the
// time its bytes take on the wire (10 bits a byte: start, 8 data, stop).
type wirePort struct {
	baud   int
	closed chan struct{}
	once   sync.Once
}

func (w *wirePort) wire(n int) time.Duration {
	return time.Duration(n) * 10 * time.Second / time.Duration(w.baud)
}

func (w *wirePort) Write(b []byte) (int, error) {
	time.Sleep(w.wire(len(b)))
	return len(b), nil
}

func (w *wirePort) Read([]byte) (int, error) {
	<-w.closed
	return 0, os.ErrClosed
}

func (w *wirePort) Close() error {
	w.once.Do(func() { close(w.closed) })
	return nil
}

// TestNineSixHundredBaud rings up a change every 20 ms on a display whose
// every update takes 50 ms on the wire (9600 baud): the pole skips the
// carts it had no time for, and the last change is on the glass at most
// two wire times after it was made (the write in flight, then its own).
func TestNineSixHundredBaud(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &wirePort{baud: 9600, closed: make(chan struct{})}
		var mu sync.Mutex
		var writes []pole.Write
		p, err := pole.New(pole.Config{Name: "9600"}, pole.Options{
			Open: func() (pole.Port, string, error) { return port, "wire", nil },
			Wrote: func(w pole.Write) {
				mu.Lock()
				writes = append(writes, w)
				mu.Unlock()
			}})
		if err != nil {
			t.Fatal(err)
		}
		st := stream.New("1", "e1", cart.Empty("1", "USD"), 64)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, st) }()
		defer func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		}()
		synctest.Wait()

		const n = 50
		var last cart.Cart
		var lastAt time.Time
		for i := range n {
			last = openCart("Item", cart.Money(100+i))
			lastAt = time.Now()
			if _, err := st.Publish(last, lastAt); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(time.Second) // fake time: long past any write in flight
		synctest.Wait()
		mu.Lock()
		got := append([]pole.Write(nil), writes...)
		mu.Unlock()
		final := got[len(got)-1]
		if !cart.Equal(final.Cart, last) {
			t.Fatalf("last write shows total %d, want the last cart's %d", final.Cart.Total, last.Total)
		}
		wire := port.wire(final.Bytes)
		if d := final.Done.Sub(lastAt); d > 2*port.wire(48) {
			t.Errorf("last change on the glass after %v, want at most two updates' wire time (%v)", d, 2*port.wire(48))
		}
		if len(got) >= n {
			t.Errorf("writes for %d changes 20 ms apart at 9600 baud: got %d, want fewer (coalesced)", n, len(got))
		}
		t.Logf("%d changes, %d writes; last change to glass %v (one update is %v on the wire)", n, len(got), final.Done.Sub(lastAt), wire)
	})
}

// failPort opens but fails every write: a display that is there and
// broken, or a port that is not a display.
type failPort struct{ wirePort }

func (*failPort) Write([]byte) (int, error) { return 0, os.ErrDeadlineExceeded }

// TestBrokenPortBacksOff: a port that opens but never takes a write is
// reopened with backoff, not in a tight loop.
func TestBrokenPortBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		opens := 0
		p, err := pole.New(pole.Config{Name: "broken"}, pole.Options{
			RetryMin: 500 * time.Millisecond, RetryMax: 15 * time.Second,
			Open: func() (pole.Port, string, error) {
				mu.Lock()
				opens++
				mu.Unlock()
				return &failPort{wirePort{closed: make(chan struct{})}}, "broken", nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, stream.New("1", "e1", cart.Empty("1", "USD"), 4)) }()
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		// 0, 0.5, 1, 2, 4, 8, 15, 15, 15 s: 9 or so opens in a minute.
		if opens > 12 {
			t.Errorf("opens in a minute of failed writes: got %d, want at most 12", opens)
		}
		t.Logf("%d opens in a minute", opens)
	})
}

// TestMarquee: a welcome text wider than the display scrolls one
// character at a time while the register is idle, and stops as soon as a
// sale starts.
func TestMarquee(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		port := &wirePort{baud: 9600, closed: make(chan struct{})}
		var mu sync.Mutex
		var rows []string
		p, err := pole.New(pole.Config{Name: "marquee", Marquee: 300 * time.Millisecond,
			Templates: map[string][]string{"welcome": {"Fresh bread daily at the Corner Store", "Welcome!"}}},
			pole.Options{Open: func() (pole.Port, string, error) { return port, "wire", nil },
				Wrote: func(w pole.Write) {
					mu.Lock()
					rows = append(rows, string(w.Screen[0][:]))
					mu.Unlock()
				}})
		if err != nil {
			t.Fatal(err)
		}
		st := stream.New("1", "e1", cart.Empty("1", "USD"), 4)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx, st) }()
		defer func() {
			cancel()
			<-done
		}()
		time.Sleep(1100 * time.Millisecond) // three slides: 300 ms apart after each write
		synctest.Wait()
		mu.Lock()
		got := append([]string(nil), rows...)
		mu.Unlock()
		want := []string{"Fresh bread daily at", "resh bread daily at ", "esh bread daily at t", "sh bread daily at th"}
		if len(got) != len(want) {
			t.Fatalf("rows after 1 s: got %q, want %q", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("slide %d: got %q, want %q", i, got[i], want[i])
			}
		}
		if _, err := st.Publish(openCart("Milk", 199), time.Now()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(rows) != len(want)+1 || rows[len(rows)-1] != "Milk                " {
			t.Errorf("after a sale started: got %q, want one more row, the item, and no more sliding", rows[len(want):])
		}
	})
}
