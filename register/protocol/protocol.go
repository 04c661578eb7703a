package protocol

import (
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
)

// Version is the protocol version this code speaks. It is announced in
// "welcome" messages and mDNS TXT records; it changes only when an existing
// field changes meaning or a message a peer must understand is added.
const Version = 1

// Message types on the POS socket (/v1/pos).
const (
	TypeCart    = "cart"    // page → agent: full cart snapshot
	TypeClear   = "clear"   // page → agent: end of sale, back to idle
	TypeAck     = "ack"     // both ways: a message was accepted
	TypeError   = "error"   // both ways: a message was rejected
	TypeWelcome = "welcome" // agent → page and display: first message on a socket
	TypeScan    = "scan"    // agent → page: a barcode was scanned
	TypeRefuse  = "refuse"  // page → agent: a scan the POS could not take (revision 1.1)
)

// Message types on the display socket (/v1/display).
const (
	TypeHello    = "hello"    // display → agent: first message, which register
	TypeResync   = "resync"   // display → agent: send me a fresh snapshot
	TypeSnapshot = "snapshot" // agent → display: the whole cart at a position
	TypeDelta    = "delta"    // agent → display: ops from seq-1 to seq
	TypeResumed  = "resumed"  // agent → display: resume accepted, deltas follow
	TypeCue      = "cue"      // agent → display: transient hint such as "scanning"
)

// Error codes, stable strings that peers branch on.
const (
	CodeBadJSON         = "bad_json"         // not a JSON object
	CodeBadMessage      = "bad_message"      // unknown type, wrong field type, unknown field
	CodeInvalidCart     = "invalid_cart"     // cart failed validation; Field says where
	CodeWrongRegister   = "wrong_register"   // cart.register differs from the socket's register
	CodeTooLarge        = "too_large"        // message above the size limit
	CodeRateLimited     = "rate_limited"     // too many messages per second
	CodeUnknownRegister = "unknown_register" // register not configured on this agent
	CodeUnauthorized    = "unauthorized"     // token missing or wrong
	CodeForbiddenOrigin = "forbidden_origin" // page origin not allowed (HTTP 403)
	CodeBadHello        = "bad_hello"        // display did not start with a valid hello
	CodeShuttingDown    = "shutting_down"    // agent is stopping
	CodeInternal        = "internal"         // agent-side failure; retry later
)

// Position is a place in a register's change stream. Epoch is new on every
// agent start; Seq grows by one per accepted change within an epoch.
type Position struct {
	Epoch string `json:"epoch"`
	Seq   uint64 `json:"seq"`
}

// CartMsg is a POS snapshot: {"type":"cart","id":..,"cart":{..}}.
type CartMsg struct {
	Type string    `json:"type"`
	ID   ID        `json:"id"`
	Cart cart.Cart `json:"cart"`
}

// ClearMsg ends a sale: {"type":"clear","id":..}.
type ClearMsg struct {
	Type string `json:"type"`
	ID   ID     `json:"id"`
}

// Ack accepts a message. On the POS socket from the agent, Seq is the
// register's stream position after the change; from the page, it acks a scan.
type Ack struct {
	Type string `json:"type"`
	ID   ID     `json:"id,omitempty"`
	Seq  uint64 `json:"seq"`
}

// Error rejects a message; nothing it asked for was done.
type Error struct {
	Type    string `json:"type"`
	ID      ID     `json:"id,omitempty"`
	Code    string `json:"code"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// NewError builds an error message.
func NewError(id ID, code, field, msg string) *Error {
	return &Error{Type: TypeError, ID: id, Code: code, Field: field, Message: msg}
}

// Welcome is the first message the agent sends on every socket.
type Welcome struct {
	Type     string `json:"type"`
	Protocol int    `json:"protocol"`
	Agent    string `json:"agent"`
	Register string `json:"register"`
	Position
	// Features lists the optional parts of the protocol this agent
	// implements (revision 1.1, POS socket only; see POSFeatures). A page
	// uses a feature only when it is listed: an older agent sends none.
	Features []string `json:"features,omitempty"`
}

// Scan carries a barcode to the POS page, which answers with an Ack of the
// same id once the POS has taken the item.
type Scan struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Code      string    `json:"code"`
	Symbology string    `json:"symbology"`
	Source    string    `json:"source"`
	At        time.Time `json:"at"`
	// GTIN is the item's GTIN-13 (or its GTIN-14 when that does not start
	// with 0) when the code is an EAN/UPC or a GS1 element string with
	// AI (01) and its check digit is right; "" otherwise (revision 1.1).
	GTIN string `json:"gtin,omitempty"`
	// Order is the register cart's order when the scan was read, "" when
	// it had none (revision 1.1). The scan belongs to that sale only.
	Order string `json:"order,omitempty"`
}

// Hello opens a display subscription.
type Hello struct {
	Type     string    `json:"type"`
	Register string    `json:"register"`
	Token    string    `json:"token,omitempty"`
	Resume   *Position `json:"resume,omitempty"`
}

// Resync asks for a fresh snapshot on an open display socket.
type Resync struct {
	Type string `json:"type"`
}

// Snapshot replaces a display's replica with Cart at Position.
type Snapshot struct {
	Type string `json:"type"`
	Position
	Cart cart.Cart `json:"cart"`
	// Restored marks a cart the agent restored from disk after a restart
	// that no POS has confirmed yet: displays show it as "updating…" and
	// hide its amounts after a while. The next delta clears it.
	Restored bool `json:"restored,omitempty"`
}

// Delta turns the cart at Seq-1 into the cart at Seq.
type Delta struct {
	Type string `json:"type"`
	Position
	Ops []cart.Op `json:"ops"`
}

// Resumed says the display's resume position was accepted: deltas from
// Seq+1 follow, and nothing before.
type Resumed struct {
	Type string `json:"type"`
	Position
}

// Cue is a transient hint for displays. Cues carry no cart state.
type Cue struct {
	Type     string `json:"type"`
	Register string `json:"register"`
	Cue      string `json:"cue"`
}

// CueScanning tells displays that a scan was just read at the register.
const CueScanning = "scanning"
