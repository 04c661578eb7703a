package protocol

import (
	"errors"
	"fmt"
)

// Batches (revision 1.2): a display that fell behind by several deltas gets
// them in one message instead of one message each, so that it decodes,
// applies and redraws once. Only a display that announced FeatureBatch in
// its upgrade URL gets them; any other display gets the deltas one by one,
// as before.

// TypeBatch is the message type of a Batch (agent → display).
const TypeBatch = "batch"

// FeatureBatch is the display feature (in the "features" query of the
// upgrade URL) that asks for batches.
const FeatureBatch = "batch"

// MaxBatchDeltas bounds the deltas in one batch: the agent never batches
// more than a display's queue holds (128 frames by default), and a display
// refuses a batch of more before decoding any, as it refuses a delta of too
// many ops.
const MaxBatchDeltas = 256

// Batch carries consecutive deltas, oldest first: each is exactly the delta
// message the display would otherwise have received alone, and is applied
// as such, in order. A display redraws once, after the last.
type Batch struct {
	Type   string  `json:"type"`
	Deltas []Delta `json:"deltas"`
}

// decodeBatch decodes a batch leniently, refusing more than MaxBatchDeltas
// deltas before decoding them; each delta is bounded as a lone one is.
func decodeBatch(data []byte, b *Batch) error {
	var sh struct {
		Type   string   `json:"type"`
		Deltas rawArray `json:"deltas"`
	}
	sh.Deltas.max = MaxBatchDeltas
	if err := lenient(data, &sh, ""); err != nil {
		return err
	}
	if sh.Deltas.over {
		return &decodeError{field: "deltas", reason: fmt.Sprintf("at most %d deltas", MaxBatchDeltas)}
	}
	b.Type = sh.Type
	b.Deltas = make([]Delta, len(sh.Deltas.elems))
	for i, raw := range sh.Deltas.elems {
		if len(raw) == 0 || raw[0] != '{' {
			return &decodeError{field: fmt.Sprintf("deltas[%d]", i), reason: "must be an object"}
		}
		if err := decodeDelta(raw, &b.Deltas[i]); err != nil {
			if de, ok := errors.AsType[*decodeError](err); ok {
				return &decodeError{field: joinPath(fmt.Sprintf("deltas[%d]", i), de.field), reason: de.reason}
			}
			return err
		}
		if b.Deltas[i].Type != TypeDelta {
			return &decodeError{field: fmt.Sprintf("deltas[%d].type", i), reason: "must be delta"}
		}
	}
	return nil
}
