package protocol

import (
	"bytes"
	"encoding/json"
	"io"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
)

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
