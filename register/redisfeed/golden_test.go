package redisfeed

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// update rewrites the golden files: go test ./register/redisfeed -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

func sampleCart() cart.Cart {
	return cart.Cart{
		Register: "1", Order: "A-1001", Currency: "EUR", State: cart.StateOpen,
		Lines: []cart.Line{
			{ID: "l1", SKU: "sku-1", Barcode: "4006381333931", Title: "Äpfel", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374},
			{ID: "l2", Title: "Milch 1 L", Quantity: 2000, UnitPrice: 129, Discount: 20, Total: 238},
		},
		Subtotal: 612, Taxes: []cart.TaxLine{{Label: "MwSt. 7 %", Amount: 40, Included: true}}, Total: 612,
	}
}

// TestGolden pins the shapes of docs/redis.md: the "msg" field of a pos
// entry (written by the backend, read by the agent), of a result and of a
// scan (written by the agent), and the presence key's value. Each file is
// what one side writes (indented for reading: JSON whitespace is free)
// and is read back with the other side's decoder.
func TestGolden(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		msg    any
		decode func(data []byte) (any, error)
	}{
		{"entry_cart", protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("b-1001"), Cart: sampleCart()}, func(data []byte) (any, error) {
			m, perr := decodeEntry(map[string]any{FieldMsg: string(data)}, 2<<20, nil)
			if perr != nil {
				return nil, perr
			}
			return protocol.CartMsg{Type: m.Type, ID: m.ID, Cart: *m.Cart}, nil
		}},
		{"entry_clear", protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.StringID("b-1002")}, func(data []byte) (any, error) {
			m, perr := decodeEntry(map[string]any{FieldMsg: string(data)}, 2<<20, nil)
			if perr != nil {
				return nil, perr
			}
			return protocol.ClearMsg{Type: m.Type, ID: m.ID}, nil
		}},
		{"result_ack", Result{Type: protocol.TypeAck, Entry: "1796544000000-0", ID: protocol.StringID("b-1001"), Seq: 43}, decodeAs[Result]},
		{"result_error", Result{Type: protocol.TypeError, Entry: "1796544000001-0", ID: protocol.StringID("b-1003"), Code: protocol.CodeInvalidCart, Field: "lines[1].total", Message: "lines[1].total: 250 is not quantity × unit_price − discount (238)"}, decodeAs[Result]},
		{"result_bad_entry", Result{Type: protocol.TypeError, Entry: "1796544000002-0", Code: CodeBadEntry, Message: `an entry has exactly one field, "msg" (found other fields: "cart")`}, decodeAs[Result]},
		{"scan", protocol.Scan{Type: protocol.TypeScan, ID: "3f9a1c2b7d4e5f60-r7", Code: "4006381333931", Symbology: "ean-13", Source: "lane1-hid", At: at, GTIN: "4006381333931", Order: "A-1001"}, decodeAs[protocol.Scan]},
		{"presence", Presence{Agent: "lane-1", Version: "1.4.0", Epoch: "3f9a1c2b7d4e5f60", Store: "0042", At: at, Registers: []RegisterPresence{
			{Register: "1", Seq: 118, Displays: 2, Following: true, LastEntry: "1796544000000-0"},
			{Register: "2", Seq: 0, Displays: 1},
		}}, decodeAs[Presence]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			compact, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			file := filepath.Join("testdata", "golden", tc.name+".json")
			if *update {
				if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s changed:\ngot\n%s\nwant\n%s", file, got.Bytes(), want)
			}
			back, err := tc.decode(want)
			if err != nil {
				t.Fatalf("decode %s: %v", file, err)
			}
			if !reflect.DeepEqual(back, tc.msg) {
				t.Errorf("decoded %s: got %+v, want %+v", file, back, tc.msg)
			}
		})
	}
}

func decodeAs[T any](data []byte) (any, error) {
	var v T
	err := json.Unmarshal(data, &v)
	return v, err
}
