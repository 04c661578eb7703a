package store

import (
	"encoding/json"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// TestEncodeRecordMatchesMarshal: the file the store writes is what
// json.Marshal of its record wrote before, so files of older versions and
// newer ones read the same.
func TestEncodeRecordMatchesMarshal(t *testing.T) {
	full := cart.Cart{Register: "lane-1", Order: "A<1>&", Currency: "EUR", State: cart.StatePayment,
		Lines:    []cart.Line{{ID: "l1", SKU: "s", Title: "Caf\u00e9 \u2028", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374, Note: "n", Return: true}},
		Subtotal: -374, Taxes: []cart.TaxLine{{Label: "VAT", Amount: 3, Included: true}}, Total: -374,
		Payment: &cart.Payment{Due: 1, Tendered: 2, Change: 1, Method: "cash"}, Message: "hi"}
	for _, c := range []cart.Cart{full, cart.Empty("lane-2", "USD"), {}} {
		for _, p := range []*Position{nil, {Stream: "pos:{lane-1}", LastID: "1700000000000-0"}, {}} {
			want, err := json.Marshal(record{Cart: c, Feed: p})
			if err != nil {
				t.Fatal(err)
			}
			if got := encodeRecord(&c, p); string(got) != string(want) {
				t.Errorf("encodeRecord = %s\njson.Marshal = %s", got, want)
			}
		}
	}
}
