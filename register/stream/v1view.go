package stream

import (
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Displays built before protocol revision 1.1 do not know return lines: they
// would read one as a sale and reject the cart (their arithmetic no longer
// adds up), or, with a negative total, could not show it at all. Such a
// display is sent cart.V1View of the cart instead, on the same stream
// positions: while a cart has return lines, its frames carry a second
// encoding (Frame.V1) of the same change as an older display must see it.
// Frames of carts without returns have one encoding, shared by all.

// For returns the bytes to send to a display: Data when it announced the
// "returns" feature (or when the frame has a single encoding), else V1.
func (f *Frame) For(returns bool) []byte {
	if returns || f.V1 == nil {
		return f.Data
	}
	return f.V1
}

// v1Delta encodes the delta at seq between the version 1 views of old and
// new, or returns nil when neither has a return line (the views are the
// carts themselves). The delta may have no ops (the view did not change):
// it still advances the display's seq, so that it stays in step.
func (s *Stream) v1Delta(old, new cart.Cart, seq uint64) []byte {
	if !old.HasReturns() && !new.HasReturns() {
		return nil
	}
	ops := cart.Diff(cart.V1View(old), cart.V1View(new))
	if ops == nil {
		ops = []cart.Op{} // "ops":[] — a version 1 web display wants an array
	}
	return encodeDelta(protocol.Position{Epoch: s.epoch, Seq: seq}, ops)
}

// v1Snapshot encodes the snapshot of the version 1 view of the current cart,
// or returns nil when the cart has no return line.
func (s *Stream) v1Snapshot() []byte {
	if !s.cur.HasReturns() {
		return nil
	}
	v1 := cart.V1View(s.cur)
	return protocol.AppendSnapshot(make([]byte, 0, v1.SizeHint()+64), protocol.Position{Epoch: s.epoch, Seq: s.seq}, &v1, false)
}
