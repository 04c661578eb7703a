package display

import (
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/widget"
)

// idleScreen is what the customer sees between sales: logo, store name,
// welcome, the time, and promotion images that rotate. The images were read
// once at start (see loadPromos); rotation only swaps which one is drawn.
type idleScreen struct {
	e      *env
	root   fyne.CanvasObject
	clock  *widget.Label
	note   *widget.Label
	promo  *canvas.Image
	promos []fyne.Resource
	// shown is the index of the promotion on screen; next is when it changes.
	shown int
	next  time.Time
}

func newIdleScreen(e *env, promos []fyne.Resource) *idleScreen {
	s := &idleScreen{e: e, promos: promos}
	name := label(clean(e.cfg.Store.Name), sizeHeadline, fyne.TextAlignCenter, true)
	name.Truncation = fyne.TextTruncateEllipsis
	welcome := label(clean(e.cfg.Store.Welcome), sizeHeading, fyne.TextAlignCenter, false)
	welcome.Truncation = fyne.TextTruncateEllipsis
	s.clock = label("", sizeHeading, fyne.TextAlignCenter, false)
	s.clock.Importance = widget.LowImportance
	s.e.setVisible(s.clock, e.cfg.Idle.Clock)
	s.note = label("", sizeSmall, fyne.TextAlignCenter, false)
	s.note.Importance = widget.LowImportance
	s.note.Truncation = fyne.TextTruncateEllipsis
	s.note.Hide()
	logo := newImage(e, e.logo, 140)
	brand := container.NewVBox(layout.NewSpacer(), container.NewCenter(logo), name, welcome, s.clock, layout.NewSpacer(), s.note)
	if len(promos) == 0 {
		s.root = brand
		return s
	}
	s.promo = canvas.NewImageFromResource(promos[0])
	s.promo.FillMode = canvas.ImageFillContain
	s.promo.ScaleMode = canvas.ImageScaleSmooth
	s.root = container.New(&promoLayout{}, s.promo, brand)
	return s
}

// show updates the clock and rotation; note is a quiet connection hint
// ("reconnecting…") that does not take over the branding.
func (s *idleScreen) show(now time.Time, note string) {
	setText(s.note, note)
	s.e.setVisible(s.note, note != "")
	s.tick(now)
}

func (s *idleScreen) tick(now time.Time) {
	if s.e.cfg.Idle.Clock {
		setText(s.clock, now.Format(s.e.cfg.Idle.ClockFormat))
	}
	if len(s.promos) < 2 {
		return
	}
	if s.next.IsZero() {
		s.next = now.Add(s.e.cfg.Idle.PromoInterval)
		return
	}
	if now.Before(s.next) {
		return
	}
	s.shown = (s.shown + 1) % len(s.promos)
	s.next = now.Add(s.e.cfg.Idle.PromoInterval)
	s.promo.Resource = s.promos[s.shown]
	s.promo.Refresh()
}

// promoLayout gives the promotion most of the screen: the left 60% on a
// landscape screen, the top 60% on a portrait one.
type promoLayout struct{}

func (promoLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	promo, brand := objs[0], objs[1]
	if size.Width >= size.Height {
		pw := size.Width * 0.6
		promo.Move(fyne.NewPos(0, 0))
		promo.Resize(fyne.NewSize(pw, size.Height))
		brand.Move(fyne.NewPos(pw, 0))
		brand.Resize(fyne.NewSize(size.Width-pw, size.Height))
		return
	}
	ph := size.Height * 0.6
	promo.Move(fyne.NewPos(0, 0))
	promo.Resize(fyne.NewSize(size.Width, ph))
	brand.Move(fyne.NewPos(0, ph))
	brand.Resize(fyne.NewSize(size.Width, size.Height-ph))
}

func (promoLayout) MinSize(objs []fyne.CanvasObject) fyne.Size { return objs[1].MinSize() }
