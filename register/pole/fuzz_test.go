package pole

import (
	"testing"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
)

// FuzzRender feeds POS text (titles, units) and amounts through every code
// page: a row is always exactly 20 cells, holds no byte a display would
// take as a command, and the left text on the glass is a whole-character
// prefix of the title's transliteration.
func FuzzRender(f *testing.F) {
	f.Add("Milk 1L", "", int64(398), int64(2000))
	f.Add("Café crème brûlée à l'ancienne", "kg", int64(-1234), int64(1250))
	f.Add("\x1b@\x0c\x1f$\x01\x01evil", "", int64(1), int64(1000))
	f.Add("€€€€€€€€€€€€€€€€€€€€€€€", "", int64(cart.MaxMoney), int64(1000))
	f.Add("日本語のタイトル", "個", int64(500), int64(3000))
	f.Add("\xff\xfe broken utf-8 \xc3", "", int64(0), int64(1000))
	f.Fuzz(func(t *testing.T, title, unit string, amount, qty int64) {
		if amount > int64(cart.MaxMoney) || amount < -int64(cart.MaxMoney) || qty < 0 || qty > int64(cart.MaxQuantity) {
			return
		}
		for _, name := range []string{"cp437", "cp858", "cp1252"} {
			cp, _ := LookupCodePage(name)
			r := NewRenderer(cp, "fr-FR", DefaultTemplates("fr-FR"))
			c := cart.Cart{Currency: "EUR", State: cart.StateOpen, Total: cart.Money(amount),
				Lines: []cart.Line{{ID: "a", Title: title, Unit: unit, Quantity: cart.Quantity(qty), Total: cart.Money(amount)}}}
			s, _ := r.Render(nil, &c)
			for _, row := range s {
				for _, b := range row {
					if b < 0x20 || b == 0x7f {
						t.Fatalf("%s: control byte %#x on the wire for title %q", name, b, title)
					}
				}
			}
			// The title row: the transliteration of "{qtyx}{title}", cut.
			var want []byte
			for _, cells := range encodeText(cp, expand("{qtyx}{title}", func(k string) string {
				if k == "title" {
					return title
				}
				return r.valuesFor(&c, 0)(k)
			})) {
				if len(want)+len(cells) > Width {
					break
				}
				want = append(want, cells...)
			}
			if string(s[0][:len(want)]) != string(want) {
				t.Fatalf("%s: title row %q does not start with %q", name, s[0][:], want)
			}
			if !utf8.ValidString(string(s.Text(cp)[0])) {
				t.Fatalf("%s: decoded row is not valid text", name)
			}
		}
	})
}
