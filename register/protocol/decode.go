package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/posdisplay/posdisplay/register/cart"
)

// PosMessage is a decoded, validated message from a POS page or backend.
type PosMessage struct {
	Type string     // TypeCart, TypeClear or TypeAck
	ID   ID         // echoed in the answer
	Cart *cart.Cart // for TypeCart: validated
}

type envelope struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// DecodePOS decodes one message from the POS socket. Unknown fields are
// rejected so that a misspelt field is an error and not a silent zero. The
// returned *Error carries the code and, when it could be read, the id.
func DecodePOS(data []byte) (PosMessage, *Error) {
	var env envelope
	if err := peekEnvelope(data, &env); err != nil {
		return PosMessage{}, err
	}
	switch env.Type {
	case TypeCart:
		var m CartMsg
		if err := strict(data, &m); err != nil {
			return PosMessage{}, NewError(env.ID, CodeBadMessage, "", err.Error())
		}
		if err := m.Cart.Validate(); err != nil {
			return PosMessage{}, cartError(env.ID, err)
		}
		return PosMessage{Type: TypeCart, ID: m.ID, Cart: &m.Cart}, nil
	case TypeClear:
		var m ClearMsg
		if err := strict(data, &m); err != nil {
			return PosMessage{}, NewError(env.ID, CodeBadMessage, "", err.Error())
		}
		return PosMessage{Type: TypeClear, ID: m.ID}, nil
	case TypeAck:
		var m struct {
			Type string `json:"type"`
			ID   ID     `json:"id"`
		}
		if err := strict(data, &m); err != nil {
			return PosMessage{}, NewError(env.ID, CodeBadMessage, "", err.Error())
		}
		if len(m.ID) == 0 {
			return PosMessage{}, NewError(nil, CodeBadMessage, "id", "ack needs the id of the scan it acknowledges")
		}
		return PosMessage{Type: TypeAck, ID: m.ID}, nil
	case "":
		return PosMessage{}, NewError(env.ID, CodeBadMessage, "type", "missing message type")
	default:
		return PosMessage{}, NewError(env.ID, CodeBadMessage, "type", fmt.Sprintf("unknown message type %q (want cart, clear or ack)", truncate(env.Type, 32)))
	}
}

// DecodeCart decodes and validates a bare cart object, as POSTed by a POS
// backend to /v1/registers/{id}/cart.
func DecodeCart(data []byte) (*cart.Cart, *Error) {
	if err := checkObject(data); err != nil {
		return nil, err
	}
	var c cart.Cart
	if err := strict(data, &c); err != nil {
		return nil, NewError(nil, CodeBadMessage, "", err.Error())
	}
	if err := c.Validate(); err != nil {
		return nil, cartError(nil, err)
	}
	return &c, nil
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
		var h Hello
		if err := strict(data, &h); err != nil {
			return DisplayMessage{}, NewError(nil, CodeBadHello, "", err.Error())
		}
		if !cart.ValidID(h.Register) {
			return DisplayMessage{}, NewError(nil, CodeBadHello, "register", "register must be 1-64 characters of A-Z a-z 0-9 . _ -")
		}
		if len(h.Token) > 256 {
			return DisplayMessage{}, NewError(nil, CodeUnauthorized, "token", "token too long")
		}
		if h.Resume != nil && len(h.Resume.Epoch) > 64 {
			return DisplayMessage{}, NewError(nil, CodeBadHello, "resume.epoch", "epoch too long")
		}
		return DisplayMessage{Type: TypeHello, Hello: h}, nil
	case TypeResync:
		var r Resync
		if err := strict(data, &r); err != nil {
			return DisplayMessage{}, NewError(nil, CodeBadMessage, "", err.Error())
		}
		return DisplayMessage{Type: TypeResync}, nil
	default:
		return DisplayMessage{}, NewError(nil, CodeBadMessage, "type", fmt.Sprintf("unknown message type %q (want hello or resync)", truncate(env.Type, 32)))
	}
}

// ServerMessage is a decoded message from the agent, as a display sees it.
// Exactly one of the pointers is set, matching Type. Unknown types decode
// with no pointer set so that older displays ignore newer messages.
type ServerMessage struct {
	Type     string
	Welcome  *Welcome
	Snapshot *Snapshot
	Delta    *Delta
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
		target = m.Snapshot
	case TypeDelta:
		m.Delta = &Delta{}
		target = m.Delta
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
	if m.Snapshot != nil {
		if err := m.Snapshot.Cart.Validate(); err != nil {
			return ServerMessage{}, fmt.Errorf("snapshot: %w", err)
		}
	}
	if m.Delta != nil && len(m.Delta.Ops) > cart.MaxOps {
		return ServerMessage{}, fmt.Errorf("delta: %d ops, at most %d", len(m.Delta.Ops), cart.MaxOps)
	}
	return m, nil
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

// strict decodes data into v rejecting unknown fields and trailing data, and
// turns encoding/json's errors into field-named messages.
func strict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return fmt.Errorf("%s: must be %s, got %s", jsonPath(te.Field), kindName(te.Type), te.Value)
		}
		return errors.New(cleanJSONError(err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the JSON object")
	}
	return nil
}

// jsonPath turns encoding/json's "cart.lines.2.unit_price" into the
// "lines[2].unit_price" form used by cart validation errors.
func jsonPath(f string) string {
	f = strings.TrimPrefix(f, "cart.")
	parts := strings.Split(f, ".")
	var b strings.Builder
	for i, p := range parts {
		if _, err := strconv.Atoi(p); err == nil && i > 0 {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func kindName(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[cart.Money]():
		return "an integer amount in minor units"
	case reflect.TypeFor[cart.Quantity]():
		return "a decimal number with at most 3 fraction digits"
	}
	k := t.Kind().String()
	switch k {
	case "int64", "int", "uint64":
		return "an integer"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "ptr":
		return "an object"
	case "bool":
		return "true or false"
	}
	return k
}

func cleanJSONError(err error) string {
	s := err.Error()
	const p = "json: "
	if len(s) > len(p) && s[:len(p)] == p {
		s = s[len(p):]
	}
	return truncate(s, 200)
}

func cartError(id ID, err error) *Error {
	var fe *cart.FieldError
	if errors.As(err, &fe) {
		return NewError(id, CodeInvalidCart, fe.Field, fe.Error())
	}
	return NewError(id, CodeInvalidCart, "", err.Error())
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
