package display

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// thanksScreen closes a sale: the store's thanks, the change to take, and
// the register's message (a receipt hint, a loyalty balance).
type thanksScreen struct {
	e                 *env
	root              fyne.CanvasObject
	headline, message *widget.Label
	change            *figure
}

func newThanksScreen(e *env) *thanksScreen {
	s := &thanksScreen{e: e}
	s.headline = label(clean(e.cfg.Store.ThankYou), sizeHeadline, fyne.TextAlignCenter, true)
	s.headline.Importance = widget.HighImportance
	s.headline.Truncation = fyne.TextTruncateEllipsis
	s.message = label("", sizeHeading, fyne.TextAlignCenter, false)
	s.message.Truncation = fyne.TextTruncateEllipsis
	s.change = newFigure("Your change", widget.SuccessImportance)
	logo := newImage(e, e.logo, 96)
	s.root = container.NewVBox(layout.NewSpacer(), container.NewCenter(logo), s.headline, s.change.root, s.message, layout.NewSpacer())
	return s
}

func (s *thanksScreen) show(f frame) {
	change := f.v.Cart.Payment
	s.e.setVisible(s.change.root, change != nil && change.Change > 0 && !f.stale)
	if change != nil {
		setText(s.change.value, f.amount(change.Change))
	}
	msg := clean(f.v.Cart.Message)
	setText(s.message, msg)
	s.e.setVisible(s.message, msg != "")
}
