package loadtest

import (
	"encoding/json"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// BenchmarkStages measures, in one process and without sockets, the agent's
// per-change work before fan-out, on the same workload as BenchmarkFanout:
// the POS message decode (which validates), the diff, and the delta encode.
// The relay does none of it, so these costs are what the agent adds to the
// relay's latency at 1 and 10 displays.
func BenchmarkStages(b *testing.B) {
	w, err := Workload(40) // one whole sale
	if err != nil {
		b.Fatal(err)
	}
	carts := make([]cart.Cart, len(w))
	for i, c := range w {
		m, perr := protocol.DecodePOS(c.POS)
		if perr != nil {
			b.Fatal(perr)
		}
		carts[i] = *m.Cart
	}
	b.Run("decode", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, perr := protocol.DecodePOS(w[i%len(w)].POS); perr != nil {
				b.Fatal(perr)
			}
			i++
		}
	})
	b.Run("decode-one-pass", func(b *testing.B) {
		// What a single strict json pass over the same message costs:
		// the floor for a fast path in protocol.DecodePOS.
		i := 0
		for b.Loop() {
			var m struct {
				Type string      `json:"type"`
				ID   protocol.ID `json:"id"`
				Cart cart.Cart   `json:"cart"`
			}
			if err := json.Unmarshal(w[i%len(w)].POS, &m); err != nil {
				b.Fatal(err)
			}
			if err := m.Cart.Validate(); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("diff+encode", func(b *testing.B) {
		i := 1
		for b.Loop() {
			k := i % len(carts)
			prev := carts[(k+len(carts)-1)%len(carts)]
			ops := cart.Diff(prev, carts[k])
			if _, err := json.Marshal(protocol.Delta{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: "0000000000000000", Seq: uint64(i)}, Ops: ops}); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("clone", func(b *testing.B) {
		i := 0
		for b.Loop() {
			_ = carts[i%len(carts)].Clone()
			i++
		}
	})
}
