package protocol

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
)

// fastSeeds adds the golden POS messages and the FuzzDecodePOS corpus.
func fastSeeds(f *testing.F) {
	f.Helper()
	golden, err := filepath.Glob(filepath.Join("testdata", "golden", "pos_*.json"))
	if err != nil || len(golden) == 0 {
		f.Fatalf("golden POS messages: %v, %v", golden, err)
	}
	for _, name := range golden {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range fastCases {
		f.Add([]byte(s))
	}
}

// fastCases are cart messages in shapes that real POS pages send; the fast
// path must take every one (TestFastPathTakesCommonShapes).
var fastCases = []string{
	`{"type":"cart","id":1,"cart":{"register":"1","currency":"JPY","state":"open","lines":[{"id":"a","title":"x","quantity":"1.5","unit_price":100,"discount":0,"total":150}],"subtotal":150,"discount":0,"taxes":[],"total":150}}`,
	// Keys in another order, whitespace, escapes, nulls where encoding/json
	// takes them, a surrogate pair, a return line.
	"{ \"cart\" : {\"register\":\"r-1\",\"currency\":\"EUR\",\"state\":\"open\",\"order\":null,\"payment\":null,\"message\":null,\n" +
		"\"lines\":[{\"id\":\"a\",\"title\":\"Fish \\u0026 Chips \\\"XL\\\" \\ud83d\\ude00 caf\u00e9\",\"quantity\":2,\"unit_price\":250,\"discount\":0,\"total\":500,\"note\":null,\"return\":false},\r\n" +
		"\t{\"id\":\"b\",\"title\":\"Deposit\",\"quantity\":1,\"unit_price\":25,\"discount\":0,\"total\":25,\"return\":true}],\n" +
		"\"subtotal\":475,\"discount\":0,\"taxes\":[{\"label\":\"VAT 20%\",\"amount\":79,\"included\":true}],\"total\":475}, \"id\" : \"c-\\/1\" , \"type\" : \"cart\" } \n",
	`{"type":"cart","cart":{"register":"r","currency":"USD","state":"idle","lines":null,"subtotal":0,"discount":0,"taxes":null,"total":0}}`,
	`{"type":"cart","id":null,"cart":{"register":"r","currency":"USD","state":"idle","subtotal":0,"discount":0,"total":0}}`,
	`{"type":"cart","id":-9,"cart":{"register":"r","currency":"USD","state":"payment","lines":[{"id":"a","title":"x","quantity":1,"unit_price":1000,"discount":0,"total":1000}],"subtotal":1000,"discount":0,"taxes":[],"total":1000,"payment":{"due":1000,"tendered":2000,"change":1000,"method":"cash"}}}`,
}

func TestFastPathTakesCommonShapes(t *testing.T) {
	msgs := append([]string(nil), fastCases...)
	for _, name := range []string{"pos_cart.json", "pos_cart_payment.json", "pos_cart_return.json", "pos_cart_refund.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "golden", name))
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
	}
	for _, s := range msgs {
		fast, ok := decodePOSFast([]byte(s))
		if !ok {
			t.Errorf("fast path did not take %s", s)
			continue
		}
		precise, perr := decodePOSPrecise([]byte(s))
		if perr != nil || !reflect.DeepEqual(fast, precise) {
			t.Errorf("fast %+v, precise %+v, %v for %s", fast, precise, perr, s)
		}
	}
}

// FuzzFastPathAgrees: whenever the one-pass fast path accepts a message, the
// precise decoder accepts it too and decodes the same value.
func FuzzFastPathAgrees(f *testing.F) {
	fastSeeds(f)
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

// FuzzDecodePOSAgrees: DecodePOS with the one-pass scanner answers every
// input as DecodePOS did with the encoding/json fast path it replaced
// (decodePOSFastJSON): the same message, or the same error.
func FuzzDecodePOSAgrees(f *testing.F) {
	fastSeeds(f)
	corpus, err := filepath.Glob(filepath.Join("testdata", "fuzz", "FuzzDecodePOS", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range corpus {
		if b, ok := readCorpusEntry(f, name); ok {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, gerr := DecodePOS(data)
		want, ok := decodePOSFastJSON(data)
		var werr *Error
		if !ok {
			want, werr = decodePOSPrecise(data)
		}
		if !reflect.DeepEqual(gerr, werr) {
			t.Fatalf("error %+v, want %+v for %q", gerr, werr, data)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, want %+v for %q", got, want, data)
		}
	})
}

// readCorpusEntry reads a one-value []byte corpus file ("go test fuzz v1").
func readCorpusEntry(f *testing.F, name string) ([]byte, bool) {
	f.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		f.Fatal(err)
	}
	_, v, ok := strings.Cut(string(b), "\n")
	v = strings.TrimSpace(v)
	if !ok || !strings.HasPrefix(v, "[]byte(") || !strings.HasSuffix(v, ")") {
		return nil, false
	}
	s, err := strconv.Unquote(v[len("[]byte(") : len(v)-1])
	if err != nil {
		f.Fatalf("%s: %v", name, err)
	}
	return []byte(s), true
}

// decodePOSFastJSON is the fast path that decodePOSFast replaced: one strict
// encoding/json pass. It stays here as the reference the scanner is fuzzed
// against.
func decodePOSFastJSON(data []byte) (PosMessage, bool) {
	if len(data) > fastLimit || !bytes.HasPrefix(data, []byte(`{"type":"cart"`)) || !utf8.Valid(data) || hasSurrogateEscape(data) {
		return PosMessage{}, false
	}
	var m struct {
		Type string    `json:"type"`
		ID   ID        `json:"id"`
		Cart cart.Cart `json:"cart"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Type != TypeCart || dec.More() {
		return PosMessage{}, false
	}
	if _, err := dec.Token(); err != io.EOF {
		return PosMessage{}, false
	}
	if m.Cart.Lines == nil || m.Cart.Taxes == nil || m.Cart.Validate() != nil {
		return PosMessage{}, false
	}
	return PosMessage{Type: TypeCart, ID: m.ID, Cart: &m.Cart}, true
}
