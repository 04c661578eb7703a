package cart

import (
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"
)

// cartsFrom makes two carts from arbitrary bytes, as a fuzzer varies them:
// line ids from a small pool (so lines are kept, added, removed, moved and
// repeated), up to 40 lines (beyond maxInOrder), and texts, quantities and
// amounts of any value, valid or not: Diff and AppendOps take any cart.
func cartsFrom(data []byte, text string) (old, new Cart) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	mk := func() Cart {
		c := Cart{Register: "lane-1", Currency: "USD", State: StateOpen, Lines: []Line{}}
		n := int(next() % 41)
		for range n {
			id, v := next(), next()
			l := Line{ID: string(rune('a' + id%20)), Title: "t", Quantity: Quantity(int64(v)*137 - 9000), UnitPrice: Money(v), Total: Money(v) * 3}
			switch v % 7 {
			case 1:
				l.Title, l.Note = text, "n"
			case 2:
				l.SKU, l.Barcode, l.Unit = text, "4006381333931", "kg"
			case 3:
				l.Return, l.Discount = true, -Money(v)
			}
			c.Lines = append(c.Lines, l)
		}
		switch next() % 4 {
		case 1:
			c.Taxes = []TaxLine{{Label: text, Amount: 7, Included: true}, {Label: "VAT", Amount: -1}}
			c.Payment = &Payment{Due: 100, Tendered: 200, Change: 100, Method: text}
			c.Message, c.Order = text, "A-1"
		case 2:
			c.Taxes, c.State = nil, StatePayment
			c.Payment = &Payment{Due: 1}
		}
		c.Subtotal, c.Total = Money(next()), Money(int64(next())<<40)
		return c
	}
	return mk(), mk()
}

func checkDiffPaths(t *testing.T, old, new Cart) {
	t.Helper()
	got, want := Diff(old, new), diffGeneral(old, new)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff and its general path differ\nold %+v\nnew %+v\ngot  %s\nwant %s", old.Lines, new.Lines, mustJSON(t, got), mustJSON(t, want))
	}
	enc, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	if mine := AppendOps(nil, got); string(mine) != string(enc) {
		t.Fatalf("AppendOps = %s\njson.Marshal = %s", mine, enc)
	}
	for _, c := range []Cart{old, new, {}} {
		if mine, want := c.AppendJSON(nil), mustJSON(t, c); string(mine) != string(want) {
			t.Fatalf("AppendJSON = %s\njson.Marshal = %s", mine, want)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDiffPaths holds Diff's in-order path to the general one (the same
// ops), and AppendOps and Cart.AppendJSON to encoding/json (the same bytes).
func FuzzDiffPaths(f *testing.F) {
	f.Add([]byte{3, 0, 1, 1, 2, 2, 3, 0, 0, 0, 4, 0, 1, 1, 2, 2, 9, 3, 3, 1, 0, 0}, "<b>caf\u00e9</b> & \u2028")
	f.Add([]byte{2, 0, 1, 1, 2, 0, 0, 2, 1, 2, 0, 1}, "moved")
	f.Add([]byte{2, 0, 1, 0, 2, 0, 0, 1, 0, 1}, "dup \xff")
	f.Add([]byte{40}, "")
	f.Fuzz(func(t *testing.T, data []byte, text string) {
		old, new := cartsFrom(data, text)
		checkDiffPaths(t, old, new)
		checkDiffPaths(t, new, old)
	})
}

// TestDiffPaths runs FuzzDiffPaths' check on 8,000 random pairs in every
// test run (the fuzzer only runs the seeds there).
func TestDiffPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(16, 1))
	texts := []string{"", "plain", "<&>", "\u2029\x01", "\xfe"}
	buf := make([]byte, 200)
	for range 8000 {
		for i := 0; i < len(buf); i += 8 {
			binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
		}
		// Mostly carts of a few lines from a few ids, as cashiers make them.
		buf[0] %= 14
		old, new := cartsFrom(buf, texts[r.IntN(len(texts))])
		checkDiffPaths(t, old, new)
		// And the edits of one cart: one line changed, added or removed.
		edited := old.Clone()
		if n := len(edited.Lines); n > 0 {
			switch k := r.IntN(n); r.IntN(3) {
			case 0:
				edited.Lines[k].Quantity++
			case 1:
				edited.Lines = append(edited.Lines[:k], edited.Lines[k+1:]...)
			case 2:
				edited.Lines = append(edited.Lines, Line{ID: "new", Title: "x", Quantity: 1000})
			}
		}
		checkDiffPaths(t, old, edited)
	}
}

func TestAppendOpsEdgeCases(t *testing.T) {
	from := -1
	for _, ops := range [][]Op{nil, {}, {{Op: OpTotals, Totals: &Totals{}}, {Op: OpTotals, Totals: &Totals{Taxes: []TaxLine{}}},
		{Op: OpMove, Index: 2, From: &from, ID: "x"}, {Op: OpHeader, Header: &Header{}}, {Op: "", Line: &Line{}}}} {
		want := mustJSON(t, ops)
		if got := AppendOps(nil, ops); string(got) != string(want) {
			t.Errorf("AppendOps = %s, json.Marshal = %s", got, want)
		}
	}
}
