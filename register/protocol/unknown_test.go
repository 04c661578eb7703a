package protocol

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/textclip"
)

// FuzzUnknownMemberAgrees holds unknownMember to encoding/json itself:
// whenever DisallowUnknownFields rejects a member, unknownMember names that
// member. encoding/json gives the name only in its message, so this test
// (and nothing else) reads that message, as the oracle.
func FuzzUnknownMemberAgrees(f *testing.F) {
	for _, s := range []string{
		`{"id":"c1","colour":"red"}`,
		`{"ID":"c1","Colour":1}`,
		`{"due":985,"tendered":1000,"change":15,"tip":5}`,
		`{"label":"VAT","amount":73,"rate":8}`,
		`{"type":"clear","id":"c3","cart":{}}`,
		`{"a\u0062c":1}`,
		`{"qty":"x","extra":1}`,
		`{"name":"é","ñame":1}`,
	} {
		f.Add([]byte(s))
	}
	targets := map[string]func() any{
		"line":    func() any { return new(cart.Line) },
		"tax":     func() any { return new(cart.TaxLine) },
		"payment": func() any { return new(cart.Payment) },
		"clear":   func() any { return new(ClearMsg) },
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for tname, newV := range targets {
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.DisallowUnknownFields()
			err := dec.Decode(newV())
			want, wantOK := "", false
			if err != nil {
				if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
					if name, uerr := strconv.Unquote(q); uerr == nil {
						want, wantOK = textclip.Runes(name, 64), true
					}
				}
			}
			if !wantOK {
				continue
			}
			got, ok := unknownMember(data, newV())
			if !ok || got != want {
				t.Errorf("%s %q: unknownMember = %q, %v; encoding/json rejected %q", tname, data, got, ok, want)
			}
		}
	})
}
