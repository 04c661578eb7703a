package pairing

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/posdisplay/posdisplay/register/clock"
	"github.com/posdisplay/posdisplay/register/pairing/pairwire"
	"sync"
	"time"
)

// Errors of the pairing flow, for callers that branch (HTTP status codes).
var (
	ErrBadCode      = errors.New("pairing: no pending request has this code")
	ErrLockedOut    = errors.New("pairing: too many wrong codes; approval is locked for a while")
	ErrTooMany      = errors.New("pairing: too many pending pairing requests")
	ErrUnknown      = errors.New("pairing: unknown or expired request")
	ErrNeedRegister = errors.New("pairing: this agent serves several registers; say which one")
	// ErrStaleCode: the screen that showed the code stopped polling for
	// it (restarted, switched off); approving it would create a display
	// nobody collects.
	ErrStaleCode = errors.New("pairing: that screen has restarted or stopped; its new code is on screen")
)

// AlreadyPairedError is returned by Approve for a code that was approved
// already; it does not count as a wrong code.
type AlreadyPairedError struct{ Display Display }

func (e *AlreadyPairedError) Error() string {
	return fmt.Sprintf("pairing: this code was already approved: paired as %s (%q) on register %s", e.Display.ID, e.Display.Name, e.Display.Register)
}

// Limits of the pairing flow.
const (
	// CodeTTL is how long a code shown on a screen stays valid.
	CodeTTL = 10 * time.Minute
	// MaxFailures wrong codes within FailureWindow lock approval for
	// Lockout: 5 guesses of a 40-bit code are nothing, and a locked admin
	// endpoint costs store IT a five-minute wait at worst.
	MaxFailures   = 5
	FailureWindow = 10 * time.Minute
	Lockout       = 5 * time.Minute
	// MaxPending bounds open requests in total and per remote address, so
	// that a device on the store network cannot flood the agent.
	MaxPending      = 16
	MaxPendingPerIP = 3
	// StaleAfter is how long a request may go unpolled before its code is
	// refused: screens poll every second, so 15 s covers a hiccup, while a
	// restarted screen (new code on screen) no longer leaves a phantom
	// display behind.
	StaleAfter = 15 * time.Second
)

// codeAlphabet is Crockford's base32: no I, L, O or U to misread.
const codeAlphabet = pairwire.CodeAlphabet

// Request is a pending pairing request as the screen sees it.
type Request struct {
	ID      string
	Secret  string // the screen's proof when it polls
	Code    string // shown on the screen, typed by store IT: "ABCD-EFGH"
	Expires time.Time
}

// Result is what an approved screen receives once.
type Result struct {
	DisplayID string
	Register  string
	Token     string
}

// Screen is who asks to pair: the fields of pairwire.OpenRequest.
type Screen struct {
	Name string
	Key  string // optional; see pairwire.OpenRequest.Key
}

// Approval is an approved pairing: the new display, and the entries it
// replaced (earlier pairings of the same screen, by its key).
type Approval struct {
	Display
	Replaced []Display
}

type pending struct {
	Request
	screen   Screen
	remote   string
	created  time.Time
	lastPoll time.Time // the screen is still waiting for this code
	result   *Result
	display  Display // set with result
}

// Pairer runs the pairing flow on top of a Registry.
type Pairer struct {
	reg *Registry
	now func() time.Time // opts.Clock.Now

	mu          sync.Mutex
	reqs        map[string]*pending
	used        map[string]usedCode // approved codes, normalized, until CodeTTL after approval
	failures    []time.Time
	lockedUntil time.Time
}

// PairerOptions configures a Pairer; the zero value is ready to use.
type PairerOptions struct {
	// Clock times codes, lockouts and polls; nil is the real clock.
	Clock clock.Clock
}

// NewPairer returns a Pairer.
func NewPairer(reg *Registry, opts PairerOptions) *Pairer {
	return &Pairer{reg: reg, now: opts.Clock.Now, reqs: map[string]*pending{}, used: map[string]usedCode{}}
}

type usedCode struct {
	display Display
	at      time.Time
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newCode() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 9)
	for i, v := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, codeAlphabet[v&31])
	}
	return string(out)
}

// NormalizeCode is pairwire.NormalizeCode.
func NormalizeCode(s string) string { return pairwire.NormalizeCode(s) }

// expire drops old requests; a request approved but never collected also
// revokes the display it created. Callers hold p.mu.
func (p *Pairer) expire(now time.Time) {
	for id, r := range p.reqs {
		if now.After(r.Expires) {
			if r.result != nil {
				_, _ = p.reg.Revoke(r.result.DisplayID)
			}
			delete(p.reqs, id)
		}
	}
	for code, u := range p.used {
		if now.Sub(u.at) > CodeTTL {
			delete(p.used, code)
		}
	}
}

// ErrBadKey is returned by Open for a malformed screen key.
var ErrBadKey = fmt.Errorf("pairing: a screen key must be %d-%d characters of A-Z a-z 0-9 - _", pairwire.MinKeyLen, pairwire.MaxKeyLen)

// Open starts a pairing request for screen s at remote (its IP address).
func (p *Pairer) Open(s Screen, remote string) (Request, error) {
	if err := ValidName(s.Name); err != nil {
		return Request{}, err
	}
	if s.Key != "" && !pairwire.ValidKey(s.Key) {
		return Request{}, ErrBadKey
	}
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	perIP := 0
	for _, r := range p.reqs {
		if r.remote == remote {
			perIP++
		}
	}
	if len(p.reqs) >= MaxPending || perIP >= MaxPendingPerIP {
		return Request{}, ErrTooMany
	}
	r := &pending{Request: Request{ID: randomHex(8), Secret: randomHex(16), Code: newCode(), Expires: now.Add(CodeTTL)}, screen: s, remote: remote, created: now, lastPoll: now}
	p.reqs[r.ID] = r
	return r.Request, nil
}

// Poll returns the result once the request was approved (and then forgets
// the request), nil while it is pending, or ErrUnknown.
func (p *Pairer) Poll(id, secret string) (*Result, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	r, ok := p.reqs[id]
	if !ok || subtle.ConstantTimeCompare([]byte(secret), []byte(r.Secret)) != 1 {
		return nil, ErrUnknown
	}
	r.lastPoll = now
	if r.result == nil {
		return nil, nil
	}
	delete(p.reqs, id)
	return r.result, nil
}

// Approve pairs the screen showing code with register ("" when the agent
// serves one register). Wrong codes count towards the lockout. Entries
// of the same screen (same key) are replaced: the caller disconnects them.
func (p *Pairer) Approve(code, register string) (Approval, error) {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	if now.Before(p.lockedUntil) {
		return Approval{}, lockedOut(p.lockedUntil)
	}
	want := NormalizeCode(code)
	if u, ok := p.used[want]; ok && want != "" {
		return Approval{}, &AlreadyPairedError{Display: u.display}
	}
	if register == "" {
		if len(p.reg.registers) != 1 {
			return Approval{}, ErrNeedRegister
		}
		for reg := range p.reg.registers {
			register = reg
		}
	}
	if !p.reg.validRegister(register) {
		return Approval{}, fmt.Errorf("pairing: this agent has no register %q", register)
	}
	var match *pending
	for _, r := range p.reqs {
		if r.result == nil && want != "" && subtle.ConstantTimeCompare([]byte(NormalizeCode(r.Code)), []byte(want)) == 1 {
			match = r
		}
	}
	if match == nil {
		p.failures = append(p.failures, now)
		recent := p.failures[:0]
		for _, f := range p.failures {
			if now.Sub(f) < FailureWindow {
				recent = append(recent, f)
			}
		}
		p.failures = recent
		if len(recent) >= MaxFailures {
			p.lockedUntil = now.Add(Lockout)
			p.failures = nil
			return Approval{}, lockedOut(p.lockedUntil)
		}
		return Approval{}, ErrBadCode
	}
	if now.Sub(match.lastPoll) > StaleAfter {
		delete(p.reqs, match.ID) // its screen shows a new code by now
		return Approval{}, ErrStaleCode
	}
	d, token, replaced, err := p.reg.add(Display{Name: match.screen.Name, Register: register, Via: "code", ScreenKey: match.screen.Key, Addr: match.remote})
	if err != nil {
		return Approval{}, err
	}
	match.result = &Result{DisplayID: d.ID, Register: register, Token: token}
	p.used[want] = usedCode{display: d, at: now}
	// The screen polls every second or so; give it a fresh window to
	// collect the token.
	match.Expires = now.Add(CodeTTL)
	return Approval{Display: d, Replaced: replaced}, nil
}

// lockedOut says until when, in the agent's local time with its zone:
// store IT reads it on the register.
func lockedOut(until time.Time) error {
	return fmt.Errorf("%w (until %s)", ErrLockedOut, until.Local().Format("15:04:05 MST"))
}

// PendingInfo describes an open request for store IT (never its code).
type PendingInfo struct {
	Name   string        `json:"name"`
	Remote string        `json:"remote"`
	Age    time.Duration `json:"age_ns"`
}

// Pending lists open requests, without their codes.
func (p *Pairer) Pending() []PendingInfo {
	now := p.now()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.expire(now)
	var out []PendingInfo
	for _, r := range p.reqs {
		if r.result == nil {
			out = append(out, PendingInfo{Name: r.screen.Name, Remote: r.remote, Age: now.Sub(r.created)})
		}
	}
	return out
}
