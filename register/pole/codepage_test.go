package pole

import (
	"errors"
	"testing"
)

func TestEncodeTransliterates(t *testing.T) {
	tests := []struct {
		cp, in, want string
	}{
		{"cp437", "Café", "Caf\x82"},      // é is 0x82 in PC437
		{"cp437", "€", "EUR"},             // PC437 has no euro sign
		{"cp858", "€", "\xd5"},            // PC858 does
		{"cp1252", "€", "\x80"},           // and so does WPC1252
		{"cp437", "Ø", "O"},               // no decomposition: fallback spelling
		{"cp437", "ő", "o"},               // Hungarian double acute: base letter
		{"cp858", "Łódź", "L\xa2dz"},      // ó is in PC858 (0xA2), ź is not
		{"cp437", "日本", "??"},             // nothing to transliterate to
		{"cp437", "a\x1bb\x0cc", "abc"},   // control bytes never reach the wire
		{"cp437", "1\u00a0€", "1 EUR"},    // money's no-break space
		{"cp1252", "Straße", "Stra\xdfe"}, // ß is in WPC1252
		{"cp437", "Œuf", "OEuf"},
	}
	for _, tc := range tests {
		cp, err := LookupCodePage(tc.cp)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		for _, r := range tc.in {
			got = append(got, cp.Encode(r)...)
		}
		if string(got) != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.cp, tc.in, got, tc.want)
		}
	}
}

func TestLookupCodePageRefusesUnknown(t *testing.T) {
	if _, err := LookupCodePage("cp999"); !errors.Is(err, ErrConfig) {
		t.Errorf("got %v, want ErrConfig", err)
	}
}
