package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// TestInvalidTextRejected sends strings that encoding/json would silently
// rewrite to U+FFFD (invalid UTF-8 bytes, unpaired surrogate escapes). The
// protocol says the whole message is rejected, with the path of the string.
func TestInvalidTextRejected(t *testing.T) {
	// Spliced in textually: encoding/json would rewrite the bytes under test.
	base := cartJSON(t, "", "")
	splice := func(old, new string) string {
		if !strings.Contains(base, old) {
			t.Fatalf("sample cart has no %s", old)
		}
		return strings.Replace(base, old, new, 1)
	}
	withTitle := func(title string) string { return splice(`"title":"Milk 1 L"`, `"title":"`+title+`"`) }
	tests := []struct {
		name      string
		in        string
		wantField string
	}{
		{name: "latin-1 byte in a title", in: withTitle("Caf\xe9 au lait"), wantField: "lines[1].title"},
		{name: "truncated sequence", in: withTitle("Caf\xc3"), wantField: "lines[1].title"},
		{name: "encoded surrogate", in: withTitle("\xed\xa0\x80"), wantField: "lines[1].title"},
		{name: "overlong encoding", in: withTitle("\xc0\xaf"), wantField: "lines[1].title"},
		{name: "lone high surrogate escape", in: withTitle(`Caf\ud83d au lait`), wantField: "lines[1].title"},
		{name: "lone low surrogate escape", in: withTitle(`\uDE00`), wantField: "lines[1].title"},
		{name: "reversed pair", in: withTitle(`\ude00\ud83d`), wantField: "lines[1].title"},
		{name: "in the order", in: splice(`"order":"A-1001"`, "\"order\":\"A\xff\""), wantField: "order"},
		{name: "in a key", in: splice(`"order":"A-1001"`, "\"order\":\"A-1001\",\"or\xffder\":1"), wantField: "or\uFFFDder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// REST: the bare cart.
			c, perr := protocol.DecodeCart([]byte(tt.in))
			if perr == nil {
				t.Fatalf("DecodeCart() accepted it, stored title %q; want bad_message", c.Lines[1].Title)
			}
			if perr.Code != protocol.CodeBadMessage || perr.Field != tt.wantField {
				t.Errorf("DecodeCart() error = %s field %q (%s), want bad_message field %q", perr.Code, perr.Field, perr.Message, tt.wantField)
			}
			checkErrorMessage(t, perr)
			// WebSocket: the cart in a message; paths stay relative to the cart.
			msg := `{"type":"cart","id":"c-1","cart":` + tt.in + `}`
			m, perr := protocol.DecodePOS([]byte(msg))
			if perr == nil {
				t.Fatalf("DecodePOS() accepted it: %+v; want bad_message", m.Cart)
			}
			if perr.Code != protocol.CodeBadMessage || perr.Field != tt.wantField || string(perr.ID) != `"c-1"` {
				t.Errorf("DecodePOS() error = %s field %q id %s (%s), want bad_message field %q id \"c-1\"", perr.Code, perr.Field, perr.ID, perr.Message, tt.wantField)
			}
			checkErrorMessage(t, perr)
		})
	}
}

// TestValidTextKept checks that valid non-ASCII text, raw or escaped
// (surrogate pairs included), is stored exactly.
func TestValidTextKept(t *testing.T) {
	tests := []struct{ raw, want string }{
		{raw: "Café au lait", want: "Café au lait"},
		{raw: `Caf\u00e9 \ud83d\ude00`, want: "Café 😀"},
		{raw: `\\ud83d`, want: `\ud83d`}, // an escaped backslash, not an escape
		{raw: "日本語 😀", want: "日本語 😀"},
	}
	for _, tt := range tests {
		in := cartJSON(t, "lines", linesJSON(t, 0, "title", `"`+tt.raw+`"`))
		c, perr := protocol.DecodeCart([]byte(in))
		if perr != nil {
			t.Errorf("DecodeCart(title %s) error = %v, want nil", tt.raw, perr)
			continue
		}
		if c.Lines[0].Title != tt.want {
			t.Errorf("DecodeCart(title %s) stored %q, want %q", tt.raw, c.Lines[0].Title, tt.want)
		}
		m, perr := protocol.DecodePOS([]byte(`{"type":"cart","cart":` + in + `}`))
		if perr != nil || m.Cart.Lines[0].Title != tt.want {
			t.Errorf("DecodePOS(title %s) = %+v, %v; want title %q", tt.raw, m.Cart, perr, tt.want)
		}
	}
}

// TestInvalidTextInHello: a hello is checked on its raw bytes too.
func TestInvalidTextInHello(t *testing.T) {
	for _, in := range []string{
		"{\"type\":\"hello\",\"register\":\"lane-1\",\"token\":\"t\xff\"}",
		`{"type":"hello","register":"lane-1","resume":{"epoch":"\ud800","seq":1}}`,
	} {
		if m, perr := protocol.DecodeDisplay([]byte(in)); perr == nil || perr.Code != protocol.CodeBadHello {
			t.Errorf("DecodeDisplay(%q) = %+v, %v; want bad_hello", in, m, perr)
		}
	}
}

// TestHelloIgnoresUnknownFields: a display built for a later minor
// revision may add optional fields; the versioning rules call that a
// compatible change, so an agent must not lock it out.
func TestHelloIgnoresUnknownFields(t *testing.T) {
	for _, in := range []string{
		`{"type":"hello","register":"lane-1","token":"t","screen":{"w":1024,"h":600},"caps":["returns"]}`,
		`{"type":"hello","register":"lane-1","resume":{"epoch":"e","seq":3,"checksum":"x"}}`,
		`{"caps":["returns"],"type":"hello","register":"lane-1"}`,
	} {
		m, perr := protocol.DecodeDisplay([]byte(in))
		if perr != nil || m.Type != protocol.TypeHello || m.Hello.Register != "lane-1" {
			t.Errorf("DecodeDisplay(%s) = %+v, %v; want a hello for lane-1", in, m, perr)
		}
	}
	// Known fields keep their types.
	if _, perr := protocol.DecodeDisplay([]byte(`{"type":"hello","register":"lane-1","token":5,"x":1}`)); perr == nil || perr.Field != "token" {
		t.Errorf("DecodeDisplay(token 5) error = %v, want bad_hello on token", perr)
	}
}

// rawStrings returns every string (keys and values) of a JSON document,
// decoded by a second, independent JSON implementation that refuses
// invalid UTF-8 and unpaired surrogates, or an error.
func rawStrings(data []byte) (map[string]bool, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(data), jsontext.AllowDuplicateNames(true))
	out := map[string]bool{}
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, err
		}
		if tok.Kind() == '"' {
			out[tok.String()] = true
		}
	}
}

// checkStoredTextIsRaw fails unless the raw input is valid text to a strict
// decoder and every string of the stored cart is one of the input's
// strings, unchanged.
func checkStoredTextIsRaw(t *testing.T, data []byte, c *cart.Cart) {
	t.Helper()
	raw, err := rawStrings(data)
	if err != nil {
		t.Fatalf("accepted input that a strict decoder refuses (%v): %q", err, data)
	}
	check := func(what, s string) {
		if s != "" && !raw[s] {
			t.Fatalf("stored %s %q does not appear in the input %q", what, s, data)
		}
	}
	check("register", c.Register)
	check("order", c.Order)
	check("message", c.Message)
	for _, l := range c.Lines {
		check("line id", l.ID)
		check("title", l.Title)
		check("sku", l.SKU)
		check("barcode", l.Barcode)
		check("note", l.Note)
		check("unit", l.Unit)
	}
	for _, tx := range c.Taxes {
		check("tax label", tx.Label)
	}
	if c.Payment != nil {
		check("payment method", c.Payment.Method)
	}
}

func TestIDLengthIsDecodedBytes(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr bool
	}{
		{name: "64 bytes holding an escaped quote", in: `"` + strings.Repeat("x", 62) + `\"` + `x"`},
		{name: "32 raw é (64 bytes)", in: `"` + strings.Repeat("é", 32) + `"`},
		{name: "32 escaped é (64 bytes)", in: `"` + strings.Repeat(`\u00e9`, 32) + `"`},
		{name: "64 escaped bytes", in: `"` + strings.Repeat(`\u0041`, 64) + `"`},
		{name: "33 é (66 bytes)", in: `"` + strings.Repeat("é", 33) + `"`, wantErr: true},
		{name: "33 escaped é", in: `"` + strings.Repeat(`\u00e9`, 33) + `"`, wantErr: true},
		{name: "65 escaped bytes", in: `"` + strings.Repeat(`\u0041`, 65) + `"`, wantErr: true},
		{name: "lone surrogate", in: `"\ud800"`, wantErr: true},
	}
	for _, tt := range tests {
		var id protocol.ID
		err := id.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: UnmarshalJSON() error = %v, want error %v", tt.name, err, tt.wantErr)
		}
		m, perr := protocol.DecodePOS([]byte(`{"type":"clear","id":` + tt.in + `}`))
		if (perr != nil) != tt.wantErr {
			t.Errorf("%s: DecodePOS(clear) = %+v, %v; want error %v", tt.name, m, perr, tt.wantErr)
		}
		if perr == nil && string(m.ID) != tt.in {
			t.Errorf("%s: id %s, want it echoed byte for byte as %s", tt.name, m.ID, tt.in)
		}
		if perr != nil {
			checkErrorMessage(t, perr)
		}
	}
	var s string
	_ = json.Unmarshal([]byte(`"`+strings.Repeat("x", 62)+`\"`+`x"`), &s)
	if len(s) != 64 {
		t.Fatalf("test id decodes to %d bytes, want 64", len(s))
	}
}

// TestErrorTextIsCutByRunes: text quoted back to a peer in an error is cut
// by runes, never inside a UTF-8 sequence (a byte cut made the error's
// message invalid UTF-8, which a WebSocket peer answers by dropping the
// connection).
func TestErrorTextIsCutByRunes(t *testing.T) {
	long := "a" + strings.Repeat("é", 40)
	for _, in := range []string{
		`{"type":"` + long + `"}`,
		`{"type":"clear","` + long + `":1}`,
	} {
		_, perr := protocol.DecodePOS([]byte(in))
		if perr == nil {
			t.Fatalf("DecodePOS(%s) accepted it", in)
		}
		if !utf8.ValidString(perr.Message) || !utf8.ValidString(perr.Field) {
			t.Errorf("DecodePOS(%s) error = field %q message %q: not valid UTF-8", in, perr.Field, perr.Message)
		}
	}
	_, perr := protocol.DecodeDisplay([]byte(`{"type":"` + long + `"}`))
	if perr == nil || !utf8.ValidString(perr.Message) {
		t.Errorf("DecodeDisplay error = %+v: want a valid UTF-8 message", perr)
	}
}
