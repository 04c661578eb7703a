package protocol

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/textclip"
)

// PosMessage is a decoded, validated message from a POS page or backend.
type PosMessage struct {
	Type   string     // TypeCart, TypeClear, TypeAck or TypeRefuse
	ID     ID         // echoed in the answer; for TypeAck and TypeRefuse, the scan's id
	Cart   *cart.Cart // for TypeCart: validated
	Refuse *Refuse    // for TypeRefuse
}

type envelope struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// DecodePOS decodes one message from the POS socket. Unknown fields are
// rejected so that a misspelt field is an error and not a silent zero. The
// returned *Error carries the code and, when it could be read, the id.
func DecodePOS(data []byte) (PosMessage, *Error) {
	if m, ok := decodePOSFast(data); ok {
		return m, nil
	}
	return decodePOSPrecise(data)
}

// decodePOSPrecise decodes any message in several passes, to name the exact
// field of every error.
func decodePOSPrecise(data []byte) (PosMessage, *Error) {
	var env envelope
	if err := peekEnvelope(data, &env); err != nil {
		return PosMessage{}, err
	}
	if err := checkRawText(data); err != nil {
		// Paths inside the cart are relative to the cart, as in
		// validation errors.
		err.field = strings.TrimPrefix(err.field, "cart.")
		return PosMessage{}, err.toError(env.ID, CodeBadMessage)
	}
	switch env.Type {
	case TypeCart:
		// The cart is decoded on its own so that errors inside it carry
		// exact paths relative to the cart, as validation errors do.
		var m struct {
			Type string          `json:"type"`
			ID   ID              `json:"id"`
			Cart json.RawMessage `json:"cart"`
		}
		if err := strict(data, &m, ""); err != nil {
			return PosMessage{}, err.toError(env.ID, CodeBadMessage)
		}
		if len(m.Cart) == 0 || string(m.Cart) == "null" {
			return PosMessage{}, NewError(env.ID, CodeBadMessage, "cart", "cart: missing")
		}
		if m.Cart[0] != '{' {
			return PosMessage{}, NewError(env.ID, CodeBadMessage, "cart", "cart: must be an object")
		}
		var c cart.Cart
		if err := decodeCart(m.Cart, &c, true); err != nil {
			return PosMessage{}, decodeFailure(env.ID, err)
		}
		if err := c.Validate(); err != nil {
			return PosMessage{}, cartError(env.ID, err)
		}
		return PosMessage{Type: TypeCart, ID: m.ID, Cart: &c}, nil
	case TypeClear:
		var m ClearMsg
		if err := strict(data, &m, ""); err != nil {
			return PosMessage{}, err.toError(env.ID, CodeBadMessage)
		}
		return PosMessage{Type: TypeClear, ID: m.ID}, nil
	case TypeAck:
		// A page acks a scan with {"type":"ack","id":...}. Seq is allowed and
		// ignored so that a marshalled Ack (which always carries seq) is
		// accepted too.
		var m struct {
			Type string `json:"type"`
			ID   ID     `json:"id"`
			Seq  uint64 `json:"seq"`
		}
		if err := strict(data, &m, ""); err != nil {
			return PosMessage{}, err.toError(env.ID, CodeBadMessage)
		}
		if len(m.ID) == 0 {
			return PosMessage{}, NewError(nil, CodeBadMessage, "id", "ack needs the id of the scan it acknowledges")
		}
		return PosMessage{Type: TypeAck, ID: m.ID}, nil
	case TypeRefuse:
		return decodeRefuse(data, env.ID)
	case "":
		return PosMessage{}, NewError(env.ID, CodeBadMessage, "type", "missing message type")
	default:
		return PosMessage{}, NewError(env.ID, CodeBadMessage, "type", fmt.Sprintf("unknown message type %q (want cart, clear, ack or refuse)", textclip.Runes(env.Type, 32)))
	}
}

// DisplayMessage is a decoded message from a display.
type DisplayMessage struct {
	Type  string // TypeHello or TypeResync
	Hello Hello
}

// DecodeDisplay decodes one message from a display socket.
func DecodeDisplay(data []byte) (DisplayMessage, *Error) {
	var env envelope
	if err := peekEnvelope(data, &env); err != nil {
		return DisplayMessage{}, err
	}
	switch env.Type {
	case TypeHello:
		h, err := decodeHello(data)
		if err != nil {
			return DisplayMessage{}, err
		}
		return DisplayMessage{Type: TypeHello, Hello: h}, nil
	case TypeResync:
		if err := decodeResync(data); err != nil {
			return DisplayMessage{}, err
		}
		return DisplayMessage{Type: TypeResync}, nil
	default:
		return DisplayMessage{}, NewError(nil, CodeBadMessage, "type", fmt.Sprintf("unknown message type %q (want hello or resync)", textclip.Runes(env.Type, 32)))
	}
}

func checkObject(data []byte) *Error {
	t := bytes.TrimLeft(data, " \t\r\n")
	if len(t) == 0 || t[0] != '{' || !json.Valid(data) {
		return NewError(nil, CodeBadJSON, "", "message must be a JSON object")
	}
	return nil
}

func peekEnvelope(data []byte, env *envelope) *Error {
	if err := checkObject(data); err != nil {
		return err
	}
	var raw struct {
		Type json.RawMessage `json:"type"`
		ID   json.RawMessage `json:"id"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return NewError(nil, CodeBadJSON, "", "message must be a JSON object")
	}
	if len(raw.ID) > 0 {
		if err := env.ID.UnmarshalJSON(raw.ID); err != nil {
			return NewError(nil, CodeBadMessage, "id", err.Error())
		}
	}
	if len(raw.Type) > 0 {
		if err := json.Unmarshal(raw.Type, &env.Type); err != nil {
			return NewError(env.ID, CodeBadMessage, "type", "type must be a string")
		}
	}
	return nil
}
