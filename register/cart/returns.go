package cart

// Returns (protocol revision 1.1). A Line with Return set is an item the
// customer brings back: its quantity, unit price, discount and total are the
// same non-negative magnitudes as a sale line's, and the line is subtracted:
//
//	subtotal = Σ total of sale lines − Σ total of return lines
//
// so a cart with a return line may have a negative subtotal, total and
// payment.due (the store owes the customer), never below -MaxMoney. A cart
// without return lines is exactly a version 1 cart.
//
// A display built before revision 1.1 ignores the unknown "return" field and
// would count a return line as a sale, so the agent never sends it one: it
// sends such displays V1View of the cart instead (see docs/protocol.md,
// "Returns").

// HasReturns reports whether c has at least one return line.
func (c *Cart) HasReturns() bool {
	for i := range c.Lines {
		if c.Lines[i].Return {
			return true
		}
	}
	return false
}

// V1View returns what a display that does not understand return lines is
// shown of c: c itself when it has no return line; otherwise the idle cart
// of the register (no lines, no figures, the currency kept). A version 1
// display shows its idle screen until the return lines are gone, which is
// incomplete but never a wrong amount shown as right: there is no way to
// write a returned item, or a subtotal that subtracts it, in version 1's
// non-negative arithmetic.
func V1View(c Cart) Cart {
	if !c.HasReturns() {
		return c
	}
	return Empty(c.Register, c.Currency)
}
