package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/posdisplay/posdisplay/register/textclip"
	"io"
	"reflect"
	"strings"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/posdisplay/posdisplay/register/cart"
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

// DecodeCart decodes and validates a bare cart object, as POSTed by a POS
// backend to /v1/registers/{id}/cart.
func DecodeCart(data []byte) (*cart.Cart, *Error) {
	if err := checkObject(data); err != nil {
		return nil, err
	}
	if err := checkRawText(data); err != nil {
		return nil, err.toError(nil, CodeBadMessage)
	}
	var c cart.Cart
	if err := decodeCart(data, &c, true); err != nil {
		return nil, decodeFailure(nil, err)
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
	return decodeJSON(data, v, prefix, true)
}

// lenient is strict without the unknown-field check, for messages from the
// agent, which newer agents may extend.
func lenient(data []byte, v any, prefix string) *decodeError {
	return decodeJSON(data, v, prefix, false)
}

func decodeJSON(data []byte, v any, prefix string, disallowUnknown bool) *decodeError {
	dec := json.NewDecoder(bytes.NewReader(data))
	if disallowUnknown {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &decodeError{field: joinPath(prefix, te.Field), reason: fmt.Sprintf("must be %s, got %s", kindName(te.Type), te.Value)}
		}
		var se *json.SyntaxError
		if disallowUnknown && !errors.As(err, &se) {
			if name, ok := unknownMember(data, v); ok {
				return &decodeError{field: joinPath(prefix, name), reason: "unknown field"}
			}
		}
		return &decodeError{field: prefix, reason: cleanJSONError(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &decodeError{field: prefix, reason: "trailing data after the JSON object"}
	}
	return nil
}

// rawArray collects the raw elements of a JSON array, stopping at max
// elements: a hostile array of a million "{}" then costs max small copies,
// not a million decoded structs. Set max before decoding; over reports that
// the array was longer.
type rawArray struct {
	max   int
	elems []json.RawMessage
	over  bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (a *rawArray) UnmarshalJSON(b []byte) error {
	a.elems, a.over = nil, false
	if string(b) == "null" {
		return nil
	}
	if len(b) == 0 || b[0] != '[' {
		return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[[]json.RawMessage]()}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		if len(a.elems) == a.max {
			a.over = true
			return nil
		}
		var r json.RawMessage
		if err := dec.Decode(&r); err != nil {
			return err
		}
		a.elems = append(a.elems, r)
	}
	return nil
}

// jsonKind names the kind of a JSON value the way encoding/json's type
// errors do.
func jsonKind(b []byte) string {
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}

// decodeCart decodes a cart object, strictly (unknown fields are errors) or
// leniently. Lines, taxes and payment are decoded element by element so
// that an error names its exact path, such as "lines[2].unit_price" or
// "taxes[0].label", and the line and tax arrays are cut off past their
// limits before any element is decoded. A null or missing lines or taxes
// array becomes an empty one. The error is a *decodeError, or a
// *cart.FieldError for too many lines or taxes.
func decodeCart(data []byte, c *cart.Cart, strictFields bool) error {
	// The shallower Lines, Taxes and Payment fields take precedence over the
	// embedded cart's fields of the same JSON name; every other cart field
	// (including ones added later) decodes straight into c.
	var sh struct {
		*cart.Cart
		Lines   rawArray        `json:"lines"`
		Taxes   rawArray        `json:"taxes"`
		Payment json.RawMessage `json:"payment"`
	}
	sh.Cart = c
	sh.Lines.max, sh.Taxes.max = cart.MaxLines, cart.MaxTaxLines
	if err := decodeJSON(data, &sh, "", strictFields); err != nil {
		// encoding/json names promoted fields by their embedded struct.
		err.field = strings.TrimPrefix(err.field, "Cart.")
		return err
	}
	if sh.Lines.over {
		return &cart.FieldError{Field: "lines", Reason: fmt.Sprintf("at most %d lines", cart.MaxLines)}
	}
	if sh.Taxes.over {
		return &cart.FieldError{Field: "taxes", Reason: fmt.Sprintf("at most %d tax lines", cart.MaxTaxLines)}
	}
	c.Lines = make([]cart.Line, len(sh.Lines.elems))
	for i, raw := range sh.Lines.elems {
		if err := decodeJSON(raw, &c.Lines[i], fmt.Sprintf("lines[%d]", i), strictFields); err != nil {
			return err
		}
	}
	c.Taxes = make([]cart.TaxLine, len(sh.Taxes.elems))
	for i, raw := range sh.Taxes.elems {
		if err := decodeJSON(raw, &c.Taxes[i], fmt.Sprintf("taxes[%d]", i), strictFields); err != nil {
			return err
		}
	}
	c.Payment = nil
	if len(sh.Payment) > 0 && string(sh.Payment) != "null" {
		c.Payment = new(cart.Payment)
		if err := decodeJSON(sh.Payment, c.Payment, "payment", strictFields); err != nil {
			return err
		}
	}
	return nil
}

// decodeFailure turns an error from decodeCart into the answer for the peer.
func decodeFailure(id ID, err error) *Error {
	var de *decodeError
	if errors.As(err, &de) {
		return de.toError(id, CodeBadMessage)
	}
	return cartError(id, err)
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

// unknownMember returns the name of the member of data that v's type does
// not have, the one encoding/json's DisallowUnknownFields stopped at.
// encoding/json says which only in its message text, so the name comes from
// the JSON v2 decoder with encoding/json's semantics, whose error is typed
// (json.ErrUnknownName with a JSON pointer). It runs on that error path
// only, never on a message that decodes.
func unknownMember(data []byte, v any) (string, bool) {
	err := jsonv2.Unmarshal(data, v, jsonv1.DefaultOptionsV1(), jsonv2.RejectUnknownMembers(true),
		jsonv1.ReportErrorsWithLegacySemantics(false))
	var se *jsonv2.SemanticError
	if !errors.As(err, &se) || !errors.Is(se.Err, jsonv2.ErrUnknownName) {
		return "", false
	}
	return textclip.Runes(se.JSONPointer.LastToken(), 64), true
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
	return textclip.Runes(s, 200)
}

func cartError(id ID, err error) *Error {
	var fe *cart.FieldError
	if errors.As(err, &fe) {
		return NewError(id, CodeInvalidCart, fe.Field, fe.Error())
	}
	return NewError(id, CodeInvalidCart, "", err.Error())
}

// fastLimit bounds the inputs tried on the fast path: small enough that a
// hostile array of empty objects cannot allocate much before validation.
const fastLimit = 64 << 10

// decodePOSFast decodes a well-formed, valid cart message in one strict
// pass. Anything else (another type, an error of any kind) returns false
// and takes the precise path, which produces the exact error.
func decodePOSFast(data []byte) (PosMessage, bool) {
	if len(data) > fastLimit || !bytes.HasPrefix(data, []byte(`{"type":"cart"`)) || !utf8.Valid(data) || hasSurrogateEscape(data) {
		return PosMessage{}, false
	}
	var m struct {
		Type string    `json:"type"`
		ID   ID        `json:"id"`
		Cart cart.Cart `json:"cart"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Type != TypeCart || dec.More() {
		return PosMessage{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return PosMessage{}, false
	}
	if m.Cart.Lines == nil || m.Cart.Taxes == nil || m.Cart.Validate() != nil {
		return PosMessage{}, false
	}
	return PosMessage{Type: TypeCart, ID: m.ID, Cart: &m.Cart}, true
}
