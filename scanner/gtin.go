package scanner

// gtinCheckOK reports whether the last digit of s is the GS1 mod-10 check
// digit of the digits before it. s must be all digits, at least 2 long.
// The same algorithm covers EAN-8, EAN-13, UPC-A, GTIN-14 and SSCC-18.
func gtinCheckOK(s string) bool {
	if len(s) < 2 || !isDigits(s) {
		return false
	}
	return gtinCheckDigit(s[:len(s)-1]) == s[len(s)-1]
}

// gtinCheckDigit computes the GS1 mod-10 check digit for body (all digits):
// weights 3,1,3,... from the rightmost body digit.
func gtinCheckDigit(body string) byte {
	sum := 0
	w := 3
	for i := len(body) - 1; i >= 0; i-- {
		sum += int(body[i]-'0') * w
		w = 4 - w
	}
	return byte('0' + (10-sum%10)%10)
}

// expandUPCE expands an 8-digit UPC-E (number system, six data digits,
// check digit) to its 12-digit UPC-A form, which carries the check digit.
// ok is false when s is not a UPC-E (wrong length, number system not 0/1).
func expandUPCE(s string) (upca string, ok bool) {
	if len(s) != 8 || !isDigits(s) || (s[0] != '0' && s[0] != '1') {
		return "", false
	}
	ns, d, check := s[0:1], s[1:7], s[7:8]
	var body string
	switch d[5] {
	case '0', '1', '2':
		body = d[0:2] + d[5:6] + "0000" + d[2:5]
	case '3':
		body = d[0:3] + "00000" + d[3:5]
	case '4':
		body = d[0:4] + "00000" + d[4:5]
	default:
		body = d[0:5] + "0000" + d[5:6]
	}
	return ns + body + check, true
}

func checkResult(ok bool) string {
	if ok {
		return CheckValid
	}
	return CheckInvalid
}

func upceOK(code string) bool {
	a, ok := expandUPCE(code)
	return ok && gtinCheckOK(a)
}

// gtinResult classifies a code read as an EAN/UPC symbol, or a code with no
// AIM identifier, and verifies its check digit. sym is the symbology from
// the AIM identifier ("" when none was sent). It returns the symbology to
// report and the check-digit result. The code itself is never changed.
func gtinResult(sym, code string) (string, string) {
	digits := isDigits(code)
	switch sym {
	case "":
		if !digits {
			return SymbologyUnknown, CheckNotApplicable
		}
		switch len(code) {
		case 13:
			return SymbologyEAN13, checkResult(gtinCheckOK(code))
		case 12:
			return SymbologyUPCA, checkResult(gtinCheckOK(code))
		case 8:
			// Without an AIM identifier an 8-digit code is EAN-8 when its
			// check digit fits, else UPC-E when that fits.
			if gtinCheckOK(code) {
				return SymbologyEAN8, CheckValid
			}
			if upceOK(code) {
				return SymbologyUPCE, CheckValid
			}
			return SymbologyEAN8, CheckInvalid
		}
		return SymbologyUnknown, CheckNotApplicable
	case SymbologyEAN8:
		return SymbologyEAN8, checkResult(digits && len(code) == 8 && gtinCheckOK(code))
	case SymbologyEAN13:
		// ]E0 carries EAN-13, UPC-A (12 or 13 digits) or UPC-E (8 digits);
		// ]E1-]E3 add a 2- or 5-digit add-on after the 13 digits.
		if !digits {
			return SymbologyEAN13, CheckInvalid
		}
		switch len(code) {
		case 13, 15, 18:
			return SymbologyEAN13, checkResult(gtinCheckOK(code[:13]))
		case 12:
			return SymbologyUPCA, checkResult(gtinCheckOK(code))
		case 8:
			return SymbologyUPCE, checkResult(upceOK(code))
		}
		return SymbologyEAN13, CheckInvalid
	}
	return sym, CheckNotApplicable
}
