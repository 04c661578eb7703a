package protocol

import (
	"encoding/json"
	"unicode/utf8"
)

// Features the agent announces in the POS welcome (revision 1.1).
const (
	// FeatureReturns: carts may carry return lines (cart.Line.Return).
	FeatureReturns = "returns"
	// FeatureScanRefuse: the agent takes "refuse" for a scan.
	FeatureScanRefuse = "scan_refuse"
	// FeatureScanOrder: scans carry the order they were read in, and the
	// agent never delivers one into another sale.
	FeatureScanOrder = "scan_order"
)

// POSFeatures is what this agent announces to POS pages.
var POSFeatures = []string{FeatureReturns, FeatureScanRefuse, FeatureScanOrder}

// Refusal reasons a page may give. Branch on these; anything else a page
// sends is read as RefuseOther, so that a newer page's reason never makes an
// older agent keep a scan queued.
const (
	RefuseNoProductField = "no_product_field" // the page has no place to put an item (payment step)
	RefuseNotFound       = "not_found"        // no product has this code
	RefuseAmbiguous      = "ambiguous"        // several products match
	RefuseLookupError    = "lookup_error"     // the POS's lookup failed (HTTP 500, timeout)
	RefuseWrongSale      = "wrong_sale"       // the scan's order is not the page's order
	RefuseBusy           = "busy"             // the page could not take it now
	RefuseOther          = "other"            // a reason this agent does not know
)

// Bounds of a refuse message. The reason is a short code; the message is
// for the agent's log, as long as a cart's message.
const (
	maxRefuseReason  = 64  // bytes
	maxRefuseMessage = 280 // characters
)

// Refuse is a page's answer to a scan it cannot place:
// {"type":"refuse","id":"<scan id>","reason":"not_found","message":"..."}.
// It is not answered; the agent drops the scan and sends the next one.
type Refuse struct {
	Type    string `json:"type"`
	ID      ID     `json:"id"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// RefuseReason maps a reason as sent to one of the Refuse* codes.
func RefuseReason(s string) string {
	switch s {
	case RefuseNoProductField, RefuseNotFound, RefuseAmbiguous, RefuseLookupError, RefuseWrongSale, RefuseBusy:
		return s
	}
	return RefuseOther
}

// decodeRefuse decodes a refuse strictly. Reason and message are checked on
// their raw bytes before they are unquoted: encoding/json would turn invalid
// UTF-8 into U+FFFD without a word, and the agent logs what the page said.
// The returned Reason is normalised with RefuseReason.
func decodeRefuse(data []byte, envID ID) (PosMessage, *Error) {
	var m struct {
		Type    string          `json:"type"`
		ID      ID              `json:"id"`
		Reason  json.RawMessage `json:"reason"`
		Message json.RawMessage `json:"message"`
	}
	if err := strict(data, &m, ""); err != nil {
		return PosMessage{}, err.toError(envID, CodeBadMessage)
	}
	if len(m.ID) == 0 {
		return PosMessage{}, NewError(nil, CodeBadMessage, "id", "refuse needs the id of the scan it refuses")
	}
	reason, perr := rawText(m.Reason, "reason", maxRefuseReason, false)
	if perr != nil {
		perr.ID = m.ID
		return PosMessage{}, perr
	}
	if reason == "" {
		return PosMessage{}, NewError(m.ID, CodeBadMessage, "reason", "reason: missing")
	}
	msg, perr := rawText(m.Message, "message", maxRefuseMessage, true)
	if perr != nil {
		perr.ID = m.ID
		return PosMessage{}, perr
	}
	r := &Refuse{Type: TypeRefuse, ID: m.ID, Reason: RefuseReason(reason), Message: msg}
	return PosMessage{Type: TypeRefuse, ID: m.ID, Refuse: r}, nil
}

// rawText unquotes a raw JSON string of at most max characters (bytes when
// inRunes is false) that is valid UTF-8 as sent. Absent or null is "".
func rawText(raw json.RawMessage, field string, max int, inRunes bool) (string, *Error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if raw[0] != '"' {
		return "", NewError(nil, CodeBadMessage, field, field+": must be a string")
	}
	// Six bytes per character is the longest escape (\uXXXX); anything
	// longer cannot be within the limit.
	if len(raw) > 2+6*max || !utf8.Valid(raw) {
		return "", NewError(nil, CodeBadMessage, field, field+": must be valid UTF-8 text within the limit")
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", NewError(nil, CodeBadMessage, field, field+": must be a string")
	}
	n := len(s)
	if inRunes {
		n = utf8.RuneCountInString(s)
	}
	if n > max || !utf8.ValidString(s) {
		return "", NewError(nil, CodeBadMessage, field, field+": must be valid UTF-8 text within the limit")
	}
	return s, nil
}
