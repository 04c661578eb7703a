package protocol

import (
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/jsonw"
)

// AppendDelta appends the delta message at p with ops to b: the bytes
// json.Marshal writes for Delta{Type: TypeDelta, Position: p, Ops: ops},
// without reflection (cart.AppendOps; TestAppendDeltaMatchesMarshal).
// The agent encodes every change this way, once for all displays.
func AppendDelta(b []byte, p Position, ops []cart.Op) []byte {
	b = append(b, `{"type":"delta"`...)
	b = jsonw.AppendStringField(b, "epoch", p.Epoch)
	b = jsonw.AppendUintField(b, "seq", p.Seq)
	b = cart.AppendOps(jsonw.AppendField(b, "ops"), ops)
	return append(b, '}')
}

// AppendSnapshot appends the snapshot message of c at p to b: the bytes
// json.Marshal writes for Snapshot{Type: TypeSnapshot, Position: p, Cart:
// *c, Restored: restored}.
func AppendSnapshot(b []byte, p Position, c *cart.Cart, restored bool) []byte {
	b = append(b, `{"type":"snapshot"`...)
	b = jsonw.AppendStringField(b, "epoch", p.Epoch)
	b = jsonw.AppendUintField(b, "seq", p.Seq)
	b = c.AppendJSON(jsonw.AppendField(b, "cart"))
	if restored {
		b = append(jsonw.AppendField(b, "restored"), "true"...)
	}
	return append(b, '}')
}
