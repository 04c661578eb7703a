package protocol_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// returnCart is the sample cart with a returned kettle: the subtotal is
// negative and the store owes the customer.
func returnCart() cart.Cart {
	c := sampleCart()
	c.Order = "A-1002"
	c.Lines = append(c.Lines, cart.Line{ID: "r1", SKU: "sku-9", Title: "Kettle", Quantity: 1000, UnitPrice: 2999, Discount: 300, Total: 2699, Return: true, Note: "receipt A-0977"})
	c.Subtotal = 962 - 2699
	c.Discount = 0
	c.Taxes = []cart.TaxLine{{Label: "VAT 20%", Amount: 0, Included: true}}
	c.Total = c.Subtotal
	return c
}

func refundCart() cart.Cart {
	c := returnCart()
	c.State = cart.StatePayment
	c.Payment = &cart.Payment{Due: c.Total, Tendered: 0, Change: -c.Total, Method: "cash"}
	return c
}

func TestDecodeRefuse(t *testing.T) {
	long := strings.Repeat("é", 280)
	tests := []struct {
		name       string
		in         string
		wantReason string // on success
		wantMsg    string
		wantField  string // on error
	}{
		{"known reason", `{"type":"refuse","id":"ep-5","reason":"not_found","message":"No product has code 4006381333931"}`, protocol.RefuseNotFound, "No product has code 4006381333931", ""},
		{"every known reason", `{"type":"refuse","id":"ep-5","reason":"no_product_field"}`, protocol.RefuseNoProductField, "", ""},
		{"ambiguous", `{"type":"refuse","id":"ep-5","reason":"ambiguous"}`, protocol.RefuseAmbiguous, "", ""},
		{"lookup error", `{"type":"refuse","id":"ep-5","reason":"lookup_error"}`, protocol.RefuseLookupError, "", ""},
		{"wrong sale", `{"type":"refuse","id":"ep-5","reason":"wrong_sale"}`, protocol.RefuseWrongSale, "", ""},
		{"busy", `{"type":"refuse","id":"ep-5","reason":"busy"}`, protocol.RefuseBusy, "", ""},
		{"unknown reason is other", `{"type":"refuse","id":"ep-5","reason":"out_of_stock"}`, protocol.RefuseOther, "", ""},
		{"reason case matters", `{"type":"refuse","id":"ep-5","reason":"NOT_FOUND"}`, protocol.RefuseOther, "", ""},
		{"integer id", `{"type":"refuse","id":7,"reason":"busy"}`, protocol.RefuseBusy, "", ""},
		{"message at the limit", `{"type":"refuse","id":"ep-5","reason":"busy","message":"` + long + `"}`, protocol.RefuseBusy, long, ""},
		{"null message", `{"type":"refuse","id":"ep-5","reason":"busy","message":null}`, protocol.RefuseBusy, "", ""},
		{"missing id", `{"type":"refuse","reason":"busy"}`, "", "", "id"},
		{"missing reason", `{"type":"refuse","id":"ep-5"}`, "", "", "reason"},
		{"empty reason", `{"type":"refuse","id":"ep-5","reason":""}`, "", "", "reason"},
		{"reason not a string", `{"type":"refuse","id":"ep-5","reason":3}`, "", "", "reason"},
		{"reason too long", `{"type":"refuse","id":"ep-5","reason":"` + strings.Repeat("x", 65) + `"}`, "", "", "reason"},
		{"reason invalid UTF-8", "{\"type\":\"refuse\",\"id\":\"ep-5\",\"reason\":\"x\xff\"}", "", "", "reason"},
		{"message invalid UTF-8", "{\"type\":\"refuse\",\"id\":\"ep-5\",\"reason\":\"busy\",\"message\":\"Caf\xe9\"}", "", "", "message"},
		{"message too long", `{"type":"refuse","id":"ep-5","reason":"busy","message":"` + long + `x"}`, "", "", "message"},
		{"message escaped too long", `{"type":"refuse","id":"ep-5","reason":"busy","message":"` + strings.Repeat(`\u00e9`, 281) + `"}`, "", "", "message"},
		{"message not a string", `{"type":"refuse","id":"ep-5","reason":"busy","message":{}}`, "", "", "message"},
		{"unknown field", `{"type":"refuse","id":"ep-5","reason":"busy","code":"x"}`, "", "", "code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, perr := protocol.DecodePOS([]byte(tt.in))
			if tt.wantField != "" {
				if perr == nil {
					t.Fatalf("DecodePOS = %+v, want an error on %s", m, tt.wantField)
				}
				checkErrorMessage(t, perr)
				if perr.Code != protocol.CodeBadMessage || perr.Field != tt.wantField {
					t.Fatalf("DecodePOS error = %s on %q, want bad_message on %q", perr.Code, perr.Field, tt.wantField)
				}
				return
			}
			if perr != nil {
				t.Fatalf("DecodePOS = %v, want a refuse", perr)
			}
			if m.Type != protocol.TypeRefuse || m.Refuse == nil || len(m.ID) == 0 {
				t.Fatalf("DecodePOS = %+v, want a refuse with an id", m)
			}
			if m.Refuse.Reason != tt.wantReason || m.Refuse.Message != tt.wantMsg {
				t.Fatalf("refuse reason %q message %q, want %q %q", m.Refuse.Reason, m.Refuse.Message, tt.wantReason, tt.wantMsg)
			}
		})
	}
}

func TestDecodeReturns(t *testing.T) {
	okJSON := func(c cart.Cart) string {
		b, err := json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("c-1"), Cart: c})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	neg := sampleCart()
	neg.Lines[2].UnitPrice, neg.Lines[2].Total = -350, -350
	neg.Subtotal, neg.Total = 962-700, 962-700-50+73
	noFlag := returnCart()
	noFlag.Lines[3].Return = false
	tests := []struct {
		name      string
		in        string
		wantField string // "" when accepted
	}{
		{"exchange", okJSON(returnCart()), ""},
		{"refund in payment", okJSON(refundCart()), ""},
		{"return as a string flag", strings.Replace(okJSON(returnCart()), `"return":true`, `"return":"true"`, 1), "lines[3].return"},
		{"negative price instead of the flag", okJSON(neg), "lines[2].unit_price"},
		{"flag missing: subtotal does not add up", okJSON(noFlag), "subtotal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, perr := protocol.DecodePOS([]byte(tt.in))
			if tt.wantField == "" {
				if perr != nil {
					t.Fatalf("DecodePOS = %v, want the cart", perr)
				}
				if !m.Cart.HasReturns() {
					t.Fatalf("decoded cart lost its return line: %+v", m.Cart.Lines)
				}
				return
			}
			if perr == nil || perr.Field != tt.wantField {
				t.Fatalf("DecodePOS error = %v, want one on %s", perr, tt.wantField)
			}
		})
	}
}

// TestV1DisplayIgnoresReturnFlag shows why the agent must send older
// displays V1View: a display that does not know "return" reads a return
// line as a sale, and its arithmetic then rejects the snapshot. (A version
// 1 build's cart.Line has no Return field; unmarshalling into a struct
// without it is what it does.)
func TestV1DisplayIgnoresReturnFlag(t *testing.T) {
	b, err := json.Marshal(returnCart())
	if err != nil {
		t.Fatal(err)
	}
	var v1 struct {
		Lines []struct {
			Total cart.Money `json:"total"`
		} `json:"lines"`
		Subtotal cart.Money `json:"subtotal"`
	}
	if err := json.Unmarshal(b, &v1); err != nil {
		t.Fatal(err)
	}
	var sum cart.Money
	for _, l := range v1.Lines {
		sum += l.Total
	}
	if sum == v1.Subtotal {
		t.Fatalf("a v1 reading of a cart with a return adds up (%d): the example no longer shows the hazard", sum)
	}
}
