package pole

import "testing"

func TestFitRow(t *testing.T) {
	cp437, _ := LookupCodePage("cp437")
	tests := []struct {
		left, right, want string
	}{
		{"2 x Milk 1L", "", "2 x Milk 1L         "},
		{"", "3.98", "                3.98"},
		{"Total", "$1,234.56", "Total      $1,234.56"},
		{"Organic wholemeal sourdough loaf", "3.98", "Organic wholeme 3.98"},
		{"Organic wholemeal sourdough loaf", "", "Organic wholemeal so"},
		{"Café crème", "", "Caf\x82 cr\x8ame          "},
		{"Price in € today", "", "Price in EUR today  "},
		{"Price €", "12,345,678.90 EUR", "Pr 12,345,678.90 EUR"},
		{"To pay", "123,456,789,012.34 EUR", "********************"},
		{"ab€", "1234567890123456", "ab  1234567890123456"}, // EUR does not fit: left out whole
		{"Cafe\u0301", "", "Caf\x82                "},       // decomposed é composes to PC437's é
		{"q\u0301", "", "q                   "},             // a mark with no precomposed letter is dropped
	}
	for _, tc := range tests {
		row := fitRow(cp437, tc.left, tc.right)
		if string(row[:]) != tc.want {
			t.Errorf("fitRow(%q, %q): got %q, want %q", tc.left, tc.right, row[:], tc.want)
		}
	}
}
