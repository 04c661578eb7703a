package cart_test

import (
	"encoding/json"
	"errors"
	"math/big"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// FuzzParseQuantity checks that ParseQuantity never panics, that what it
// accepts has the exact decimal value of its input, and that String round
// trips.
func FuzzParseQuantity(f *testing.F) {
	for _, s := range []string{"0", "1", "1.25", "1.250", "-0.5", "007", "1e3", ".5", "1.", "99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := cart.ParseQuantity(s)
		if err != nil {
			return
		}
		want, ok := new(big.Rat).SetString(s)
		if !ok {
			t.Fatalf("ParseQuantity(%q) = %d, nil; but %q is not a decimal", s, q, s)
		}
		want.Mul(want, big.NewRat(cart.QuantityScale, 1))
		if !want.IsInt() || want.Num().Cmp(big.NewInt(int64(q))) != 0 {
			t.Fatalf("ParseQuantity(%q) = %d, want %s", s, q, want.RatString())
		}
		back, err := cart.ParseQuantity(q.String())
		if err != nil || back != q {
			t.Fatalf("ParseQuantity(%q) = %d, %v; want %d, nil", q.String(), back, err, q)
		}
		var v cart.Quantity
		if err := json.Unmarshal([]byte(`"`+s+`"`), &v); err != nil || v != q {
			t.Fatalf("Unmarshal(%q) = %d, %v; want %d, nil", `"`+s+`"`, v, err, q)
		}
	})
}

// FuzzExtend compares Extend with big-integer arithmetic.
func FuzzExtend(f *testing.F) {
	f.Add(int64(1250), int64(299))
	f.Add(int64(2049), int64(9002803354665471750))
	f.Add(int64(-1), int64(5))
	f.Fuzz(func(t *testing.T, q, p int64) {
		got, ok := cart.Extend(cart.Quantity(q), cart.Money(p))
		want, wantOK := extendRef(cart.Quantity(q), cart.Money(p))
		if got != want || ok != wantOK {
			t.Fatalf("Extend(%d, %d) = %d, %v; want %d, %v", q, p, got, ok, want, wantOK)
		}
	})
}

// FuzzApply applies decoded ops, as a display receives them, to a valid
// cart: Apply must never panic, must leave its input alone, and a result it
// accepts must validate and be reachable again through Diff.
func FuzzApply(f *testing.F) {
	f.Add([]byte(`[{"op":"add","index":3,"id":"l4","line":{"id":"l4","title":"Tea","quantity":1,"unit_price":250,"discount":0,"total":250}},{"op":"totals","index":0,"totals":{"subtotal":1212,"discount":50,"taxes":[{"label":"Sales tax 8%","amount":93}],"total":1255}}]`))
	f.Add([]byte(`[{"op":"move","index":2,"from":0,"id":"l1"}]`))
	f.Add([]byte(`[{"op":"remove","index":1,"id":"l2"}]`))
	f.Add([]byte(`[{"op":"header","index":0,"header":{"currency":"USD","state":"payment","payment":{"due":985,"tendered":1000,"change":15}}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ops []cart.Op
		if err := json.Unmarshal(data, &ops); err != nil {
			return
		}
		in := sampleCart()
		before := in.Clone()
		got, err := cart.Apply(in, ops)
		if !cart.Equal(in, before) {
			t.Fatalf("Apply changed its input to %+v", in)
		}
		if err != nil {
			if !errors.Is(err, cart.ErrOutOfStep) && !errors.Is(err, cart.ErrInvalid) {
				t.Fatalf("Apply error %v wraps neither ErrOutOfStep nor ErrInvalid", err)
			}
			if !cart.Equal(got, before) {
				t.Fatalf("Apply returned %+v with an error, want its input", got)
			}
			return
		}
		if err := got.Validate(); err != nil {
			t.Fatalf("Apply accepted a result that does not validate: %v", err)
		}
		again, err := cart.Apply(before, cart.Diff(before, got))
		if err != nil || !cart.Equal(again, got) {
			t.Fatalf("Apply(c, Diff(c, result)) = %+v, %v; want %+v", again, err, got)
		}
	})
}
