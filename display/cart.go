package display

import (
	"fmt"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/posdisplay/posdisplay/register/cart"
)

// maxTaxRows bounds the tax lines shown under the subtotal; more are summed
// into the last row so the total panel never outgrows the screen.
const maxTaxRows = 6

// cartScreen lists the sale's lines in a virtualised list (only visible rows
// exist as widgets, so 500 lines cost what 15 do) beside a totals panel.
type cartScreen struct {
	e    *env
	root fyne.CanvasObject

	header  *widget.Label
	cue     *widget.Label
	banner  *staleBanner
	list    *lineList
	message *widget.Label

	f     frame
	lines []cart.Line
	// highlight maps a line id to when its highlight ends.
	highlight map[string]time.Time
	tall      []bool
	rowH      [2]float32
	cols      columns
	scale     float32

	panel                  *fyne.Container
	count                  *widget.Label
	subtotal, discount     *amountRow
	taxes                  []*amountRow
	totalLabel, totalValue *widget.Label
}

// columns are the minimum widths of the fixed columns, measured from sample
// text so that prices line up; a wider figure widens its own row only.
type columns struct{ qty, unit, total float32 }

func newCartScreen(e *env) *cartScreen {
	s := &cartScreen{e: e, highlight: map[string]time.Time{}}
	s.header = label(clean(e.cfg.Store.Name), sizeHeading, fyne.TextAlignLeading, true)
	s.header.Truncation = fyne.TextTruncateEllipsis
	s.cue = label("", sizeSmall, fyne.TextAlignTrailing, false)
	s.cue.Importance = widget.HighImportance
	s.banner = newStaleBanner(e)
	s.list = newLineList(s)
	s.message = label("", sizeLine, fyne.TextAlignCenter, true)
	s.message.Importance = widget.WarningImportance
	s.message.Truncation = fyne.TextTruncateEllipsis
	s.message.Hide()

	s.count = label("", sizeSmall, fyne.TextAlignLeading, false)
	s.count.Importance = widget.LowImportance
	s.subtotal = newAmountRow(e, "Subtotal", sizeLine)
	s.discount = newAmountRow(e, "Discount", sizeLine)
	s.discount.value.Importance = widget.SuccessImportance
	taxBox := container.NewVBox()
	for range maxTaxRows {
		r := newAmountRow(e, "", sizeSmall)
		r.root.Hide()
		s.taxes = append(s.taxes, r)
		taxBox.Add(r.root)
	}
	s.totalLabel = label("Total", sizeHeading, fyne.TextAlignLeading, true)
	s.totalValue = label("", sizeTotal, fyne.TextAlignTrailing, true)
	s.totalValue.Importance = widget.HighImportance

	panelBg := canvas.NewRectangle(e.th.Color(colorPanel, 0))
	s.panel = container.NewStack(panelBg, container.NewPadded(container.NewVBox(
		s.count, s.subtotal.root, s.discount.root, taxBox,
		widget.NewSeparator(), s.totalLabel, s.totalValue)))
	top := container.NewVBox(container.NewBorder(nil, nil, nil, s.cue, s.header), s.banner.root)
	body := container.New(&splitLayout{}, s.list.box, s.panel)
	s.root = container.NewBorder(top, s.message, nil, nil, body)
	return s
}

// lineRow is one list row's widgets.
type lineRow struct {
	s                            *cartScreen
	bg                           *canvas.Rectangle
	qty, title, sub, unit, total *widget.Label
}

func (s *cartScreen) createRow() fyne.CanvasObject {
	r := &lineRow{s: s, bg: canvas.NewRectangle(s.e.th.Color(colorHighlight, 0))}
	r.bg.Hide()
	r.qty = label("", sizeLine, fyne.TextAlignLeading, false) // not truncating: shaping an ellipsis costs 0.3 ms per change
	r.title = label("", sizeLine, fyne.TextAlignLeading, false)
	r.title.Truncation = fyne.TextTruncateEllipsis
	r.sub = label("", sizeSmall, fyne.TextAlignLeading, false)
	r.sub.Truncation = fyne.TextTruncateEllipsis
	r.sub.Importance = widget.SuccessImportance
	r.sub.Hide()
	r.unit = label("", sizeLine, fyne.TextAlignTrailing, false)
	r.unit.Importance = widget.LowImportance
	r.total = label("", sizeLine, fyne.TextAlignTrailing, true)
	return container.New(&rowLayout{r: r}, r.bg, r.qty, r.title, r.sub, r.unit, r.total)
}

func (s *cartScreen) updateRow(id int, o fyne.CanvasObject) {
	if id < 0 || id >= len(s.lines) {
		return
	}
	r := o.(*fyne.Container).Layout.(*rowLayout).r
	l := &s.lines[id]
	f := s.f
	setText(r.qty, s.quantity(l))
	setText(r.title, lineTitle(l))
	sub := s.subText(l)
	setText(r.sub, sub)
	showIf(r.sub, sub != "")
	if l.Discount != 0 && !l.Return {
		setImportance(r.sub, widget.SuccessImportance)
	} else {
		setImportance(r.sub, widget.LowImportance)
	}
	unit, total := lineAmounts(l)
	setText(r.unit, f.amount(unit))
	setText(r.total, f.amount(total))
	imp := widget.MediumImportance
	if l.Return {
		imp = widget.WarningImportance
	}
	if f.stale {
		imp = widget.LowImportance
	}
	setImportance(r.total, imp)
	setImportance(r.title, imp)
	setImportance(r.qty, imp)
	until, lit := s.highlight[l.ID]
	showIf(r.bg, lit && f.now.Before(until))
	// Widths depend on the new texts: lay the row out again.
	o.(*fyne.Container).Layout.Layout(nil, o.Size())
}

// quantity is "2 ×" for counted items and "1,25 kg" for weighed ones, with
// the locale's decimal mark.
func (s *cartScreen) quantity(l *cart.Line) string {
	q := clipText(l.Quantity.String(), 12)
	if s.f.fmt != nil {
		q = strings.Replace(q, ".", s.f.fmt.DecimalSeparator(), 1)
	}
	if u := clipText(l.Unit, 8); u != "" {
		return q + " " + u
	}
	return q + " ×"
}

// subText is the line under the title: the discount, then any note.
func (s *cartScreen) subText(l *cart.Line) string {
	var parts []string
	if l.Discount != 0 {
		d := l.Discount
		if d > 0 {
			d = -d // a discount always reads as money off
		}
		if l.Return {
			d = -d // on a return it is taken off the refund: the line's figure rises
		}
		parts = append(parts, "Discount "+s.f.amount(d))
	}
	if n := clean(l.Note); n != "" {
		parts = append(parts, n)
	}
	return strings.Join(parts, " · ")
}

// show draws a frame. Only what changed is refreshed: a delta that touches
// one line refreshes one row.
func (s *cartScreen) show(f frame, entered bool) {
	prev := s.f
	s.f = f
	s.lines = f.v.Cart.Lines
	s.measure()

	for _, id := range f.v.Changed {
		if len(s.highlight) > 1024 {
			clear(s.highlight)
		}
		s.highlight[id] = f.now.Add(s.e.cfg.Timing.Highlight)
	}
	s.syncHeights()

	idx := s.indexes(f.v.Changed)
	target := -1
	if len(idx) > 0 {
		target = idx[len(idx)-1]
	}
	modeChanged := prev.stale != f.stale || prev.restored != f.restored || prev.hideMoney != f.hideMoney || prev.fmt != f.fmt
	s.list.keepInView(target)
	s.list.place(entered || modeChanged)

	s.banner.show(f.stale, f.restored, f.hideMoney)
	c := &f.v.Cart
	setText(s.count, itemCount(c.Lines))
	s.subtotal.set(f.amount(c.Subtotal), true)
	s.discount.set(f.amount(-abs(c.Discount)), c.Discount != 0)
	s.showTaxes(f)
	setText(s.totalValue, f.amount(c.Total))
	imp := widget.HighImportance
	if f.stale {
		imp = widget.LowImportance
	}
	setImportance(s.totalValue, imp)
	msg := clean(c.Message)
	setText(s.message, msg)
	s.e.setVisible(s.message, msg != "")
	s.tick(f.now)
}

func (s *cartScreen) showTaxes(f frame) {
	taxes := f.v.Cart.Taxes
	for i, r := range s.taxes {
		if i >= len(taxes) {
			r.set("", false)
			continue
		}
		t := taxes[i]
		name := clean(t.Label)
		amt := t.Amount
		if i == maxTaxRows-1 && len(taxes) > maxTaxRows {
			name = fmt.Sprintf("%d more taxes", len(taxes)-i)
			amt = 0
			for _, x := range taxes[i:] {
				amt += x.Amount
			}
		}
		if t.Included {
			name = "incl. " + name
		}
		setText(r.name, name)
		r.set(f.amount(amt), true)
	}
}

// tick ends highlights and cues whose time is up.
func (s *cartScreen) tick(now time.Time) {
	s.f.now = now
	expired := false
	for id, until := range s.highlight {
		if !now.Before(until) {
			delete(s.highlight, id)
			expired = true
		}
	}
	if expired {
		s.list.place(false)
	}
	v := s.f.v
	cue := ""
	if v.Cue != "" && !v.CueAt.IsZero() && now.Sub(v.CueAt) < s.e.cfg.Timing.Cue {
		cue = cueText(v.Cue)
	}
	setText(s.cue, cue)
}

func cueText(c string) string {
	if c == "scanning" {
		return "Scanning…"
	}
	return clipText(c, 24)
}

// indexes returns the list positions of the given line ids, in list order.
func (s *cartScreen) indexes(ids []string) []int {
	if len(ids) == 0 {
		return nil
	}
	var out []int
	for i := range s.lines {
		for _, id := range ids {
			if s.lines[i].ID == id {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// syncHeights gives rows with a discount or note a second text line.
func (s *cartScreen) syncHeights() {
	s.tall = s.tall[:0]
	for i := range s.lines {
		s.tall = append(s.tall, s.lines[i].Discount != 0 || s.lines[i].Note != "")
	}
}

// rowState is what row i draws.
func (s *cartScreen) rowState(i int) rowState {
	l := s.lines[i]
	until, lit := s.highlight[l.ID]
	return rowState{idx: i, line: l, lit: lit && s.f.now.Before(until)}
}

// measure recomputes row heights and column widths after a scale change.
func (s *cartScreen) measure() {
	sc := s.e.th.scale * s.e.th.userScale
	if sc == s.scale {
		return
	}
	s.scale = sc
	th := s.e.th
	pad := 2 * th.Size(theme.SizeNameInnerPadding)
	line := fyne.MeasureText("Mg", th.Size(sizeLine), fyne.TextStyle{}).Height + pad
	small := fyne.MeasureText("Mg", th.Size(sizeSmall), fyne.TextStyle{}).Height + th.Size(theme.SizeNameInnerPadding)
	s.rowH = [2]float32{line, line + small}
	sample := "$9,999.99"
	if s.f.fmt != nil {
		sample = s.f.fmt.Format(999999)
	}
	s.cols = columns{
		qty:   fyne.MeasureText("99 ×", th.Size(sizeLine), fyne.TextStyle{}).Width + pad,
		unit:  fyne.MeasureText(sample, th.Size(sizeLine), fyne.TextStyle{}).Width + pad,
		total: fyne.MeasureText(sample, th.Size(sizeLine), fyne.TextStyle{Bold: true}).Width + pad,
	}
	s.list.size = fyne.Size{} // lay the rows out again at the new heights
}

func abs(m cart.Money) cart.Money {
	if m < 0 {
		return -m
	}
	return m
}

// amountRow is "name ........ amount" in the totals panel.
type amountRow struct {
	e           *env
	root        *fyne.Container
	name, value *widget.Label
}

func newAmountRow(e *env, name string, size fyne.ThemeSizeName) *amountRow {
	r := &amountRow{e: e, name: label(name, size, fyne.TextAlignLeading, false), value: label("", size, fyne.TextAlignTrailing, false)}
	r.name.Truncation = fyne.TextTruncateEllipsis
	r.root = container.NewBorder(nil, nil, nil, r.value, r.name)
	return r
}

func (r *amountRow) set(value string, visible bool) {
	setText(r.value, value)
	r.e.setVisible(r.root, visible)
}

// rowLayout places a cart line: quantity, title (ellipsized into whatever
// room is left), unit price and line total. Prices always get their full
// width, so a long title can never cover them.
type rowLayout struct{ r *lineRow }

func (l *rowLayout) Layout(_ []fyne.CanvasObject, size fyne.Size) {
	r, c := l.r, l.r.s.cols
	r.bg.Resize(size)
	r.bg.Move(fyne.NewPos(0, 0))
	lineH := l.r.s.rowH[0]
	qw := max(c.qty, r.qty.MinSize().Width)
	tw := max(c.total, r.total.MinSize().Width)
	uw := max(c.unit, r.unit.MinSize().Width)
	titleW := size.Width - qw - tw - uw
	if titleW < size.Width/4 { // narrow screen: drop the unit price before the title
		r.unit.Hide()
		uw = 0
		titleW = max(size.Width-qw-tw, 0)
	} else if !r.unit.Visible() {
		r.unit.Show()
	}
	if qw+tw > size.Width { // absurd figures: the line total wins over the quantity
		qw = max(size.Width-tw, 0)
	}
	titleW = max(titleW, 0)
	r.qty.Move(fyne.NewPos(0, 0))
	r.qty.Resize(fyne.NewSize(qw, lineH))
	r.title.Move(fyne.NewPos(qw, 0))
	r.title.Resize(fyne.NewSize(titleW, lineH))
	r.sub.Move(fyne.NewPos(qw, lineH-l.r.s.e.th.Size(theme.SizeNameInnerPadding)))
	r.sub.Resize(fyne.NewSize(titleW+uw, max(size.Height-lineH, 0)+l.r.s.e.th.Size(theme.SizeNameInnerPadding)))
	r.unit.Move(fyne.NewPos(qw+titleW, 0))
	r.unit.Resize(fyne.NewSize(uw, lineH))
	r.total.Move(fyne.NewPos(size.Width-tw, 0))
	r.total.Resize(fyne.NewSize(tw, lineH))
}

func (l *rowLayout) MinSize([]fyne.CanvasObject) fyne.Size {
	c := l.r.s.cols
	return fyne.NewSize(c.qty+c.total+c.unit, l.r.s.rowH[0])
}

// splitLayout puts the list beside the totals panel on a landscape screen
// and above it on a portrait one.
type splitLayout struct{}

func (splitLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	list, panel := objs[0], objs[1]
	pm := panel.MinSize()
	if size.Width >= size.Height {
		pw := min(max(pm.Width, size.Width*0.36), size.Width*0.6)
		list.Move(fyne.NewPos(0, 0))
		list.Resize(fyne.NewSize(size.Width-pw, size.Height))
		panel.Move(fyne.NewPos(size.Width-pw, 0))
		panel.Resize(fyne.NewSize(pw, size.Height))
		return
	}
	ph := min(pm.Height, size.Height*0.6)
	list.Move(fyne.NewPos(0, 0))
	list.Resize(fyne.NewSize(size.Width, size.Height-ph))
	panel.Move(fyne.NewPos(0, size.Height-ph))
	panel.Resize(fyne.NewSize(size.Width, ph))
}

func (splitLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	pm := objs[1].MinSize()
	return fyne.NewSize(pm.Width, pm.Height)
}

var _ fyne.Layout = (*rowLayout)(nil)
