package client

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/display/client/clienttest"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// batchMsg encodes the deltas that lead through carts, starting at seq+1.
func batchMsg(tb testing.TB, seq uint64, carts ...cart.Cart) []byte {
	tb.Helper()
	b := protocol.Batch{Type: protocol.TypeBatch}
	for i := 1; i < len(carts); i++ {
		b.Deltas = append(b.Deltas, protocol.Delta{Type: protocol.TypeDelta, Position: posE1(seq + uint64(i)), Ops: cart.Diff(carts[i-1], carts[i])})
	}
	return mustJSON(tb, b)
}

// A batch is its deltas applied in order: the replica ends at the last
// one's cart and seq, with one change to draw, naming every line changed.
func TestReplicaBatch(t *testing.T) {
	c0 := clienttest.Cart(reg, 3)
	c1 := c0.Clone()
	c1.Lines[0] = clienttest.Line("l0", "Item 0", 2, 100)
	c1 = clienttest.Totalled(c1)
	c2 := c1.Clone()
	c2.Lines = append(c2.Lines, clienttest.Line("n1", "New", 1, 250))
	c2 = clienttest.Totalled(c2)

	r := synced(t, c0, 5)
	if v, err := r.handleData(batchMsg(t, 5, c0, c1, c2), time.Now()); v != changed || err != nil {
		t.Fatalf("batch: got %v, %v, want changed, nil", v, err)
	}
	if !cart.Equal(r.cart, c2) || r.pos != posE1(7) {
		t.Fatalf("after the batch: seq %d, cart %+v; want seq 7, %+v", r.pos.Seq, r.cart, c2)
	}
	if !slices.Equal(r.changed, []string{"l0", "n1"}) {
		t.Errorf("changed lines: got %v, want [l0 n1]", r.changed)
	}

	// A batch that overlaps what the replica holds skips the deltas it
	// has (as lone duplicates are ignored).
	r = synced(t, c1, 6)
	if v, err := r.handleData(batchMsg(t, 5, c0, c1, c2), time.Now()); v != changed || err != nil || r.pos != posE1(7) || !cart.Equal(r.cart, c2) {
		t.Fatalf("overlapping batch: got %v, %v at seq %d", v, err, r.pos.Seq)
	}
	if v, err := r.handleData(batchMsg(t, 5, c0, c1, c2), time.Now()); v != ignored || err != nil {
		t.Fatalf("replayed batch: got %v, %v, want ignored", v, err)
	}

	// A gap inside a batch: out of step, keeping the deltas before it.
	r = synced(t, c0, 5)
	gap := protocol.Batch{Type: protocol.TypeBatch, Deltas: []protocol.Delta{
		{Type: protocol.TypeDelta, Position: posE1(6), Ops: cart.Diff(c0, c1)},
		{Type: protocol.TypeDelta, Position: posE1(8), Ops: cart.Diff(c1, c2)},
	}}
	v, err := r.handleData(mustJSON(t, gap), time.Now())
	if v != outOfStep || !errors.Is(err, ErrOutOfStep) {
		t.Fatalf("batch with a gap: got %v, %v, want outOfStep", v, err)
	}
	if !cart.Equal(r.cart, c1) || r.pos != posE1(6) {
		t.Errorf("after the gap: seq %d, want the last good delta's (6)", r.pos.Seq)
	}
}
