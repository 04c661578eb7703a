package display

import (
	"log/slog"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/widget"

	"github.com/posdisplay/posdisplay/display/client"
	"github.com/posdisplay/posdisplay/display/money"
	"github.com/posdisplay/posdisplay/register/cart"
)

// env is what every screen shares: configuration, theme, logo, formatters.
// Screens use it on the UI thread only.
type env struct {
	cfg        Config
	th         *storeTheme
	log        *slog.Logger
	logo       fyne.Resource
	formatters map[string]*money.Formatter
	badCodes   map[string]bool
	// images keep their reference size at scale 1; rescale resizes them.
	images []scaledImage
	// landscape is true when the window is wider than tall.
	landscape bool
	// dirty says a widget appeared or vanished since the last layout.
	dirty bool
}

type scaledImage struct {
	img  *canvas.Image
	base fyne.Size
}

// rescale sizes images for the theme's current scale.
func (e *env) rescale() {
	s := e.th.scale * e.th.userScale
	for _, i := range e.images {
		i.img.SetMinSize(fyne.NewSize(i.base.Width*s, i.base.Height*s))
	}
}

// formatter returns the money formatter for an ISO 4217 code from the cart,
// or nil when the code is unknown: then figures are hidden rather than shown
// with a guessed number of minor digits.
func (e *env) formatter(code string) *money.Formatter {
	if f, ok := e.formatters[code]; ok {
		return f
	}
	if e.badCodes[code] {
		return nil
	}
	f, err := money.New(e.cfg.Store.Locale, code, money.Options{
		Style: money.SymbolStyle(e.cfg.Store.CurrencyStyle), Position: money.Position(e.cfg.Store.SymbolPosition)})
	if err != nil {
		if len(e.badCodes) < 64 {
			e.badCodes[code] = true
		}
		e.log.Warn("cart currency unknown; hiding amounts", "currency", clean(code), "err", err)
		return nil
	}
	if len(e.formatters) < 16 {
		e.formatters[code] = f
	}
	return f
}

// frame is one View as a screen draws it, with the decisions already made.
type frame struct {
	v client.View
	// now is the display clock's time when the frame was made.
	now time.Time
	// stale marks the cart as possibly out of date.
	stale bool
	// restored marks (with stale) a cart restored by the register after a
	// restart that its POS has not confirmed yet: "updating…".
	restored bool
	// hideMoney replaces every figure with a placeholder: stale too long, or
	// currency unknown.
	hideMoney bool
	fmt       *money.Formatter
}

// hidden is what a figure reads when it must not be trusted.
const hidden = "– – –"

// amount formats m for this frame.
func (f frame) amount(m cart.Money) string {
	if f.hideMoney || f.fmt == nil {
		return hidden
	}
	return f.fmt.Format(m)
}

// label returns a single-line label in one of the display's text sizes.
func label(text string, size fyne.ThemeSizeName, align fyne.TextAlign, bold bool) *widget.Label {
	l := widget.NewLabel(text)
	l.SizeName = size
	l.Alignment = align
	l.TextStyle.Bold = bold
	return l
}

// setText changes a label only when needed: Label.SetText always refreshes.
func setText(l *widget.Label, s string) {
	if l.Text != s {
		l.SetText(s)
	}
}

func setImportance(l *widget.Label, i widget.Importance) {
	if l.Importance != i {
		l.Importance = i
		l.Refresh()
	}
}

// setVisible shows or hides o and notes that the screen's layout must run
// again: Fyne does not lay out a parent when a child appears.
func (e *env) setVisible(o fyne.CanvasObject, on bool) {
	if on == o.Visible() {
		return
	}
	if on {
		o.Show()
		if c, ok := o.(*fyne.Container); ok {
			c.Refresh() // Container.Show does not redraw its children
		}
	} else {
		o.Hide()
	}
	e.dirty = true
}

// relayoutIfDirty lays out o again when a widget appeared or vanished.
func (e *env) relayoutIfDirty(o fyne.CanvasObject) {
	if !e.dirty {
		return
	}
	e.dirty = false
	relayout(o)
	canvas.Refresh(o)
}

// showIf shows or hides o inside a list row, whose layout runs on update.
func showIf(o fyne.CanvasObject, on bool) {
	if on && !o.Visible() {
		o.Show()
	} else if !on && o.Visible() {
		o.Hide()
	}
}

// relayout lays out o's containers again, down to (not into) widgets.
func relayout(o fyne.CanvasObject) {
	c, ok := o.(*fyne.Container)
	if !ok {
		return
	}
	if c.Layout != nil {
		c.Layout.Layout(c.Objects, c.Size())
	}
	for _, ch := range c.Objects {
		if ch.Visible() {
			relayout(ch)
		}
	}
}

// newImage returns an image that keeps its aspect ratio and scales with
// the screen from a reference size (at 800×480).
func newImage(e *env, res fyne.Resource, base float32) *canvas.Image {
	img := canvas.NewImageFromResource(res)
	img.FillMode = canvas.ImageFillContain
	img.ScaleMode = canvas.ImageScaleSmooth
	e.images = append(e.images, scaledImage{img: img, base: fyne.NewSize(base, base)})
	img.SetMinSize(fyne.NewSize(base, base))
	return img
}
