package cart_test

import (
	"encoding/json"
	"fmt"

	"github.com/posdisplay/posdisplay/register/cart"
)

func ExampleParseQuantity() {
	q, err := cart.ParseQuantity("1.250")
	fmt.Println(int64(q), q, err)
	_, err = cart.ParseQuantity("1.2345")
	fmt.Println(err)
	// Output:
	// 1250 1.25 <nil>
	// must be a decimal number with at most 3 fraction digits, got "1.2345"
}

func ExampleExtend() {
	// 1.25 kg at 2.99 per kg: 373.75 cents, rounded half away from zero.
	total, ok := cart.Extend(1250, 299)
	fmt.Println(total, ok)
	// Output: 374 true
}

func ExampleDiff() {
	old := cart.Empty("lane-1", "USD")
	old.State = cart.StateOpen
	old.Lines = []cart.Line{
		{ID: "a", Title: "Apples", Quantity: 1000, UnitPrice: 100, Total: 100},
		{ID: "b", Title: "Bread", Quantity: 1000, UnitPrice: 200, Total: 200},
		{ID: "c", Title: "Cheese", Quantity: 1000, UnitPrice: 300, Total: 300},
	}
	old.Subtotal, old.Total = 600, 600

	// The cashier moves the apples to the end.
	new := old.Clone()
	new.Lines = []cart.Line{old.Lines[1], old.Lines[2], old.Lines[0]}

	ops := cart.Diff(old, new)
	b, _ := json.Marshal(ops)
	fmt.Println(string(b))
	got, err := cart.Apply(old, ops)
	fmt.Println(cart.Equal(got, new), err)
	// Output:
	// [{"op":"move","index":2,"from":0,"id":"a"}]
	// true <nil>
}
