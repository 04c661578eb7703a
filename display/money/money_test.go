package money

import (
	"errors"
	"math"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		locale, code string
		opt          Options
		in           cart.Money
		want         string
	}{
		{"en-US", "USD", Options{}, 123456, "$1,234.56"},
		{"en-US", "USD", Options{}, 0, "$0.00"},
		{"en-US", "USD", Options{}, 5, "$0.05"},
		{"en-US", "USD", Options{}, -5, "-$0.05"},
		{"en-US", "USD", Options{}, -123456, "-$1,234.56"},
		{"en-US", "USD", Options{}, 100000000000, "$1,000,000,000.00"},
		{"en-US", "USD", Options{}, math.MaxInt64, "$92,233,720,368,547,758.07"},
		{"en-US", "USD", Options{}, math.MinInt64, "-$92,233,720,368,547,758.08"},
		{"de-DE", "EUR", Options{}, 123456, "1.234,56\u00a0€"},
		{"de-DE", "EUR", Options{}, -99, "-0,99\u00a0€"},
		{"de-CH", "CHF", Options{}, 123456, "CHF\u00a01’234.56"},
		{"fr-CH", "CHF", Options{}, 123456, "1\u00a0234,56\u00a0CHF"},
		{"fr-FR", "EUR", Options{}, 100, "1,00\u00a0€"},
		{"ja-JP", "JPY", Options{}, 1235, "¥1,235"},
		{"ja-JP", "JPY", Options{}, 0, "¥0"},
		{"en-US", "JPY", Options{}, 1235, "¥1,235"},
		{"ar-BH", "BHD", Options{}, 1234567, "1,234.567\u00a0د.ب."},
		{"ar-BH", "BHD", Options{}, 5, "0.005\u00a0د.ب."},
		{"ar-BH", "BHD", Options{Style: StyleISO}, 1234567, "1,234.567\u00a0BHD"},
		{"en-US", "BHD", Options{}, 1234567, "BHD\u00a01,234.567"},
		{"en-US", "CHF", Options{}, 100, "CHF\u00a01.00"},
		{"en-IN", "INR", Options{}, 1234567890, "₹1,23,45,678.90"},
		{"pt-BR", "BRL", Options{}, 123456, "R$\u00a01.234,56"},
		{"nl-NL", "EUR", Options{}, 123456, "€\u00a01.234,56"},
		{"en-US", "EUR", Options{Position: PositionAfter}, 100, "1.00\u00a0€"},
		{"de-DE", "EUR", Options{Position: PositionBefore}, 100, "€1,00"},
		{"en-US", "usd", Options{}, 100, "$1.00"},
		{"en-XX", "USD", Options{}, 100, "$1.00"},
	}
	for _, tt := range tests {
		f, err := New(tt.locale, tt.code, tt.opt)
		if err != nil {
			t.Errorf("New(%q, %q, %+v): %v", tt.locale, tt.code, tt.opt, err)
			continue
		}
		if got := f.Format(tt.in); got != tt.want {
			t.Errorf("%s/%s %+v Format(%d) = %q, want %q", tt.locale, tt.code, tt.opt, tt.in, got, tt.want)
		}
	}
}

func TestScale(t *testing.T) {
	tests := []struct {
		code string
		want int
	}{{"USD", 2}, {"EUR", 2}, {"CHF", 2}, {"JPY", 0}, {"BHD", 3}, {"KWD", 3}, {"KRW", 0}}
	for _, tt := range tests {
		if got := Must("en-US", tt.code, Options{}).Scale(); got != tt.want {
			t.Errorf("Scale(%s) = %d, want %d", tt.code, got, tt.want)
		}
	}
}

func TestNumber(t *testing.T) {
	f := Must("de-DE", "EUR", Options{})
	if got, want := f.Number(-123456, true), "-1.234,56"; got != want {
		t.Errorf("Number(signed) = %q, want %q", got, want)
	}
	if got, want := f.Number(-123456, false), "1.234,56"; got != want {
		t.Errorf("Number(unsigned) = %q, want %q", got, want)
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		locale, code string
		opt          Options
		want         error
	}{
		{"en-US", "", Options{}, ErrCurrency},
		{"en-US", "US", Options{}, ErrCurrency},
		{"en-US", "XYZW", Options{}, ErrCurrency},
		{"en-US", "ZZZ", Options{}, ErrCurrency},
		{"not a locale!!", "USD", Options{}, ErrLocale},
		{"", "USD", Options{}, ErrLocale},
	}
	for _, tt := range tests {
		_, err := New(tt.locale, tt.code, tt.opt)
		if !errors.Is(err, tt.want) {
			t.Errorf("New(%q, %q) error = %v, want %v", tt.locale, tt.code, err, tt.want)
		}
	}
	for _, opt := range []Options{{Style: "fancy"}, {Position: "middle"}} {
		if _, err := New("en-US", "USD", opt); err == nil {
			t.Errorf("New(%+v) error = nil, want an error", opt)
		}
	}
}

func BenchmarkFormat(b *testing.B) {
	f := Must("de-DE", "EUR", Options{})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = f.Format(cart.Money(i))
	}
}
