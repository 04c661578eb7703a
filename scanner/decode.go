package scanner

import (
	"strings"
	"unicode/utf8"
)

// Decode interprets one frame of scanned data (terminator and configured
// prefix/suffix already removed): it splits off an AIM symbology identifier,
// names the symbology, verifies GTIN check digits and parses GS1 element
// strings. Code is data minus the AIM identifier and is otherwise exactly
// data. Source, At and Timing are left for the caller.
func Decode(data string) Scan {
	s := Scan{Raw: data}
	aim, sym, code := splitAIM(data)
	s.AIM, s.Code = aim, code
	s.InvalidUTF8 = !utf8.ValidString(code)
	switch sym {
	case "", SymbologyEAN13, SymbologyEAN8:
		s.Symbology, s.Check = gtinResult(sym, code)
		s.SymbologyInferred = sym == "" && s.Symbology != SymbologyUnknown
	case SymbologyGS1128, SymbologyGS1DataMatrix, SymbologyGS1QR, SymbologyGS1DataBar:
		s.Symbology = sym
		els, err := ParseGS1(code)
		if err != nil {
			s.GS1Error = err.Error()
			s.Check = CheckNotApplicable
			break
		}
		s.GS1, s.Check = els, gs1Check(els)
	default:
		s.Symbology, s.Check = sym, CheckNotApplicable
	}
	if (sym == "" || sym == SymbologyUnknown) && s.Symbology == SymbologyUnknown && looksGS1(code) {
		// No identifier, but the data is a well-formed element string:
		// report the elements, keep the symbology unknown.
		if els, err := ParseGS1(code); err == nil {
			s.GS1, s.Check = els, gs1Check(els)
		}
	}
	return s
}

func looksGS1(code string) bool {
	return strings.HasPrefix(code, "(") || strings.IndexByte(code, gs1GS) >= 0
}
