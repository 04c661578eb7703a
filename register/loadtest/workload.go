package loadtest

import (
	"encoding/json"
	"fmt"

	"github.com/posdisplay/posdisplay/register/agent"
	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// Register is the register every load scenario uses.
const Register = "1"

// taxBP is the sales tax of the generated carts in basis points (8.00 %).
const taxBP = 800

// Change is one cart change of a workload, encoded for each server kind.
type Change struct {
	// POS is the message a POS page sends the agent: {"type":"cart",...}.
	POS []byte
	// Delta is the delta frame the agent emits for this change, with a
	// fixed epoch; the relay broadcasts exactly these bytes, so both carry
	// the same payload sizes.
	Delta []byte
	// Cart is the bare cart JSON the polling server stores.
	Cart []byte
}

var titles = []string{
	"Organic whole milk 1 L", "Sourdough loaf, stone-baked", "Granny Smith apples",
	"Espresso beans, dark roast 500 g", "Free-range eggs x12", "Orange juice, not from concentrate",
	"Greek yoghurt 500 g", "Basmati rice 1 kg", "Extra virgin olive oil 750 ml", "Dark chocolate 70 %",
	"Cherry tomatoes 250 g", "Sparkling water 6 x 1.5 L",
}

// Workload returns n successive cart changes of a register, each different
// from the one before so that every change makes exactly one delta. The
// carts follow the shape of real sales: lines are rung up one by one,
// quantities change, the customer pays, the cart clears, and again.
func Workload(n int) ([]Change, error) {
	const epoch = "0000000000000000" // same length as the agent's epochs
	prev := cart.Empty(Register, "USD")
	cur := prev.Clone()
	out := make([]Change, 0, n)
	order := 1
	for k := 0; k < n; k++ {
		phase := k % 40
		switch {
		case phase == 0:
			cur = cart.Empty(Register, "USD")
			cur.Order = fmt.Sprintf("L-%06d", order)
			cur.State = cart.StateOpen
			order++
			fallthrough
		case phase < 12:
			i := len(cur.Lines)
			cur.Lines = append(cur.Lines, cart.Line{
				ID: fmt.Sprintf("l%d", i+1), SKU: fmt.Sprintf("SKU-%04d", i+1), Barcode: fmt.Sprintf("40%011d", 1000+i),
				Title: titles[i%len(titles)], Quantity: cart.QuantityScale, UnitPrice: cart.Money(149 + 100*i),
			})
		case phase < 36:
			cur.Lines[phase%12].Quantity += cart.QuantityScale
		case phase == 36:
			cur.State = cart.StatePayment
			cur.Payment = &cart.Payment{Method: "cash"}
		case phase == 37:
			cur.Payment.Tendered = (cur.Total/2000 + 1) * 2000
			cur.Payment.Change = cur.Payment.Tendered - cur.Total
		case phase == 38:
			cur.State = cart.StateComplete
			cur.Message = "Thank you for shopping with us!"
		case phase == 39:
			cur = cart.Empty(Register, "USD")
		}
		agent.Recompute(&cur, taxBP)
		if cur.State == cart.StateIdle {
			cur.Taxes = []cart.TaxLine{}
		}
		if err := cur.Validate(); err != nil {
			return nil, fmt.Errorf("workload change %d: %w", k, err)
		}
		ops := cart.Diff(prev, cur)
		if len(ops) == 0 {
			return nil, fmt.Errorf("workload change %d: no difference", k)
		}
		c := Change{}
		var err error
		if c.POS, err = json.Marshal(protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.ID(fmt.Sprint(k + 1)), Cart: cur}); err != nil {
			return nil, err
		}
		if c.Delta, err = json.Marshal(protocol.Delta{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: epoch, Seq: uint64(k + 1)}, Ops: ops}); err != nil {
			return nil, err
		}
		if c.Cart, err = json.Marshal(cur); err != nil {
			return nil, err
		}
		out = append(out, c)
		prev = cur.Clone()
	}
	return out, nil
}
