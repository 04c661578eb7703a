package scanner

// GTIN returns the item's Global Trade Item Number as a POS's product table
// usually stores it (GTIN-13, as in a 13-character UPC/EAN field): the
// EAN-13 itself; a UPC-A, UPC-E (expanded) or EAN-8 padded with zeros to 13
// digits; for a GS1 element string, the value of AI (01) without its leading
// 0, or the whole GTIN-14 when it does not start with 0 (a case or a
// variable-measure trade item, which has no 13-digit form). An EAN-13 add-on
// (a magazine's issue number) is not part of the GTIN.
//
// It returns "" when the scan carries no GTIN or its check digit is wrong:
// a misread must not be looked up as another product.
func (s Scan) GTIN() string {
	if len(s.GS1) > 0 {
		for _, e := range s.GS1 {
			if e.AI == "01" {
				return gtin14To13(e.Value)
			}
		}
		return ""
	}
	code := s.Code
	if !isDigits(code) {
		return ""
	}
	var g string
	switch s.Symbology {
	case SymbologyEAN13:
		switch len(code) {
		case 13, 15, 18: // with a 2- or 5-digit add-on
			g = code[:13]
		case 12:
			g = "0" + code
		}
	case SymbologyUPCA:
		switch len(code) {
		case 12:
			g = "0" + code
		case 13:
			g = code
		}
	case SymbologyEAN8:
		if len(code) == 8 {
			g = "00000" + code
		}
	case SymbologyUPCE:
		if a, ok := expandUPCE(code); ok {
			g = "0" + a
		}
	}
	if g == "" || !gtinCheckOK(g) {
		return ""
	}
	return g
}

// gtin14To13 shortens a GTIN-14 that starts with 0 to its GTIN-13; a
// GTIN-14 with another indicator digit stays whole. "" when v is not a
// GTIN-14 with a right check digit.
func gtin14To13(v string) string {
	if len(v) != 14 || !gtinCheckOK(v) {
		return ""
	}
	if v[0] == '0' {
		return v[1:]
	}
	return v
}
