package cart

// State is where the sale is: it decides which screen the customer sees.
type State string

// The cart states, in the order a sale moves through them.
const (
	StateIdle     State = "idle"     // no sale: branding screen
	StateOpen     State = "open"     // items being rung up
	StatePayment  State = "payment"  // tendering: due, tendered, change
	StateComplete State = "complete" // paid: "thank you"
)

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	switch s {
	case StateIdle, StateOpen, StatePayment, StateComplete:
		return true
	}
	return false
}

// Cart is the customer-visible state of one register's sale. The agent holds
// the authoritative copy; displays hold replicas kept equal by deltas.
type Cart struct {
	Register string    `json:"register"`
	Order    string    `json:"order,omitempty"`
	Currency string    `json:"currency"`
	State    State     `json:"state"`
	Lines    []Line    `json:"lines"`
	Subtotal Money     `json:"subtotal"`
	Discount Money     `json:"discount"`
	Taxes    []TaxLine `json:"taxes"`
	Total    Money     `json:"total"`
	Payment  *Payment  `json:"payment,omitempty"`
	Message  string    `json:"message,omitempty"`
}

// Line is one rung-up item.
type Line struct {
	ID        string   `json:"id"`
	SKU       string   `json:"sku,omitempty"`
	Barcode   string   `json:"barcode,omitempty"`
	Title     string   `json:"title"`
	Quantity  Quantity `json:"quantity"`
	Unit      string   `json:"unit,omitempty"`
	UnitPrice Money    `json:"unit_price"`
	Discount  Money    `json:"discount"`
	Total     Money    `json:"total"`
	Note      string   `json:"note,omitempty"`
	// Return marks a returned item (protocol revision 1.1): its amounts
	// stay non-negative magnitudes and the line is subtracted from the
	// subtotal. See returns.go.
	Return bool `json:"return,omitempty"`
}

// TaxLine is one tax shown under the subtotal. An Included tax (VAT in
// tax-inclusive prices) is informational and not added to the total.
type TaxLine struct {
	Label    string `json:"label"`
	Amount   Money  `json:"amount"`
	Included bool   `json:"included,omitempty"`
}

// Payment is the tendering state: what is due, what the customer handed
// over, and the change to give back.
type Payment struct {
	Due      Money  `json:"due"`
	Tendered Money  `json:"tendered"`
	Change   Money  `json:"change"`
	Method   string `json:"method,omitempty"`
}

// Empty returns the idle cart of a register with no lines and zero totals.
func Empty(register, currency string) Cart {
	return Cart{Register: register, Currency: currency, State: StateIdle, Lines: []Line{}, Taxes: []TaxLine{}}
}

// Clone returns a deep copy of c that shares no slices or pointers with it.
func (c Cart) Clone() Cart {
	out := c
	out.Lines = append(make([]Line, 0, len(c.Lines)), c.Lines...)
	out.Taxes = append(make([]TaxLine, 0, len(c.Taxes)), c.Taxes...)
	if c.Payment != nil {
		p := *c.Payment
		out.Payment = &p
	}
	return out
}

// Equal reports whether a and b show the same thing to a customer.
func Equal(a, b Cart) bool {
	if a.Register != b.Register || a.Order != b.Order || a.Currency != b.Currency || a.State != b.State ||
		a.Subtotal != b.Subtotal || a.Discount != b.Discount || a.Total != b.Total || a.Message != b.Message ||
		len(a.Lines) != len(b.Lines) || len(a.Taxes) != len(b.Taxes) || !paymentEqual(a.Payment, b.Payment) {
		return false
	}
	for i := range a.Lines {
		if a.Lines[i] != b.Lines[i] {
			return false
		}
	}
	for i := range a.Taxes {
		if a.Taxes[i] != b.Taxes[i] {
			return false
		}
	}
	return true
}

func paymentEqual(a, b *Payment) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
