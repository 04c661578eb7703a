package display

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// paymentScreen shows what is due, what was tendered and the change, in
// type large enough to read from the far side of the counter.
type paymentScreen struct {
	e      *env
	root   fyne.CanvasObject
	banner *staleBanner
	method *widget.Label

	due, tendered, change *figure
}

// figure is a caption over a large amount.
type figure struct {
	root           *fyne.Container
	caption, value *widget.Label
}

func newFigure(caption string, imp widget.Importance) *figure {
	f := &figure{caption: label(caption, sizeHeading, fyne.TextAlignCenter, false), value: label("", sizeFigure, fyne.TextAlignCenter, true)}
	f.caption.Importance = widget.LowImportance
	f.value.Importance = imp
	f.root = container.NewVBox(f.caption, f.value)
	return f
}

func newPaymentScreen(e *env) *paymentScreen {
	s := &paymentScreen{e: e, banner: newStaleBanner(e)}
	s.due = newFigure("Amount due", widget.HighImportance)
	s.tendered = newFigure("Paid", widget.MediumImportance)
	s.change = newFigure("Change", widget.SuccessImportance)
	s.method = label("", sizeLine, fyne.TextAlignCenter, false)
	s.method.Importance = widget.LowImportance
	s.method.Truncation = fyne.TextTruncateEllipsis
	bg := canvas.NewRectangle(e.th.Color(colorPanel, 0))
	figures := container.New(&figureLayout{e: e}, s.due.root, s.tendered.root, s.change.root)
	body := container.NewStack(bg, container.NewVBox(layout.NewSpacer(), figures, layout.NewSpacer(), s.method))
	s.root = container.NewBorder(s.banner.root, nil, nil, nil, body)
	return s
}

func (s *paymentScreen) show(f frame) {
	c := &f.v.Cart
	due, tendered, change := c.Total, c.Total*0, c.Total*0
	method := ""
	if p := c.Payment; p != nil {
		due, tendered, change, method = p.Due, p.Tendered, p.Change, clean(p.Method)
	}
	setText(s.due.value, f.amount(due))
	setText(s.tendered.value, f.amount(tendered))
	s.e.setVisible(s.tendered.root, tendered != 0)
	setText(s.change.value, f.amount(change))
	s.e.setVisible(s.change.root, change != 0)
	setText(s.method, method)
	imp := widget.HighImportance
	if f.stale {
		imp = widget.LowImportance
	}
	setImportance(s.due.value, imp)
	s.banner.show(f.stale, f.restored, f.hideMoney)
}

// figureLayout sets the payment figures side by side on a landscape screen
// and stacks them on a portrait one.
type figureLayout struct{ e *env }

func (figureLayout) visible(objs []fyne.CanvasObject) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	for _, o := range objs {
		if o.Visible() {
			out = append(out, o)
		}
	}
	return out
}

func (l figureLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	vis := l.visible(objs)
	if len(vis) == 0 {
		return
	}
	if l.e.landscape {
		w := size.Width / float32(len(vis))
		for i, o := range vis {
			o.Move(fyne.NewPos(w*float32(i), 0))
			o.Resize(fyne.NewSize(w, size.Height))
		}
		return
	}
	y := float32(0)
	for _, o := range vis {
		h := o.MinSize().Height
		o.Move(fyne.NewPos(0, y))
		o.Resize(fyne.NewSize(size.Width, h))
		y += h
	}
}

func (l figureLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w, h, ws, hs float32
	for _, o := range l.visible(objs) {
		m := o.MinSize()
		w, h = max(w, m.Width), max(h, m.Height)
		ws, hs = ws+m.Width, hs+m.Height
	}
	if l.e.landscape {
		return fyne.NewSize(ws, h)
	}
	return fyne.NewSize(w, hs)
}
