package protocol

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// saleMessages returns the cart messages of a sale as a POS page sends
// them: n changes, each adding a line, changing a quantity, or voiding one.
func saleMessages(t testing.TB, n int) [][]byte {
	t.Helper()
	c := cart.Empty("1", "USD")
	c.Order, c.State = "A-1", cart.StateOpen
	var out [][]byte
	for k := range n {
		switch {
		case k%7 == 5 && len(c.Lines) > 2:
			i := k % len(c.Lines)
			c.Lines = append(c.Lines[:i:i], c.Lines[i+1:]...)
		case k%3 == 2 && len(c.Lines) > 0:
			c.Lines[k%len(c.Lines)].Quantity += cart.QuantityScale
		default:
			c.Lines = append(c.Lines, cart.Line{ID: fmt.Sprintf("l%d", k), SKU: fmt.Sprintf("SKU-%d", k), Title: "Caf\u00e9 <b>n\u00ba " + fmt.Sprint(k) + "</b>",
				Quantity: cart.QuantityScale, UnitPrice: cart.Money(100 + k)})
		}
		c.Subtotal = 0
		for i := range c.Lines {
			total, ok := cart.Extend(c.Lines[i].Quantity, c.Lines[i].UnitPrice)
			if !ok {
				t.Fatal("overflow")
			}
			c.Lines[i].Total = total
			c.Subtotal += total
		}
		c.Total = c.Subtotal
		b, err := json.Marshal(struct {
			Type string    `json:"type"`
			ID   int       `json:"id"`
			Cart cart.Cart `json:"cart"`
		}{TypeCart, k, c})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// checkDecoderAgrees decodes data with d and with DecodePOS, overwriting
// the bytes d read afterwards (the POS socket reuses its buffer), and fails
// on any difference.
func checkDecoderAgrees(t *testing.T, d *POSDecoder, data []byte) {
	t.Helper()
	buf := append([]byte(nil), data...)
	got, gotErr := d.Decode(buf)
	for i := range buf {
		buf[i] = 'x'
	}
	want, wantErr := DecodePOS(data)
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErr, wantErr) {
		t.Fatalf("%s:\nPOSDecoder: %+v, %v\nDecodePOS:  %+v, %v", data, got, gotErr, want, wantErr)
	}
}

// TestPOSDecoderSale feeds a sale through one decoder, with bad messages
// between the carts, and holds every answer to DecodePOS's; the decoder
// must also have taken most lines as it knew them.
func TestPOSDecoderSale(t *testing.T) {
	msgs := saleMessages(t, 60)
	var d POSDecoder
	lines := 0
	for k, m := range msgs {
		checkDecoderAgrees(t, &d, m)
		if got, _ := d.Decode(m); got.Cart != nil {
			lines += len(got.Cart.Lines)
		}
		switch k % 10 {
		case 3: // the same cart with one line's total wrong: refused
			bad := []byte(string(m))
			if i := lastIndex(bad, `"total":`); i > 0 {
				bad[i+len(`"total":`)] = '9'
			}
			checkDecoderAgrees(t, &d, bad)
		case 6: // a clear, and a scan ack
			checkDecoderAgrees(t, &d, []byte(`{"type":"clear","id":"c"}`))
			checkDecoderAgrees(t, &d, []byte(`{"type":"ack","id":"s-1"}`))
		}
	}
	// Each cart was decoded three times above (checkDecoderAgrees, the
	// count, and again), so nearly every line after the first decode of
	// each cart is known.
	if d.hits < lines {
		t.Fatalf("the decoder took %d lines as known, want at least %d (one per line decoded in the counting pass)", d.hits, lines)
	}
}

func lastIndex(b []byte, sub string) int {
	for i := len(b) - len(sub); i >= 0; i-- {
		if string(b[i:i+len(sub)]) == sub {
			return i
		}
	}
	return -1
}

// TestPOSDecoderChangedLineIsChecked: a line known from the last cart and
// then sent with one field broken must be decoded and refused, not taken
// as known.
func TestPOSDecoderChangedLineIsChecked(t *testing.T) {
	msgs := saleMessages(t, 4)
	var d POSDecoder
	if _, err := d.Decode(msgs[3]); err != nil {
		t.Fatal(err)
	}
	for _, edit := range []struct {
		from, to string
		refused  bool
	}{
		{`"total":200}`, `"total":201}`, true},                // the last bytes of a line
		{`"quantity":1,`, `"quantity":0,`, true},              // a line check
		{`"title":"Caf`, `"title":"\u0007Caf`, true},          // a text check
		{`"sku":"SKU-0",`, `"sku":"SKU-0","sku":"x",`, false}, // a duplicate key: the precise path, the last one wins
	} {
		m := []byte(replaceOnce(t, string(msgs[3]), edit.from, edit.to))
		got, err := d.Decode(m)
		if refused := err != nil; refused != edit.refused {
			t.Errorf("%s -> %s: refused %v (%v), want %v", edit.from, edit.to, refused, err, edit.refused)
		}
		if !edit.refused && (got.Cart == nil || got.Cart.Lines[0].SKU != "x") {
			t.Errorf("%s -> %s: got %+v, want the first line's sku x", edit.from, edit.to, got.Cart)
		}
		checkDecoderAgrees(t, &d, m)
	}
}

func replaceOnce(t *testing.T, s, from, to string) string {
	t.Helper()
	for i := 0; i+len(from) <= len(s); i++ {
		if s[i:i+len(from)] == from {
			return s[:i] + to + s[i+len(from):]
		}
	}
	t.Fatalf("%q not in %s", from, s)
	return ""
}

// FuzzPOSDecoderAgrees: after any message a, a decoder answers any message
// b as DecodePOS does.
func FuzzPOSDecoderAgrees(f *testing.F) {
	msgs := saleMessages(f, 12)
	for k := 1; k < len(msgs); k++ {
		f.Add(msgs[k-1], msgs[k])
	}
	f.Add(msgs[5], []byte(`{"type":"clear"}`))
	for _, s := range fastCases {
		f.Add([]byte(s), []byte(s))
	}
	f.Fuzz(func(t *testing.T, a, b []byte) {
		var d POSDecoder
		checkDecoderAgrees(t, &d, a)
		checkDecoderAgrees(t, &d, b)
		checkDecoderAgrees(t, &d, a)
	})
}

// BenchmarkPOSDecoder decodes a sale's messages in order, as a page sends
// them: stateless (DecodePOS) and with one POSDecoder.
func BenchmarkPOSDecoder(b *testing.B) {
	msgs := saleMessages(b, 40)
	b.Run("DecodePOS", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if _, err := DecodePOS(msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("POSDecoder", func(b *testing.B) {
		var d POSDecoder
		i := 0
		for b.Loop() {
			if _, err := d.Decode(msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
