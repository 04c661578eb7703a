package protocol_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posdisplay/posdisplay/register/cart"
	"github.com/posdisplay/posdisplay/register/protocol"
)

// update rewrites the golden files, like go/printer's -update:
// go test ./register/protocol -update
var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const goldenDir = "testdata/golden"

func sampleCart() cart.Cart {
	return cart.Cart{
		Register: "lane-1",
		Order:    "A-1001",
		Currency: "USD",
		State:    cart.StateOpen,
		Lines: []cart.Line{
			{ID: "l1", SKU: "sku-1", Barcode: "4006381333931", Title: "Apples", Quantity: 1250, Unit: "kg", UnitPrice: 299, Total: 374},
			{ID: "l2", Title: "Milk 1 L", Quantity: 2000, UnitPrice: 129, Discount: 20, Total: 238},
			{ID: "l3", Title: "Bread", Quantity: 1000, UnitPrice: 350, Total: 350, Note: "day old"},
		},
		Subtotal: 962,
		Discount: 50,
		Taxes:    []cart.TaxLine{{Label: "Sales tax 8%", Amount: 73}},
		Total:    985,
	}
}

func paymentCart() cart.Cart {
	c := sampleCart()
	c.State = cart.StatePayment
	c.Payment = &cart.Payment{Due: 985, Tendered: 2000, Change: 1015, Method: "cash"}
	c.Message = "Thank you for shopping with us!"
	return c
}

var pos = protocol.Position{Epoch: "01JD3XK5Q8R2M7", Seq: 42}

func intp(i int) *int { return &i }

// A golden case is one message as the sender marshals it. decode reads the
// golden bytes back with the decoder the receiver uses and returns the value
// to compare with msg.
type goldenCase struct {
	name   string
	msg    any
	decode func(t *testing.T, data []byte) any
}

// pageAck is the ack a POS page sends for a scan (see assets/web's bridge):
// no seq.
type pageAck struct {
	Type string      `json:"type"`
	ID   protocol.ID `json:"id"`
}

func decodePOS(t *testing.T, data []byte) any {
	m, err := protocol.DecodePOS(data)
	if err != nil {
		t.Fatalf("DecodePOS: %v", err)
	}
	switch m.Type {
	case protocol.TypeCart:
		return &protocol.CartMsg{Type: m.Type, ID: m.ID, Cart: *m.Cart}
	case protocol.TypeClear:
		return &protocol.ClearMsg{Type: m.Type, ID: m.ID}
	case protocol.TypeAck:
		return &pageAck{Type: m.Type, ID: m.ID}
	case protocol.TypeRefuse:
		return m.Refuse
	}
	t.Fatalf("DecodePOS type %q", m.Type)
	return nil
}

func decodeDisplay(t *testing.T, data []byte) any {
	m, err := protocol.DecodeDisplay(data)
	if err != nil {
		t.Fatalf("DecodeDisplay: %v", err)
	}
	switch m.Type {
	case protocol.TypeHello:
		return &m.Hello
	case protocol.TypeResync:
		return &protocol.Resync{Type: m.Type}
	}
	t.Fatalf("DecodeDisplay type %q", m.Type)
	return nil
}

func decodeServer(t *testing.T, data []byte) any {
	m, err := protocol.DecodeServer(data)
	if err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	for _, p := range []any{m.Welcome, m.Snapshot, m.Delta, m.Batch, m.Resumed, m.Cue, m.Error} {
		if !reflect.ValueOf(p).IsNil() {
			return p
		}
	}
	t.Fatalf("DecodeServer type %q decoded to nothing", m.Type)
	return nil
}

// decodeHeartbeat reads a heartbeat as a display does: DecodeServer accepts
// it (as any message type it does not act on) and names its type.
func decodeHeartbeat(t *testing.T, data []byte) any {
	m, err := protocol.DecodeServer(data)
	if err != nil {
		t.Fatalf("DecodeServer: %v", err)
	}
	return &protocol.Heartbeat{Type: m.Type}
}

// decodeInto is what a POS page does with agent messages: plain JSON.
func decodeInto[T any](t *testing.T, data []byte) any {
	v := new(T)
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("Unmarshal: %v", err)
	}
	return v
}

func decodeCart(t *testing.T, data []byte) any {
	c, err := protocol.DecodeCart(data)
	if err != nil {
		t.Fatalf("DecodeCart: %v", err)
	}
	return c
}

func delta(ops ...cart.Op) *protocol.Delta {
	return &protocol.Delta{Type: protocol.TypeDelta, Position: pos, Ops: ops}
}

func goldenCases() []goldenCase {
	tea := cart.Line{ID: "l4", Title: "Green tea", Quantity: 1000, UnitPrice: 250, Total: 250}
	bread2 := cart.Line{ID: "l3", Title: "Bread", Quantity: 2000, UnitPrice: 350, Total: 700, Note: "day old"}
	pc := paymentCart()
	kettle := returnCart().Lines[3]
	at := time.Date(2026, 11, 22, 3, 4, 5, 123000000, time.UTC)
	return []goldenCase{
		// POS socket, page → agent.
		{"pos_cart", &protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("c-17"), Cart: sampleCart()}, decodePOS},
		{"pos_cart_payment", &protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.ID("18"), Cart: paymentCart()}, decodePOS},
		{"pos_clear", &protocol.ClearMsg{Type: protocol.TypeClear, ID: protocol.StringID("c-19")}, decodePOS},
		{"pos_ack_scan", &pageAck{Type: protocol.TypeAck, ID: protocol.StringID("s-5")}, decodePOS},
		// Revision 1.1: returns, scan refusals.
		{"pos_cart_return", &protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("c-21"), Cart: returnCart()}, decodePOS},
		{"pos_cart_refund", &protocol.CartMsg{Type: protocol.TypeCart, ID: protocol.StringID("c-22"), Cart: refundCart()}, decodePOS},
		{"pos_refuse", &protocol.Refuse{Type: protocol.TypeRefuse, ID: protocol.StringID("s-6"), Reason: protocol.RefuseNotFound, Message: "No product has code 4006381333931"}, decodePOS},
		// POS socket, agent → page.
		{"pos_welcome", &protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: "store12-till1", Register: "lane-1", Position: pos}, decodeInto[protocol.Welcome]},
		{"pos_ack", &protocol.Ack{Type: protocol.TypeAck, ID: protocol.StringID("c-17"), Seq: 43}, decodeInto[protocol.Ack]},
		{"pos_error", protocol.NewError(protocol.StringID("c-17"), protocol.CodeInvalidCart, "lines[2].unit_price", "lines[2].unit_price: must be >= 0"), decodeInto[protocol.Error]},
		{"pos_error_bad_json", protocol.NewError(nil, protocol.CodeBadJSON, "", "message must be a JSON object"), decodeInto[protocol.Error]},
		{"pos_scan", &protocol.Scan{Type: protocol.TypeScan, ID: "s-5", Code: "4006381333931", Symbology: "ean13", Source: "serial:/dev/ttyACM0", At: at}, decodeInto[protocol.Scan]},
		// Revision 1.1: the welcome lists features; scans carry the GTIN and their order.
		{"pos_welcome_features", &protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: "store12-till1", Register: "lane-1", Position: pos, Features: protocol.POSFeatures}, decodeInto[protocol.Welcome]},
		{"pos_scan_gtin_order", &protocol.Scan{Type: protocol.TypeScan, ID: "s-7", Code: "036000291452", Symbology: "upc-a", Source: "serial:/dev/ttyACM0", At: at, GTIN: "0036000291452", Order: "A-1001"}, decodeInto[protocol.Scan]},
		{"pos_scan_gs1", &protocol.Scan{Type: protocol.TypeScan, ID: "s-8", Code: "010950110153000310ABC123\x1d17101231", Symbology: "gs1-128", Source: "hid:usb-0000:00:14.0-1", At: at, GTIN: "9501101530003", Order: "A-1001"}, decodeInto[protocol.Scan]},
		// REST body of POST /v1/registers/{id}/cart.
		{"rest_cart", ptr(sampleCart()), decodeCart},
		// Display socket, display → agent.
		{"display_hello", &protocol.Hello{Type: protocol.TypeHello, Register: "lane-1", Token: "dt_3f9a1c", Resume: &protocol.Position{Epoch: pos.Epoch, Seq: 41}}, decodeDisplay},
		{"display_hello_fresh", &protocol.Hello{Type: protocol.TypeHello, Register: "lane-1", Token: "dt_3f9a1c"}, decodeDisplay},
		{"display_resync", &protocol.Resync{Type: protocol.TypeResync}, decodeDisplay},
		// Display socket, agent → display.
		{"display_welcome", &protocol.Welcome{Type: protocol.TypeWelcome, Protocol: protocol.Version, Agent: "store12-till1", Register: "lane-1", Position: pos}, decodeServer},
		{"display_snapshot", &protocol.Snapshot{Type: protocol.TypeSnapshot, Position: pos, Cart: sampleCart()}, decodeServer},
		{"display_snapshot_return", &protocol.Snapshot{Type: protocol.TypeSnapshot, Position: pos, Cart: returnCart()}, decodeServer},
		{"display_snapshot_idle", &protocol.Snapshot{Type: protocol.TypeSnapshot, Position: protocol.Position{Epoch: pos.Epoch, Seq: 0}, Cart: cart.Empty("lane-1", "USD")}, decodeServer},
		// After a restart: the persisted cart, not confirmed by the POS yet.
		{"display_snapshot_restored", &protocol.Snapshot{Type: protocol.TypeSnapshot, Position: protocol.Position{Epoch: pos.Epoch, Seq: 0}, Cart: sampleCart(), Restored: true}, decodeServer},
		{"display_heartbeat", &protocol.Heartbeat{Type: protocol.TypeHeartbeat}, decodeHeartbeat},
		// The POS re-sent the restored cart: a change with no ops.
		{"display_delta_confirm", &protocol.Delta{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: pos.Epoch, Seq: 1}, Ops: []cart.Op{}}, decodeServer},
		{"display_delta_add", delta(
			cart.Op{Op: cart.OpAdd, Index: 3, ID: "l4", Line: &tea},
			cart.Op{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 1212, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 93}}, Total: 1255}},
		), decodeServer},
		{"display_delta_update", delta(
			cart.Op{Op: cart.OpUpdate, Index: 2, ID: "l3", Line: &bread2},
			cart.Op{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 1312, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 101}}, Total: 1363}},
		), decodeServer},
		{"display_delta_remove", delta(
			cart.Op{Op: cart.OpRemove, Index: 1, ID: "l2"},
			cart.Op{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 724, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 54}}, Total: 728}},
		), decodeServer},
		{"display_delta_add_return", delta(
			cart.Op{Op: cart.OpAdd, Index: 3, ID: "r1", Line: &kettle},
			cart.Op{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 962 - 2699, Discount: 0, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 0}}, Total: 962 - 2699}},
		), decodeServer},
		{"display_delta_move", delta(cart.Op{Op: cart.OpMove, Index: 2, From: intp(0), ID: "l1"}), decodeServer},
		{"display_delta_totals", delta(cart.Op{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 962, Discount: 0, Taxes: []cart.TaxLine{{Label: "VAT 20%", Amount: 160, Included: true}}, Total: 962}}), decodeServer},
		{"display_delta_header", delta(cart.Op{Op: cart.OpHeader, Header: &cart.Header{Order: pc.Order, Currency: pc.Currency, State: pc.State, Payment: pc.Payment, Message: pc.Message}}), decodeServer},
		// Revision 1.2, to a display that announced "batch": the two
		// deltas after the snapshot, in one message.
		{"display_batch", &protocol.Batch{Type: protocol.TypeBatch, Deltas: []protocol.Delta{
			{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: pos.Epoch, Seq: 43}, Ops: []cart.Op{
				{Op: cart.OpAdd, Index: 3, ID: "l4", Line: &tea},
				{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 1212, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 93}}, Total: 1255}},
			}},
			{Type: protocol.TypeDelta, Position: protocol.Position{Epoch: pos.Epoch, Seq: 44}, Ops: []cart.Op{
				{Op: cart.OpUpdate, Index: 2, ID: "l3", Line: &bread2},
				{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 1562, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 121}}, Total: 1633}},
			}},
		}}, decodeServer},
		{"display_resumed", &protocol.Resumed{Type: protocol.TypeResumed, Position: protocol.Position{Epoch: pos.Epoch, Seq: 41}}, decodeServer},
		{"display_cue", &protocol.Cue{Type: protocol.TypeCue, Register: "lane-1", Cue: protocol.CueScanning}, decodeServer},
		{"display_error", protocol.NewError(nil, protocol.CodeUnauthorized, "token", "unknown display token"), decodeServer},
	}
}

func ptr[T any](v T) *T { return &v }

// TestGolden pins the wire format: every message type marshals to exactly
// the bytes in testdata/golden (indented for reading; json.Indent changes
// only whitespace), and the golden bytes decode back to the same value.
func TestGolden(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(goldenDir, tc.name+".json")
			seen[tc.name+".json"] = true
			compact, err := json.Marshal(tc.msg)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got bytes.Buffer
			if err := json.Indent(&got, compact, "", "  "); err != nil {
				t.Fatal(err)
			}
			got.WriteByte('\n')
			if *update {
				if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run go test ./register/protocol -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("Marshal(%T) =\n%s\nwant (%s)\n%s", tc.msg, got.Bytes(), file, want)
			}
			for _, data := range [][]byte{want, compact} {
				back := tc.decode(t, data)
				if !reflect.DeepEqual(back, tc.msg) {
					t.Errorf("decoding %s = %+v, want %+v", file, back, tc.msg)
				}
			}
		})
	}
	checkNoOrphanGoldens(t, goldenDir, seen)
}

// checkNoOrphanGoldens fails for every file in dir that no case produced
// (seen), so a removed case cannot leave a contract file behind.
func checkNoOrphanGoldens(t *testing.T, dir string, seen map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !seen[e.Name()] {
			t.Errorf("%s/%s is not produced by any golden case: delete it or add a case", dir, e.Name())
		}
	}
}

// TestGoldenCoversEveryMessage fails when a message type or op kind is added
// without a golden file.
func TestGoldenCoversEveryMessage(t *testing.T) {
	types := map[string]bool{}
	ops := map[cart.OpKind]bool{}
	for _, tc := range goldenCases() {
		b, _ := json.Marshal(tc.msg)
		var env struct {
			Type string    `json:"type"`
			Ops  []cart.Op `json:"ops"`
		}
		if err := json.Unmarshal(b, &env); err != nil {
			t.Fatal(err)
		}
		types[env.Type] = true
		for _, op := range env.Ops {
			ops[op.Op] = true
		}
	}
	for _, typ := range []string{
		protocol.TypeCart, protocol.TypeClear, protocol.TypeAck, protocol.TypeError, protocol.TypeWelcome, protocol.TypeScan, protocol.TypeRefuse,
		protocol.TypeHello, protocol.TypeResync, protocol.TypeSnapshot, protocol.TypeDelta, protocol.TypeResumed, protocol.TypeCue,
		protocol.TypeBatch,
	} {
		if !types[typ] {
			t.Errorf("no golden file for message type %q", typ)
		}
	}
	for _, op := range []cart.OpKind{cart.OpAdd, cart.OpUpdate, cart.OpRemove, cart.OpMove, cart.OpTotals, cart.OpHeader} {
		if !ops[op] {
			t.Errorf("no golden file for delta op %q", op)
		}
	}
}

// A display built before the restored field existed decodes the snapshot all
// the same: v1 peers ignore unknown fields (the decoder is lenient), so such
// a display shows the restored cart as it always did, as live.
func TestRestoredIgnoredByOlderDecoders(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(goldenDir, "display_snapshot_restored.json"))
	if err != nil {
		t.Fatal(err)
	}
	unknown := bytes.Replace(data, []byte(`"restored"`), []byte(`"restored_in_a_later_version"`), 1)
	m, err := protocol.DecodeServer(unknown)
	if err != nil || m.Snapshot == nil || m.Snapshot.Restored || !cart.Equal(m.Snapshot.Cart, sampleCart()) {
		t.Fatalf("snapshot with an unknown field: got %+v, %v; want the cart, unmarked", m.Snapshot, err)
	}
	// And the confirming delta, with no ops, applies to any cart.
	if got, err := cart.Apply(sampleCart(), []cart.Op{}); err != nil || !cart.Equal(got, sampleCart()) {
		t.Fatalf("empty delta: got %+v, %v", got, err)
	}
}

// TestGoldenBatchApplies checks that the golden batch's deltas apply, in
// order, to the golden snapshot (seq 42).
func TestGoldenBatchApplies(t *testing.T) {
	for _, tc := range goldenCases() {
		b, ok := tc.msg.(*protocol.Batch)
		if !ok {
			continue
		}
		c, seq := sampleCart(), pos.Seq
		for _, d := range b.Deltas {
			if d.Seq != seq+1 {
				t.Fatalf("%s: delta %d after %d", tc.name, d.Seq, seq)
			}
			var err error
			if c, err = cart.Apply(c, d.Ops); err != nil {
				t.Fatalf("%s: delta %d: %v", tc.name, d.Seq, err)
			}
			seq = d.Seq
		}
	}
}

// TestGoldenDeltasApply checks that the golden deltas are correct for the
// golden snapshot, so the examples in docs/protocol.md are consistent.
func TestGoldenDeltasApply(t *testing.T) {
	for _, tc := range goldenCases() {
		d, ok := tc.msg.(*protocol.Delta)
		if !ok {
			continue
		}
		got, err := cart.Apply(sampleCart(), d.Ops)
		if err != nil {
			t.Errorf("%s: Apply(sample snapshot) = %v, want nil", tc.name, err)
			continue
		}
		if !slices.ContainsFunc(d.Ops, func(op cart.Op) bool { return op.Op == cart.OpHeader }) && !strings.Contains(tc.name, "totals") {
			if ops := cart.Diff(sampleCart(), got); len(ops)+len(d.Ops) > 0 && !reflect.DeepEqual(ops, d.Ops) {
				t.Errorf("%s: Diff(sample, result) = %+v, want the golden ops %+v", tc.name, ops, d.Ops)
			}
		}
	}
}

// A batch is bounded before its deltas are decoded, and holds only deltas.
func TestDecodeBatchRefuses(t *testing.T) {
	d := `{"type":"delta","epoch":"e","seq":1,"ops":[]}`
	tests := map[string]string{
		"too many deltas": `{"type":"batch","deltas":[` + strings.Repeat(d+",", protocol.MaxBatchDeltas) + d + `]}`,
		"not a delta":     `{"type":"batch","deltas":[{"type":"snapshot","epoch":"e","seq":1,"ops":[]}]}`,
		"not an object":   `{"type":"batch","deltas":[1]}`,
		"bad op":          `{"type":"batch","deltas":[{"type":"delta","epoch":"e","seq":1,"ops":[{"op":"add","index":"x"}]}]}`,
	}
	for name, in := range tests {
		if m, err := protocol.DecodeServer([]byte(in)); err == nil {
			t.Errorf("%s: DecodeServer = %+v, want an error", name, m.Batch)
		}
	}
	ok := `{"type":"batch","deltas":[` + strings.Repeat(d+",", protocol.MaxBatchDeltas-1) + d + `]}`
	if m, err := protocol.DecodeServer([]byte(ok)); err != nil || len(m.Batch.Deltas) != protocol.MaxBatchDeltas {
		t.Errorf("batch of %d deltas: got %v", protocol.MaxBatchDeltas, err)
	}
}
