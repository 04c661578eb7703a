package display

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
)

// staleBanner is the strip that says the cart may be out of date. It shows
// the moment the stream is interrupted, before any figure is hidden.
type staleBanner struct {
	e    *env
	root *fyne.Container
	text *canvas.Text
}

func newStaleBanner(e *env) *staleBanner {
	bg := canvas.NewRectangle(e.th.Color(theme.ColorNameWarning, 0))
	text := canvas.NewText("", e.th.Color(theme.ColorNameBackground, 0))
	text.TextStyle.Bold = true
	text.Alignment = fyne.TextAlignCenter
	b := &staleBanner{e: e, root: container.NewStack(bg, container.NewPadded(container.New(layout.NewCenterLayout(), text))), text: text}
	b.root.Hide()
	return b
}

// show marks the screen stale (or not). restored says the cart is one the
// register restored after a restart and has not confirmed yet; hidden says
// figures are withheld.
func (b *staleBanner) show(stale, restored, hidden bool) {
	b.e.setVisible(b.root, stale)
	if !stale {
		return
	}
	msg := "Connection to the register lost · reconnecting…"
	switch {
	case restored && hidden:
		msg = "Updating… · amounts hidden"
	case restored:
		msg = "Updating…"
	case hidden:
		msg = "Connection to the register lost · amounts hidden"
	}
	if size := b.e.th.Size(sizeLine); b.text.Text != msg || b.text.TextSize != size {
		b.text.Text, b.text.TextSize = msg, size
		b.text.Refresh()
		b.root.Refresh()
	}
}
