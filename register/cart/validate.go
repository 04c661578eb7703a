package cart

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"

	"github.com/posdisplay/posdisplay/register/textclip"
)

// Limits bound what a sender can put in a cart, so that a hostile or buggy
// POS page cannot exhaust the agent's memory or overflow a customer screen.
const (
	MaxLines      = 500 // a very long grocery basket is ~200 lines
	MaxTaxLines   = 16
	MaxIDLen      = 64  // register, order, line ids, sku, barcode
	MaxTitleLen   = 200 // runes; the screen ellipsizes long titles anyway
	MaxNoteLen    = 200
	MaxUnitLen    = 8 // "kg", "lb", "m", "pcs"
	MaxLabelLen   = 64
	MaxMethodLen  = 32
	MaxMessageLen = 280
)

// ErrInvalid is wrapped by every validation error, so callers can tell a
// rejected cart from an internal failure with errors.Is.
var ErrInvalid = errors.New("invalid cart")

// FieldError names the offending field with a JSON path such as
// "lines[2].unit_price" and says what is wrong with it.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// ValidID reports whether s is a usable identifier for a register: 1 to 64
// characters from [A-Za-z0-9._-].
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// lastCurrency is the last code ValidCurrency accepted. A register's carts
// all carry one currency, and ParseISO searches the table of every ISO
// code: on a core that has been idle that search is a few cold cache lines
// per cart.
var lastCurrency atomic.Pointer[string]

// ValidCurrency reports whether code is an ISO 4217 currency code.
func ValidCurrency(code string) bool {
	if last := lastCurrency.Load(); last != nil && *last == code {
		return true
	}
	if len(code) != 3 || strings.ToUpper(code) != code {
		return false
	}
	if _, err := currency.ParseISO(code); err != nil {
		return false
	}
	code = strings.Clone(code)
	lastCurrency.Store(&code)
	return true
}

// Validate checks every field of c, its limits and its arithmetic, and returns
// the first problem as a *FieldError. A cart that passes can be shown to a
// customer: amounts are in range and add up.
func (c *Cart) Validate() error { return c.ValidateKnown(nil) }

// ValidateKnown is Validate for a cart some of whose lines are known to be
// valid: known[i] marks a line that passed Validate before, with the same
// fields, in another cart. A line's own checks depend on nothing else, so
// those are skipped for it; everything that spans lines (ids, sums) is
// checked as Validate does. A POS page resends its whole cart on every
// change, and its decoder (protocol.POSDecoder) knows the lines it saw in
// the page's last cart. known may be nil or shorter than the lines.
func (c *Cart) ValidateKnown(known []bool) error {
	if !ValidID(c.Register) {
		return fieldErr("register", "must be 1-%d characters of A-Z a-z 0-9 . _ -", MaxIDLen)
	}
	if err := checkText("order", c.Order, MaxIDLen); err != nil {
		return err
	}
	if !ValidCurrency(c.Currency) {
		return fieldErr("currency", "must be an ISO 4217 code such as USD, got %q", textclip.Runes(c.Currency, 8))
	}
	if !c.State.Valid() {
		return fieldErr("state", "must be one of idle, open, payment, complete, got %q", textclip.Runes(string(c.State), 16))
	}
	if len(c.Lines) > MaxLines {
		return fieldErr("lines", "at most %d lines, got %d", MaxLines, len(c.Lines))
	}
	var seen map[string]int // ids of the lines so far; nil for a short cart
	if len(c.Lines) > shortCart {
		seen = make(map[string]int, len(c.Lines))
	}
	var sum Money
	returns := false
	for i := range c.Lines {
		l := &c.Lines[i]
		if i >= len(known) || !known[i] {
			if err := l.validate(i); err != nil {
				return err
			}
		}
		if j := earlierLine(c.Lines, i, seen); j >= 0 {
			return fieldErr(fmt.Sprintf("lines[%d].id", i), "duplicates lines[%d].id %q", j, l.ID)
		}
		if l.Return {
			returns = true
			sum -= l.Total
		} else {
			sum += l.Total
		}
	}
	// Only a cart with a return line may owe the customer money: a negative
	// figure anywhere else is a sign error in the POS integration.
	if err := checkSigned("subtotal", c.Subtotal, returns); err != nil {
		return err
	}
	if c.Subtotal != sum {
		return fieldErr("subtotal", "is %d but the sale line totals minus the return line totals are %d", c.Subtotal, sum)
	}
	if err := checkMoney("discount", c.Discount); err != nil {
		return err
	}
	if c.Discount > max(c.Subtotal, 0) {
		return fieldErr("discount", "%d is more than the subtotal %d", c.Discount, max(c.Subtotal, 0))
	}
	if len(c.Taxes) > MaxTaxLines {
		return fieldErr("taxes", "at most %d tax lines, got %d", MaxTaxLines, len(c.Taxes))
	}
	want := c.Subtotal - c.Discount
	for i, t := range c.Taxes {
		// Paths are built only for a problem, as for lines.
		if reason, bad := textProblem(t.Label, MaxLabelLen); bad {
			return &FieldError{Field: fmt.Sprintf("taxes[%d].label", i), Reason: reason}
		}
		if t.Label == "" {
			return fieldErr(fmt.Sprintf("taxes[%d].label", i), "must not be empty")
		}
		if reason, bad := moneyProblem(t.Amount); bad {
			return &FieldError{Field: fmt.Sprintf("taxes[%d].amount", i), Reason: reason}
		}
		if !t.Included {
			want += t.Amount
		}
	}
	if err := checkSigned("total", c.Total, returns); err != nil {
		return err
	}
	if c.Total != want {
		return fieldErr("total", "is %d but subtotal - discount + taxes is %d", c.Total, want)
	}
	if c.Payment != nil {
		if err := c.Payment.validate(returns); err != nil {
			return err
		}
	}
	return checkText("message", c.Message, MaxMessageLen)
}

// shortCart is the most lines whose ids ValidateKnown compares pairwise
// (at most 496 string compares, most of them ending at the first byte or
// the length) rather than through a map made for every cart.
const shortCart = 32

// earlierLine returns the index of a line before ls[i] with its id, or -1.
// seen holds the ids of the lines before i and gets ls[i]'s; when it is nil
// the earlier lines are compared one by one.
func earlierLine(ls []Line, i int, seen map[string]int) int {
	id := ls[i].ID
	if seen == nil {
		for j := range i {
			if ls[j].ID == id {
				return j
			}
		}
		return -1
	}
	if j, dup := seen[id]; dup {
		return j
	}
	seen[id] = i
	return -1
}

func (l *Line) validate(i int) error {
	// Field paths are built only when something is wrong: validating a
	// 500-line cart must not allocate a string per field.
	p := func(name string) string { return fmt.Sprintf("lines[%d]%s", i, name) }
	if l.ID == "" {
		return fieldErr(p(".id"), "must not be empty")
	}
	for _, s := range [...]struct {
		name, v string
		max     int
	}{{".id", l.ID, MaxIDLen}, {".sku", l.SKU, MaxIDLen}, {".barcode", l.Barcode, MaxIDLen}, {".title", l.Title, MaxTitleLen}, {".unit", l.Unit, MaxUnitLen}, {".note", l.Note, MaxNoteLen}} {
		if reason, bad := textProblem(s.v, s.max); bad {
			return &FieldError{Field: p(s.name), Reason: reason}
		}
	}
	if strings.TrimSpace(l.Title) == "" {
		return fieldErr(p(".title"), "must not be empty")
	}
	if l.Quantity <= 0 {
		return fieldErr(p(".quantity"), "must be > 0, got %s", l.Quantity)
	}
	if l.Quantity > MaxQuantity {
		return fieldErr(p(".quantity"), "must be <= %s", MaxQuantity)
	}
	if l.UnitPrice < 0 {
		return fieldErr(p(".unit_price"), "must be >= 0")
	}
	for _, m := range [...]struct {
		name string
		v    Money
	}{{".unit_price", l.UnitPrice}, {".discount", l.Discount}, {".total", l.Total}} {
		if reason, bad := moneyProblem(m.v); bad {
			return &FieldError{Field: p(m.name), Reason: reason}
		}
	}
	gross, ok := Extend(l.Quantity, l.UnitPrice)
	if !ok {
		return fieldErr(p(""), "quantity × unit_price is out of range")
	}
	if l.Discount > gross {
		return fieldErr(p(".discount"), "%d is more than quantity × unit_price %d", l.Discount, gross)
	}
	// POS systems round extended prices differently (half-up, half-even,
	// per-unit): allow one minor unit either way, never more.
	if d := l.Total - (gross - l.Discount); d < -1 || d > 1 {
		return fieldErr(p(".total"), "is %d but quantity × unit_price - discount is %d", l.Total, gross-l.Discount)
	}
	return nil
}

func (p *Payment) validate(returns bool) error {
	if err := checkSigned("payment.due", p.Due, returns); err != nil {
		return err
	}
	for _, m := range []struct {
		name string
		v    Money
	}{{"payment.tendered", p.Tendered}, {"payment.change", p.Change}} {
		if err := checkMoney(m.name, m.v); err != nil {
			return err
		}
	}
	want := p.Tendered - p.Due
	if want < 0 {
		want = 0
	}
	if p.Change != want {
		return fieldErr("payment.change", "is %d but tendered - due is %d", p.Change, want)
	}
	return checkText("payment.method", p.Method, MaxMethodLen)
}

func checkMoney(field string, m Money) error {
	if reason, bad := moneyProblem(m); bad {
		return &FieldError{Field: field, Reason: reason}
	}
	return nil
}

// checkSigned is checkMoney for the figures that a cart with a return line
// may carry below zero (subtotal, total, payment.due), down to -MaxMoney.
func checkSigned(field string, m Money, negativeOK bool) error {
	if negativeOK && m < 0 {
		if m < -MaxMoney {
			return fieldErr(field, "must be >= %d", -MaxMoney)
		}
		return nil
	}
	if m < 0 {
		return fieldErr(field, "must be >= 0 (only a cart with a return line may be negative)")
	}
	return checkMoney(field, m)
}

func moneyProblem(m Money) (string, bool) {
	if m < 0 {
		return "must be >= 0", true
	}
	if m > MaxMoney {
		return fmt.Sprintf("must be <= %d", MaxMoney), true
	}
	return "", false
}

// checkText enforces valid UTF-8, a length in runes, and no control,
// line or paragraph separator (U+2028, U+2029) or bidirectional-override
// characters that could garble a screen.
func checkText(field, s string, max int) error {
	if reason, bad := textProblem(s, max); bad {
		return &FieldError{Field: field, Reason: reason}
	}
	return nil
}

func textProblem(s string, max int) (string, bool) {
	if len(s) > max*4 {
		return fmt.Sprintf("at most %d characters", max), true
	}
	// One pass (it was three: count, UTF-8, controls; a tenth of the POS
	// reader's CPU in a burst of 12-line carts); the checks still answer
	// in their old order: length, then UTF-8, then the first control.
	var (
		runes   int
		invalid bool
		control rune = -1
	)
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if (c < 0x20 || c == 0x7f) && control < 0 {
				control = rune(c)
			}
			i++
			runes++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			invalid = true
		} else if control < 0 && forbiddenRune(r) {
			control = r
		}
		i += size
		runes++
	}
	switch {
	case runes > max:
		return fmt.Sprintf("at most %d characters", max), true
	case invalid:
		return "must be valid UTF-8", true
	case control >= 0:
		return fmt.Sprintf("must not contain control characters (U+%04X)", control), true
	}
	return "", false
}

// forbiddenRune reports the characters text may not hold: controls, line
// and paragraph separators, and bidirectional embedding and isolate
// controls.
func forbiddenRune(r rune) bool {
	return unicode.IsControl(r) || r == 0x2028 || r == 0x2029 || (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
