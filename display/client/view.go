package client

import (
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Status is the connection state a display shows to the customer.
type Status string

// Connection states, in the order a display normally goes through them.
const (
	StatusSearching    Status = "searching"    // no agent address known yet
	StatusConnecting   Status = "connecting"   // first connection attempt under way
	StatusLive         Status = "live"         // replica in step with the agent
	StatusReconnecting Status = "reconnecting" // stream interrupted; the cart shown is stale
	StatusUntrusted    Status = "untrusted"    // the agent's identity does not match the pairing
	StatusRejected     Status = "rejected"     // the agent refused us (token revoked, unknown register)
	// StatusPairing is set by the screen, not the client: the display is
	// not paired yet and shows pairing codes (in View.Codes) for store IT.
	StatusPairing Status = "pairing"
)

// View is everything a screen needs to draw, as one immutable value. The
// client publishes a new View on every change; screens never reach into the
// client's state.
type View struct {
	Status Status
	// Since is when Status last changed: a screen hides money figures when
	// it has been stale for longer than its limit.
	Since time.Time
	// HasCart is false until the first snapshot arrives.
	HasCart bool
	Cart    cart.Cart
	// Position of Cart in the agent's stream.
	Position protocol.Position
	// Restored marks a cart the agent restored from disk after a restart
	// that the POS has not confirmed yet: screens show it as "updating…"
	// and hide its amounts once RestoredAt is older than their limit.
	Restored   bool
	RestoredAt time.Time
	// Changed lists the ids of lines added or updated by the last delta, so
	// a screen can highlight them and scroll them into view. It names only
	// lines in Cart and only changes since the previous View: a View
	// published for another reason (status, cue) has none. After a resync
	// snapshot within the same order it lists the lines that differ.
	Changed []string
	// Cue is a transient hint from the agent (protocol.CueScanning) and CueAt
	// when it arrived; screens show it briefly.
	Cue   string
	CueAt time.Time
	// Err says why the display is not live, for store IT ("untrusted
	// register", "token revoked"); empty when live.
	Err string
	// RejectCode is the agent's error code (protocol.CodeUnauthorized for a
	// revoked or unknown token) while Status is StatusRejected, so a screen
	// can branch on it (pair again) without reading Err.
	RejectCode string
	// Codes are the pairing codes on offer while Status is StatusPairing,
	// one per register that can pair this screen.
	Codes []PairingCode
}

// PairingCode is one code an unpaired screen shows: store IT approves it
// with `posdisplay-agent pair CODE` on Register's agent before Expires.
type PairingCode struct {
	Register string // the register (or agent address) that offered it
	Code     string
	Expires  time.Time
}

// Stale reports whether the cart shown may no longer match the register.
func (v View) Stale() bool { return v.Status != StatusLive }
