package chaos

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client"
)

// TestKillUnderLoad kills the agent with SIGKILL while a POS page sends 50
// carts a second and displays follow, restarts it on the same state
// directory, and checks what the displays showed:
//   - no cart that was never sent;
//   - the restored cart always marked restored, never shown as live;
//   - the restored cart is the last acked one or newer (acks are durable);
//   - every display correct within 1 s of the POS re-sending its cart.
func TestKillUnderLoad(t *testing.T) {
	rounds, displays := 3, 3
	if *long {
		rounds, displays = 20, 10
	}
	const tag = "k"
	cfg := newAgentConfig(t)
	a := startAgent(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ws := watch(t, ctx, a.displayURL(), displays)
	t.Cleanup(cancel) // runs before watch's cleanup waits for the clients

	sent := map[string]bool{"": true} // the empty cart of the first start
	firstEpoch := ""
	if h, err := a.health(); err == nil {
		firstEpoch = h.Epoch
	}
	var marked, confirmed []time.Duration
	var behind []int
	n := 0
	for round := range rounds {
		pos, err := dialPOS(a)
		if err != nil {
			t.Fatalf("round %d: POS: %v", round, err)
		}
		tick := time.NewTicker(20 * time.Millisecond) // 50 changes/s
		end := time.After(400*time.Millisecond + rand.N(800*time.Millisecond))
	load:
		for {
			select {
			case <-tick.C:
				n++
				c := cartN(tag, n)
				sent[c.Order] = true
				if err := pos.send(c, n); err != nil {
					t.Fatalf("round %d: send: %v", round, err)
				}
			case <-end:
				break load
			}
		}
		tick.Stop()
		a.kill()
		killed := time.Now()
		acked := pos.lastAcked()
		pos.close()
		onDisk, err := stateCart(cfg.stateDir)
		if err != nil {
			t.Fatalf("round %d: state file after kill: %v", round, err)
		}
		idx, _ := orderIndex(onDisk.Order, tag)
		if idx < acked {
			t.Errorf("round %d: cart %d acked but the disk holds %d", round, acked, idx)
		}
		behind = append(behind, n-idx)

		a = startAgent(t, cfg)
		h, err := a.health()
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range ws {
			at, ok := w.waitFor(10*time.Second, func(v client.View) bool {
				return v.Status == client.StatusLive && v.Position.Epoch == h.Epoch
			})
			if !ok {
				t.Fatalf("round %d: display %d not live in the new epoch within 10 s", round, i)
			}
			marked = append(marked, at.Sub(killed))
			if s, _ := w.latest(); s.v.Position.Seq == 0 && (!s.v.Restored || s.v.Cart.Order != onDisk.Order) {
				t.Errorf("round %d: display %d shows %q restored=%v, want %q marked restored", round, i, s.v.Cart.Order, s.v.Restored, onDisk.Order)
			}
		}
		// The POS page reconnects and re-sends its cart: the newest it sent.
		pos, err = dialPOS(a)
		if err != nil {
			t.Fatal(err)
		}
		latest := cartN(tag, n)
		resent := time.Now()
		if err := pos.send(latest, n); err != nil {
			t.Fatal(err)
		}
		for i, w := range ws {
			at, ok := w.waitFor(10*time.Second, func(v client.View) bool {
				return v.Status == client.StatusLive && v.Position.Epoch == h.Epoch && !v.Restored && v.Cart.Order == latest.Order
			})
			if !ok {
				t.Fatalf("round %d: display %d does not show the re-sent cart", round, i)
			}
			confirmed = append(confirmed, at.Sub(resent))
		}
		pos.close()
	}

	neverSent, unmarked := 0, 0
	for _, w := range ws {
		views, _ := w.since(0)
		for _, s := range views {
			v := s.v
			if !v.HasCart {
				continue
			}
			if !sent[v.Cart.Order] {
				neverSent++
				t.Errorf("a display showed %q, which was never sent", v.Cart.Order)
			}
			if v.Status == client.StatusLive && v.Position.Epoch != firstEpoch && v.Position.Seq == 0 && !v.Restored {
				unmarked++
				t.Errorf("a display showed the restored cart %q as live (epoch %s)", v.Cart.Order, v.Position.Epoch)
			}
		}
	}
	for _, d := range confirmed {
		if d > time.Second {
			t.Errorf("a display took %v to show the re-sent cart, want <= 1 s", d)
		}
	}
	t.Logf("kill -9 ×%d at 50 changes/s, %d displays: never-sent shown %d, restored shown unmarked %d", rounds, displays, neverSent, unmarked)
	t.Logf("carts sent but not on disk at the kill (never acked): %v", behind)
	t.Logf("kill → display shows restored cart (marked): %s", percentiles(marked))
	t.Logf("POS re-send → every display live on it: %s", percentiles(confirmed))
}
