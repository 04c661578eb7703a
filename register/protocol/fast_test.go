package protocol

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzFastPathAgrees: whenever the one-pass fast path accepts a message, the
// precise decoder accepts it too and decodes the same value.
func FuzzFastPathAgrees(f *testing.F) {
	for _, name := range []string{"pos_cart.json", "pos_cart_payment.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"cart","id":1,"cart":{"register":"1","currency":"JPY","state":"open","lines":[{"id":"a","title":"x","quantity":"1.5","unit_price":100,"discount":0,"total":150}],"subtotal":150,"discount":0,"taxes":[],"total":150}}`))
	f.Add([]byte(`{"type":"cart","id":"x","cart":{"register":"1","currency":"USD","state":"idle","lines":[],"subtotal":0,"discount":0,"taxes":[],"total":0},"extra":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := decodePOSFast(data)
		if !ok {
			return
		}
		precise, perr := decodePOSPrecise(data)
		if perr != nil {
			t.Fatalf("fast path accepted what the precise decoder rejects (%v): %s", perr, data)
		}
		if !reflect.DeepEqual(fast, precise) {
			t.Fatalf("fast %+v, precise %+v", fast, precise)
		}
	})
}
