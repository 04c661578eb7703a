package cart_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/posdisplay/posdisplay/register/cart"
)

// opSummary prints ops compactly for comparisons: "add 3 l4", "move 0>2 l1".
func opSummary(ops []cart.Op) []string {
	var out []string
	for _, op := range ops {
		switch op.Op {
		case cart.OpMove:
			from := -1
			if op.From != nil {
				from = *op.From
			}
			out = append(out, fmt.Sprintf("move %d>%d %s", from, op.Index, op.ID))
		case cart.OpAdd, cart.OpUpdate, cart.OpRemove:
			out = append(out, fmt.Sprintf("%s %d %s", op.Op, op.Index, op.ID))
		default:
			out = append(out, string(op.Op))
		}
	}
	return out
}

func TestDiffApply(t *testing.T) {
	l := func(id string) cart.Line { return line(t, id, 1000, 100) }
	base := sampleCart()
	five := withLines(base, l("a"), l("b"), l("c"), l("d"), l("e"))
	changed := l("c")
	changed.Quantity, changed.Total = 3000, 300
	tests := []struct {
		name string
		old  cart.Cart
		new  cart.Cart
		want []string
	}{
		{"same", five, five, nil},
		{"append", five, withLines(base, l("a"), l("b"), l("c"), l("d"), l("e"), l("f")), []string{"add 5 f", "totals"}},
		{"insert front", five, withLines(base, l("f"), l("a"), l("b"), l("c"), l("d"), l("e")), []string{"add 0 f", "totals"}},
		{"insert middle", five, withLines(base, l("a"), l("b"), l("f"), l("c"), l("d"), l("e")), []string{"add 2 f", "totals"}},
		{"quantity change", five, withLines(base, l("a"), l("b"), changed, l("d"), l("e")), []string{"update 2 c", "totals"}},
		{"remove middle", five, withLines(base, l("a"), l("b"), l("d"), l("e")), []string{"remove 2 c", "totals"}},
		{"remove several", five, withLines(base, l("b"), l("d")), []string{"remove 4 e", "remove 2 c", "remove 0 a", "totals"}},
		{"remove all", five, withLines(base), []string{"remove 4 e", "remove 3 d", "remove 2 c", "remove 1 b", "remove 0 a", "totals"}},
		{"add to empty", withLines(base), withLines(base, l("a"), l("b")), []string{"add 0 a", "add 1 b", "totals"}},
		{"move front to back", five, withLines(base, l("b"), l("c"), l("d"), l("e"), l("a")), []string{"move 0>4 a"}},
		{"move back to front", five, withLines(base, l("e"), l("a"), l("b"), l("c"), l("d")), []string{"move 4>0 e"}},
		{"move forward", five, withLines(base, l("a"), l("c"), l("d"), l("b"), l("e")), []string{"move 1>3 b"}},
		{"move backward", five, withLines(base, l("a"), l("d"), l("b"), l("c"), l("e")), []string{"move 3>1 d"}},
		{"swap adjacent", five, withLines(base, l("a"), l("c"), l("b"), l("d"), l("e")), []string{"move 2>1 c"}},
		{"reverse", five, withLines(base, l("e"), l("d"), l("c"), l("b"), l("a")), []string{"move 4>0 e", "move 4>1 d", "move 4>2 c", "move 4>3 b"}},
		{"move and update", five, withLines(base, l("b"), l("d"), changed, l("e"), l("a")), []string{"move 3>2 d", "move 0>4 a", "update 2 c", "totals"}},
		{"remove add move", five, withLines(base, l("e"), l("x"), l("b"), l("d")), []string{"remove 2 c", "remove 0 a", "move 2>0 e", "add 1 x", "totals"}},
		{"header state", five, func() cart.Cart { c := five.Clone(); c.State = cart.StatePayment; return c }(), []string{"header"}},
		{"header payment", five, func() cart.Cart {
			c := five.Clone()
			c.State = cart.StatePayment
			c.Payment = &cart.Payment{Due: 500, Tendered: 1000, Change: 500, Method: "cash"}
			return c
		}(), []string{"header"}},
		{"header order currency message", five, func() cart.Cart {
			c := five.Clone()
			c.Order, c.Currency, c.Message = "B-2", "EUR", "Thank you!"
			return c
		}(), []string{"header"}},
		{"totals taxes only", five, func() cart.Cart {
			c := five.Clone()
			c.Taxes = append(c.Taxes, cart.TaxLine{Label: "VAT 20%", Amount: 83, Included: true})
			return c
		}(), []string{"totals"}},
		{"totals discount", five, func() cart.Cart { c := five.Clone(); c.Discount, c.Total = 100, 400; return c }(), []string{"totals"}},
		{"sale to idle", base, cart.Empty("lane-1", "USD"), []string{"remove 2 l3", "remove 1 l2", "remove 0 l1", "totals", "header"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old, new := mustValid(t, tt.old), mustValid(t, tt.new)
			oldCopy := old.Clone()
			ops := cart.Diff(old, new)
			if got := opSummary(ops); !slices.Equal(got, tt.want) {
				t.Errorf("Diff ops = %q, want %q", got, tt.want)
			}
			got, err := cart.Apply(old, ops)
			if err != nil {
				t.Fatalf("Apply(old, Diff(old, new)) error = %v", err)
			}
			if !cart.Equal(got, new) {
				t.Errorf("Apply(old, Diff(old, new)) = %+v, want %+v", got, new)
			}
			if !cart.Equal(old, oldCopy) {
				t.Errorf("Diff or Apply changed old: %+v, want %+v", old, oldCopy)
			}
			// The ops survive the wire.
			b, err := json.Marshal(ops)
			if err != nil {
				t.Fatal(err)
			}
			var wire []cart.Op
			if err := json.Unmarshal(b, &wire); err != nil {
				t.Fatal(err)
			}
			if got, err := cart.Apply(old, wire); err != nil || !cart.Equal(got, new) {
				t.Errorf("Apply(old, JSON round trip of ops) = %+v, %v; want %+v, nil", got, err, new)
			}
		})
	}
}

func TestApplyRejects(t *testing.T) {
	c := sampleCart()
	one, three, five, minus := 1, 3, 5, -1
	ln := func(id string) *cart.Line { l := line(t, id, 1000, 100); return &l }
	full := withLines(c)
	for i := range cart.MaxLines {
		full.Lines = append(full.Lines, cart.Line{ID: fmt.Sprintf("l%d", i), Title: "x", Quantity: 1000, Total: 0})
	}
	mustValid(t, full)
	tooMany := make([]cart.Op, cart.MaxOps+1)
	for i := range tooMany {
		tooMany[i] = cart.Op{Op: cart.OpHeader, Header: &cart.Header{Currency: "USD", State: cart.StateOpen}}
	}
	tests := []struct {
		name      string
		c         cart.Cart
		ops       []cart.Op
		outOfStep bool // else: a validation error
	}{
		{"add negative index", c, []cart.Op{{Op: cart.OpAdd, Index: -1, Line: ln("x")}}, true},
		{"add past end", c, []cart.Op{{Op: cart.OpAdd, Index: 4, Line: ln("x")}}, true},
		{"add no line", c, []cart.Op{{Op: cart.OpAdd, Index: 0}}, true},
		{"add to full cart", full, []cart.Op{{Op: cart.OpAdd, Index: 0, Line: ln("x")}}, true},
		{"update past end", c, []cart.Op{{Op: cart.OpUpdate, Index: 3, Line: ln("l3")}}, true},
		{"update negative", c, []cart.Op{{Op: cart.OpUpdate, Index: -1, Line: ln("l1")}}, true},
		{"update wrong id", c, []cart.Op{{Op: cart.OpUpdate, Index: 0, Line: ln("l2")}}, true},
		{"update no line", c, []cart.Op{{Op: cart.OpUpdate, Index: 0, ID: "l1"}}, true},
		{"remove wrong id", c, []cart.Op{{Op: cart.OpRemove, Index: 0, ID: "l2"}}, true},
		{"remove no id", c, []cart.Op{{Op: cart.OpRemove, Index: 0}}, true},
		{"remove past end", c, []cart.Op{{Op: cart.OpRemove, Index: 3, ID: "l3"}}, true},
		{"remove negative", c, []cart.Op{{Op: cart.OpRemove, Index: -1, ID: "l3"}}, true},
		{"move no from", c, []cart.Op{{Op: cart.OpMove, Index: 0, ID: "l2"}}, true},
		{"move from past end", c, []cart.Op{{Op: cart.OpMove, Index: 0, From: &three, ID: "l3"}}, true},
		{"move from negative", c, []cart.Op{{Op: cart.OpMove, Index: 0, From: &minus, ID: "l1"}}, true},
		{"move to past end", c, []cart.Op{{Op: cart.OpMove, Index: 3, From: &one, ID: "l2"}}, true},
		{"move to negative", c, []cart.Op{{Op: cart.OpMove, Index: -1, From: &one, ID: "l2"}}, true},
		{"move wrong id", c, []cart.Op{{Op: cart.OpMove, Index: 0, From: &one, ID: "l3"}}, true},
		{"move huge from", c, []cart.Op{{Op: cart.OpMove, Index: 0, From: &five, ID: "l3"}}, true},
		{"totals missing", c, []cart.Op{{Op: cart.OpTotals}}, true},
		{"totals too many taxes", c, []cart.Op{{Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 962, Discount: 50, Total: 912, Taxes: make([]cart.TaxLine, cart.MaxTaxLines+1)}}}, true},
		{"header missing", c, []cart.Op{{Op: cart.OpHeader}}, true},
		{"unknown op", c, []cart.Op{{Op: "frobnicate"}}, true},
		{"empty op", c, []cart.Op{{}}, true},
		{"too many ops", c, tooMany, true},
		{"second op bad", c, []cart.Op{{Op: cart.OpRemove, Index: 2, ID: "l3"}, {Op: cart.OpRemove, Index: 2, ID: "l3"}}, true},
		{"index of a removed line", c, []cart.Op{{Op: cart.OpRemove, Index: 0, ID: "l1"}, {Op: cart.OpUpdate, Index: 2, Line: ln("l3")}}, true},
		// Ops that fit but leave an invalid cart.
		{"totals left stale", c, []cart.Op{{Op: cart.OpRemove, Index: 2, ID: "l3"}}, false},
		{"add duplicate id", c, []cart.Op{{Op: cart.OpAdd, Index: 0, Line: ln("l1")}, {Op: cart.OpTotals, Totals: &cart.Totals{Subtotal: 1062, Discount: 50, Taxes: []cart.TaxLine{{Label: "Sales tax 8%", Amount: 73}}, Total: 1085}}}, false},
		{"header bad state", c, []cart.Op{{Op: cart.OpHeader, Header: &cart.Header{Currency: "USD", State: "bogus"}}}, false},
		{"header bad currency", c, []cart.Op{{Op: cart.OpHeader, Header: &cart.Header{Currency: "usd", State: cart.StateOpen}}}, false},
		{"update invalid line", c, []cart.Op{{Op: cart.OpUpdate, Index: 0, Line: &cart.Line{ID: "l1", Title: "", Quantity: 1250, UnitPrice: 299, Total: 374}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.c.Clone()
			before := in.Clone()
			got, err := cart.Apply(in, tt.ops)
			if err == nil {
				t.Fatalf("Apply() = %+v, nil; want an error", got)
			}
			if gotOOS := errors.Is(err, cart.ErrOutOfStep); gotOOS != tt.outOfStep {
				t.Errorf("errors.Is(%v, ErrOutOfStep) = %v, want %v", err, gotOOS, tt.outOfStep)
			}
			if !tt.outOfStep && !errors.Is(err, cart.ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false, want true", err)
			}
			if !cart.Equal(got, before) {
				t.Errorf("Apply() returned %+v on error, want the input %+v", got, before)
			}
			if !cart.Equal(in, before) {
				t.Errorf("Apply() changed its input to %+v, want %+v", in, before)
			}
		})
	}
}

func TestApplyDoesNotAlias(t *testing.T) {
	c := sampleCart()
	// Spare capacity: an in-place append would write into c's backing array.
	c.Lines = append(make([]cart.Line, 0, 10), c.Lines...)
	c.Payment = &cart.Payment{Due: 985}
	c.State = cart.StatePayment
	next := withLines(c, c.Lines[0], c.Lines[1], c.Lines[2], line(t, "l4", 1000, 5))
	next.Payment = &cart.Payment{Due: next.Total}
	got, err := cart.Apply(c, cart.Diff(c, next))
	if err != nil {
		t.Fatal(err)
	}
	if spare := c.Lines[:4][3]; spare != (cart.Line{}) {
		t.Errorf("Apply wrote %+v into the input's spare capacity, want it untouched", spare)
	}
	got.Lines[0].Title = "changed"
	got.Payment.Due = 1
	got.Taxes[0].Label = "changed"
	if c.Lines[0].Title != "Apples" || c.Payment.Due != 985 || c.Taxes[0].Label != "Sales tax 8%" {
		t.Errorf("the result of Apply shares memory with its input: input now %+v", c)
	}
}

func TestCloneAndEqual(t *testing.T) {
	c := sampleCart()
	c.Payment = &cart.Payment{Due: 985, Tendered: 1000, Change: 15}
	d := c.Clone()
	if !cart.Equal(c, d) {
		t.Fatalf("Equal(c, c.Clone()) = false, want true")
	}
	d.Lines[0].Title = "x"
	d.Taxes[0].Amount = 1
	d.Payment.Due = 1
	if c.Lines[0].Title != "Apples" || c.Taxes[0].Amount != 73 || c.Payment.Due != 985 {
		t.Errorf("Clone shares memory: original now %+v", c)
	}
	mods := []func(*cart.Cart){
		func(c *cart.Cart) { c.Register = "x" },
		func(c *cart.Cart) { c.Order = "x" },
		func(c *cart.Cart) { c.Currency = "EUR" },
		func(c *cart.Cart) { c.State = cart.StateIdle },
		func(c *cart.Cart) { c.Lines[2].Note = "" },
		func(c *cart.Cart) { c.Lines = c.Lines[:2] },
		func(c *cart.Cart) { c.Subtotal++ },
		func(c *cart.Cart) { c.Discount++ },
		func(c *cart.Cart) { c.Taxes[0].Included = true },
		func(c *cart.Cart) { c.Taxes = nil },
		func(c *cart.Cart) { c.Total++ },
		func(c *cart.Cart) { c.Payment = nil },
		func(c *cart.Cart) { c.Payment.Method = "cash" },
		func(c *cart.Cart) { c.Message = "hi" },
	}
	for i, mod := range mods {
		d := c.Clone()
		mod(&d)
		if cart.Equal(c, d) || cart.Equal(d, c) {
			t.Errorf("mods[%d]: Equal = true, want false", i)
		}
	}
	// nil and empty slices show the same thing.
	a, b := cart.Empty("r", "USD"), cart.Empty("r", "USD")
	b.Lines, b.Taxes = nil, nil
	if !cart.Equal(a, b) {
		t.Errorf("Equal(empty slices, nil slices) = false, want true")
	}
}

// randomCart builds a valid cart from a pool of line ids.
func randomCart(r *rand.Rand, pool []string, maxLines int) cart.Cart {
	c := cart.Empty("lane-1", "USD")
	ids := slices.Clone(pool)
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	n := r.IntN(maxLines + 1)
	for _, id := range ids[:min(n, len(ids))] {
		c.Lines = append(c.Lines, randomLine(r, id))
	}
	retotal(r, &c)
	states := []cart.State{cart.StateIdle, cart.StateOpen, cart.StatePayment, cart.StateComplete}
	c.State = states[r.IntN(len(states))]
	if r.IntN(3) == 0 {
		c.Order = fmt.Sprintf("o%d", r.IntN(3))
	}
	if r.IntN(3) == 0 {
		c.Message = fmt.Sprintf("msg %d", r.IntN(3))
	}
	if r.IntN(3) == 0 {
		tendered := cart.Money(r.Int64N(int64(c.Total) + 100))
		c.Payment = &cart.Payment{Due: c.Total, Tendered: tendered, Change: max(0, tendered-c.Total), Method: "cash"}
	}
	return c
}

func randomLine(r *rand.Rand, id string) cart.Line {
	q := cart.Quantity(1 + r.Int64N(5000))
	p := cart.Money(r.Int64N(2000))
	gross, _ := cart.Extend(q, p)
	d := cart.Money(0)
	if gross > 0 && r.IntN(4) == 0 {
		d = cart.Money(r.Int64N(int64(gross) + 1))
	}
	return cart.Line{ID: id, Title: "Item " + id, Quantity: q, UnitPrice: p, Discount: d, Total: gross - d}
}

func retotal(r *rand.Rand, c *cart.Cart) {
	c.Subtotal = 0
	for _, l := range c.Lines {
		c.Subtotal += l.Total
	}
	c.Discount = 0
	if c.Subtotal > 0 && r.IntN(4) == 0 {
		c.Discount = cart.Money(r.Int64N(int64(c.Subtotal) + 1))
	}
	c.Taxes = []cart.TaxLine{}
	c.Total = c.Subtotal - c.Discount
	for i := range r.IntN(3) {
		t := cart.TaxLine{Label: fmt.Sprintf("tax %d", i), Amount: cart.Money(r.Int64N(100)), Included: r.IntN(2) == 0}
		if !t.Included {
			c.Total += t.Amount
		}
		c.Taxes = append(c.Taxes, t)
	}
}

// edit makes a few random, typical changes to c.
func edit(r *rand.Rand, c cart.Cart, pool []string) cart.Cart {
	c = c.Clone()
	for range 1 + r.IntN(4) {
		switch r.IntN(6) {
		case 0: // append or insert a line with an unused id
			for _, id := range pool {
				if !slices.ContainsFunc(c.Lines, func(l cart.Line) bool { return l.ID == id }) {
					c.Lines = slices.Insert(c.Lines, r.IntN(len(c.Lines)+1), randomLine(r, id))
					break
				}
			}
		case 1:
			if len(c.Lines) > 0 {
				i := r.IntN(len(c.Lines))
				c.Lines = slices.Delete(c.Lines, i, i+1)
			}
		case 2:
			if len(c.Lines) > 0 {
				i := r.IntN(len(c.Lines))
				c.Lines[i] = randomLine(r, c.Lines[i].ID)
			}
		case 3:
			if len(c.Lines) > 1 {
				i, j := r.IntN(len(c.Lines)), r.IntN(len(c.Lines))
				l := c.Lines[i]
				c.Lines = slices.Insert(slices.Delete(c.Lines, i, i+1), j, l)
			}
		case 4:
			r.Shuffle(len(c.Lines), func(i, j int) { c.Lines[i], c.Lines[j] = c.Lines[j], c.Lines[i] })
		case 5:
			c.State = cart.StatePayment
			c.Message = "pay please"
		}
	}
	retotal(r, &c)
	c.Payment = nil
	return c
}

// lisLen is the length of the longest increasing subsequence, O(n²).
func lisLen(a []int) int {
	best := 0
	dp := make([]int, len(a))
	for i := range a {
		dp[i] = 1
		for j := range i {
			if a[j] < a[i] {
				dp[i] = max(dp[i], dp[j]+1)
			}
		}
		best = max(best, dp[i])
	}
	return best
}

// minMoves is the fewest moves that reorder the lines kept from old to new.
func minMoves(old, new cart.Cart) int {
	at := map[string]int{}
	for i, l := range old.Lines {
		at[l.ID] = i
	}
	var pos []int
	for _, l := range new.Lines {
		if i, ok := at[l.ID]; ok {
			pos = append(pos, i)
		}
	}
	return len(pos) - lisLen(pos)
}

func TestDiffApplyProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	pool := make([]string, 40)
	for i := range pool {
		pool[i] = fmt.Sprintf("id%d", i)
	}
	for iter := range 3000 {
		old := randomCart(r, pool, 25)
		var new cart.Cart
		if iter%3 == 0 {
			new = randomCart(r, pool, 25) // unrelated
		} else {
			new = edit(r, old, pool) // typical
		}
		mustValid(t, old)
		mustValid(t, new)
		ops := cart.Diff(old, new)
		got, err := cart.Apply(old, ops)
		if err != nil || !cart.Equal(got, new) {
			t.Fatalf("iter %d: Apply(old, Diff(old, new)) = %+v, %v; want %+v\nold %+v\nops %q", iter, got, err, new, old, opSummary(ops))
		}
		if d := cart.Diff(new, new); len(d) != 0 {
			t.Fatalf("iter %d: Diff(c, c) = %q, want no ops", iter, opSummary(d))
		}
		moves := 0
		for _, op := range ops {
			if op.Op == cart.OpMove {
				moves++
			}
		}
		if want := minMoves(old, new); moves != want {
			t.Fatalf("iter %d: Diff made %d moves, want the minimum %d; ops %q", iter, moves, want, opSummary(ops))
		}
	}
}

func TestDiffWorstCaseFitsMaxOps(t *testing.T) {
	base := cart.Empty("lane-1", "USD")
	var a, b []cart.Line
	for i := range cart.MaxLines {
		a = append(a, line(t, fmt.Sprintf("a%d", i), 1000, 1))
		b = append(b, line(t, fmt.Sprintf("b%d", i), 1000, 1))
	}
	reversed := slices.Clone(a)
	slices.Reverse(reversed)
	for i := range reversed {
		reversed[i].Title = "changed"
	}
	full := withLines(base, a...)
	tests := []struct {
		name string
		new  cart.Cart
	}{
		{"reverse and update every line", withLines(base, reversed...)},
		{"replace every line and the header", func() cart.Cart {
			c := withLines(base, b...)
			c.State, c.Order = cart.StateOpen, "x"
			c.Taxes = []cart.TaxLine{{Label: "t", Amount: 1}}
			c.Total++
			return c
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := cart.Diff(mustValid(t, full), mustValid(t, tt.new))
			if len(ops) > cart.MaxOps {
				t.Fatalf("len(Diff) = %d, want <= MaxOps %d", len(ops), cart.MaxOps)
			}
			got, err := cart.Apply(full, ops)
			if err != nil || !cart.Equal(got, tt.new) {
				t.Fatalf("Apply(Diff) = %v, want the new cart", err)
			}
		})
	}
}

func TestDiffDuplicateIDs(t *testing.T) {
	// Invalid carts never reach Diff from the agent, but Diff must not
	// panic on them: it falls back to replacing every line.
	c := sampleCart()
	dup := c.Clone()
	dup.Lines = append(dup.Lines, dup.Lines[0])
	for _, tt := range []struct{ old, new cart.Cart }{{c, dup}, {dup, c}, {dup, dup}} {
		ops := cart.Diff(tt.old, tt.new)
		var adds, removes int
		for _, op := range ops {
			switch op.Op {
			case cart.OpAdd:
				adds++
			case cart.OpRemove:
				removes++
			}
		}
		if adds != len(tt.new.Lines) || removes != len(tt.old.Lines) {
			t.Errorf("Diff with duplicate ids: %d adds, %d removes; want %d, %d", adds, removes, len(tt.new.Lines), len(tt.old.Lines))
		}
	}
}

// BenchmarkDiff measures Diff on a 200-line cart: the typical change (one
// line appended), one quantity change, and a full shuffle (worst case).
func BenchmarkDiff(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	base := cart.Empty("lane-1", "USD")
	base.State = cart.StateOpen
	for i := range 200 {
		base.Lines = append(base.Lines, randomLine(r, fmt.Sprintf("id%d", i)))
	}
	retotal(r, &base)
	appended := base.Clone()
	appended.Lines = append(appended.Lines, randomLine(r, "new"))
	retotal(r, &appended)
	changed := base.Clone()
	changed.Lines[100] = randomLine(r, "id100")
	retotal(r, &changed)
	shuffled := base.Clone()
	r.Shuffle(len(shuffled.Lines), func(i, j int) { shuffled.Lines[i], shuffled.Lines[j] = shuffled.Lines[j], shuffled.Lines[i] })
	for _, bc := range []struct {
		name string
		new  cart.Cart
	}{{"append", appended}, {"update", changed}, {"shuffle", shuffled}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var n int
			for b.Loop() {
				n = len(cart.Diff(base, bc.new))
			}
			b.ReportMetric(float64(n), "ops")
		})
	}
}
