package cart

import (
	"encoding/json"
	"fmt"
	"github.com/posdisplay/posdisplay/register/textclip"
	"math/bits"
	"reflect"
	"strconv"
)

// Money is an amount in the minor units of the cart's currency (cents for
// USD, yen for JPY, fils for BHD). It is never a float.
type Money int64

// MaxMoney bounds every amount in a cart. 10^13 minor units (10^11 dollars)
// is far above any till, stays exact in a JavaScript number (2^53), and keeps
// sums of many lines far from int64 overflow.
const MaxMoney Money = 10_000_000_000_000

// UnmarshalJSON accepts only a JSON integer: "12.5", 1e3 and strings are
// rejected so that no float ever becomes money.
func (m *Money) UnmarshalJSON(b []byte) error {
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: textclip.Runes(string(b), 24), Type: reflect.TypeFor[Money]()}
	}
	*m = Money(v)
	return nil
}

// QuantityScale is the number of thousandths in one unit: quantities carry at
// most three fraction digits (grams of a kilogram, millilitres of a litre).
const QuantityScale = 1000

// MaxQuantity bounds a line's quantity (one million units, in thousandths).
const MaxQuantity Quantity = 1_000_000 * QuantityScale

// Quantity is a decimal quantity in thousandths of a unit: 1.25 kg is 1250.
// On the wire it is a JSON number (or a string holding one) with at most three
// fraction digits; it is parsed textually, never through a float.
type Quantity int64

// ParseQuantity parses a decimal such as "2", "0.5" or "1.250".
func ParseQuantity(s string) (Quantity, error) {
	if len(s) == 0 || len(s) > 20 {
		return 0, fmt.Errorf("must be a decimal number with at most 3 fraction digits")
	}
	neg := false
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	intPart, frac := s, ""
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			intPart, frac = s[:i], s[i+1:]
			break
		}
	}
	if intPart == "" || len(frac) > 3 || (len(s) > len(intPart) && frac == "") {
		return 0, fmt.Errorf("must be a decimal number with at most 3 fraction digits, got %q", textclip.Runes(s, 24))
	}
	var v int64
	for _, part := range []string{intPart, frac + "000"[len(frac):]} {
		for i := 0; i < len(part); i++ {
			c := part[i]
			if c < '0' || c > '9' {
				return 0, fmt.Errorf("must be a decimal number with at most 3 fraction digits, got %q", textclip.Runes(s, 24))
			}
			if v > (1<<62)/10 {
				return 0, fmt.Errorf("is too large")
			}
			v = v*10 + int64(c-'0')
		}
	}
	if neg {
		v = -v
	}
	return Quantity(v), nil
}

// String formats q canonically: no trailing zeros, no trailing dot ("1.25", "3").
func (q Quantity) String() string { return string(q.AppendText(make([]byte, 0, 24))) }

// MarshalJSON writes q as a JSON number in canonical form.
func (q Quantity) MarshalJSON() ([]byte, error) { return q.AppendText(nil), nil }

// UnmarshalJSON accepts a JSON number or a string holding a decimal.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return &json.UnmarshalTypeError{Value: "string", Type: reflect.TypeFor[Quantity]()}
		}
		s = str
	}
	v, err := ParseQuantity(s)
	if err != nil {
		return &json.UnmarshalTypeError{Value: textclip.Runes(string(b), 24), Type: reflect.TypeFor[Quantity]()}
	}
	*q = v
	return nil
}

// Extend returns quantity × unit price in minor units, rounded half away from
// zero, and false if the product does not fit the money bounds.
func Extend(q Quantity, unitPrice Money) (Money, bool) {
	if q < 0 || unitPrice < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(q), uint64(unitPrice))
	if hi >= QuantityScale { // quotient would overflow uint64
		return 0, false
	}
	quo, rem := bits.Div64(hi, lo, QuantityScale)
	if quo > uint64(MaxMoney) { // also keeps quo++ below from wrapping to 0
		return 0, false
	}
	if rem*2 >= QuantityScale {
		quo++
	}
	if quo > uint64(MaxMoney) {
		return 0, false
	}
	return Money(quo), true
}
