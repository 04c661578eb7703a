package scanner

import "testing"

func TestScanGTIN(t *testing.T) {
	tests := []struct {
		name string
		in   string // as the scanner sends it, decoded with Decode
		want string
	}{
		{"ean-13", "]E04006381333931", "4006381333931"},
		{"ean-13 without aim", "5901234123457", "5901234123457"},
		{"ean-13 bad check", "]E04006381333932", ""},
		{"ean-13 with add-on", "]E1400638133393112", "4006381333931"},
		{"upc-a", "]E0036000291452", "0036000291452"},
		{"upc-a without aim", "036000291452", "0036000291452"},
		{"upc-a bad check", "036000291453", ""},
		{"upc-e expanded", "]E001234565", "0012345000065"},
		{"ean-8", "]E496385074", "0000096385074"},
		{"gs1-128 (01) starting with 0", "]C1010950110153000317250101" + "10ABC123\x1d21XYZ", "9501101530003"},
		{"gs1-128 (01) GTIN-14", "]C10110614141000415", "10614141000415"},
		{"gs1 human readable", "(01)09501101530003(10)ABC", "9501101530003"},
		{"gs1 without aim, with GS", "010950110153000310ABC123\x1d17101231", "9501101530003"},
		{"gs1 (01) bad check", "]C1010950110153000410ABC", ""},
		{"gs1 without (01)", "]C100106141411234567891", ""},
		{"code128", "]C0ABC-123", ""},
		{"code128 of digits", "]C04006381333931", ""},
		{"qr", "]Q1https://example.com/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Decode(tt.in)
			if got := s.GTIN(); got != tt.want {
				t.Fatalf("Decode(%q).GTIN() = %q (symbology %s, gs1 %v), want %q", tt.in, got, s.Symbology, s.GS1, tt.want)
			}
		})
	}
}
