package cart_test

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

func TestParseQuantity(t *testing.T) {
	tests := []struct {
		in      string
		want    cart.Quantity
		wantStr string // canonical String(); "" means same as in
		wantErr bool
	}{
		{in: "0", want: 0},
		{in: "1", want: 1000},
		{in: "2", want: 2000},
		{in: "0.5", want: 500},
		{in: "1.25", want: 1250},
		{in: "1.250", want: 1250, wantStr: "1.25"},
		{in: "0.001", want: 1},
		{in: "0.010", want: 10, wantStr: "0.01"},
		{in: "007", want: 7000, wantStr: "7"},
		{in: "2.000", want: 2000, wantStr: "2"},
		{in: "-1.5", want: -1500},
		{in: "-0", want: 0, wantStr: "0"},
		{in: "1000000", want: cart.MaxQuantity},
		{in: "4611686018427387.903", want: 4611686018427387903},
		{in: "", wantErr: true},
		{in: "-", wantErr: true},
		{in: "--1", wantErr: true},
		{in: "+1", wantErr: true},
		{in: ".5", wantErr: true},
		{in: "1.", wantErr: true},
		{in: "1.2345", wantErr: true},
		{in: "1e3", wantErr: true},
		{in: "1E3", wantErr: true},
		{in: " 1", wantErr: true},
		{in: "1 ", wantErr: true},
		{in: "1,5", wantErr: true},
		{in: "0x10", wantErr: true},
		{in: "1.2.3", wantErr: true},
		{in: "1.-5", wantErr: true},
		{in: "abc", wantErr: true},
		{in: "NaN", wantErr: true},
		{in: "Inf", wantErr: true},
		{in: "١", wantErr: true}, // Arabic-Indic digit one
		{in: "99999999999999999999", wantErr: true},
		{in: "9223372036854775.807", wantErr: true},
		{in: "123456789012345678901", wantErr: true}, // over 20 characters
	}
	for _, tt := range tests {
		got, err := cart.ParseQuantity(tt.in)
		if tt.wantErr {
			if err == nil {
				t.Errorf("ParseQuantity(%q) = %d, nil; want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseQuantity(%q) = %d, %v; want %d, nil", tt.in, got, err, tt.want)
			continue
		}
		wantStr := tt.wantStr
		if wantStr == "" {
			wantStr = tt.in
		}
		if s := got.String(); s != wantStr {
			t.Errorf("ParseQuantity(%q).String() = %q, want %q", tt.in, s, wantStr)
		}
	}
}

func TestQuantityStringRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	values := []cart.Quantity{0, 1, -1, 999, 1000, 1001, -1001, cart.MaxQuantity, 1 << 40}
	for range 10000 {
		values = append(values, cart.Quantity(r.Int64N(2*int64(cart.MaxQuantity))-int64(cart.MaxQuantity)))
	}
	for _, q := range values {
		s := q.String()
		got, err := cart.ParseQuantity(s)
		if err != nil || got != q {
			t.Fatalf("ParseQuantity(%d.String() = %q) = %d, %v; want %d, nil", q, s, got, err, q)
		}
	}
	// Extremes format without panicking and keep their sign.
	for _, tt := range []struct {
		q    cart.Quantity
		want string
	}{
		{math.MaxInt64, "9223372036854775.807"},
		{math.MinInt64, "-9223372036854775.808"},
		{-1, "-0.001"},
		{-1000, "-1"},
	} {
		if got := tt.q.String(); got != tt.want {
			t.Errorf("Quantity(%d).String() = %q, want %q", int64(tt.q), got, tt.want)
		}
	}
}

func TestQuantityJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    cart.Quantity
		wantErr bool
	}{
		{in: `1`, want: 1000},
		{in: `1.25`, want: 1250},
		{in: `"1.25"`, want: 1250},
		{in: `"2"`, want: 2000},
		{in: `0.001`, want: 1},
		{in: `1.2345`, wantErr: true},
		{in: `1e3`, wantErr: true},
		{in: `1.5E1`, wantErr: true},
		{in: `"abc"`, wantErr: true},
		{in: `""`, wantErr: true},
		{in: `"1.2345"`, wantErr: true},
		{in: `"\u0031"`, want: 1000},
		{in: `true`, wantErr: true},
		{in: `null`, wantErr: true},
		{in: `[1]`, wantErr: true},
		{in: `{}`, wantErr: true},
		{in: `99999999999999999999999`, wantErr: true},
	}
	for _, tt := range tests {
		var v struct {
			Q cart.Quantity `json:"q"`
		}
		err := json.Unmarshal([]byte(`{"q":`+tt.in+`}`), &v)
		if tt.wantErr {
			var te *json.UnmarshalTypeError
			if err == nil {
				t.Errorf("Unmarshal(%s) = %d, nil; want an error", tt.in, v.Q)
			} else if !errors.As(err, &te) {
				t.Errorf("Unmarshal(%s) error = %T %v, want *json.UnmarshalTypeError", tt.in, err, err)
			}
			continue
		}
		if err != nil || v.Q != tt.want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d, nil", tt.in, v.Q, err, tt.want)
		}
	}
	for _, tt := range []struct {
		q    cart.Quantity
		want string
	}{{1250, `1.25`}, {2000, `2`}, {1, `0.001`}, {0, `0`}} {
		b, err := json.Marshal(tt.q)
		if err != nil || string(b) != tt.want {
			t.Errorf("Marshal(%d) = %s, %v; want %s, nil", tt.q, b, err, tt.want)
		}
	}
}

func TestMoneyJSON(t *testing.T) {
	tests := []struct {
		in      string
		want    cart.Money
		wantErr bool
	}{
		{in: `0`, want: 0},
		{in: `123`, want: 123},
		{in: `-5`, want: -5}, // decodes; Validate rejects negative amounts
		{in: `-0`, want: 0},
		{in: `9223372036854775807`, want: math.MaxInt64},
		{in: `9223372036854775808`, wantErr: true},
		{in: `-9223372036854775809`, wantErr: true},
		{in: `12.5`, wantErr: true},
		{in: `12.0`, wantErr: true},
		{in: `-0.0`, wantErr: true},
		{in: `1e3`, wantErr: true},
		{in: `1E+2`, wantErr: true},
		{in: `"12"`, wantErr: true},
		{in: `""`, wantErr: true},
		{in: `null`, wantErr: true},
		{in: `true`, wantErr: true},
		{in: `[12]`, wantErr: true},
		{in: `{"v":12}`, wantErr: true},
	}
	for _, tt := range tests {
		var v struct {
			M cart.Money `json:"m"`
		}
		err := json.Unmarshal([]byte(`{"m":`+tt.in+`}`), &v)
		if tt.wantErr {
			var te *json.UnmarshalTypeError
			if err == nil {
				t.Errorf("Unmarshal(%s) = %d, nil; want an error", tt.in, v.M)
			} else if !errors.As(err, &te) {
				t.Errorf("Unmarshal(%s) error = %T %v, want *json.UnmarshalTypeError", tt.in, err, err)
			}
			continue
		}
		if err != nil || v.M != tt.want {
			t.Errorf("Unmarshal(%s) = %d, %v; want %d, nil", tt.in, v.M, err, tt.want)
		}
	}
	b, err := json.Marshal(cart.Money(1999))
	if err != nil || string(b) != `1999` {
		t.Errorf("Marshal(Money(1999)) = %s, %v; want 1999, nil", b, err)
	}
}

func TestExtend(t *testing.T) {
	tests := []struct {
		q      cart.Quantity
		price  cart.Money
		want   cart.Money
		wantOK bool
	}{
		{1000, 299, 299, true},
		{2000, 129, 258, true},
		{1250, 299, 374, true}, // 373.75
		{1, 1, 0, true},        // 0.001
		{499, 1, 0, true},      // 0.499
		{500, 1, 1, true},      // 0.5: half away from zero
		{1500, 1, 2, true},     // 1.5
		{2500, 1, 3, true},     // 2.5: not banker's rounding
		{333, 3, 1, true},      // 0.999
		{0, 12345, 0, true},
		{12345, 0, 0, true},
		{1000, cart.MaxMoney, cart.MaxMoney, true},
		{1001, cart.MaxMoney, 0, false},
		{cart.MaxQuantity, cart.MaxMoney, 0, false},
		{-1000, 1, 0, false},
		{1000, -1, 0, false},
		{math.MaxInt64, math.MaxInt64, 0, false},
		// quantity × price / 1000 rounds up to exactly 2^64, which wrapped
		// to 0 and was reported as in range before the fix.
		{2049, 9002803354665471750, 0, false},
	}
	for _, tt := range tests {
		got, ok := cart.Extend(tt.q, tt.price)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Extend(%d, %d) = %d, %v; want %d, %v", tt.q, tt.price, got, ok, tt.want, tt.wantOK)
		}
	}
}

// extendRef is Extend computed with big integers.
func extendRef(q cart.Quantity, price cart.Money) (cart.Money, bool) {
	if q < 0 || price < 0 {
		return 0, false
	}
	p := new(big.Int).Mul(big.NewInt(int64(q)), big.NewInt(int64(price)))
	quo, rem := new(big.Int).QuoRem(p, big.NewInt(cart.QuantityScale), new(big.Int))
	if rem.Int64()*2 >= cart.QuantityScale {
		quo.Add(quo, big.NewInt(1))
	}
	if quo.Cmp(big.NewInt(int64(cart.MaxMoney))) > 0 {
		return 0, false
	}
	return cart.Money(quo.Int64()), true
}

func TestExtendMatchesBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		var q cart.Quantity
		var p cart.Money
		switch r.IntN(3) {
		case 0: // realistic
			q, p = cart.Quantity(r.Int64N(int64(cart.MaxQuantity)+1)), cart.Money(r.Int64N(int64(cart.MaxMoney)+1))
		case 1: // anything
			q, p = cart.Quantity(r.Int64()), cart.Money(r.Int64())
		default: // near the bounds
			q, p = cart.Quantity(r.Int64N(1<<20)), cart.Money(math.MaxInt64-r.Int64N(1<<40))
		}
		got, ok := cart.Extend(q, p)
		want, wantOK := extendRef(q, p)
		if got != want || ok != wantOK {
			t.Fatalf("Extend(%d, %d) = %d, %v; want %d, %v", q, p, got, ok, want, wantOK)
		}
	}
}
