package protocol_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// cartJSON is the sample cart with one field replaced by raw JSON, for
// building hostile inputs: cartJSON(`"lines":[...]`) etc. The replacement
// is spliced in textually at the first occurrence of the field name.
func cartJSON(t *testing.T, field, raw string) string {
	t.Helper()
	b, err := json.Marshal(sampleCart())
	if err != nil {
		t.Fatal(err)
	}
	if field == "" {
		return string(b)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if raw == "" {
		delete(m, field)
	} else {
		m[field] = json.RawMessage(raw)
	}
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// lineJSON is the sample cart's lines array with element i's key set to raw.
func linesJSON(t *testing.T, i int, key, raw string) string {
	t.Helper()
	b, _ := json.Marshal(sampleCart().Lines)
	var ls []map[string]json.RawMessage
	if err := json.Unmarshal(b, &ls); err != nil {
		t.Fatal(err)
	}
	ls[i][key] = json.RawMessage(raw)
	out, _ := json.Marshal(ls)
	return string(out)
}

// checkErrorMessage checks what every error sent to a peer must satisfy.
func checkErrorMessage(t *testing.T, e *protocol.Error) {
	t.Helper()
	if e.Type != protocol.TypeError || e.Code == "" || e.Message == "" {
		t.Errorf("error = %+v, want type error with a code and a message", e)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("Marshal(%+v) = %v", e, err)
	}
	if !json.Valid(b) || !utf8.Valid(b) {
		t.Errorf("Marshal(error) = %q, want valid UTF-8 JSON for a text frame", b)
	}
	if len(b) > 1024 {
		t.Errorf("error message is %d bytes, want a short message", len(b))
	}
}

func TestDecodePOS(t *testing.T) {
	okCart := cartJSON(t, "", "")
	tests := []struct {
		name      string
		in        string
		wantType  string // on success
		wantCode  string // on failure
		wantField string
		wantID    string // raw id echoed in the answer
	}{
		{name: "cart", in: `{"type":"cart","id":"c1","cart":` + okCart + `}`, wantType: protocol.TypeCart, wantID: `"c1"`},
		{name: "cart numeric id", in: `{"type":"cart","id":17,"cart":` + okCart + `}`, wantType: protocol.TypeCart, wantID: `17`},
		{name: "cart no id", in: `{"type":"cart","cart":` + okCart + `}`, wantType: protocol.TypeCart},
		{name: "cart whitespace", in: " \n{ \"type\" : \"cart\", \"cart\" : " + okCart + " }\n", wantType: protocol.TypeCart},
		{name: "clear", in: `{"type":"clear","id":"c2"}`, wantType: protocol.TypeClear, wantID: `"c2"`},
		{name: "clear null id", in: `{"type":"clear","id":null}`, wantType: protocol.TypeClear},
		{name: "ack", in: `{"type":"ack","id":"s1"}`, wantType: protocol.TypeAck, wantID: `"s1"`},
		{name: "ack with seq", in: `{"type":"ack","id":"s1","seq":0}`, wantType: protocol.TypeAck, wantID: `"s1"`},

		{name: "empty", in: ``, wantCode: protocol.CodeBadJSON},
		{name: "spaces", in: "  \n", wantCode: protocol.CodeBadJSON},
		{name: "array", in: `[{"type":"clear"}]`, wantCode: protocol.CodeBadJSON},
		{name: "string", in: `"clear"`, wantCode: protocol.CodeBadJSON},
		{name: "null", in: `null`, wantCode: protocol.CodeBadJSON},
		{name: "truncated", in: `{"type":"clear"`, wantCode: protocol.CodeBadJSON},
		{name: "two objects", in: `{"type":"clear"} {"type":"clear"}`, wantCode: protocol.CodeBadJSON},
		{name: "trailing garbage", in: `{"type":"clear"}x`, wantCode: protocol.CodeBadJSON},
		{name: "single quotes", in: `{'type':'clear'}`, wantCode: protocol.CodeBadJSON},
		{name: "comment", in: `{"type":"clear"} // bye`, wantCode: protocol.CodeBadJSON},
		{name: "NaN", in: `{"type":"clear","id":NaN}`, wantCode: protocol.CodeBadJSON},
		{name: "missing type", in: `{"id":"x1"}`, wantCode: protocol.CodeBadMessage, wantField: "type", wantID: `"x1"`},
		{name: "empty type", in: `{"type":"","id":"x1"}`, wantCode: protocol.CodeBadMessage, wantField: "type", wantID: `"x1"`},
		{name: "type not string", in: `{"type":5,"id":"x1"}`, wantCode: protocol.CodeBadMessage, wantField: "type", wantID: `"x1"`},
		{name: "unknown type", in: `{"type":"snapshot","id":"x1"}`, wantCode: protocol.CodeBadMessage, wantField: "type", wantID: `"x1"`},
		{name: "id object", in: `{"type":"clear","id":{"a":1}}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "id float", in: `{"type":"clear","id":1.5}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "id bool", in: `{"type":"clear","id":true}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "id too long", in: `{"type":"clear","id":"` + strings.Repeat("i", 65) + `"}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "id at limit", in: `{"type":"clear","id":"` + strings.Repeat("i", 64) + `"}`, wantType: protocol.TypeClear, wantID: `"` + strings.Repeat("i", 64) + `"`},
		{name: "id invalid utf8", in: "{\"type\":\"clear\",\"id\":\"a\xff\"}", wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "id huge integer", in: `{"type":"clear","id":99999999999999999999}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "clear unknown field", in: `{"type":"clear","id":"c3","cart":{}}`, wantCode: protocol.CodeBadMessage, wantField: "cart", wantID: `"c3"`},
		{name: "ack no id", in: `{"type":"ack"}`, wantCode: protocol.CodeBadMessage, wantField: "id"},
		{name: "ack unknown field", in: `{"type":"ack","id":"s1","ok":true}`, wantCode: protocol.CodeBadMessage, wantField: "ok", wantID: `"s1"`},
		{name: "ack negative seq", in: `{"type":"ack","id":"s1","seq":-1}`, wantCode: protocol.CodeBadMessage, wantField: "seq", wantID: `"s1"`},

		{name: "cart missing", in: `{"type":"cart","id":"c4"}`, wantCode: protocol.CodeBadMessage, wantField: "cart", wantID: `"c4"`},
		{name: "cart null", in: `{"type":"cart","id":"c4","cart":null}`, wantCode: protocol.CodeBadMessage, wantField: "cart", wantID: `"c4"`},
		{name: "cart number", in: `{"type":"cart","id":"c4","cart":5}`, wantCode: protocol.CodeBadMessage, wantField: "cart", wantID: `"c4"`},
		{name: "cart array", in: `{"type":"cart","id":"c4","cart":[]}`, wantCode: protocol.CodeBadMessage, wantField: "cart", wantID: `"c4"`},
		{name: "message unknown field", in: `{"type":"cart","id":"c4","cart":` + okCart + `,"extra":1}`, wantCode: protocol.CodeBadMessage, wantField: "extra", wantID: `"c4"`},
		{name: "cart unknown field", in: `{"type":"cart","id":"c5","cart":` + cartJSON(t, "colour", `"red"`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "colour", wantID: `"c5"`},
		{name: "register number", in: `{"type":"cart","cart":` + cartJSON(t, "register", `1`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "register"},
		{name: "subtotal float", in: `{"type":"cart","cart":` + cartJSON(t, "subtotal", `962.0`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "subtotal"},
		{name: "total string", in: `{"type":"cart","cart":` + cartJSON(t, "total", `"985"`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "total"},
		{name: "total exponent", in: `{"type":"cart","cart":` + cartJSON(t, "total", `9.85e2`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "total"},
		{name: "total overflow", in: `{"type":"cart","cart":` + cartJSON(t, "total", `99999999999999999999`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "total"},
		{name: "lines object", in: `{"type":"cart","cart":` + cartJSON(t, "lines", `{}`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines"},
		{name: "lines element string", in: `{"type":"cart","cart":` + cartJSON(t, "lines", `["x"]`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[0]"},
		{name: "unit_price string", in: `{"type":"cart","id":"c6","cart":` + cartJSON(t, "lines", linesJSON(t, 2, "unit_price", `"3.50"`)) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[2].unit_price", wantID: `"c6"`},
		{name: "unit_price float", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 1, "unit_price", `1.29`)) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[1].unit_price"},
		{name: "title number", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 2, "title", `7`)) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[2].title"},
		{name: "quantity four digits", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 0, "quantity", `1.2505`)) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[0].quantity"},
		{name: "quantity string ok", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 0, "quantity", `"1.25"`)) + `}`, wantType: protocol.TypeCart},
		{name: "line unknown field", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 1, "price", `129`)) + `}`, wantCode: protocol.CodeBadMessage, wantField: "lines[1].price"},
		{name: "taxes element", in: `{"type":"cart","cart":` + cartJSON(t, "taxes", `[{"label":"VAT","amount":7.3}]`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "taxes[0].amount"},
		{name: "taxes unknown field", in: `{"type":"cart","cart":` + cartJSON(t, "taxes", `[{"label":"VAT","amount":73,"rate":8}]`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "taxes[0].rate"},
		{name: "taxes included string", in: `{"type":"cart","cart":` + cartJSON(t, "taxes", `[{"label":"VAT","amount":73,"included":"yes"}]`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "taxes[0].included"},
		{name: "payment string", in: `{"type":"cart","cart":` + cartJSON(t, "payment", `"cash"`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "payment"},
		{name: "payment due float", in: `{"type":"cart","cart":` + cartJSON(t, "payment", `{"due":9.85,"tendered":0,"change":0}`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "payment.due"},
		{name: "payment unknown field", in: `{"type":"cart","cart":` + cartJSON(t, "payment", `{"due":985,"tendered":1000,"change":15,"tip":5}`) + `}`, wantCode: protocol.CodeBadMessage, wantField: "payment.tip"},
		{name: "payment null ok", in: `{"type":"cart","cart":` + cartJSON(t, "payment", `null`) + `}`, wantType: protocol.TypeCart},
		{name: "lines null ok", in: `{"type":"cart","cart":` + strings.Replace(cartJSON(t, "lines", `null`), `"subtotal":962`, `"subtotal":0`, 1) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "discount"},

		{name: "invalid unit_price", in: `{"type":"cart","id":"c7","cart":` + cartJSON(t, "lines", linesJSON(t, 2, "unit_price", `-1`)) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "lines[2].unit_price", wantID: `"c7"`},
		{name: "invalid total", in: `{"type":"cart","cart":` + cartJSON(t, "total", `1`) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "total"},
		{name: "invalid currency", in: `{"type":"cart","cart":` + cartJSON(t, "currency", `"usd"`) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "currency"},
		{name: "invalid register", in: `{"type":"cart","cart":` + cartJSON(t, "register", `"lane 1"`) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "register"},
		{name: "missing register", in: `{"type":"cart","cart":` + cartJSON(t, "register", ``) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "register"},
		{name: "missing state", in: `{"type":"cart","cart":` + cartJSON(t, "state", ``) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "state"},
		{name: "hostile money", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 0, "unit_price", `9223372036854775807`)) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "lines[0].unit_price"},
		{name: "hostile quantity", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 0, "quantity", `4611686018427387.903`)) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "lines[0].quantity"},
		{name: "escaped control char", in: `{"type":"cart","cart":` + cartJSON(t, "lines", linesJSON(t, 1, "title", `"Milk\u0007"`)) + `}`, wantCode: protocol.CodeInvalidCart, wantField: "lines[1].title"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := protocol.DecodePOS([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("DecodePOS() error = %v (field %q), want nil", err, err.Field)
				}
				if m.Type != tt.wantType || string(m.ID) != tt.wantID {
					t.Errorf("DecodePOS() = type %q id %s, want type %q id %s", m.Type, m.ID, tt.wantType, tt.wantID)
				}
				if (m.Cart != nil) != (m.Type == protocol.TypeCart) {
					t.Errorf("DecodePOS() Cart = %v for type %q", m.Cart, m.Type)
				}
				if m.Cart != nil {
					if err := m.Cart.Validate(); err != nil {
						t.Errorf("decoded cart does not validate: %v", err)
					}
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodePOS() = %+v, nil; want %s error", m, tt.wantCode)
			}
			if err.Code != tt.wantCode || err.Field != tt.wantField || string(err.ID) != tt.wantID {
				t.Errorf("DecodePOS() error = code %q field %q id %s (%s), want code %q field %q id %s", err.Code, err.Field, err.ID, err.Message, tt.wantCode, tt.wantField, tt.wantID)
			}
			checkErrorMessage(t, err)
		})
	}
}

// TestDecodePOSLargeInput checks that too many lines is a validation error
// on "lines", found before the lines are decoded.
func TestDecodePOSLargeInput(t *testing.T) {
	big := `{"type":"cart","cart":` + cartJSON(t, "lines", "["+strings.Repeat(`{"id":"x"},`, 5000)+`{"id":"x"}]`) + `}`
	_, err := protocol.DecodePOS([]byte(big))
	if err == nil || err.Code != protocol.CodeInvalidCart || err.Field != "lines" {
		t.Errorf("DecodePOS(5001 lines) error = %v, want invalid_cart on lines", err)
	}
}

func TestDecodeCart(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		wantCode  string
		wantField string
	}{
		{name: "ok", in: cartJSON(t, "", "")},
		{name: "idle empty", in: `{"register":"lane-1","currency":"EUR","state":"idle","lines":[],"subtotal":0,"discount":0,"taxes":[],"total":0}`},
		{name: "idle minimal", in: `{"register":"lane-1","currency":"EUR","state":"idle","subtotal":0,"discount":0,"total":0}`},
		{name: "wrapped in a message", in: `{"type":"cart","cart":` + cartJSON(t, "", "") + `}`, wantCode: protocol.CodeBadMessage, wantField: "type"},
		{name: "not an object", in: `[]`, wantCode: protocol.CodeBadJSON},
		{name: "invalid json", in: `{"register":`, wantCode: protocol.CodeBadJSON},
		{name: "two objects", in: cartJSON(t, "", "") + `{}`, wantCode: protocol.CodeBadJSON},
		{name: "wrong type in line", in: cartJSON(t, "lines", linesJSON(t, 1, "discount", `"20"`)), wantCode: protocol.CodeBadMessage, wantField: "lines[1].discount"},
		{name: "unknown field in line", in: cartJSON(t, "lines", linesJSON(t, 0, "colour", `"red"`)), wantCode: protocol.CodeBadMessage, wantField: "lines[0].colour"},
		{name: "validation", in: cartJSON(t, "discount", `5000`), wantCode: protocol.CodeInvalidCart, wantField: "discount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := protocol.DecodeCart([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil || c == nil {
					t.Fatalf("DecodeCart() = %v, %v; want a cart, nil", c, err)
				}
				if c.Lines == nil || c.Taxes == nil {
					t.Errorf("DecodeCart() lines %v taxes %v, want non-nil slices", c.Lines, c.Taxes)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeCart() = %+v, nil; want %s error", c, tt.wantCode)
			}
			if err.Code != tt.wantCode || err.Field != tt.wantField || err.ID != nil {
				t.Errorf("DecodeCart() error = code %q field %q id %s (%s), want code %q field %q no id", err.Code, err.Field, err.ID, err.Message, tt.wantCode, tt.wantField)
			}
			checkErrorMessage(t, err)
		})
	}
}

func TestDecodeDisplay(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		wantType   string
		wantResume *protocol.Position
		wantCode   string
		wantField  string
	}{
		{name: "hello", in: `{"type":"hello","register":"lane-1","token":"t"}`, wantType: protocol.TypeHello},
		{name: "hello resume", in: `{"type":"hello","register":"lane-1","token":"t","resume":{"epoch":"e1","seq":9}}`, wantType: protocol.TypeHello, wantResume: &protocol.Position{Epoch: "e1", Seq: 9}},
		{name: "hello resume null", in: `{"type":"hello","register":"lane-1","resume":null}`, wantType: protocol.TypeHello},
		{name: "resync", in: `{"type":"resync"}`, wantType: protocol.TypeResync},
		{name: "not json", in: `hello`, wantCode: protocol.CodeBadJSON},
		{name: "array", in: `[]`, wantCode: protocol.CodeBadJSON},
		{name: "missing type", in: `{"register":"lane-1"}`, wantCode: protocol.CodeBadMessage, wantField: "type"},
		{name: "POS message", in: `{"type":"cart","cart":{}}`, wantCode: protocol.CodeBadMessage, wantField: "type"},
		{name: "hello no register", in: `{"type":"hello"}`, wantCode: protocol.CodeBadHello, wantField: "register"},
		{name: "hello bad register", in: `{"type":"hello","register":"../etc"}`, wantCode: protocol.CodeBadHello, wantField: "register"},
		{name: "hello register number", in: `{"type":"hello","register":1}`, wantCode: protocol.CodeBadHello, wantField: "register"},
		{name: "hello unknown field", in: `{"type":"hello","register":"lane-1","since":5}`, wantType: protocol.TypeHello},
		{name: "hello resume seq negative", in: `{"type":"hello","register":"lane-1","resume":{"epoch":"e","seq":-1}}`, wantCode: protocol.CodeBadHello, wantField: "resume.seq"},
		{name: "hello resume seq float", in: `{"type":"hello","register":"lane-1","resume":{"epoch":"e","seq":1.5}}`, wantCode: protocol.CodeBadHello, wantField: "resume.seq"},
		{name: "hello resume unknown field", in: `{"type":"hello","register":"lane-1","resume":{"epoch":"e","seq":1,"x":1}}`, wantType: protocol.TypeHello, wantResume: &protocol.Position{Epoch: "e", Seq: 1}},
		{name: "hello resume epoch too long", in: `{"type":"hello","register":"lane-1","resume":{"epoch":"` + strings.Repeat("e", 65) + `","seq":1}}`, wantCode: protocol.CodeBadHello, wantField: "resume.epoch"},
		{name: "hello token too long", in: `{"type":"hello","register":"lane-1","token":"` + strings.Repeat("t", 257) + `"}`, wantCode: protocol.CodeUnauthorized, wantField: "token"},
		{name: "resync unknown field", in: `{"type":"resync","why":"gap"}`, wantType: protocol.TypeResync},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := protocol.DecodeDisplay([]byte(tt.in))
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("DecodeDisplay() error = %v, want nil", err)
				}
				if m.Type != tt.wantType {
					t.Errorf("DecodeDisplay() type = %q, want %q", m.Type, tt.wantType)
				}
				if (m.Hello.Resume == nil) != (tt.wantResume == nil) || (tt.wantResume != nil && *m.Hello.Resume != *tt.wantResume) {
					t.Errorf("DecodeDisplay() resume = %+v, want %+v", m.Hello.Resume, tt.wantResume)
				}
				return
			}
			if err == nil {
				t.Fatalf("DecodeDisplay() = %+v, nil; want %s error", m, tt.wantCode)
			}
			if err.Code != tt.wantCode || err.Field != tt.wantField {
				t.Errorf("DecodeDisplay() error = code %q field %q (%s), want code %q field %q", err.Code, err.Field, err.Message, tt.wantCode, tt.wantField)
			}
			checkErrorMessage(t, err)
		})
	}
}

func TestDecodeServer(t *testing.T) {
	snap, _ := json.Marshal(protocol.Snapshot{Type: protocol.TypeSnapshot, Position: pos, Cart: sampleCart()})
	bad := sampleCart()
	bad.Total++
	badSnap, _ := json.Marshal(protocol.Snapshot{Type: protocol.TypeSnapshot, Position: pos, Cart: bad})
	manyOps, _ := json.Marshal(protocol.Delta{Type: protocol.TypeDelta, Position: pos, Ops: make([]cart.Op, cart.MaxOps+1)})
	tests := []struct {
		name     string
		in       string
		wantType string
		wantErr  bool
	}{
		{name: "snapshot", in: string(snap), wantType: protocol.TypeSnapshot},
		{name: "snapshot extra fields", in: strings.Replace(string(snap), `{"type"`, `{"future":{"x":[1]},"type"`, 1), wantType: protocol.TypeSnapshot},
		{name: "welcome newer protocol", in: `{"type":"welcome","protocol":2,"agent":"a","register":"r","epoch":"e","seq":1,"features":["x"]}`, wantType: protocol.TypeWelcome},
		{name: "delta", in: `{"type":"delta","epoch":"e","seq":2,"ops":[{"op":"remove","index":0,"id":"l1"}]}`, wantType: protocol.TypeDelta},
		{name: "delta unknown op kind", in: `{"type":"delta","epoch":"e","seq":2,"ops":[{"op":"sparkle"}]}`, wantType: protocol.TypeDelta},
		{name: "resumed", in: `{"type":"resumed","epoch":"e","seq":2}`, wantType: protocol.TypeResumed},
		{name: "cue", in: `{"type":"cue","register":"r","cue":"scanning"}`, wantType: protocol.TypeCue},
		{name: "error", in: `{"type":"error","code":"unauthorized","message":"no"}`, wantType: protocol.TypeError},
		{name: "unknown type ignored", in: `{"type":"weather","sunny":true}`, wantType: "weather"},
		{name: "no type", in: `{}`, wantType: ""},
		{name: "not json", in: `{"type":`, wantErr: true},
		{name: "array", in: `[]`, wantErr: true},
		{name: "type number", in: `{"type":1}`, wantErr: true},
		{name: "snapshot invalid cart", in: string(badSnap), wantErr: true},
		{name: "snapshot cart wrong type", in: `{"type":"snapshot","epoch":"e","seq":1,"cart":[]}`, wantErr: true},
		{name: "snapshot seq string", in: strings.Replace(string(snap), `"seq":42`, `"seq":"42"`, 1), wantErr: true},
		{name: "delta too many ops", in: string(manyOps), wantErr: true},
		{name: "delta ops wrong type", in: `{"type":"delta","epoch":"e","seq":2,"ops":{}}`, wantErr: true},
		{name: "delta money float", in: `{"type":"delta","epoch":"e","seq":2,"ops":[{"op":"totals","index":0,"totals":{"subtotal":1.5,"discount":0,"taxes":[],"total":0}}]}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := protocol.DecodeServer([]byte(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Fatalf("DecodeServer() = %+v, nil; want an error", m)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeServer() error = %v, want nil", err)
			}
			if m.Type != tt.wantType {
				t.Errorf("DecodeServer() type = %q, want %q", m.Type, tt.wantType)
			}
			set := 0
			for _, p := range []bool{m.Welcome != nil, m.Snapshot != nil, m.Delta != nil, m.Resumed != nil, m.Cue != nil, m.Error != nil} {
				if p {
					set++
				}
			}
			known := strings.Contains(" welcome snapshot delta resumed cue error ", " "+m.Type+" ")
			if known && set != 1 || !known && set != 0 {
				t.Errorf("DecodeServer(%s) set %d payloads, want %d", m.Type, set, map[bool]int{true: 1}[known])
			}
		})
	}
}

func TestErrorError(t *testing.T) {
	e := protocol.NewError(protocol.StringID("x"), protocol.CodeTooLarge, "", "message too large")
	var err error = e
	var pe *protocol.Error
	if !errors.As(err, &pe) || pe.Code != protocol.CodeTooLarge {
		t.Fatalf("errors.As(*Error) = %v, want code too_large", pe)
	}
	if got, want := err.Error(), "too_large: message too large"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestID(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
	}{
		{in: `"abc"`}, {in: `""`}, {in: `17`}, {in: `-3`}, {in: `0`},
		{in: `"\u00e9t\u00e9"`}, {in: `"été"`},
		{in: `"` + strings.Repeat("x", 64) + `"`},
		{in: `"` + strings.Repeat("x", 65) + `"`, wantErr: true},
		{in: `1.0`, wantErr: true}, {in: `1e2`, wantErr: true}, {in: `true`, wantErr: true},
		{in: `{}`, wantErr: true}, {in: `[]`, wantErr: true}, {in: `"unterminated`, wantErr: true},
		{in: "\"\xff\"", wantErr: true},
		{in: `9223372036854775808`, wantErr: true},
	}
	for _, tt := range tests {
		var id protocol.ID
		err := id.UnmarshalJSON([]byte(tt.in))
		if tt.wantErr {
			if err == nil {
				t.Errorf("UnmarshalJSON(%s) = %s, nil; want an error", tt.in, id)
			}
			continue
		}
		if err != nil || string(id) != tt.in {
			t.Errorf("UnmarshalJSON(%s) = %s, %v; want %s, nil", tt.in, id, err, tt.in)
		}
		b, err := json.Marshal(struct {
			ID protocol.ID `json:"id"`
		}{id})
		if want := `{"id":` + tt.in + `}`; err != nil || string(b) != want {
			t.Errorf("Marshal(id %s) = %s, %v; want %s (echoed byte for byte)", tt.in, b, err, want)
		}
	}
	var null protocol.ID
	if err := null.UnmarshalJSON([]byte(`null`)); err != nil || null != nil {
		t.Errorf("UnmarshalJSON(null) = %q, %v; want nil, nil", null, err)
	}
	if b, _ := json.Marshal(protocol.ID(nil)); string(b) != "null" {
		t.Errorf("Marshal(nil ID) = %s, want null", b)
	}
	for _, s := range []string{"a", `quote"inside`, "é", ""} {
		id := protocol.StringID(s)
		var back string
		if err := json.Unmarshal(id, &back); err != nil || back != s {
			t.Errorf("StringID(%q) = %s, decodes to %q, %v", s, id, back, err)
		}
	}
}

// TestMaxCartEncodedSize measures the largest valid cart on the wire, as the
// agent encodes it in a snapshot, against the documented frame limits.
func TestMaxCartEncodedSize(t *testing.T) {
	// Characters encoding/json escapes to six bytes each, at every limit.
	esc := func(n int) string { return strings.Repeat("<", n) }
	c := cart.Empty("lane-1", "USD")
	c.State, c.Order, c.Message = cart.StateOpen, esc(cart.MaxIDLen), esc(cart.MaxMessageLen)
	for i := range cart.MaxLines {
		id := fmt.Sprintf("%03d", i) + esc(cart.MaxIDLen-3)
		c.Lines = append(c.Lines, cart.Line{ID: id, SKU: esc(cart.MaxIDLen), Barcode: esc(cart.MaxIDLen), Title: esc(cart.MaxTitleLen),
			Quantity: cart.MaxQuantity - 1, Unit: esc(cart.MaxUnitLen), UnitPrice: 9999, Discount: 0, Total: 9998999990, Note: esc(cart.MaxNoteLen)})
	}
	for i := range cart.MaxTaxLines {
		c.Taxes = append(c.Taxes, cart.TaxLine{Label: fmt.Sprintf("%02d", i) + esc(cart.MaxLabelLen-2), Amount: 1, Included: true})
	}
	c.Subtotal = cart.MaxLines * 9998999990
	c.Total = c.Subtotal
	if err := c.Validate(); err != nil {
		t.Fatalf("worst-case cart is invalid: %v", err)
	}
	b, err := json.Marshal(protocol.Snapshot{Type: protocol.TypeSnapshot, Position: pos, Cart: c})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("largest valid snapshot as the agent encodes it: %d bytes (%.2f MiB)", len(b), float64(len(b))/(1<<20))
	const hardLimit = 4 << 20
	if len(b) > hardLimit {
		t.Errorf("largest valid snapshot is %d bytes, above the %d-byte hard frame limit", len(b), hardLimit)
	}
	if _, err := protocol.DecodeServer(b); err != nil {
		t.Errorf("DecodeServer(largest snapshot) = %v, want nil", err)
	}
}

// TestDecodeHostileArraysStayCheap checks that a message made of a huge
// array of tiny elements is refused without decoding every element: before
// the arrays were bounded, 1 MiB of "{}," in lines allocated about 400 MB.
func TestDecodeHostileArraysStayCheap(t *testing.T) {
	fill := func(elem string, size int) string {
		n := size / (len(elem) + 1)
		return "[" + strings.Repeat(elem+",", n-1) + elem + "]"
	}
	const mib = 256 << 10 // far past every element limit; small enough for -race
	tests := []struct {
		name   string
		in     string
		decode func([]byte) error
	}{
		{"pos lines", `{"type":"cart","cart":{"lines":` + fill("{}", mib) + `}}`, func(b []byte) error { _, err := protocol.DecodePOS(b); return errOrNil(err) }},
		{"pos lines of numbers", `{"type":"cart","cart":{"lines":` + fill("0", mib) + `}}`, func(b []byte) error { _, err := protocol.DecodePOS(b); return errOrNil(err) }},
		{"pos taxes", `{"type":"cart","cart":{"taxes":` + fill("{}", mib) + `}}`, func(b []byte) error { _, err := protocol.DecodePOS(b); return errOrNil(err) }},
		{"rest lines", `{"lines":` + fill("{}", mib) + `}`, func(b []byte) error { _, err := protocol.DecodeCart(b); return errOrNil(err) }},
		{"delta ops", `{"type":"delta","epoch":"e","seq":1,"ops":` + fill("{}", mib) + `}`, func(b []byte) error { _, err := protocol.DecodeServer(b); return err }},
		{"snapshot lines", `{"type":"snapshot","epoch":"e","seq":1,"cart":{"lines":` + fill("{}", mib) + `}}`, func(b []byte) error { _, err := protocol.DecodeServer(b); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			err := tt.decode(in)
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatalf("decoding %d bytes of a hostile array = nil error, want a limit error", len(in))
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16*uint64(len(in)) {
				t.Errorf("decoding %d bytes allocated %d bytes, want at most 16× the input (%v)", len(in), alloc, err)
			}
		})
	}
}

// errOrNil avoids the typed-nil trap when a *protocol.Error becomes an error.
func errOrNil(e *protocol.Error) error {
	if e == nil {
		return nil
	}
	return e
}
