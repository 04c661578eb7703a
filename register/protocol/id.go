package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// MaxIDLen bounds a message id: a string id is at most 64 bytes once
// decoded (its UTF-8 bytes, as the protocol says, not its escaped JSON
// text). An integer id must fit in 64 bits.
const MaxIDLen = 64

// maxRawIDLen bounds the JSON text of an id before it is decoded: quotes
// plus every decoded byte written as a six-byte \u escape.
const maxRawIDLen = 2 + 6*MaxIDLen

// ID is a client-chosen message id: a JSON string of at most 64 bytes
// (UTF-8, once decoded) or a JSON integer. It is echoed back byte for byte
// in the ack or error.
type ID []byte

// MarshalJSON writes the id as it was received, or null when empty.
func (id ID) MarshalJSON() ([]byte, error) {
	if len(id) == 0 {
		return []byte("null"), nil
	}
	return id, nil
}

var errMaxID = errors.New("id: must be a string of at most 64 bytes (UTF-8) or an integer")

// UnmarshalJSON accepts a short string or an integer; anything else is an error.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*id = nil
		return nil
	}
	if len(b) > maxRawIDLen {
		return errMaxID
	}
	if !utf8.Valid(b) {
		// The id is echoed byte for byte in a WebSocket text frame, which
		// must be valid UTF-8 or the peer drops the connection.
		return errors.New("id: must be valid UTF-8")
	}
	if len(b) > 0 && b[0] == '"' {
		if _, reason := scanRawString(b, 0); reason != "" {
			return errors.New("id: " + reason)
		}
		var s string
		if err := json.Unmarshal(b, &s); err != nil || len(s) > MaxIDLen {
			return errMaxID
		}
	} else if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return errMaxID
	}
	*id = append(ID(nil), b...)
	return nil
}

// StringID makes an ID from a Go string.
func StringID(s string) ID { return ID(strconv.Quote(s)) }
