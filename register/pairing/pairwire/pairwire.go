// Package pairwire is the wire format of the pairing protocol between an
// unpaired screen and the agent (POST /v1/pair, GET /v1/pair/{request}),
// documented in docs/protocol.md ("Pairing protocol") and pinned by the
// golden files in testdata/golden.
//
// Both sides import it: the agent's pairing server (register/pairing) and
// the screen's enrolment (display/enroll). It holds types, constants and
// pure functions only, so a screen never links the agent's server code.
// Changing a field here changes a contract between two programs that store
// IT upgrades separately: follow the versioning rules of the document.
package pairwire

import "strings"

// Version is the pairing protocol version, announced in OpenResponse.
// Additions of optional fields do not change it. Version 2 agents accept
// OpenRequest.Key; version 1 agents refuse it as bad_json (they decode
// strictly), so a screen that gets bad_json for a keyed request asks again
// without the key (docs/protocol.md, "Screen key").
const Version = 2

// Paths of the screen-facing endpoints, on the display listener.
const (
	PathOpen = "/v1/pair"  // POST OpenRequest → 201 OpenResponse
	PathPoll = "/v1/pair/" // GET PathPoll+request, Authorization: Bearer secret → 200 PollResponse
)

// Poll statuses.
const (
	StatusPending  = "pending"
	StatusApproved = "approved"
)

// Error codes in ErrorResponse, stable strings a client branches on.
const (
	CodeBadJSON         = "bad_json"         // 400: the body is not the expected JSON object
	CodeBadRequest      = "bad_request"      // 400: a field breaks a rule (name, register)
	CodeTooMany         = "too_many"         // 429: too many pending requests (in all, or from this address)
	CodeExpired         = "expired"          // 404: unknown or expired request, wrong secret, or credentials already collected
	CodeBadCode         = "bad_code"         // 404 (admin): no pending request shows this code
	CodeLockedOut       = "locked_out"       // 429 (admin): too many wrong codes; wait
	CodeStaleCode       = "stale_code"       // 409 (admin): the screen that showed this code stopped asking (restarted); use its new code
	CodeAlreadyPaired   = "already_paired"   // 409 (admin): this code was approved already
	CodeUnauthorized    = "unauthorized"     // 401 (admin): admin token missing or wrong
	CodeForbiddenOrigin = "forbidden_origin" // 403 (admin): a request from a web page
	CodeNotFound        = "not_found"        // 404 (admin): no display with this id
	CodeConnected       = "connected"        // 409 (admin): forget refused: the display is connected now (revoke it instead)
	CodeInternal        = "internal"         // 500: an agent-side failure
)

// OpenRequest is POSTed by an unpaired screen to PathOpen.
type OpenRequest struct {
	// Name is how store IT will see the screen ("Lane 1 customer screen").
	Name string `json:"name"`
	// Key identifies the screen itself across pairings (pairing version
	// 2; optional): random, made once and kept when the screen is
	// unpaired or revoked. An approved request replaces the agent's
	// entries with the same key, so re-pairing a screen never leaves a
	// stale entry behind. See ValidKey.
	Key string `json:"key,omitempty"`
}

// Key lengths: a screen makes 32 hex digits (128 random bits); anything
// shorter than 16 characters could collide between screens by accident.
const (
	MinKeyLen = 16
	MaxKeyLen = 64
)

// ValidKey reports whether k is a well-formed screen key: MinKeyLen to
// MaxKeyLen characters of A-Z a-z 0-9 - _.
func ValidKey(k string) bool {
	if len(k) < MinKeyLen || len(k) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// OpenResponse answers it: the screen shows Code and polls
// PathPoll+Request with Secret as its bearer token.
type OpenResponse struct {
	Request     string `json:"request"`
	Secret      string `json:"secret"`
	Code        string `json:"code"`
	ExpiresIn   int    `json:"expires_in"`
	Agent       string `json:"agent"`
	Fingerprint string `json:"fingerprint,omitempty"`
	// Pairing is the pairing protocol version (Version). Agents before
	// it was added sent none: read 0 as 1.
	Pairing int `json:"pairing,omitempty"`
}

// PollResponse is the poll's answer: StatusPending, or StatusApproved with
// the display's credentials (returned once).
type PollResponse struct {
	Status      string `json:"status"`
	Display     string `json:"display,omitempty"`
	Register    string `json:"register,omitempty"`
	Token       string `json:"token,omitempty"`
	Agent       string `json:"agent,omitempty"`
	Fingerprint string `json:"fingerprint,omitempty"`
}

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// CodeAlphabet is the alphabet of pairing codes: Crockford's base32, with
// no I, L, O or U to misread.
const CodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// CodeLen is the number of code characters, shown as two groups of four
// ("ABCD-EFGH").
const CodeLen = 8

// NormalizeCode uppercases a typed code, drops separators and maps the
// letters people confuse with digits (O→0, I/L→1), as Crockford decoding
// does. Anything else makes it "", which matches no code.
func NormalizeCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch {
		case r == '-' || r == ' ':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		case r < 128 && strings.ContainsRune(CodeAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	return b.String()
}
