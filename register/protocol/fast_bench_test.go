package protocol

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// benchCartMessage is a cart message of n lines, about 2.1 KB at 12 lines
// like the loadtest workload's.
func benchCartMessage(b *testing.B, n int) []byte {
	b.Helper()
	c := cart.Cart{Register: "lane-1", Order: "A-1001", Currency: "USD", State: cart.StateOpen, Taxes: []cart.TaxLine{}}
	for i := range n {
		l := cart.Line{ID: fmt.Sprintf("line-%d", i), SKU: fmt.Sprintf("sku-%05d", i), Barcode: "4006381333931",
			Title: fmt.Sprintf("Organic item number %d, 500 g", i), Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374}
		c.Lines = append(c.Lines, l)
		c.Subtotal += l.Total
	}
	c.Taxes = append(c.Taxes, cart.TaxLine{Label: "Sales tax 8%", Amount: c.Subtotal * 8 / 100})
	c.Total = c.Subtotal + c.Taxes[0].Amount
	data, err := json.Marshal(CartMsg{Type: TypeCart, ID: StringID("c-17"), Cart: c})
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkDecodePOSCart compares the one-pass scanner with the
// encoding/json pass it replaced, on the same message in the same run.
func BenchmarkDecodePOSCart(b *testing.B) {
	data := benchCartMessage(b, 12)
	for _, d := range []struct {
		name string
		fn   func([]byte) (PosMessage, bool)
	}{{"scan", decodePOSFast}, {"encoding-json", decodePOSFastJSON}} {
		b.Run(d.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, ok := d.fn(data); !ok {
					b.Fatal("fast path refused the message")
				}
			}
		})
	}
}
