package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"

	jsonv2 "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/textclip"
)

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
