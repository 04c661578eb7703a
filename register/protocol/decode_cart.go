package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/posdisplay/posdisplay/register/cart"
)

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

func cartError(id ID, err error) *Error {
	var fe *cart.FieldError
	if errors.As(err, &fe) {
		return NewError(id, CodeInvalidCart, fe.Field, fe.Error())
	}
	return NewError(id, CodeInvalidCart, "", err.Error())
}
