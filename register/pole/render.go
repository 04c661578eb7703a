package pole

import (
	"strings"
	"sync"

	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
)

// Renderer turns carts into screens: it picks the event, fills the event's
// template from the cart and fits the rows into the code page. It holds no
// cart of its own: the caller passes the cart last shown, so every figure
// comes from the current cart and never from an older one.
type Renderer struct {
	cp     *CodePage
	tmpl   Templates
	locale string

	mu   sync.Mutex
	fmts map[string]*money.Formatter
}

// NewRenderer returns a renderer for one code page, locale and set of
// templates (see Merge).
func NewRenderer(cp *CodePage, locale string, tmpl Templates) *Renderer {
	return &Renderer{cp: cp, tmpl: tmpl, locale: locale, fmts: map[string]*money.Formatter{}}
}

// CodePage returns the renderer's code page.
func (r *Renderer) CodePage() *CodePage { return r.cp }

// formatter returns the money formatter for currency, or nil when the
// currency is not one display/money knows.
func (r *Renderer) formatter(currency string) *money.Formatter {
	r.mu.Lock()
	defer r.mu.Unlock()
	if f, ok := r.fmts[currency]; ok {
		return f
	}
	f, err := money.New(r.locale, currency, money.Options{})
	if err != nil {
		f = nil
	}
	r.fmts[currency] = f
	return f
}

// EventFor returns the event cur shows, given prev, the cart last shown
// (nil when nothing was), and the index of the line it is about (-1 for
// none).
func EventFor(prev *cart.Cart, cur *cart.Cart) (Event, int) {
	switch cur.State {
	case cart.StatePayment:
		p := cur.Payment
		switch {
		case p == nil || p.Tendered == 0:
			return EventPay, -1
		case p.Change != 0:
			return EventPaidChange, -1
		}
		return EventPaid, -1
	case cart.StateComplete:
		if cur.Payment != nil && cur.Payment.Change != 0 {
			return EventChange, -1
		}
		return EventThanks, -1
	}
	if cur.State == cart.StateIdle || len(cur.Lines) == 0 {
		return EventWelcome, -1
	}
	i := focusLine(prev, cur)
	if i < 0 {
		return EventTotal, -1
	}
	if cur.Lines[i].Return {
		return EventReturn, i
	}
	return EventItem, i
}

// focusLine is the index of the last line of cur that is new or changed
// since prev; with no prev, the last line; -1 when no line is new or
// changed (lines removed, a cart discount).
func focusLine(prev, cur *cart.Cart) int {
	if prev == nil || prev.Order != cur.Order {
		return len(cur.Lines) - 1
	}
	old := make(map[string]*cart.Line, len(prev.Lines))
	for i := range prev.Lines {
		old[prev.Lines[i].ID] = &prev.Lines[i]
	}
	for i := len(cur.Lines) - 1; i >= 0; i-- {
		if o, ok := old[cur.Lines[i].ID]; !ok || *o != cur.Lines[i] {
			return i
		}
	}
	return -1
}

// Render returns the screen for cur after prev (see EventFor).
func (r *Renderer) Render(prev *cart.Cart, cur *cart.Cart) (Screen, Event) {
	ev, i := EventFor(prev, cur)
	return r.screen(r.tmpl[ev], r.valuesFor(cur, i)), ev
}

// valuesFor returns the placeholder values of cur, about its line i (-1:
// none).
func (r *Renderer) valuesFor(cur *cart.Cart, i int) func(string) string {
	var line *cart.Line
	if i >= 0 {
		line = &cur.Lines[i]
	}
	f := r.formatter(cur.Currency)
	amount := func(m cart.Money) string {
		if f == nil {
			return "?"
		}
		return f.Format(m)
	}
	vals := func(name string) string {
		switch name {
		case "subtotal":
			return amount(cur.Subtotal)
		case "discount":
			return amount(cur.Discount)
		case "total":
			return amount(cur.Total)
		}
		if name == "due" || name == "tendered" || name == "change" {
			p := cur.Payment
			if p == nil {
				p = &cart.Payment{Due: cur.Total}
			}
			switch name {
			case "due":
				return amount(p.Due)
			case "tendered":
				return amount(p.Tendered)
			}
			return amount(p.Change)
		}
		if line == nil {
			return ""
		}
		sign := cart.Money(1)
		if line.Return {
			sign = -1 // as on the screen: a returned item's money goes back
		}
		switch name {
		case "title":
			return line.Title
		case "qty":
			return quantity(line, f)
		case "qtyx":
			switch {
			case line.Unit != "":
				return quantity(line, f) + " "
			case line.Quantity == cart.QuantityScale:
				return ""
			}
			return quantity(line, f) + " x "
		case "unit":
			return amount(sign * line.UnitPrice)
		case "amount":
			return amount(sign * line.Total)
		}
		return ""
	}
	return vals
}

// Offline returns the screen shown when the pole stops following the
// register: no figure at all.
func (r *Renderer) Offline() Screen {
	return r.Fixed(EventOffline)
}

// Fixed returns the screen of an event that shows no figure (offline,
// restored): placeholders are left empty.
func (r *Renderer) Fixed(ev Event) Screen {
	return r.screen(r.tmpl[ev], func(string) string { return "" })
}

func (r *Renderer) screen(t Template, vals func(string) string) Screen {
	var s Screen
	for i, row := range t {
		left, right, _ := strings.Cut(row, "|")
		s[i] = fitRow(r.cp, expand(left, vals), expand(right, vals))
	}
	return s
}

// quantity writes the line's quantity with the locale's decimal mark and
// its unit ("1,25 kg"), as the screen does.
func quantity(l *cart.Line, f *money.Formatter) string {
	s := l.Quantity.String()
	if f != nil && f.DecimalSeparator() != "." {
		s = strings.Replace(s, ".", f.DecimalSeparator(), 1)
	}
	if l.Unit != "" {
		s += " " + l.Unit
	}
	return s
}

// marqueeGap separates the end of a scrolling text from its start.
const marqueeGap = 4

// marqueeLoop returns the welcome template's first row as a loop of
// characters (each a run of cells) when it is text wider than a row, for
// scrolling; nil when it fits or ends in an amount (figures never move).
func (r *Renderer) marqueeLoop() [][]byte {
	left, right, cut := strings.Cut(r.tmpl[EventWelcome][0], "|")
	if cut && right != "" {
		return nil
	}
	cells := encodeText(r.cp, expand(left, func(string) string { return "" }))
	n := 0
	for _, c := range cells {
		n += len(c)
	}
	if n <= Width {
		return nil
	}
	for range marqueeGap {
		cells = append(cells, []byte{' '})
	}
	return cells
}

// marqueeRow is the row showing loop from its character off on, by whole
// characters.
func marqueeRow(loop [][]byte, off int) [Width]byte {
	var row [Width]byte
	for i := range row {
		row[i] = ' '
	}
	n := 0
	for i := off; n < Width; i++ {
		c := loop[i%len(loop)]
		if n+len(c) > Width {
			break
		}
		n += copy(row[n:], c)
	}
	return row
}
