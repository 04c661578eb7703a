package protocol_test

import (
	"encoding/json"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// The seed corpora are in testdata/fuzz/<FuzzName>: the golden messages and
// hostile variants of them. Run one target with
// go test ./register/protocol -run '^$' -fuzz '^FuzzDecodePOS$' -fuzztime 20s

var errorCodes = []string{
	protocol.CodeBadJSON, protocol.CodeBadMessage, protocol.CodeInvalidCart, protocol.CodeWrongRegister,
	protocol.CodeTooLarge, protocol.CodeRateLimited, protocol.CodeUnknownRegister, protocol.CodeUnauthorized,
	protocol.CodeForbiddenOrigin, protocol.CodeBadHello, protocol.CodeShuttingDown, protocol.CodeInternal,
}

// checkSendable fails unless e can be sent back as a WebSocket text frame.
func checkSendable(t *testing.T, e *protocol.Error) {
	t.Helper()
	if !slices.Contains(errorCodes, e.Code) {
		t.Fatalf("error code %q is not a documented code", e.Code)
	}
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("Marshal(%+v) = %v: the answer cannot be sent", e, err)
	}
	if !utf8.Valid(b) {
		t.Fatalf("Marshal(error) = %q is not valid UTF-8", b)
	}
}

func checkID(t *testing.T, id protocol.ID) {
	t.Helper()
	if len(id) == 0 {
		return
	}
	if !json.Valid(id) || !utf8.Valid(id) {
		t.Fatalf("decoded id %q cannot be echoed", id)
	}
	var s string
	if json.Unmarshal(id, &s) == nil && len(s) > protocol.MaxIDLen {
		t.Fatalf("decoded id %q is %d bytes, want at most %d", id, len(s), protocol.MaxIDLen)
	}
}

func FuzzDecodePOS(f *testing.F) {
	f.Add([]byte(`{"type":"clear","id":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, perr := protocol.DecodePOS(data)
		if perr != nil {
			checkSendable(t, perr)
			checkID(t, perr.ID)
			return
		}
		checkID(t, m.ID)
		switch m.Type {
		case protocol.TypeCart:
			if m.Cart == nil {
				t.Fatal("cart message without a cart")
			}
			if err := m.Cart.Validate(); err != nil {
				t.Fatalf("DecodePOS accepted an invalid cart: %v", err)
			}
			checkStoredTextIsRaw(t, data, m.Cart)
			// What the agent accepted, re-encoded, is accepted again unchanged.
			b, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: m.ID, Cart: *m.Cart})
			if err != nil {
				t.Fatal(err)
			}
			again, perr := protocol.DecodePOS(b)
			if perr != nil || !cart.Equal(*again.Cart, *m.Cart) {
				t.Fatalf("re-encoded cart message %s decodes to %+v, %v", b, again.Cart, perr)
			}
		case protocol.TypeClear:
		case protocol.TypeAck:
			if len(m.ID) == 0 {
				t.Fatal("ack without an id")
			}
		case protocol.TypeRefuse:
			r := m.Refuse
			if r == nil || len(m.ID) == 0 || protocol.RefuseReason(r.Reason) != r.Reason || !utf8.ValidString(r.Message) || utf8.RuneCountInString(r.Message) > 280 {
				t.Fatalf("DecodePOS accepted refuse %+v", r)
			}
			// What the agent logs can be encoded again and reads the same.
			b, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			again, perr := protocol.DecodePOS(b)
			if perr != nil || again.Refuse == nil || string(again.Refuse.ID) != string(r.ID) || again.Refuse.Reason != r.Reason || again.Refuse.Message != r.Message {
				t.Fatalf("re-encoded refuse %s decodes to %+v, %v", b, again.Refuse, perr)
			}
		default:
			t.Fatalf("DecodePOS returned type %q", m.Type)
		}
	})
}

func FuzzDecodeCart(f *testing.F) {
	f.Add([]byte(`{"register":"r","currency":"EUR","state":"idle","subtotal":0,"discount":0,"total":0}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, perr := protocol.DecodeCart(data)
		if perr != nil {
			checkSendable(t, perr)
			if perr.ID != nil {
				t.Fatalf("DecodeCart error has id %s, want none", perr.ID)
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("DecodeCart accepted an invalid cart: %v", err)
		}
		checkStoredTextIsRaw(t, data, c)
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		again, perr := protocol.DecodeCart(b)
		if perr != nil || !cart.Equal(*again, *c) {
			t.Fatalf("re-encoded cart %s decodes to %+v, %v", b, again, perr)
		}
	})
}

func FuzzDecodeDisplay(f *testing.F) {
	f.Add([]byte(`{"type":"hello","register":"lane-1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, perr := protocol.DecodeDisplay(data)
		if perr != nil {
			checkSendable(t, perr)
			return
		}
		switch m.Type {
		case protocol.TypeHello:
			if !cart.ValidID(m.Hello.Register) {
				t.Fatalf("DecodeDisplay accepted register %q", m.Hello.Register)
			}
			b, err := json.Marshal(m.Hello)
			if err != nil {
				t.Fatal(err)
			}
			again, perr := protocol.DecodeDisplay(b)
			if perr != nil || again.Hello.Register != m.Hello.Register || again.Hello.Token != m.Hello.Token {
				t.Fatalf("re-encoded hello %s decodes to %+v, %v", b, again, perr)
			}
		case protocol.TypeResync:
		default:
			t.Fatalf("DecodeDisplay returned type %q", m.Type)
		}
	})
}

func FuzzDecodeServer(f *testing.F) {
	f.Add([]byte(`{"type":"resumed","epoch":"e","seq":1}`))
	f.Add([]byte(`{"type":"batch","deltas":[{"type":"delta","epoch":"e","seq":2,"ops":[]},{"type":"delta","epoch":"e","seq":3,"ops":[]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := protocol.DecodeServer(data)
		if err != nil {
			return
		}
		switch {
		case m.Snapshot != nil:
			if err := m.Snapshot.Cart.Validate(); err != nil {
				t.Fatalf("DecodeServer accepted an invalid snapshot: %v", err)
			}
			b, err := json.Marshal(m.Snapshot)
			if err != nil {
				t.Fatal(err)
			}
			again, err := protocol.DecodeServer(b)
			if err != nil || again.Snapshot == nil || !cart.Equal(again.Snapshot.Cart, m.Snapshot.Cart) || again.Snapshot.Position != m.Snapshot.Position {
				t.Fatalf("re-encoded snapshot %s decodes to %+v, %v", b, again.Snapshot, err)
			}
		case m.Delta != nil:
			if len(m.Delta.Ops) > cart.MaxOps {
				t.Fatalf("DecodeServer accepted %d ops", len(m.Delta.Ops))
			}
			// A display applies whatever arrives: it must not panic, and
			// what it accepts must validate.
			if got, err := cart.Apply(sampleCart(), m.Delta.Ops); err == nil {
				if err := got.Validate(); err != nil {
					t.Fatalf("Apply accepted a delta into an invalid cart: %v", err)
				}
			}
		case m.Batch != nil:
			if len(m.Batch.Deltas) > protocol.MaxBatchDeltas {
				t.Fatalf("DecodeServer accepted a batch of %d deltas", len(m.Batch.Deltas))
			}
			for _, d := range m.Batch.Deltas {
				if d.Type != protocol.TypeDelta || len(d.Ops) > cart.MaxOps {
					t.Fatalf("DecodeServer accepted a batch with %q of %d ops", d.Type, len(d.Ops))
				}
			}
		case m.Error != nil:
			checkID(t, m.Error.ID)
		}
	})
}
