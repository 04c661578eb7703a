package scanner

import (
	"errors"
	"fmt"
	"strings"
)

// ErrGS1 is wrapped by every GS1 element string parse error.
var ErrGS1 = errors.New("invalid GS1 element string")

// gs1GS is the ASCII group separator that scanners transmit for FNC1 inside
// a GS1 element string.
const gs1GS = '\x1d'

// aiDef describes a family of application identifiers sharing a prefix.
type aiDef struct {
	aiLen    int  // digits in the AI itself (2, 3 or 4)
	min, max int  // data length bounds
	numeric  bool // data must be digits
	date     bool // data is YYMMDD
	check    bool // last data digit is a GS1 mod-10 check digit
}

// aiTable is keyed by the first 2 or 3 digits of an AI. It covers the AIs a
// retail register meets; an AI not in it stops parsing with an error, since
// its data length cannot be known.
var aiTable = map[string]aiDef{
	"00":  {aiLen: 2, min: 18, max: 18, numeric: true, check: true},
	"01":  {aiLen: 2, min: 14, max: 14, numeric: true, check: true},
	"02":  {aiLen: 2, min: 14, max: 14, numeric: true, check: true},
	"03":  {aiLen: 2, min: 14, max: 14, numeric: true},
	"10":  {aiLen: 2, min: 1, max: 20},
	"11":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"12":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"13":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"15":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"16":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"17":  {aiLen: 2, min: 6, max: 6, numeric: true, date: true},
	"20":  {aiLen: 2, min: 2, max: 2, numeric: true},
	"21":  {aiLen: 2, min: 1, max: 20},
	"22":  {aiLen: 2, min: 1, max: 20},
	"235": {aiLen: 3, min: 1, max: 28},
	"240": {aiLen: 3, min: 1, max: 30},
	"241": {aiLen: 3, min: 1, max: 30},
	"242": {aiLen: 3, min: 1, max: 6, numeric: true},
	"243": {aiLen: 3, min: 1, max: 20},
	"250": {aiLen: 3, min: 1, max: 30},
	"251": {aiLen: 3, min: 1, max: 30},
	"253": {aiLen: 3, min: 13, max: 30},
	"254": {aiLen: 3, min: 1, max: 20},
	"255": {aiLen: 3, min: 13, max: 25, numeric: true},
	"30":  {aiLen: 2, min: 1, max: 8, numeric: true},
	"37":  {aiLen: 2, min: 1, max: 8, numeric: true},
	"390": {aiLen: 4, min: 1, max: 15, numeric: true},
	"391": {aiLen: 4, min: 4, max: 18, numeric: true},
	"392": {aiLen: 4, min: 1, max: 15, numeric: true},
	"393": {aiLen: 4, min: 4, max: 18, numeric: true},
	"394": {aiLen: 4, min: 4, max: 4, numeric: true},
	"395": {aiLen: 4, min: 6, max: 6, numeric: true},
	"400": {aiLen: 3, min: 1, max: 30},
	"401": {aiLen: 3, min: 1, max: 30},
	"402": {aiLen: 3, min: 17, max: 17, numeric: true, check: true},
	"403": {aiLen: 3, min: 1, max: 30},
	"420": {aiLen: 3, min: 1, max: 20},
	"421": {aiLen: 3, min: 4, max: 12},
	"422": {aiLen: 3, min: 3, max: 3, numeric: true},
	"423": {aiLen: 3, min: 3, max: 15, numeric: true},
	"424": {aiLen: 3, min: 3, max: 3, numeric: true},
	"425": {aiLen: 3, min: 3, max: 15, numeric: true},
	"426": {aiLen: 3, min: 3, max: 3, numeric: true},
	"427": {aiLen: 3, min: 1, max: 3},
	"700": {aiLen: 4, min: 1, max: 30},
	"701": {aiLen: 4, min: 1, max: 30},
	"703": {aiLen: 4, min: 1, max: 30},
	"710": {aiLen: 4, min: 1, max: 20},
	"711": {aiLen: 4, min: 1, max: 20},
	"712": {aiLen: 4, min: 1, max: 20},
	"713": {aiLen: 4, min: 1, max: 20},
	"714": {aiLen: 4, min: 1, max: 20},
	"715": {aiLen: 4, min: 1, max: 20},
	"723": {aiLen: 4, min: 1, max: 30},
	"800": {aiLen: 4, min: 1, max: 70},
	"801": {aiLen: 4, min: 1, max: 70},
	"802": {aiLen: 4, min: 1, max: 70},
	"811": {aiLen: 4, min: 1, max: 70},
	"820": {aiLen: 4, min: 1, max: 70},
	"90":  {aiLen: 2, min: 1, max: 30},
}

func init() {
	// 31xx-36xx: measures, 4-digit AI whose last digit is the decimal
	// point position, 6 digits of data.
	for p := 310; p <= 369; p++ {
		aiTable[fmt.Sprint(p)] = aiDef{aiLen: 4, min: 6, max: 6, numeric: true}
	}
	// 410-417: global location numbers.
	for p := 410; p <= 417; p++ {
		aiTable[fmt.Sprint(p)] = aiDef{aiLen: 3, min: 13, max: 13, numeric: true, check: true}
	}
	// 91-99: company internal information.
	for p := 91; p <= 99; p++ {
		aiTable[fmt.Sprint(p)] = aiDef{aiLen: 2, min: 1, max: 90}
	}
}

// lookupAI finds the definition for the AI at the start of s.
func lookupAI(s string) (string, aiDef, error) {
	for _, n := range []int{2, 3} {
		if len(s) < n {
			break
		}
		if !isDigits(s[:n]) {
			return "", aiDef{}, fmt.Errorf("AI %q is not numeric: %w", s[:n], ErrGS1)
		}
		if d, ok := aiTable[s[:n]]; ok {
			if len(s) < d.aiLen || !isDigits(s[:d.aiLen]) {
				return "", aiDef{}, fmt.Errorf("AI %q truncated: %w", s, ErrGS1)
			}
			return s[:d.aiLen], d, nil
		}
	}
	p := s
	if len(p) > 4 {
		p = p[:4]
	}
	return "", aiDef{}, fmt.Errorf("unknown AI at %q: %w", p, ErrGS1)
}

// checkValue validates one element's data against its definition.
func checkValue(ai string, d aiDef, v string) error {
	if len(v) < d.min || len(v) > d.max {
		return fmt.Errorf("AI %s: data length %d, want %d..%d: %w", ai, len(v), d.min, d.max, ErrGS1)
	}
	if d.numeric && !isDigits(v) {
		return fmt.Errorf("AI %s: data %q is not numeric: %w", ai, v, ErrGS1)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return fmt.Errorf("AI %s: byte 0x%02x not allowed in data: %w", ai, v[i], ErrGS1)
		}
	}
	if d.date {
		mm := (v[2]-'0')*10 + v[3] - '0'
		dd := (v[4]-'0')*10 + v[5] - '0'
		if mm < 1 || mm > 12 || dd > 31 {
			return fmt.Errorf("AI %s: %q is not a YYMMDD date: %w", ai, v, ErrGS1)
		}
	}
	return nil
}

// ParseGS1 parses a GS1 element string, either as transmitted by a scanner
// (AIs and data run together, variable-length fields ended by the ASCII GS
// character that stands for FNC1; a leading GS is allowed) or in the
// human-readable form "(01)09501101530003(10)ABC". Errors wrap [ErrGS1].
func ParseGS1(s string) ([]GS1Element, error) {
	if strings.HasPrefix(s, "(") {
		return parseGS1HRI(s)
	}
	s = strings.TrimPrefix(s, string(gs1GS))
	if s == "" {
		return nil, fmt.Errorf("empty: %w", ErrGS1)
	}
	var out []GS1Element
	for s != "" {
		ai, d, err := lookupAI(s)
		if err != nil {
			return nil, err
		}
		s = s[len(ai):]
		var v string
		if d.min == d.max {
			if len(s) < d.min {
				return nil, fmt.Errorf("AI %s: data length %d, want %d: %w", ai, len(s), d.min, ErrGS1)
			}
			v, s = s[:d.min], s[d.min:]
			// A separator after a fixed-length field is redundant but
			// harmless; accept it.
			s = strings.TrimPrefix(s, string(gs1GS))
		} else {
			i := strings.IndexByte(s, gs1GS)
			if i < 0 {
				v, s = s, ""
			} else {
				v, s = s[:i], s[i+1:]
			}
		}
		if err := checkValue(ai, d, v); err != nil {
			return nil, err
		}
		out = append(out, GS1Element{AI: ai, Value: v})
	}
	return out, nil
}

// parseGS1HRI parses the bracketed human-readable form.
func parseGS1HRI(s string) ([]GS1Element, error) {
	var out []GS1Element
	for s != "" {
		if s[0] != '(' {
			return nil, fmt.Errorf("expected '(' at %q: %w", s, ErrGS1)
		}
		end := strings.IndexByte(s, ')')
		if end < 0 {
			return nil, fmt.Errorf("unclosed AI: %w", ErrGS1)
		}
		ai := s[1:end]
		got, d, err := lookupAI(ai)
		if err != nil {
			return nil, err
		}
		if got != ai {
			return nil, fmt.Errorf("AI %q has wrong length: %w", ai, ErrGS1)
		}
		s = s[end+1:]
		next := strings.IndexByte(s, '(')
		if next < 0 {
			next = len(s)
		}
		v := s[:next]
		s = s[next:]
		if err := checkValue(ai, d, v); err != nil {
			return nil, err
		}
		out = append(out, GS1Element{AI: ai, Value: v})
	}
	return out, nil
}

// gs1Check reports the check-digit result over the elements that carry one.
func gs1Check(els []GS1Element) string {
	res := CheckNotApplicable
	for _, e := range els {
		_, d, err := lookupAI(e.AI)
		if err != nil || !d.check {
			continue
		}
		if !gtinCheckOK(e.Value) {
			return CheckInvalid
		}
		res = CheckValid
	}
	return res
}
