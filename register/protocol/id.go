package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// MaxIDLen bounds a message id, string or number.
const MaxIDLen = 64

// ID is a client-chosen message id: a JSON string of at most 64 bytes or a
// JSON integer. It is echoed back byte for byte in the ack or error.
type ID []byte

// MarshalJSON writes the id as it was received, or null when empty.
func (id ID) MarshalJSON() ([]byte, error) {
	if len(id) == 0 {
		return []byte("null"), nil
	}
	return id, nil
}

// UnmarshalJSON accepts a short string or an integer; anything else is an error.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*id = nil
		return nil
	}
	if len(b) > MaxIDLen+2 {
		return errors.New("id: at most 64 characters")
	}
	if !utf8.Valid(b) {
		// The id is echoed byte for byte in a WebSocket text frame, which
		// must be valid UTF-8 or the peer drops the connection.
		return errors.New("id: must be valid UTF-8")
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil || len(s) > MaxIDLen {
			return errors.New("id: must be a string of at most 64 characters or an integer")
		}
	} else if _, err := strconv.ParseInt(string(b), 10, 64); err != nil {
		return errors.New("id: must be a string of at most 64 characters or an integer")
	}
	*id = append(ID(nil), b...)
	return nil
}

// StringID makes an ID from a Go string.
func StringID(s string) ID { return ID(strconv.Quote(s)) }
