package redisfeed

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/posdisplay/posdisplay/register/protocol"
	"github.com/posdisplay/posdisplay/register/textclip"
)

// FieldMsg is the one field of every entry the backend XADDs to a pos
// stream, and of every result and scan the agent XADDs: the message as JSON,
// exactly as on the POS socket (docs/protocol.md): {"type":"cart",...} or
// {"type":"clear"}. One JSON field, not one field per key, so that the
// backend encodes and the agent decodes a message with the same code as on
// the socket, and a cart's nesting needs no flattening.
const FieldMsg = "msg"

// Result answers one entry of a register's pos stream on its results
// stream: an ack with the stream position the change reached, or an error
// saying why nothing was applied. Entry is the pos entry's id; ID echoes
// the message's own id when it had one.
type Result struct {
	Type    string      `json:"type"` // protocol.TypeAck or protocol.TypeError
	Entry   string      `json:"entry"`
	ID      protocol.ID `json:"id,omitempty"`
	Seq     uint64      `json:"seq,omitempty"`
	Code    string      `json:"code,omitempty"`
	Field   string      `json:"field,omitempty"`
	Message string      `json:"message,omitempty"`
}

// CodeBadEntry is the error code of an entry whose fields are wrong (no
// "msg" field, or others beside it); the message inside was not read.
const CodeBadEntry = "bad_entry"

// decodeEntry reads one pos-stream entry. Only cart and clear messages
// belong on the stream; scans are acknowledged with XACK on the scans
// stream, not here.
// dec decodes the message; nil decodes it on its own (protocol.DecodePOS).
func decodeEntry(values map[string]any, limit int64, dec *protocol.POSDecoder) (protocol.PosMessage, *protocol.Error) {
	raw, ok := values[FieldMsg]
	if !ok || len(values) != 1 {
		var names []string
		for k := range values {
			if k != FieldMsg {
				names = append(names, strconv.Quote(textclip.Runes(k, 32)))
			}
		}
		return protocol.PosMessage{}, protocol.NewError(nil, CodeBadEntry, "", fmt.Sprintf("an entry has exactly one field, %q (found other fields: %s)", FieldMsg, strings.Join(names, ", ")))
	}
	s, _ := raw.(string)
	if int64(len(s)) > limit {
		return protocol.PosMessage{}, protocol.NewError(nil, protocol.CodeTooLarge, "", fmt.Sprintf("message of %d bytes is larger than the limit of %d", len(s), limit))
	}
	decode := protocol.DecodePOS
	if dec != nil {
		decode = dec.Decode
	}
	msg, perr := decode([]byte(s))
	if perr != nil {
		return protocol.PosMessage{}, perr
	}
	if msg.Type != protocol.TypeCart && msg.Type != protocol.TypeClear {
		return protocol.PosMessage{}, protocol.NewError(msg.ID, protocol.CodeBadMessage, "type", "a pos stream carries cart and clear messages only, not "+msg.Type)
	}
	return msg, nil
}

// entryID is a stream entry id, milliseconds-sequence.
type entryID struct{ ms, seq uint64 }

func parseID(s string) (entryID, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return entryID{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return entryID{ms, seq}, err1 == nil && err2 == nil
}

func (a entryID) after(b entryID) bool {
	return a.ms > b.ms || (a.ms == b.ms && a.seq > b.seq)
}
