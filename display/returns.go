package display

import (
	"fmt"

	"github.com/posdisplay/posdisplay/register/cart"
)

// Return lines (protocol revision 1.1) carry non-negative magnitudes and a
// flag; the customer sees them marked as returns, in the warning colour,
// with negative amounts, and the totals exactly as the POS sent them.

// returnMark starts the title of a returned item.
const returnMark = "Return: "

// lineTitle is the title shown for l.
func lineTitle(l *cart.Line) string {
	if l.Return {
		return returnMark + clean(l.Title)
	}
	return clean(l.Title)
}

// lineAmounts are the unit price and total shown for l: negative for a
// return, whose money goes back to the customer.
func lineAmounts(l *cart.Line) (unit, total cart.Money) {
	if l.Return {
		return -l.UnitPrice, -l.Total
	}
	return l.UnitPrice, l.Total
}

// itemCount is the summary above the totals: "3 items", or "3 items, 1
// returned" when some lines are returns.
func itemCount(ls []cart.Line) string {
	sold, returned := 0, 0
	for i := range ls {
		if ls[i].Return {
			returned++
		} else {
			sold++
		}
	}
	s := "1 item"
	if sold != 1 {
		s = fmt.Sprintf("%d items", sold)
	}
	if returned > 0 {
		s += fmt.Sprintf(", %d returned", returned)
	}
	return s
}
