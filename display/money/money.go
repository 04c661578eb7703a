// Package money turns integer amounts in minor units into the text a customer
// reads, for one locale and one currency: symbol and its position, grouping
// and decimal separators, digits, and the currency's number of minor digits.
//
// Locale data (separators, digits, grouping, symbols, minor digits) comes from
// golang.org/x/text. The one thing x/text does not carry, the CLDR currency
// pattern (does the symbol go before or after the number), is a short table in
// position.go. Formatting is pure integer arithmetic: no float ever touches an
// amount. The package must not import Fyne or know about screens.
package money

import (
	"errors"
	"fmt"
	"github.com/posdisplay/posdisplay/register/textclip"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"
	"golang.org/x/text/width"

	"github.com/posdisplay/posdisplay/register/cart"
)

// ErrLocale reports a locale tag that does not parse.
var ErrLocale = errors.New("money: bad locale")

// ErrCurrency reports a currency code that is not an ISO 4217 code.
var ErrCurrency = errors.New("money: bad currency")

// SymbolStyle chooses how the currency is named next to an amount.
type SymbolStyle string

// Symbol styles. Symbol is the locale's usual sign ($, €, ¥); Narrow is the
// shortest sign that is unambiguous in context; ISO is the three-letter code,
// useful when the screen font lacks a script (an Arabic sign on a Latin font).
const (
	StyleSymbol SymbolStyle = "symbol"
	StyleNarrow SymbolStyle = "narrow"
	StyleISO    SymbolStyle = "iso"
)

// Position is where the currency sign goes relative to the number.
type Position string

// Positions. PositionAuto follows the locale's CLDR pattern.
const (
	PositionAuto   Position = ""
	PositionBefore Position = "before"
	PositionAfter  Position = "after"
)

// Options tune a Formatter beyond its locale and currency. The zero value
// follows the locale.
type Options struct {
	Style    SymbolStyle
	Position Position
}

// nbsp keeps a sign and its number on one line.
const nbsp = "\u00a0"

// Formatter formats amounts of one currency for one locale. It is immutable
// and safe for concurrent use.
type Formatter struct {
	tag      language.Tag
	code     string
	scale    int
	symbol   string
	before   bool
	space    bool
	decimal  string
	minusPre string
	minusSuf string
	printer  *message.Printer
}

// New returns a Formatter for a BCP 47 locale ("de-DE") and an ISO 4217
// currency code ("EUR"). The number of minor digits is the currency's
// standard one (2 for EUR, 0 for JPY, 3 for BHD), whatever the locale.
func New(locale, code string, opt Options) (*Formatter, error) {
	tag, err := language.Parse(locale)
	if err != nil {
		// language.Parse returns a usable tag with ValueError for unknown but
		// well-formed subtags ("en-XX"); only a malformed tag is refused.
		var ve interface{ Subtag() string }
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("%w %q: %w", ErrLocale, textclip.Runes(locale, 32), err)
		}
	}
	unit, err := currency.ParseISO(code)
	if err != nil || len(code) != 3 {
		return nil, fmt.Errorf("%w %q: %w", ErrCurrency, textclip.Runes(code, 32), errors.Join(err, errors.New("want a three-letter ISO 4217 code")))
	}
	scale, _ := currency.Standard.Rounding(unit)
	p := message.NewPrinter(tag)
	f := &Formatter{tag: tag, code: unit.String(), scale: scale, printer: p}

	switch opt.Style {
	case StyleISO:
		f.symbol = unit.String()
	case StyleNarrow:
		f.symbol = stripBidi(p.Sprint(currency.NarrowSymbol(unit)))
	case StyleSymbol, "":
		f.symbol = stripBidi(p.Sprint(currency.Symbol(unit)))
	default:
		return nil, fmt.Errorf("money: unknown symbol style %q (want symbol, narrow or iso)", textclip.Runes(string(opt.Style), 32))
	}
	// CLDR gives some locales a full-width sign (ja: "￥" U+FFE5). Screens
	// draw it from fonts that rarely carry full-width forms, and a missing
	// glyph would show the customer a box: use the ordinary sign ("¥").
	f.symbol = width.Narrow.String(f.symbol)
	if f.symbol == "" {
		f.symbol = unit.String()
	}

	pat := patternFor(tag)
	switch opt.Position {
	case PositionBefore:
		pat.before, pat.space = true, false
	case PositionAfter:
		pat.before, pat.space = false, true
	case PositionAuto:
	default:
		return nil, fmt.Errorf("money: unknown symbol position %q (want before or after)", textclip.Runes(string(opt.Position), 32))
	}
	f.before, f.space = pat.before, pat.space
	// CLDR currency spacing: a sign that ends in a letter ("CHF", "US$" does
	// not) is kept apart from the digits that follow it.
	if f.before && !f.space {
		if r, _ := utf8.DecodeLastRuneInString(f.symbol); unicode.IsLetter(r) {
			f.space = true
		}
	}

	// Separators and signs come from formatting small integers with the
	// locale's number rules, so digits and marks always agree.
	zero := stripBidi(p.Sprint(number.Decimal(0, number.Scale(1))))
	_, first := utf8.DecodeRuneInString(zero)
	_, last := utf8.DecodeLastRuneInString(zero)
	if len(zero) > first+last {
		f.decimal = zero[first : len(zero)-last]
	} else {
		f.decimal = "."
	}
	one := stripBidi(p.Sprint(number.Decimal(1)))
	neg := stripBidi(p.Sprint(number.Decimal(-1)))
	if i := strings.Index(neg, one); i >= 0 {
		f.minusPre, f.minusSuf = neg[:i], neg[i+len(one):]
	} else {
		f.minusPre = "-"
	}
	return f, nil
}

// Must is New for configuration known to be good (tests, defaults).
func Must(locale, code string, opt Options) *Formatter {
	f, err := New(locale, code, opt)
	if err != nil {
		panic(err)
	}
	return f
}

// Currency returns the ISO 4217 code the Formatter was built for.
func (f *Formatter) Currency() string { return f.code }

// Scale returns the currency's number of minor digits.
func (f *Formatter) Scale() int { return f.scale }

// Symbol returns the sign printed next to amounts.
func (f *Formatter) Symbol() string { return f.symbol }

// Format returns m, in minor units, as the customer reads it: "$1,234.56",
// "1.234,56 €", "¥1,235", "1,234.567 BHD".
func (f *Formatter) Format(m cart.Money) string {
	return f.wrap(m < 0, f.Number(m, false))
}

// Number returns m without the currency sign; signed reports whether a
// negative amount keeps its minus sign (otherwise the magnitude is returned).
func (f *Formatter) Number(m cart.Money, signed bool) string {
	neg := m < 0
	mag := uint64(m)
	if neg {
		mag = -mag // two's complement: exact even for math.MinInt64
	}
	div := uint64(1)
	for range f.scale {
		div *= 10
	}
	ip, fp := mag/div, mag%div
	var b strings.Builder
	if signed && neg {
		b.WriteString(f.minusPre)
	}
	b.WriteString(stripBidi(f.printer.Sprint(number.Decimal(ip))))
	if f.scale > 0 {
		b.WriteString(f.decimal)
		b.WriteString(stripBidi(f.printer.Sprint(number.Decimal(fp, number.MinIntegerDigits(f.scale), number.NoSeparator()))))
	}
	if signed && neg {
		b.WriteString(f.minusSuf)
	}
	return b.String()
}

func (f *Formatter) wrap(neg bool, num string) string {
	var b strings.Builder
	if neg {
		b.WriteString(f.minusPre)
	}
	if f.before {
		b.WriteString(f.symbol)
		if f.space {
			b.WriteString(nbsp)
		}
		b.WriteString(num)
	} else {
		b.WriteString(num)
		if f.space {
			b.WriteString(nbsp)
		}
		b.WriteString(f.symbol)
	}
	if neg {
		b.WriteString(f.minusSuf)
	}
	return b.String()
}

// stripBidi drops bidirectional control marks: the screen draws text left to
// right and would show them as boxes.
func stripBidi(s string) string {
	if !strings.ContainsAny(s, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\u200e', '\u200f', '\u061c', '\u202a', '\u202b', '\u202c', '\u202d', '\u202e', '\u2066', '\u2067', '\u2068', '\u2069':
			return -1
		}
		return r
	}, s)
}

// DecimalSeparator returns the locale's decimal mark ("." or ","), for
// quantities shown next to amounts.
func (f *Formatter) DecimalSeparator() string { return f.decimal }
