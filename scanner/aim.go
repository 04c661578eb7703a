package scanner

// aimSymbology maps the symbology character of an AIM identifier
// ("]" + symbology + modifier, ISO/IEC 15424) and its modifier to one of our
// symbology names. ok is false for identifiers we do not recognise, in which
// case the data is left untouched.
func aimSymbology(sym, mod byte) (name string, ok bool) {
	if !isAlnum(mod) {
		return "", false
	}
	switch sym {
	case 'A':
		return SymbologyCode39, true
	case 'C':
		switch mod {
		case '1':
			return SymbologyGS1128, true
		default:
			return SymbologyCode128, true
		}
	case 'E':
		// E0: EAN-13, UPC-A or UPC-E; E4: EAN-8; E1-E3: with add-on.
		// Length decides between them in gtinResult.
		if mod == '4' {
			return SymbologyEAN8, true
		}
		return SymbologyEAN13, true
	case 'F':
		return SymbologyCodabar, true
	case 'G':
		return SymbologyCode93, true
	case 'I':
		return SymbologyITF, true
	case 'L':
		return SymbologyPDF417, true
	case 'Q':
		if mod == '3' {
			// Q3: QR Code 2005 with FNC1 in first position (GS1).
			return SymbologyGS1QR, true
		}
		return SymbologyQR, true
	case 'd':
		if mod == '2' {
			// d2: Data Matrix ECC 200 with FNC1 in first position (GS1).
			return SymbologyGS1DataMatrix, true
		}
		return SymbologyDataMatrix, true
	case 'e':
		return SymbologyGS1DataBar, true
	case 'z':
		return SymbologyAztec, true
	case 'H', 'K', 'M', 'O', 'P', 'R', 'S', 'U', 'X', 'Z', 'c', 'h', 'o':
		// Other ISO/IEC 15424 identifiers (Code 11, Code 16K, MSI,
		// Codablock, Plessey, Straight/IATA 2 of 5, MaxiCode, other,
		// non-barcode, Channel Code, Han Xin, OCR): split off so Code is
		// the data, reported by name as unknown; AIM keeps the letter.
		return SymbologyUnknown, true
	}
	return "", false
}

// splitAIM splits a leading AIM identifier off data. It returns "" and data
// unchanged when data does not start with a recognised identifier.
func splitAIM(data string) (aim, sym, rest string) {
	if len(data) < 3 || data[0] != ']' {
		return "", "", data
	}
	name, ok := aimSymbology(data[1], data[2])
	if !ok {
		return "", "", data
	}
	return data[:3], name, data[3:]
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
