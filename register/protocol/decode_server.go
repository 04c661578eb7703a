package protocol

import (
	"encoding/json"
	"fmt"

	"github.com/posdisplay/posdisplay/register/cart"
)

// ServerMessage is a decoded message from the agent, as a display sees it.
// Exactly one of the pointers is set, matching Type. Unknown types decode
// with no pointer set so that older displays ignore newer messages.
type ServerMessage struct {
	Type     string
	Welcome  *Welcome
	Snapshot *Snapshot
	Delta    *Delta
	Batch    *Batch // only to displays that announced FeatureBatch
	Resumed  *Resumed
	Cue      *Cue
	Error    *Error
}

// DecodeServer decodes one message from the agent on a display socket. It is
// lenient about unknown fields (newer agents may add some) but strict about
// types; carts in snapshots are validated.
func DecodeServer(data []byte) (ServerMessage, error) {
	var env envelope
	if err := peekEnvelope(data, &env); err != nil {
		return ServerMessage{}, err
	}
	m := ServerMessage{Type: env.Type}
	var target any
	switch env.Type {
	case TypeWelcome:
		m.Welcome = &Welcome{}
		target = m.Welcome
	case TypeSnapshot:
		m.Snapshot = &Snapshot{}
		if err := decodeSnapshot(data, m.Snapshot); err != nil {
			return ServerMessage{}, fmt.Errorf("snapshot message: %w", err)
		}
		if err := m.Snapshot.Cart.Validate(); err != nil {
			return ServerMessage{}, fmt.Errorf("snapshot: %w", err)
		}
		return m, nil
	case TypeDelta:
		m.Delta = &Delta{}
		if err := decodeDelta(data, m.Delta); err != nil {
			return ServerMessage{}, fmt.Errorf("delta message: %w", err)
		}
		return m, nil
	case TypeBatch:
		m.Batch = &Batch{}
		if err := decodeBatch(data, m.Batch); err != nil {
			return ServerMessage{}, fmt.Errorf("batch message: %w", err)
		}
		return m, nil
	case TypeResumed:
		m.Resumed = &Resumed{}
		target = m.Resumed
	case TypeCue:
		m.Cue = &Cue{}
		target = m.Cue
	case TypeError:
		m.Error = &Error{}
		target = m.Error
	default:
		return m, nil
	}
	if err := json.Unmarshal(data, target); err != nil {
		return ServerMessage{}, fmt.Errorf("%s message: %w", env.Type, err)
	}
	return m, nil
}

// decodeSnapshot decodes a snapshot leniently (unknown fields are ignored),
// with the cart's arrays bounded like a POS cart's.
func decodeSnapshot(data []byte, s *Snapshot) error {
	var sh struct {
		*Snapshot
		Cart json.RawMessage `json:"cart"`
	}
	sh.Snapshot = s
	if err := lenient(data, &sh, ""); err != nil {
		return err
	}
	if len(sh.Cart) == 0 || string(sh.Cart) == "null" || sh.Cart[0] != '{' {
		return &decodeError{field: "cart", reason: "must be an object"}
	}
	return decodeCart(sh.Cart, &s.Cart, false)
}

// decodeDelta decodes a delta leniently, refusing more than cart.MaxOps ops
// before decoding them, so that a hostile frame of "{}," cannot make a
// display allocate a million ops.
func decodeDelta(data []byte, d *Delta) error {
	var sh struct {
		*Delta
		Ops rawArray `json:"ops"`
	}
	sh.Delta = d
	sh.Ops.max = cart.MaxOps
	if err := lenient(data, &sh, ""); err != nil {
		return err
	}
	if sh.Ops.over {
		return &decodeError{field: "ops", reason: fmt.Sprintf("at most %d ops", cart.MaxOps)}
	}
	d.Ops = make([]cart.Op, len(sh.Ops.elems))
	for i, raw := range sh.Ops.elems {
		if err := lenient(raw, &d.Ops[i], fmt.Sprintf("ops[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}
