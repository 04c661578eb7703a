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
		if err := decodeCart(m.Cart, &c); err != nil {
			return PosMessage{}, err.toError(env.ID, CodeBadMessage)
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
	if err := decodeCart(data, &c); err != nil {
		return nil, err.toError(nil, CodeBadMessage)
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
		if err := strict(data, &h, ""); err != nil {
			return DisplayMessage{}, err.toError(nil, CodeBadHello)
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
		if err := strict(data, &r, ""); err != nil {
			return DisplayMessage{}, err.toError(nil, CodeBadMessage)
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

// decodeError is a decoding failure with the JSON path of the offending
// value ("lines[2].unit_price"), or no path when it concerns the whole input.
type decodeError struct {
	field  string
	reason string
}

func (e *decodeError) Error() string {
	if e.field == "" {
		return e.reason
	}
	return e.field + ": " + e.reason
}

func (e *decodeError) toError(id ID, code string) *Error {
	return NewError(id, code, e.field, e.Error())
}

// strict decodes data into v rejecting unknown fields and trailing data, and
// turns encoding/json's errors into messages that name the field, with
// prefix (a path such as "lines[2]") in front of the field's own path.
// encoding/json reports the path of a wrong-typed value without array
// indices, so callers decode array elements one by one (see decodeCart).
func strict(data []byte, v any, prefix string) *decodeError {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &decodeError{field: joinPath(prefix, te.Field), reason: fmt.Sprintf("must be %s, got %s", kindName(te.Type), te.Value)}
		}
		if name, ok := unknownField(err); ok {
			return &decodeError{field: joinPath(prefix, name), reason: "unknown field"}
		}
		return &decodeError{field: prefix, reason: cleanJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &decodeError{field: prefix, reason: "trailing data after the JSON object"}
	}
	return nil
}

// decodeCart decodes a cart object strictly. Lines, taxes and payment are
// decoded element by element so that an error names its exact path, such as
// "lines[2].unit_price" or "taxes[0].label". A null or missing lines or taxes
// array becomes an empty one.
func decodeCart(data []byte, c *cart.Cart) *decodeError {
	// The shallower Lines, Taxes and Payment fields take precedence over the
	// embedded cart's fields of the same JSON name; every other cart field
	// (including ones added later) decodes straight into c.
	var sh struct {
		*cart.Cart
		Lines   []json.RawMessage `json:"lines"`
		Taxes   []json.RawMessage `json:"taxes"`
		Payment json.RawMessage   `json:"payment"`
	}
	sh.Cart = c
	if err := strict(data, &sh, ""); err != nil {
		// encoding/json names promoted fields by their embedded struct.
		err.field = strings.TrimPrefix(err.field, "Cart.")
		return err
	}
	c.Lines = make([]cart.Line, len(sh.Lines))
	for i, raw := range sh.Lines {
		if err := strict(raw, &c.Lines[i], fmt.Sprintf("lines[%d]", i)); err != nil {
			return err
		}
	}
	c.Taxes = make([]cart.TaxLine, len(sh.Taxes))
	for i, raw := range sh.Taxes {
		if err := strict(raw, &c.Taxes[i], fmt.Sprintf("taxes[%d]", i)); err != nil {
			return err
		}
	}
	c.Payment = nil
	if len(sh.Payment) > 0 && string(sh.Payment) != "null" {
		c.Payment = new(cart.Payment)
		if err := strict(sh.Payment, c.Payment, "payment"); err != nil {
			return err
		}
	}
	return nil
}

func joinPath(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	}
	return prefix + "." + field
}

// unknownField extracts the name from encoding/json's untyped
// `json: unknown field "name"` error.
func unknownField(err error) (string, bool) {
	q, ok := strings.CutPrefix(err.Error(), "json: unknown field ")
	if !ok {
		return "", false
	}
	name, uerr := strconv.Unquote(q)
	if uerr != nil {
		return "", false
	}
	return truncate(name, 64), true
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
